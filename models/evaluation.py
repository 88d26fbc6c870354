"""Scoring metrics of churn probabilities: ranking, accuracy and calibration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


@dataclass(frozen=True)
class CalibrationBin:
    """One decile of predictions: what was predicted against what happened."""

    bin: int
    mean_predicted: float
    observed_rate: float
    n: int


@dataclass(frozen=True)
class ScoreEval:
    """How one churn score did on held-out labels (None where a metric is undefined)."""

    model: str
    version: str
    roc_auc: float | None
    average_precision: float | None
    brier: float | None
    ece: float | None  # expected calibration error over the deciles
    n: int
    positives: int
    calibration: list[CalibrationBin] = field(default_factory=list)


def calibration_table(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> list[CalibrationBin]:
    """Equal-count bins of the predictions (deciles by default), lowest first."""
    order = np.argsort(prob, kind="stable")
    return [
        CalibrationBin(i + 1, float(prob[idx].mean()), float(y[idx].mean()), len(idx))
        for i, idx in enumerate(np.array_split(order, min(bins, len(y))))
        if len(idx)
    ]


def expected_calibration_error(table: list[CalibrationBin]) -> float | None:
    """Mean |predicted - observed| over the bins, weighted by their size."""
    n = sum(b.n for b in table)
    if n == 0:
        return None
    return sum(b.n * abs(b.mean_predicted - b.observed_rate) for b in table) / n


def evaluate(
    model: str, version: str, y: np.ndarray, score: np.ndarray, prob: np.ndarray | None
) -> ScoreEval:
    """Metrics of a ranking `score` and, when it has one, its probability `prob`."""
    y = np.asarray(y, dtype=int)
    both_classes = 0 < y.sum() < len(y)
    table = calibration_table(y, prob) if prob is not None and len(y) else []
    return ScoreEval(
        model=model,
        version=version,
        roc_auc=float(roc_auc_score(y, score)) if both_classes else None,
        average_precision=float(average_precision_score(y, score)) if both_classes else None,
        brier=float(brier_score_loss(y, prob, pos_label=1))
        if prob is not None and len(y)
        else None,
        ece=expected_calibration_error(table) if table else None,
        n=len(y),
        positives=int(y.sum()),
        calibration=table,
    )
