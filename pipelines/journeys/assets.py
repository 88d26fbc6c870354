"""Dagster assets of the journey engine, the 15-minute schedule and the daily churn retraining."""

from pathlib import Path

import dagster as dg

from activations.outbox import dispatch
from pipelines.journeys.engine import plan_and_persist
from pipelines.journeys.flows import load_flows
from pipelines.journeys.lift import write_lift
from pipelines.resources import RunSettings, Warehouse

# The dbt models the planner reads (dagster-dbt keys a model by its name).
PLAN_INPUTS = [
    dg.AssetKey(name)
    for name in ("journey_triggers", "int_consents_historized", "int_contact_points_historized")
]
MESSAGES = dg.AssetKey(["journeys", "messages"])
SENT = dg.AssetKey(["journeys", "sent_messages"])


@dg.asset(key=MESSAGES, deps=PLAN_INPUTS, group_name="journeys")
def journey_plan(
    context: dg.AssetExecutionContext, warehouse: Warehouse, run_settings: RunSettings
) -> dg.MaterializeResult:
    """Plan every flow as of the run (journeys.messages); due messages wait as `queued`."""
    flows = load_flows()
    as_of = run_settings.as_of_ts()
    with warehouse.connect() as con:
        planned, recovered = plan_and_persist(con, flows, as_of, Path(run_settings.outbox_dir))
    counts = planned.group_by("status").len().sort("status")
    by_status = dict(zip(counts["status"], counts["len"], strict=True))
    context.log.info(f"journey plan as of {as_of:%Y-%m-%d %H:%M}: {by_status}")
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "messages": planned.height,
            "newly_due": int(planned["is_new"].sum()),
            "recovered_from_outbox": recovered,
            "by_status": dg.MetadataValue.json(by_status),
        }
    )


@dg.asset(key=SENT, deps=[MESSAGES], group_name="journeys")
def outbox_dispatch(
    context: dg.AssetExecutionContext, warehouse: Warehouse, run_settings: RunSettings
) -> dg.MaterializeResult:
    """Render queued messages into the dry-run outbox, then record them as sent."""
    outbox = Path(run_settings.outbox_dir)
    with warehouse.connect() as con:
        result = dispatch(con, load_flows(), outbox, run_settings.as_of_ts())
    context.log.info(
        f"outbox: {result.written} written, {result.already_in_outbox} already there, "
        f"{result.reconciled} recovered after a crash"
    )
    return dg.MaterializeResult(
        metadata={
            "written": result.written,
            "already_in_outbox": result.already_in_outbox,
            "reconciled": result.reconciled,
            "outbox": str(outbox),
        }
    )


@dg.asset(
    key=["journeys", "flow_lift"],
    deps=[SENT, dg.AssetKey("orders"), dg.AssetKey("int_journey_events")],
    group_name="journeys",
)
def flow_lift(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """Last-touch conversions (journeys.conversions) and each flow's lift over its holdout."""
    as_of = run_settings.as_of_ts()
    with warehouse.connect() as con:
        converted, lift = write_lift(con, load_flows(), as_of)
    lines = ["| flow | treated | holdout | lift (95% CI) |", "|---|---|---|---|"] + [
        f"| {r['flow']} | {r['treated_rate']:.1%} of {r['treated_entrants']} "
        f"| {r['holdout_rate']:.1%} of {r['holdout_entrants']} "
        f"| {r['lift']:+.1%} ({r['lift_ci_low']:+.1%}, {r['lift_ci_high']:+.1%}) |"
        for r in lift.filter(lift["lift"].is_not_null()).iter_rows(named=True)
    ]
    return dg.MaterializeResult(
        metadata={"conversions": converted.height, "lift": dg.MetadataValue.md("\n".join(lines))}
    )


JOURNEY_ASSETS = [journey_plan, outbox_dispatch, flow_lift]

# Every 15 minutes: ingest, dbt, plan and send; everything but the machine-learning assets.
journeys_job = dg.define_asset_job(
    "journeys_every_15_minutes",
    selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["ml"]),
)
churn_training_job = dg.define_asset_job(
    "churn_training_daily", selection=dg.AssetSelection.key_prefixes(["ml"])
)
journeys_schedule = dg.ScheduleDefinition(job=journeys_job, cron_schedule="*/15 * * * *")
churn_training_schedule = dg.ScheduleDefinition(job=churn_training_job, cron_schedule="0 3 * * *")

JOURNEY_JOBS = [journeys_job, churn_training_job]
JOURNEY_SCHEDULES = [journeys_schedule, churn_training_schedule]
