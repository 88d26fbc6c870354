"""Products to show in an email: the cart's or order's, pairings, the browsed categories' best."""

from __future__ import annotations

import json
from typing import Any

import duckdb

CARDS_PER_EMAIL = 3


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    try:
        relation = con.sql(sql)
        columns, rows = relation.columns, relation.fetchall()
    except duckdb.CatalogException:
        return []  # the products mart and the recommendations are optional
    return [dict(zip(columns, row, strict=True)) for row in rows]


def product_cards(
    con: duckdb.DuckDBPyConnection, messages: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Up to three in-stock products per email message, with rating and a review (social proof):
    cross-sell shows what pairs with the order, carts and orders their products, browse emails
    the best-rated products of the browsed categories, anything else the bestsellers."""
    emails = [m for m in messages if m["channel"] == "email"]
    if not emails:
        return {}
    products = _rows(
        con,
        "select product_id, name, category, price, url, avg_rating as rating,"
        " top_review_body as review, purchases from main.products where in_stock"
        " order by purchases desc, product_id",
    )
    if not products:
        return {}
    by_id = {p["product_id"]: p for p in products}
    pairs: dict[str, list[str]] = {}
    for row in _rows(
        con,
        "select subject_id, product_id from ml.recommendations where subject_type = 'product'"
        " order by subject_id, rank",
    ):
        pairs.setdefault(row["subject_id"], []).append(row["product_id"])
    best_rated = sorted(products, key=lambda p: (-(p["rating"] or 0), -p["purchases"]))
    cards = {}
    for message in emails:
        context = json.loads(message["context"] or "{}")
        owned = context.get("product_ids") or []
        if message["flow"] == "cross_sell":
            ids = [p for o in owned for p in pairs.get(o, []) if p not in owned]
        elif owned:
            ids = owned
        elif context.get("categories"):
            ids = [p["product_id"] for p in best_rated if p["category"] in context["categories"]]
        else:
            ids = [p["product_id"] for p in products]
        chosen = list(dict.fromkeys(i for i in ids if i in by_id))[:CARDS_PER_EMAIL]
        cards[message["message_id"]] = [
            {k: by_id[i][k] for k in ("product_id", "name", "price", "url", "rating", "review")}
            for i in chosen
        ]
    return cards
