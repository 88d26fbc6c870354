"""Held-out backtest of the churn score against BG/NBD and recency, plus recommendations.

Train exactly as production would at T_eval = as_of - H (features at T_train = as_of - 2H,
labels in [T_train, T_eval)), then score features at T_eval and compare with what happened in
[T_eval, as_of). Nothing after T_eval reaches the scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.isotonic import IsotonicRegression

from models.backtest_report import render_backtest
from models.bgnbd import BgNbdFitError
from models.churn import method_of, score_with, train_artifact
from models.estimator import matrix, one_thread
from models.evaluation import ScoreEval, evaluate
from models.fallback import fit_bgnbd, score_bgnbd
from models.features import labelled_features
from models.recommend_eval import RecEval, evaluate_hit_rate


@dataclass
class BacktestReport:
    """Held-out metrics of every churn score and of the recommender."""

    as_of: datetime
    horizon_days: int
    t_train: datetime
    t_eval: datetime
    model_method: str = "model"  # or the fallback that stood in for it
    churn: list[ScoreEval] = field(default_factory=list)
    top_features: list[tuple[str, float]] = field(default_factory=list)
    recommendations: list[RecEval] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, model: str) -> ScoreEval | None:
        """The evaluation of one score by name (model, bgnbd, recency)."""
        return next((e for e in self.churn if e.model == model), None)

    def format_table(self) -> str:
        return render_backtest(self)


def backtest_churn(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    horizon_days: int = 90,
    recommendations: bool = True,
    k: int = 10,
) -> BacktestReport:
    """Evaluate the classifier, BG/NBD and recency on the last horizon before `as_of`."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    t_eval = as_of - timedelta(days=horizon_days)
    report = BacktestReport(as_of, horizon_days, t_eval - timedelta(days=horizon_days), t_eval)
    test = labelled_features(con, t_eval, horizon_days)
    y = test["churned"].to_numpy().astype(int)
    if len(test) == 0:
        report.notes.append(f"no buyers before {t_eval:%Y-%m-%d}: nothing to evaluate")
    else:
        _evaluate_churn(con, report, test, y)
    if recommendations:
        report.recommendations = evaluate_hit_rate(con, t_eval, as_of, k)
    return report


def _evaluate_churn(con, report: BacktestReport, test, y: np.ndarray) -> None:
    horizon = report.horizon_days
    artifact, notes = train_artifact(con, report.t_eval, horizon, test)
    report.notes.extend(notes)
    probs, _ = score_with(artifact, test, horizon, explain=False)
    version = artifact.version if artifact else "recency-fallback"
    report.model_method = method_of(artifact)
    report.churn.append(evaluate("model", version, y, probs, probs))
    try:
        params = fit_bgnbd(test)
        bg, _ = score_bgnbd(params, test, horizon)
        report.churn.append(evaluate("bgnbd", _params_text(params), y, bg, bg))
        report.notes.append(
            "bgnbd scores P(no purchase in the horizon), not 1 - P(alive): P(alive) is 1 for "
            "every one-time buyer, however long ago they bought, so it cannot rank churn"
        )
    except BgNbdFitError as exc:
        report.notes.append(f"BG/NBD not evaluated: {exc}")
    recency = test["days_since_last_order"].to_numpy()
    train = labelled_features(con, report.t_train, horizon)
    labels = train["churned"].to_numpy()
    if 0 < labels.sum() < len(labels):
        # Recency only ranks; its probability is the churn rate at that recency in training.
        mapping = IsotonicRegression(out_of_bounds="clip").fit(
            train["days_since_last_order"].to_numpy(), labels
        )
        recency_prob = mapping.predict(recency)
    else:
        recency_prob = None
        report.notes.append(
            "recency Brier n/a: no labelled training set to map it to a probability"
        )
    report.churn.append(evaluate("recency", "days_since_last_order", y, recency, recency_prob))
    if artifact is not None and artifact.kind == "model" and 0 < y.sum() < len(y):
        model = artifact.payload
        with one_thread():
            imp = permutation_importance(
                model.estimator, matrix(test), y, scoring="roc_auc", n_repeats=3, random_state=0
            )
        ranked = sorted(zip(model.features, imp.importances_mean, strict=True), key=lambda t: -t[1])
        report.top_features = [(name, float(v)) for name, v in ranked[:8]]
    report.notes.append(_verdict(report))


def _params_text(params) -> str:
    return f"r={params.r:.3g} alpha={params.alpha:.3g} a={params.a:.3g} b={params.b:.3g}"


def _verdict(report: BacktestReport) -> str:
    model, recency = report.get("model"), report.get("recency")
    if model is None or recency is None or model.roc_auc is None or recency.roc_auc is None:
        return "no verdict: ROC AUC is undefined (one class only in the evaluation window)"
    # Say which model it was: with thin data the "model" row is a fallback.
    name = "the model" if report.model_method == "model" else f"the {report.model_method}"
    gap = model.roc_auc - recency.roc_auc
    if gap > 0:
        return f"{name} beats the recency baseline by {gap:+.3f} ROC AUC"
    return (
        f"{name} does NOT beat the recency baseline ({model.roc_auc:.3f} vs "
        f"{recency.roc_auc:.3f} ROC AUC): prefer recency until it does"
    )
