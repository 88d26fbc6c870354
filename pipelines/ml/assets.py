"""Machine-learning assets: churn scores, recommendations and their held-out backtest."""

import dagster as dg

from models.backtest import backtest_churn
from models.backtest_report import write_backtest
from models.churn import train_and_score
from models.recommend import recommend_all, write_recommendations
from pipelines.resources import RunSettings, Warehouse

# dagster-dbt names each model's asset after the model.
DBT_INPUTS = [
    dg.AssetKey(name)
    for name in (
        "orders",
        "order_lines",
        "int_events_stitched",
        "products",
        "int_customers_profiled",
    )
]


def _metric(value: float | None) -> dg.MetadataValue:
    return dg.MetadataValue.float(value) if value is not None else dg.MetadataValue.text("n/a")


@dg.asset(key=["ml", "churn_scores"], deps=DBT_INPUTS, group_name="ml")
def churn_scores(
    context: dg.AssetExecutionContext, warehouse: Warehouse, run_settings: RunSettings
) -> dg.MaterializeResult:
    """P(no completed order in the horizon) for every buyer, with its top reasons."""
    as_of = run_settings.as_of_ts()
    with warehouse.connect() as con:
        run = train_and_score(
            con, as_of, run_settings.churn_horizon_days, artifacts_dir=run_settings.models_dir
        )
        # The stage model and the score should agree on who is a buyer; a gap means drift.
        profiled = con.sql(
            "select count(*) from int_customers_profiled"
            " where lifecycle_stage in ('buyer', 'repeat_buyer')"
        ).fetchall()[0][0]
    for note in run.notes:
        (context.log.warning if run.fallback else context.log.info)(f"churn: {note}")
    if profiled != len(run.scores):
        context.log.warning(f"churn: scored {len(run.scores)} buyers, stages count {profiled}")
    above = int((run.scores["churn_score"] >= run_settings.churn_threshold).sum())
    return dg.MaterializeResult(
        metadata={
            "model_version": run.model_version,
            "method": run.method,
            "fallback": run.fallback,
            "artifact_path": dg.MetadataValue.path(str(run.artifact_path))
            if run.artifact_path
            else dg.MetadataValue.text("none (recency heuristic)"),
            "trained_as_of": str(run.trained_as_of or "n/a"),
            "as_of": str(as_of),
            "horizon_days": run.horizon_days,
            "scored": len(run.scores),
            "buyers_in_stages": profiled,
            "above_threshold": above,
            "cv_roc_auc": _metric(run.metrics.get("cv_roc_auc")),
            "cv_brier": _metric(run.metrics.get("cv_brier")),
            "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in run.notes) or "none"),
        }
    )


@dg.asset(key=["ml", "recommendations"], deps=DBT_INPUTS, group_name="ml")
def recommendations(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """Ranked products per customer, per product (bought together) and per category."""
    as_of = run_settings.as_of_ts()
    with warehouse.connect() as con:
        recs = recommend_all(con, as_of)
        write_recommendations(con, recs, as_of)
    counts = recs.group_by("subject_type").len()
    return dg.MaterializeResult(
        metadata={
            "as_of": str(as_of),
            "rows": len(recs),
            **{f"{row[0]}_rows": row[1] for row in counts.iter_rows()},
        }
    )


@dg.asset(key=["ml", "churn_backtest"], deps=DBT_INPUTS, group_name="ml")
def churn_backtest(
    context: dg.AssetExecutionContext, warehouse: Warehouse, run_settings: RunSettings
) -> dg.MaterializeResult:
    """Held-out metrics of the churn model, BG/NBD and recency, and of the recommender."""
    as_of = run_settings.as_of_ts()
    with warehouse.connect() as con:
        report = backtest_churn(con, as_of, run_settings.churn_horizon_days)
        write_backtest(con, report)
    text = report.format_table()
    context.log.info(text)
    metadata: dict[str, object] = {
        "as_of": str(as_of),
        "model_method": report.model_method,
        "fallback": report.model_method != "model",
        "report": dg.MetadataValue.md(f"```\n{text}\n```"),
    }
    for e in report.churn:
        metadata[f"{e.model}_roc_auc"] = _metric(e.roc_auc)
        metadata[f"{e.model}_brier"] = _metric(e.brier)
    for r in report.recommendations:
        metadata[f"{r.method}_hit_rate_at_{r.k}"] = _metric(r.hit_rate)
    return dg.MaterializeResult(metadata=metadata)


ML_ASSETS = [churn_scores, recommendations, churn_backtest]
