"""Churn scores without a trained classifier: BG/NBD, else a recency heuristic."""

from __future__ import annotations

import numpy as np
import polars as pl

from models import bgnbd
from models.estimator import format_reason


def _summary(feats: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return bgnbd.summary_from_features(
        feats["days_since_last_order"].to_numpy(),
        feats["tenure_days"].to_numpy(),
        feats["orders_count"].to_numpy(),
    )


def fit_bgnbd(feats: pl.DataFrame) -> bgnbd.BgNbdParams:
    """Fit BG/NBD on the buyers' purchase summaries (raises BgNbdFitError)."""
    return bgnbd.fit(*_summary(feats))


def score_bgnbd(
    params: bgnbd.BgNbdParams, feats: pl.DataFrame, horizon_days: int
) -> tuple[np.ndarray, list[str]]:
    """P(no purchase in the horizon) under BG/NBD, with the inputs that drive it as reasons."""
    x, t_x, T = _summary(feats)
    probs = bgnbd.prob_no_purchase(params, x, t_x, T, float(horizon_days))
    alive = bgnbd.p_alive(params, x, t_x, T)
    reasons = [
        "; ".join(
            [
                format_reason("days_since_last_order", T[i] - t_x[i]),
                format_reason("orders_count", x[i] + 1),
                f"p_alive={alive[i]:.2f}",
            ]
        )
        for i in range(len(x))
    ]
    return probs, reasons


def recency_heuristic(feats: pl.DataFrame, horizon_days: int) -> tuple[np.ndarray, list[str]]:
    """A rule of thumb when nothing can be fitted: late against one's own rhythm means churn."""
    # The expected gap is the customer's average gap, else the store's median gap, else the
    # horizon. Overdue by k gaps means alive with probability exp(-k); alive, they buy in the
    # horizon with probability 1 - exp(-horizon / gap).
    recency = feats["days_since_last_order"].to_numpy()
    own_gap = feats["avg_gap_days"].to_numpy()
    store_gap = np.nanmedian(own_gap) if np.isfinite(own_gap).any() else float(horizon_days)
    gap = np.maximum(np.where(np.isfinite(own_gap), own_gap, store_gap), 1.0)
    alive = np.exp(-np.maximum(recency - gap, 0.0) / gap)
    probs = 1.0 - alive * (1.0 - np.exp(-horizon_days / gap))
    reasons = [
        f"{format_reason('days_since_last_order', recency[i])}; "
        f"{format_reason('expected_gap_days', gap[i])}"
        for i in range(len(recency))
    ]
    return probs, reasons
