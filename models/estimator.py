"""The churn classifier: calibrated gradient boosting with per-customer reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from models.features import FEATURES

# Below this change in probability a feature is not worth naming as a reason.
_MIN_REASON_EFFECT = 0.005


def one_thread() -> threadpool_limits:
    """Limit OpenMP to one thread for the duration of a `with` block."""
    # On a busy 2-core machine OpenMP threads spin-wait for each other: scoring a few thousand
    # buyers was measured over 10x slower with them than single-threaded.
    return threadpool_limits(limits=1, user_api="openmp")


def make_estimator(n_rows: int, seed: int = 0) -> CalibratedClassifierCV:
    """Shallow, regularised boosting (small stores) wrapped in cross-validated calibration."""
    booster = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_depth=3,
        min_samples_leaf=max(20, n_rows // 100),
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    # Isotonic needs enough data per fold; Platt scaling is the safer choice for small stores.
    method = "isotonic" if n_rows >= 2000 else "sigmoid"
    return CalibratedClassifierCV(booster, method=method, cv=3)


def matrix(df: pl.DataFrame, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The model's input matrix (NaN where a feature is undefined)."""
    return df.select(features).to_numpy().astype(float)


@dataclass
class ChurnModel:
    """A fitted classifier with what it needs to explain itself."""

    estimator: CalibratedClassifierCV
    features: tuple[str, ...]
    reference: np.ndarray  # a typical retained buyer: training medians of the non-churned
    metrics: dict[str, float] = field(default_factory=dict)

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        """P(no completed order in the horizon) per row."""
        with one_thread():
            return self.estimator.predict_proba(matrix(df, self.features))[:, 1]

    def explain(self, df: pl.DataFrame, top: int = 3) -> list[str]:
        """The features that moved each score most away from a typical retained buyer's."""
        with one_thread():
            return self._explain(matrix(df, self.features), top)

    def _explain(self, X: np.ndarray, top: int) -> list[str]:
        score = self.estimator.predict_proba(X)[:, 1]
        ref_score = self.estimator.predict_proba(self.reference[None, :])[0, 1]
        effects = np.empty_like(X)
        for j in range(X.shape[1]):
            # Average of the feature's effect added last (x minus x with a typical value) and
            # added first (typical buyer with this one value): a two-point Shapley estimate
            # that still sees a feature when another one already saturates the score.
            typical_j, only_j = X.copy(), np.repeat(self.reference[None, :], len(X), axis=0)
            typical_j[:, j] = self.reference[j]
            only_j[:, j] = X[:, j]
            last = score - self.estimator.predict_proba(typical_j)[:, 1]
            first = self.estimator.predict_proba(only_j)[:, 1] - ref_score
            effects[:, j] = (last + first) / 2
        return [_reasons(self.features, X[i], effects[i], top) for i in range(len(X))]


def fit_churn_model(train: pl.DataFrame, seed: int = 0) -> ChurnModel:
    """Fit on labelled features (`churned` column) and measure it out of fold."""
    X, y = matrix(train), train["churned"].to_numpy().astype(int)
    estimator = make_estimator(len(y), seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    with one_thread():
        oof = cross_val_predict(estimator, X, y, cv=folds, method="predict_proba")[:, 1]
        estimator.fit(X, y)
    with np.errstate(all="ignore"):
        reference = np.nanmedian(X[y == 0], axis=0)
    metrics = {
        "cv_roc_auc": float(roc_auc_score(y, oof)),
        "cv_brier": float(brier_score_loss(y, oof)),
        "n_train": float(len(y)),
        "train_positives": float(y.sum()),
    }
    return ChurnModel(estimator, FEATURES, reference, metrics)


def format_reason(name: str, value: float, effect: float | None = None) -> str:
    """`name=value (+0.12)`: the feature, its value for this customer and its effect."""
    shown = "n/a" if np.isnan(value) else (f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}")
    return f"{name}={shown}" + ("" if effect is None else f" ({effect:+.2f})")


def _reasons(features: tuple[str, ...], x: np.ndarray, effect: np.ndarray, top: int) -> str:
    order = np.argsort(-np.abs(effect))[:top]
    parts = [
        format_reason(features[j], x[j], effect[j])
        for j in order
        if abs(effect[j]) >= _MIN_REASON_EFFECT
    ]
    return "; ".join(parts) or "close to a typical retained buyer"
