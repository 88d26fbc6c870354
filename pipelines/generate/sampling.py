"""Weighted sampling of products, overall or within a category, by the alias method (O(1) draws)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _alias_block(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table of one block: keep item j with prob[j], else take alias[j] (local)."""
    n = len(weight)
    scaled = weight * n / weight.sum()
    prob = np.ones(n)
    alias = np.arange(n)
    small = [int(i) for i in np.flatnonzero(scaled < 1.0)]
    large = [int(i) for i in np.flatnonzero(scaled >= 1.0)]
    # A loop per item (not per draw) builds the table once.
    while small and large:
        s, big = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], big
        scaled[big] += scaled[s] - 1.0
        (small if scaled[big] < 1.0 else large).append(big)
    # Rounding can leave an item of zero weight unpaired; it must still never be drawn.
    stray = (weight <= 0) & (alias == np.arange(n))
    prob[stray], alias[stray] = 0.0, int(np.argmax(weight))
    return prob, alias


@dataclass(frozen=True)
class Sampler:
    """Draws items by weight overall, or within one category per draw (zero weight: never)."""

    prob: np.ndarray  # overall table, items in index order
    alias: np.ndarray
    order: np.ndarray  # item indices grouped by category
    block_prob: np.ndarray  # per-category tables over `order`
    block_alias: np.ndarray  # positions in `order`
    first: np.ndarray  # per category: first position in `order`, and item count
    count: np.ndarray

    @classmethod
    def build(cls, category: np.ndarray, weight: np.ndarray) -> Sampler:
        """Sampler over items with `weight`; every category needs an item with positive weight."""
        order = np.argsort(category, kind="stable")
        count = np.bincount(category)
        first = np.cumsum(count) - count
        totals = np.bincount(category, weights=weight, minlength=len(count))
        if (count == 0).any() or (totals <= 0).any():
            raise ValueError("every category needs an item with positive weight")
        block_prob = np.ones(len(order))
        block_alias = np.arange(len(order))
        for a, m in zip(first, count, strict=True):
            p, al = _alias_block(weight[order[a : a + m]])
            block_prob[a : a + m], block_alias[a : a + m] = p, a + al
        prob, alias = _alias_block(weight)
        return cls(prob, alias, order, block_prob, block_alias, first, count)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` items by weight."""
        j = rng.integers(0, len(self.prob), n)
        return np.where(rng.random(n) < self.prob[j], j, self.alias[j])

    def draw_in(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        """One item per entry of `category`, by weight within that category."""
        n = len(category)
        j = self.first[category] + (rng.random(n) * self.count[category]).astype(np.int64)
        pos = np.where(rng.random(n) < self.block_prob[j], j, self.block_alias[j])
        return self.order[pos]

    def draw_mixed(
        self, rng: np.random.Generator, favourite: np.ndarray, p_favourite: float
    ) -> np.ndarray:
        """One item per entry: from its favourite category with `p_favourite`, else overall."""
        out = self.draw(rng, len(favourite))
        fav = rng.random(len(favourite)) < p_favourite
        out[fav] = self.draw_in(rng, favourite[fav])
        return out
