"""Churn score of every buyer: train on the past horizon, score now, fall back when data is thin.

Time split: the classifier learns from features at T0 = as_of - H with labels "no completed
order in [T0, as_of)", then scores features at as_of for the horizon [as_of, as_of + H). It
never sees anything after the moment it scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from models.artifacts import ArtifactError, ChurnArtifact, load_artifact, save_artifact, version_for
from models.bgnbd import BgNbdFitError, BgNbdParams
from models.estimator import ChurnModel, fit_churn_model, matrix
from models.fallback import fit_bgnbd, recency_heuristic, score_bgnbd
from models.features import FEATURES, features_at, history_start, labelled_features
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.warehouse import transaction

# Below these the classifier's validation is noise: BG/NBD (no labels needed) scores instead.
MIN_LABELLED = 200
MIN_PER_CLASS = 20


@dataclass(frozen=True)
class ChurnRun:
    """The outcome of one scoring run: scores, which model made them and why."""

    as_of: datetime
    horizon_days: int
    method: str  # model | bgnbd-fallback | recency-fallback
    model_version: str
    scores: pl.DataFrame  # customer_id, churn_score, top_reasons
    notes: tuple[str, ...] = ()
    artifact_path: Path | None = None
    trained_as_of: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def fallback(self) -> bool:
        return self.method != "model"


def trainability(train: pl.DataFrame, history_days: float, horizon_days: int) -> str | None:
    """Why the classifier cannot be trained on this labelled set, or None if it can."""
    if round(history_days) < 2 * horizon_days:
        return f"only {history_days:.0f} days of history (need {2 * horizon_days})"
    positives = int(train["churned"].sum()) if len(train) else 0
    negatives = len(train) - positives
    if len(train) < MIN_LABELLED:
        return f"only {len(train)} labelled buyers (need {MIN_LABELLED})"
    if min(positives, negatives) < MIN_PER_CLASS:
        return f"{positives} churned and {negatives} retained buyers (need {MIN_PER_CLASS} of each)"
    return None


def train_artifact(
    con: duckdb.DuckDBPyConnection, as_of: datetime, horizon_days: int, feats: pl.DataFrame
) -> tuple[ChurnArtifact | None, list[str]]:
    """Train for scoring at `as_of` (classifier, else BG/NBD on `feats`, else None) with notes."""
    start = history_start(con)
    history_days = (as_of - start).total_seconds() / 86400 if start else 0.0
    train = labelled_features(con, as_of - timedelta(days=horizon_days), horizon_days)
    reason = trainability(train, history_days, horizon_days)
    if reason is None:
        model = fit_churn_model(train)
        X, y = matrix(train), train["churned"].to_numpy()
        fingerprint = X.tobytes() + y.tobytes() + repr((horizon_days, FEATURES)).encode()
        version = version_for("hgb", as_of, fingerprint)
        return ChurnArtifact("model", version, as_of, horizon_days, model, model.metrics), []
    notes = [f"classifier not trained: {reason}"]
    try:
        params = fit_bgnbd(feats)
    except BgNbdFitError as exc:
        return None, [*notes, f"BG/NBD not fitted: {exc}; scored with the recency heuristic"]
    version = version_for("bgnbd-fallback", as_of, repr((params, horizon_days)).encode())
    metrics = {"n_fit": float(len(feats))}
    return ChurnArtifact("bgnbd", version, as_of, horizon_days, params, metrics), [
        *notes,
        "scored with BG/NBD P(no purchase in horizon)",
    ]


def method_of(artifact: ChurnArtifact | None) -> str:
    """How an artifact scores: model, bgnbd-fallback or (no artifact) recency-fallback."""
    if artifact is None:
        return "recency-fallback"
    return "model" if artifact.kind == "model" else "bgnbd-fallback"


def score_with(
    artifact: ChurnArtifact | None, feats: pl.DataFrame, horizon_days: int, explain: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Scores and reasons (if `explain`) for `feats` from an artifact (None: recency heuristic)."""
    if len(feats) == 0:
        return np.empty(0), []
    if artifact is None:
        return recency_heuristic(feats, horizon_days)
    if isinstance(artifact.payload, BgNbdParams):
        return score_bgnbd(artifact.payload, feats, horizon_days)
    model: ChurnModel = artifact.payload
    return model.predict(feats), model.explain(feats) if explain else []


def train_and_score(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    horizon_days: int = 90,
    artifacts_dir: Path | str = "data/models",
    model_path: Path | str | None = None,
    write: bool = True,
) -> ChurnRun:
    """Score every buyer at `as_of`, training a new model unless `model_path` is given."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    feats = features_at(con, as_of)
    if model_path is not None:
        artifact = load_artifact(model_path)
        artifact_path: Path | None = Path(model_path)
        notes = _reuse_notes(artifact, as_of, horizon_days)
    else:
        artifact, notes = train_artifact(con, as_of, horizon_days, feats)
        artifact_path = save_artifact(artifact, artifacts_dir) if artifact else None
    probs, reasons = score_with(artifact, feats, horizon_days)
    scores = pl.DataFrame(
        {
            "customer_id": feats["customer_id"],
            "churn_score": np.clip(probs, 0.0, 1.0),
            "top_reasons": reasons,
        },
        schema={"customer_id": pl.String, "churn_score": pl.Float64, "top_reasons": pl.String},
    )
    run = ChurnRun(
        as_of=as_of,
        horizon_days=horizon_days,
        method=method_of(artifact),
        model_version=artifact.version if artifact else f"recency-fallback-{as_of:%Y%m%dT%H%M%S}",
        scores=scores,
        notes=tuple(notes),
        artifact_path=artifact_path,
        trained_as_of=artifact.trained_as_of if artifact else None,
        metrics={**(artifact.metrics if artifact else {}), "n_scored": float(len(scores))},
    )
    if write:
        write_scores(con, run)
    return run


def _reuse_notes(artifact: ChurnArtifact, as_of: datetime, horizon_days: int) -> list[str]:
    if artifact.horizon_days != horizon_days:
        raise ArtifactError(
            f"model {artifact.version} predicts a {artifact.horizon_days}-day horizon, "
            f"not {horizon_days}"
        )
    if artifact.kind == "model" and artifact.payload.features != FEATURES:
        raise ArtifactError(f"model {artifact.version} was trained on other features")
    age = (as_of - artifact.trained_as_of).total_seconds() / 86400
    return [f"scored with existing model {artifact.version}, trained {age:.0f} days before as_of"]


def write_scores(con: duckdb.DuckDBPyConnection, run: ChurnRun) -> None:
    """Replace the scores of the run's as_of in ml.churn_scores (re-runs are idempotent)."""
    ensure_raw_schema(con)
    scored_at = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con, churn_rows=run.scores):
        con.execute("delete from ml.churn_scores where as_of = ?", [run.as_of])
        con.execute(
            "insert into ml.churn_scores (customer_id, churn_score, top_reasons, model_version,"
            " horizon_days, as_of, scored_at)"
            " select customer_id, churn_score, top_reasons, ?, ?, ?, ? from churn_rows",
            [run.model_version, run.horizon_days, run.as_of, scored_at],
        )
