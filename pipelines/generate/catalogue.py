"""Product catalogue: categories, plausible prices, Zipf popularity, stock, and its CSV feed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.sampling import Sampler

STORE_URL = "https://shop.example.com"
CDN_URL = "https://cdn.example.com"
OUT_OF_STOCK_SHARE = 0.07
ZIPF_EXPONENT = 1.05

# name, share of products, median price, log-price spread, product nouns
CATEGORIES: tuple[tuple[str, float, float, float, tuple[str, ...]], ...] = (
    ("Shoes", 0.12, 80, 0.35, ("Runner", "Sneaker", "Loafer", "Boot", "Sandal", "Trail Shoe")),
    ("Apparel", 0.18, 36, 0.45, ("T-Shirt", "Hoodie", "Jacket", "Shirt", "Dress", "Jeans")),
    ("Accessories", 0.10, 24, 0.5, ("Cap", "Scarf", "Belt", "Wallet", "Sunglasses", "Gloves")),
    ("Bags", 0.07, 66, 0.45, ("Backpack", "Tote", "Duffel", "Crossbody", "Weekender", "Pouch")),
    ("Beauty", 0.11, 20, 0.4, ("Serum", "Face Cream", "Lip Balm", "Cleanser", "Perfume", "Oil")),
    ("Home", 0.12, 36, 0.6, ("Candle", "Throw", "Mug", "Cushion", "Vase", "Lamp")),
    (
        "Electronics",
        0.07,
        99,
        0.7,
        ("Headphones", "Speaker", "Charger", "Watch", "Earbuds", "Dock"),
    ),
    ("Sports", 0.08, 48, 0.5, ("Yoga Mat", "Bottle", "Dumbbell", "Jump Rope", "Gym Bag", "Tights")),
    ("Kids", 0.08, 22, 0.45, ("Plush Toy", "Puzzle", "Romper", "Kids Sneaker", "Kite", "Blocks")),
    ("Jewelry", 0.07, 55, 0.6, ("Necklace", "Ring", "Bracelet", "Earrings", "Anklet", "Pendant")),
)
CATEGORY_NAMES = tuple(c[0] for c in CATEGORIES)
_ADJECTIVES = (
    "Classic",
    "Everyday",
    "Essential",
    "Premium",
    "Vintage",
    "Urban",
    "Organic",
    "Coastal",
    "Alpine",
    "Studio",
    "Weekend",
    "Signature",
    "Modern",
    "Heritage",
)
_COLOURS = (
    "Black",
    "White",
    "Navy",
    "Olive",
    "Sand",
    "Rose",
    "Charcoal",
    "Sky",
    "Forest",
    "Terracotta",
    "Ivory",
    "Plum",
)


@dataclass(frozen=True)
class Catalogue:
    """Products indexed 0..n-1; product index i is `p-<i+1>`."""

    category: np.ndarray  # index into CATEGORIES
    price: np.ndarray
    in_stock: np.ndarray
    name: pl.Series
    views: Sampler  # what people look at: popularity over every product
    carts: Sampler  # what people can add: popularity over products in stock

    @property
    def size(self) -> int:
        """Number of products."""
        return len(self.price)


def product_count(customers: int) -> int:
    """Catalogue size for a store with `customers` visitors."""
    return max(50, customers // 20)


def build_catalogue(rng: np.random.Generator, n: int) -> Catalogue:
    """Draw `n` products (every category has at least one product in stock)."""
    k = len(CATEGORIES)
    shares = np.array([c[1] for c in CATEGORIES])
    category = np.concatenate([np.arange(k), rng.choice(k, size=n - k, p=shares / shares.sum())])
    median = np.array([c[2] for c in CATEGORIES], dtype=float)[category]
    spread = np.array([c[3] for c in CATEGORIES])[category]
    raw = median * np.exp(spread * rng.standard_normal(n))
    cents = rng.choice(np.array([0.99, 0.0, 0.5]), size=n, p=[0.6, 0.25, 0.15])
    price = np.round(np.maximum(np.floor(raw), 4) + cents, 2)
    weight = 1.0 / (rng.permutation(n) + 1.0) ** ZIPF_EXPONENT
    # The most popular product of each category stays in stock, so every category can be carted.
    top = np.zeros(n, dtype=bool)
    top[[np.flatnonzero(category == c)[np.argmax(weight[category == c])] for c in range(k)]] = True
    out = rng.choice(np.flatnonzero(~top), size=round(n * OUT_OF_STOCK_SHARE), replace=False)
    in_stock = np.ones(n, dtype=bool)
    in_stock[out] = False
    nouns = pl.Series([noun for c in CATEGORIES for noun in c[4]])
    name = pl.select(
        pl.concat_str(
            pl.lit(pl.Series(_ADJECTIVES)).gather(rng.integers(0, len(_ADJECTIVES), n)),
            pl.lit(pl.Series(_COLOURS)).gather(rng.integers(0, len(_COLOURS), n)),
            pl.lit(nouns).gather(category * 6 + rng.integers(0, 6, n)),
            separator=" ",
        )
    ).to_series()
    return Catalogue(
        category=category,
        price=price,
        in_stock=in_stock,
        name=name,
        views=Sampler.build(category, weight),
        carts=Sampler.build(category, weight * in_stock),
    )


def write_catalogue(catalogue: Catalogue, path: Path) -> None:
    """Write the catalogue feed (product_id, name, category, price, url, image_url, in_stock)."""
    ids = pl.Series(np.arange(1, catalogue.size + 1)).cast(pl.String)
    pl.DataFrame(
        {
            "product_id": "p-" + ids,
            "name": catalogue.name,
            "category": pl.Series(CATEGORY_NAMES).gather(catalogue.category),
            "price": catalogue.price,
            "url": f"{STORE_URL}/products/p-" + ids,
            "image_url": f"{CDN_URL}/images/p-" + ids + ".jpg",
            "in_stock": catalogue.in_stock,
        }
    ).write_csv(path)


def product_fields(catalogue: Catalogue) -> pl.Series:
    """Per product the JSON members `"product_id":..,"category":..,"price":..` (no braces)."""
    ids = pl.Series(np.arange(1, catalogue.size + 1)).cast(pl.String)
    cats = pl.Series(CATEGORY_NAMES).gather(catalogue.category)
    price = pl.Series(catalogue.price).cast(pl.String)
    return '"product_id":"p-' + ids + '","category":"' + cats + '","price":' + price
