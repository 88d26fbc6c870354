"""Repeat purchasing of buyers, BG/NBD-like: Poisson purchases while alive, dropout after each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.generate.spec import DAY

MAX_REPEATS = 40
MEAN_DAYS_BETWEEN_ORDERS = 90.0
RATE_SHAPE = 1.3  # gamma shape of the purchase rate: a long tail of frequent buyers
DROPOUT_BETA = (2.0, 3.0)  # beta of the dropout probability after each purchase (mean 0.4)
MIN_DAYS_BETWEEN_ORDERS = 1.0
LINGER_DAYS = 10.0  # a dropped-out buyer still browses a little before lapsing


@dataclass(frozen=True)
class Buyers:
    """Latent purchase process of each buyer."""

    rate: np.ndarray  # purchases per day while alive
    dropout: np.ndarray  # probability of becoming inactive after each purchase


def draw_buyers(rng: np.random.Generator, engagement: np.ndarray) -> Buyers:
    """Purchase rate ~ Gamma scaled by engagement; dropout ~ Beta."""
    n = len(engagement)
    base = rng.gamma(RATE_SHAPE, 1 / (RATE_SHAPE * MEAN_DAYS_BETWEEN_ORDERS), n)
    return Buyers(rate=base * engagement**0.5, dropout=rng.beta(*DROPOUT_BETA, n))


def repeat_orders(
    rng: np.random.Generator, buyers: Buyers, first: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat order times after each first order (before `end`), and when each buyer lapses.

    Returns (buyer index per repeat order, repeat order time, lapse time or `end` if alive).
    """
    n = len(first)
    waits = rng.exponential(1.0, (n, MAX_REPEATS)) / buyers.rate[:, None]
    # Capped so that a near-zero rate cannot overflow the integer times.
    gaps_days = MIN_DAYS_BETWEEN_ORDERS + np.minimum(waits, 1e5)
    when = first[:, None] + np.cumsum(gaps_days * DAY, axis=1).astype(np.int64)
    stays = rng.random((n, MAX_REPEATS)) >= buyers.dropout[:, None]
    alive = np.cumprod(stays, axis=1).astype(bool)  # alive[:, k]: still active after k+1 orders
    made = alive & (when < end)
    count = made.sum(axis=1)  # `made` is a prefix of each row: times grow, alive only falls
    last = np.where(count > 0, when[np.arange(n), np.maximum(count - 1, 0)], first)
    capped = np.minimum(count, MAX_REPEATS - 1)
    dropped = ~alive[np.arange(n), capped] & (count < MAX_REPEATS)
    linger = (rng.exponential(LINGER_DAYS, n) * DAY).astype(np.int64)
    lapse = np.where(dropped, np.minimum(last + linger, end), end)
    buyer, k = np.nonzero(made)
    return buyer, when[buyer, k], lapse
