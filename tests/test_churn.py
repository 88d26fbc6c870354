"""Churn score: no leakage, real signal and calibration, fallbacks, artifacts, idempotent writes."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from models.artifacts import ArtifactError
from models.backtest import backtest_churn
from models.backtest_report import write_backtest
from models.churn import train_and_score, write_scores
from models.features import FEATURES, features_at, labelled_features

AS_OF = datetime(2026, 6, 1)
GENERATED_AS_OF = datetime(2026, 1, 1)
H = 90


def _poisson_times(rng, starts, ends, rate):
    """Event times of one Poisson process per customer on [start, end), in days."""
    span = np.maximum(ends - starts, 0.0)
    counts = rng.poisson(rate * span)
    idx = np.repeat(np.arange(len(starts)), counts)
    return idx, starts[idx] + rng.uniform(0, 1, counts.sum()) * span[idx]


def _when(flag: np.ndarray, days: np.ndarray, start: datetime) -> list[datetime | None]:
    return [
        start + timedelta(days=float(d)) if f else None for f, d in zip(flag, days, strict=True)
    ]


def simulate_store(con: duckdb.DuckDBPyConnection, n: int, seed: int, days: int = 540) -> None:
    """Buyers with their own rhythm and lifetime; while alive they also browse and open emails."""
    # The signal a good model can use beyond recency: the customer's rhythm (a 60-day silence is
    # normal for some, alarming for others) and recent site visits (only the living browse much).
    rng = np.random.default_rng(seed)
    first = rng.uniform(0, days - 5, n)
    rate = 1.0 / np.exp(rng.normal(np.log(45), 0.7, n))
    death = np.minimum(first + rng.exponential(np.exp(rng.normal(np.log(200), 0.5, n))), days)
    idx, times = _poisson_times(rng, first, death, rate)
    idx, times = np.concatenate([np.arange(n), idx]), np.concatenate([first, times])
    status = rng.choice(["completed", "cancelled", "refunded"], len(idx), p=[0.92, 0.04, 0.04])
    # Cancelled within two days, refunded within three weeks (possibly after the cut-off).
    unhappy_after = times + np.where(status == "cancelled", 2.0, 21.0) * rng.random(len(idx))
    start = AS_OF - timedelta(days=days)
    ids = np.array([f"c{i:05d}" for i in range(n)])
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(idx))],
            "customer_id": ids[idx],
            "ordered_at": [start + timedelta(days=float(t)) for t in times],
            "revenue": np.round(np.exp(rng.normal(4, 0.5, len(idx))), 2),
            "discount": np.where(rng.random(len(idx)) < 0.2, 5.0, 0.0),
            "coupon": pl.Series([None] * len(idx), dtype=pl.String),
            "status": status,
            "is_completed": status == "completed",
            "cancelled_at": _when(status == "cancelled", unhappy_after, start),
            "refunded_at": _when(status == "refunded", unhappy_after, start),
        }
    )
    orders = (
        orders.filter(  # the dbt model only knows what happened up to as_of
            pl.col("ordered_at") < AS_OF,
        )
        .with_columns(
            pl.when(pl.col(c) < AS_OF).then(pl.col(c)).alias(c)
            for c in ("cancelled_at", "refunded_at")
        )
        .with_columns(
            is_completed=pl.col("cancelled_at").is_null() & pl.col("refunded_at").is_null()
        )
        .with_columns(
            status=pl.when(pl.col("refunded_at").is_not_null())
            .then(pl.lit("refunded"))
            .when(pl.col("cancelled_at").is_not_null())
            .then(pl.lit("cancelled"))
            .otherwise(pl.lit("completed"))
        )
    )
    frames = []
    for name, alive_rate, dead_rate in [
        ("Product Viewed", 0.15, 0.01),
        ("Product Added", 0.03, 0.001),
        ("Email Opened", 0.04, 0.004),
        ("Email Link Clicked", 0.01, 0.0005),
    ]:
        a_i, a_t = _poisson_times(rng, first - 10, death, alive_rate * np.sqrt(rate * 45))
        d_i, d_t = _poisson_times(rng, death, np.full(n, float(days)), dead_rate)
        i, t = np.concatenate([a_i, d_i]), np.concatenate([a_t, d_t])
        frames.append(
            pl.DataFrame(
                {
                    "customer_id": ids[i[t >= 0]],
                    "event_type": "track",
                    "event_name": name,
                    "occurred_at": [start + timedelta(days=float(x)) for x in t[t >= 0]],
                }
            )
        )
    events = pl.concat(frames).with_columns(message_id=pl.int_range(pl.len()).cast(pl.String))
    con.register("sim_orders", orders.to_arrow())
    con.register("sim_events", events.to_arrow())
    con.execute("create or replace table orders as select * from sim_orders")
    con.execute("create or replace table int_events_stitched as select * from sim_events")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("churn") / "store.duckdb"
    with duckdb.connect(str(path)) as con:
        simulate_store(con, n=1500, seed=0)
    return path


@pytest.fixture
def con(store: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    copy = tmp_path / "store.duckdb"
    copy.write_bytes(store.read_bytes())
    return duckdb.connect(str(copy))


def test_features_ignore_everything_after_the_cutoff() -> None:
    con = duckdb.connect()
    simulate_store(con, n=300, seed=5)
    cutoff = AS_OF - timedelta(days=120)
    before = features_at(con, cutoff)
    labels_before = labelled_features(con, cutoff, H)["churned"].sum()
    # Rewrite the future: shuffle later event times, cancel and move later orders, add new ones.
    con.execute(
        "update int_events_stitched set occurred_at = occurred_at + interval 3 day,"
        " event_name = 'Product Viewed' where occurred_at >= ?",
        [cutoff],
    )
    con.execute(
        "update orders set status = 'cancelled', is_completed = false, revenue = 0,"
        " cancelled_at = ordered_at where ordered_at >= ?",
        [cutoff],
    )
    con.execute(
        "update orders set status = 'refunded', is_completed = false,"
        " refunded_at = ? + interval 1 day"
        " where ordered_at < ? and cancelled_at is null and refunded_at is null",
        [cutoff, cutoff],
    )
    con.execute(
        "insert into orders select order_id || 'x', customer_id, ordered_at + interval 200 day,"
        " revenue, discount, coupon, 'completed', true, null, null from orders"
        " where ordered_at >= ? - interval 200 day",
        [cutoff],
    )
    after = features_at(con, cutoff)
    assert before.columns == ["customer_id", *FEATURES]
    assert len(before) > 100
    assert before.equals(after)
    # The labels, which look ahead by design, did see the change: the test rewrote something.
    assert labelled_features(con, cutoff, H)["churned"].sum() != labels_before


def test_scores_at_as_of_do_not_depend_on_later_data(con, tmp_path: Path) -> None:
    cutoff = AS_OF - timedelta(days=30)
    first = train_and_score(con, cutoff, H, artifacts_dir=tmp_path, write=False)
    con.execute("delete from orders where ordered_at >= ?", [cutoff])
    con.execute("delete from int_events_stitched where occurred_at >= ?", [cutoff])
    second = train_and_score(con, cutoff, H, artifacts_dir=tmp_path, write=False)
    assert first.method == "model" and first.model_version == second.model_version
    assert first.scores.equals(second.scores)


def test_model_beats_recency_and_bgnbd_and_is_calibrated(con) -> None:
    report = backtest_churn(con, AS_OF, H, recommendations=False)
    model, bgnbd, recency = (report.get(name) for name in ("model", "bgnbd", "recency"))
    assert model.version.startswith("hgb-") and model.n > 1000
    assert model.roc_auc >= recency.roc_auc + 0.02
    assert model.roc_auc >= bgnbd.roc_auc + 0.02
    assert model.brier < min(recency.brier, bgnbd.brier) - 0.01
    assert model.ece < 0.06
    assert {b.bin for b in model.calibration} == set(range(1, 11))
    assert report.top_features[0][0] in FEATURES
    text = report.format_table()
    assert "the model beats the recency baseline" in text and "ROC AUC" in text
    write_backtest(con, report)
    write_backtest(con, report)
    rows = con.execute("select model, n from ml.churn_backtest order by model").fetchall()
    assert rows == [("bgnbd", model.n), ("model", model.n), ("recency", model.n)]
    assert con.execute("select count(*) from ml.churn_calibration").fetchall()[0][0] == 30


def test_train_and_score_writes_explained_scores_idempotently(con, tmp_path: Path) -> None:
    run = train_and_score(con, AS_OF, H, artifacts_dir=tmp_path)
    assert run.method == "model" and not run.fallback and run.metrics["cv_roc_auc"] > 0.85
    assert run.artifact_path is not None and run.artifact_path.parent == tmp_path
    assert run.artifact_path.name.startswith("churn-20260601T000000-")
    assert len(run.scores) == len(features_at(con, AS_OF))
    reason = r"[a-z0-9_]+=[^;]+ \([+-]\d\.\d\d\)"
    pattern = re.compile(rf"^{reason}(; {reason}){{0,2}}$|^close to a typical retained buyer$")
    assert all(pattern.match(text) for text in run.scores["top_reasons"])
    lapsed = run.scores.sort("churn_score").row(-1, named=True)
    assert lapsed["churn_score"] > 0.9 and "(+" in lapsed["top_reasons"]
    write_scores(con, run)
    write_scores(con, dataclasses.replace(run, as_of=AS_OF - timedelta(days=7)))
    counts = dict(con.execute("select as_of, count(*) from ml.churn_scores group by 1").fetchall())
    assert counts[AS_OF] == len(run.scores) and len(counts) == 2
    scored = con.execute(
        "select min(churn_score), max(churn_score), any_value(model_version),"
        " any_value(horizon_days) from ml.churn_scores where as_of = ?",
        [AS_OF],
    ).fetchall()[0]
    assert 0 <= scored[0] < scored[1] <= 1 and scored[2:] == (run.model_version, H)


def test_scoring_with_an_existing_model_says_which(con, tmp_path: Path) -> None:
    trained = train_and_score(con, AS_OF - timedelta(days=30), H, artifacts_dir=tmp_path)
    reused = train_and_score(con, AS_OF, H, model_path=trained.artifact_path, write=False)
    assert reused.model_version == trained.model_version
    assert reused.trained_as_of == AS_OF - timedelta(days=30)
    assert any("trained 30 days before as_of" in note for note in reused.notes)
    with pytest.raises(ArtifactError, match="90-day horizon"):
        train_and_score(con, AS_OF, 30, model_path=trained.artifact_path)
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(ArtifactError):
        train_and_score(con, AS_OF, H, model_path=tmp_path / "junk.joblib")
    with pytest.raises(ValueError):
        train_and_score(con, AS_OF, 0)


def test_small_stores_fall_back_and_say_so(tmp_path: Path) -> None:
    con = duckdb.connect()
    simulate_store(con, n=20, seed=3)
    run = train_and_score(con, AS_OF, H, artifacts_dir=tmp_path)
    assert run.fallback and run.method == "bgnbd-fallback"
    assert run.model_version.startswith("bgnbd-fallback-20260601")
    assert any("labelled buyers" in note for note in run.notes)
    buyers = features_at(con, AS_OF)["customer_id"].to_list()
    assert len(buyers) >= 15 and run.scores["customer_id"].to_list() == buyers
    assert run.scores["churn_score"].is_between(0, 1).all()
    assert all("p_alive=" in text for text in run.scores["top_reasons"])
    report = backtest_churn(con, AS_OF, H, recommendations=False)
    assert report.get("model").version.startswith("bgnbd-fallback")
    assert report.model_method == "bgnbd-fallback"
    assert "classifier not trained" in report.format_table()


def test_without_repeat_buyers_the_recency_heuristic_scores(tmp_path: Path) -> None:
    con = duckdb.connect()
    simulate_store(con, n=20, seed=3)
    con.execute(
        "delete from orders where order_id not in"
        " (select min_by(order_id, ordered_at) from orders group by customer_id)"
    )
    con.execute(
        "update orders set status = 'completed', is_completed = true,"
        " cancelled_at = null, refunded_at = null"
    )
    run = train_and_score(con, AS_OF, H, artifacts_dir=tmp_path)
    assert run.method == "recency-fallback" and run.artifact_path is None
    assert any("bought twice" in note for note in run.notes)
    recency = run.scores.join(features_at(con, AS_OF), on="customer_id")
    # One-time buyers all share the same expected gap: a longer silence means a higher score.
    assert recency.sort("days_since_last_order")["churn_score"].is_sorted()
    empty = duckdb.connect()
    simulate_store(empty, n=5, seed=1)
    empty.execute("delete from orders")
    nobody = train_and_score(empty, AS_OF, H, artifacts_dir=tmp_path)
    assert nobody.scores.is_empty() and nobody.method == "recency-fallback"


@pytest.fixture(scope="module")
def generated_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo store, loaded and modelled by dbt, as the Dagster run would see it."""
    from pipelines.generate.store import StoreSpec, generate_store
    from pipelines.ingest.loader import ingest_landing

    root = tmp_path_factory.mktemp("generated")
    spec = StoreSpec(customers=2500, days=240, seed=11, end=GENERATED_AS_OF.replace(tzinfo=UTC))
    generate_store(spec, root / "landing")
    db = root / "journey.duckdb"
    ingest_landing(db, root / "landing")
    project = Path(__file__).resolve().parent.parent / "dbt_project"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--quiet",
         "--project-dir", str(project), "--profiles-dir", str(project), "--select",
         "+orders +order_lines +int_events_stitched +products +int_customers_profiled",
         "--vars", f"{{as_of: '{GENERATED_AS_OF.isoformat()}'}}"],
        env={**os.environ, "JOURNEY_DB": str(db)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return db


def test_ml_assets_on_a_generated_store(generated_warehouse: Path, tmp_path: Path) -> None:
    import dagster as dg

    from pipelines.ml.assets import ML_ASSETS
    from pipelines.resources import RunSettings, Warehouse

    resources = {
        "warehouse": Warehouse(db_path=str(generated_warehouse)),
        "run_settings": RunSettings(as_of=GENERATED_AS_OF.isoformat(), models_dir=str(tmp_path)),
    }
    for _ in range(2):  # a re-run replaces, never duplicates
        result = dg.materialize(ML_ASSETS, resources=resources)
        assert result.success
    meta = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert meta["churn_scores"]["scored"].value == meta["churn_scores"]["buyers_in_stages"].value
    assert meta["churn_scores"]["model_version"].value.split("-")[0] in {"hgb", "bgnbd"}
    assert "recency_roc_auc" in meta["churn_backtest"]
    with duckdb.connect(str(generated_warehouse), read_only=True) as con:
        scores = con.sql(
            "select s.customer_id, c.lifecycle_stage from ml.churn_scores s"
            " left join int_customers_profiled c using (customer_id)"
        ).pl()
        assert len(scores) > 50 and scores["customer_id"].is_unique().all()
        assert set(scores["lifecycle_stage"]) == {"buyer", "repeat_buyer"}
        bad = con.sql(
            "select r.* from ml.recommendations r join products p using (product_id)"
            " where not p.in_stock or (r.subject_type = 'customer' and exists (select 1"
            " from order_lines l where l.customer_id = r.subject_id"
            " and l.product_id = r.product_id))"
        ).fetchall()
        assert bad == []
        assert con.sql("select count(*) from ml.churn_backtest").fetchall()[0][0] == 3
