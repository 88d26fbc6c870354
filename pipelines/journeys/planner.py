"""The planner: which message goes to whom, on which channel, when, and why not.

Statuses of a planned message (the `status` column of journeys.messages / journey_messages):
- ``sent``: due, dispatched (written to the outbox) at ``sent_at``.
- ``scheduled``: due in the future; ``channel`` is the one it would get today.
- ``held_quiet_hours``: due, but in the customer's quiet hours; ``send_at`` is the next morning.
- ``deferred_cap``: over a frequency cap; ``send_at`` is when the cap frees, ``reason`` names the
  rule and the message in the way. ``dropped_cap``: the same, for flows that drop instead.
- ``held_out``: the customer is in the flow's deterministic holdout; recorded, never sent.
- ``suppressed``: no channel left because of an unsubscribe, bounce, spam report or STOP.
- ``no_channel``: no channel of the step has consent and contact details.
- ``exited``: the flow's exit event (an order, a review, ...) happened before it was sent.
- ``expired``: could not go out within max_lateness of being due (e.g. a first run on history).
- ``cancelled`` (persisted only): planned earlier, no longer in the plan (a recurring email
  superseded by a later one). ``queued`` (persisted only): due now, handed to the dispatcher.
sent, dropped_cap, held_out, suppressed, no_channel, exited and expired are final.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from pipelines.journeys.candidates import CONTEXT_COLUMNS, expand, recurring
from pipelines.journeys.flows import AUDIENCE_CHANNELS, FlowConfig
from pipelines.journeys.inputs import Inputs, availability, load_inputs
from pipelines.journeys.rules import Send, cap_block, next_allowed
from pipelines.journeys.sendlog import SendLog

FINAL_STATUSES = ("sent", "dropped_cap", "held_out", "suppressed", "no_channel", "exited", "expired")
PLAN_COLUMNS = (
    "message_id", "customer_id", "flow", "step", "channel", "trigger", "trigger_id",
    "triggered_at", "due_at", "send_at", "status", "reason", "context", "sent_at", "dropped_at",
    "quiet_held", "capped", "priority", "transactional", "is_new",
)  # fmt: skip


def plan(con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime) -> pl.DataFrame:
    """The plan as of `as_of` against the persisted send log (reads only; deterministic)."""
    inputs = load_inputs(con)
    log = SendLog.from_db(con, flows, as_of)
    return decide(expand(inputs.triggers, flows), inputs, log, flows, as_of)


def decide(
    candidates: pl.DataFrame,
    inputs: Inputs,
    log: SendLog,
    flows: FlowConfig,
    at: datetime,
    settled: set[str] | None = None,
) -> pl.DataFrame:
    """Every candidate known at `at` with its status; `settled` (message ids already final)
    narrows it to what can still change, which is what a backtest needs at each step."""
    rows = pl.concat(
        [
            candidates.filter(pl.col("triggered_at") <= at),
            recurring(inputs.triggers, flows, log, at),
        ],
        how="vertical_relaxed",
    )
    if settled is not None:
        rows = rows.filter(
            ~pl.col("message_id").is_in(list(settled))
            & ((pl.col("due_at") <= at) | (pl.col("exit_at") <= at) | pl.col("held_out"))
        )
    dropped = pl.DataFrame(
        {
            "message_id": list(log.dropped),
            "dropped_at": [v[0] for v in log.dropped.values()],
            "dropped_channel": [v[1] for v in log.dropped.values()],
        },
        schema={"message_id": pl.String, "dropped_at": pl.Datetime("us"), "dropped_channel": pl.String},
    )
    rows = (
        rows.join(log.frame(), on="message_id", how="left")
        .join(dropped, on="message_id", how="left")
        .with_columns(
            stage=pl.when(pl.col("log_sent_at").is_not_null())
            .then(pl.lit("sent"))
            .when(pl.col("dropped_at").is_not_null())
            .then(pl.lit("dropped_cap"))
            .when(pl.col("held_out"))
            .then(pl.lit("held_out"))
            .when(pl.col("exit_at") <= at)
            .then(pl.lit("exited"))
            .when(pl.col("due_at") > at)
            .then(pl.lit("scheduled"))
            .otherwise(pl.lit("due"))
        )
    )
    rows = _with_channels(rows, inputs, at)
    rows = _with_send_at(rows, flows)
    return _finish(rows, _resolve_due(rows, log, flows, at), flows, at)


def _with_channels(rows: pl.DataFrame, inputs: Inputs, at: datetime) -> pl.DataFrame:
    open_rows = rows.filter(~pl.col("stage").is_in(["sent", "dropped_cap"]))
    options = (
        open_rows.select(
            "message_id",
            "customer_id",
            "transactional",
            channel=pl.col("channel_prefs").str.split(","),
        )
        .explode("channel")
        .with_columns(rank=pl.int_range(pl.len()).over("message_id"))
    )
    options = options.join(
        availability(inputs, options.select("customer_id", "channel"), at),
        on=["customer_id", "channel"],
        how="left",
    )
    ok = pl.when(pl.col("transactional")).then("ok_transactional").otherwise("ok_marketing")
    chosen = (
        options.filter(ok.fill_null(False))
        .sort("rank")
        .group_by("message_id")
        .agg(chosen=pl.col("channel").first())
    )
    blocked = (
        options.filter(pl.col("block_reason").is_not_null())
        .sort("rank")
        .group_by("message_id")
        .agg(pl.col("block_reason").first())
    )
    return (
        rows.join(chosen, on="message_id", how="left")
        .join(blocked, on="message_id", how="left")
        .with_columns(
            channel=pl.coalesce("log_channel", "dropped_channel", "chosen"),
        )
    )


def _with_send_at(rows: pl.DataFrame, flows: FlowConfig) -> pl.DataFrame:
    quiet = flows.settings.quiet_hours
    quiet_flows = [name for name, flow in flows.flows.items() if flow.quiet_hours]
    needs = (
        pl.col("channel").is_in(quiet.channels)
        & pl.col("flow").is_in(quiet_flows)
        & pl.col("stage").is_in(["scheduled", "due"])
    )
    rows = rows.with_columns(quiet=needs.fill_null(False))
    send_at = [
        next_allowed(due, tz, quiet) if q else due
        for due, tz, q in zip(rows["due_at"], rows["timezone"], rows["quiet"], strict=True)
    ]
    return rows.with_columns(send_at=pl.Series(send_at, dtype=pl.Datetime("us")))


def _resolve_due(
    rows: pl.DataFrame, log: SendLog, flows: FlowConfig, at: datetime
) -> pl.DataFrame:
    """Status of each due message: no channel, expired, quiet hours, caps, or sent now."""
    settings = flows.settings
    quiet = settings.quiet_hours
    over_cap = {name: flow.over_cap for name, flow in flows.flows.items()}
    due = rows.filter(pl.col("stage") == "due").sort(["priority", "send_at", "message_id"])
    batch: dict[str, list[Send]] = {}
    out = []
    for r in due.iter_rows(named=True):
        status, reason, send_at = "sent", None, r["send_at"]
        quiet_held = capped = False
        if r["channel"] is None:
            status = "suppressed" if r["block_reason"] else "no_channel"
            reason = (
                f"suppressed: {r['block_reason']}"
                if r["block_reason"]
                else f"no consent or contact details on {r['channel_prefs']}"
            )
        elif at > send_at + settings.max_lateness:
            status, reason = "expired", f"not sent within {settings.max_lateness} of {send_at}"
        elif send_at > at or (r["quiet"] and next_allowed(at, r["timezone"], quiet) > at):
            send_at = max(send_at, next_allowed(at, r["timezone"], quiet))
            status, quiet_held = "held_quiet_hours", True
            reason = (
                f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} {r['timezone']}:"
                f" held until {send_at:%Y-%m-%d %H:%M} UTC"
            )
        elif not r["transactional"] and r["channel"] not in AUDIENCE_CHANNELS:
            history = log.marketing_history(r["customer_id"]) + batch.get(r["customer_id"], [])
            block = cap_block(r["channel"], history, at, settings.caps)
            if block is not None:
                capped, reason = True, block.describe()
                if over_cap[r["flow"]] == "drop":
                    status = "dropped_cap"
                else:
                    status, send_at = "deferred_cap", block.frees_at
        if status == "sent":
            quiet_held = send_at > r["due_at"]
            if not r["transactional"] and r["channel"] not in AUDIENCE_CHANNELS:
                batch.setdefault(r["customer_id"], []).append(
                    Send(r["message_id"], r["flow"], r["channel"], at)
                )
        out.append((r["message_id"], status, reason, send_at, quiet_held, capped))
    return pl.DataFrame(
        out,
        schema={
            "message_id": pl.String,
            "new_status": pl.String,
            "new_reason": pl.String,
            "new_send_at": pl.Datetime("us"),
            "quiet_held": pl.Boolean,
            "capped": pl.Boolean,
        },
        orient="row",
    )


def _finish(
    rows: pl.DataFrame, resolved: pl.DataFrame, flows: FlowConfig, at: datetime
) -> pl.DataFrame:
    shares = {name: f"{flow.holdout:.0%}" for name, flow in flows.flows.items()}
    rows = rows.join(resolved, on="message_id", how="left")
    stage = pl.col("stage")
    status = pl.coalesce("new_status", "stage")
    context = pl.struct(
        *[pl.col(c) for c in CONTEXT_COLUMNS if c not in ("product_ids", "categories")],
        pl.col("product_ids").str.split(","),
        pl.col("categories").str.split(","),
        pl.col("incentive"),
    ).struct.json_encode()
    out = rows.with_columns(
        status=status,
        reason=pl.when(stage == "held_out")
        .then(pl.format("holdout: {} of {} entrants get nothing", pl.col("flow").replace_strict(shares), "flow"))
        .when(stage == "exited")
        .then(pl.format("exited on {} at {}", "exit_reason", "exit_at"))
        .when(stage == "dropped_cap")
        .then(pl.lit("dropped by a frequency cap"))
        .when((stage == "scheduled") & pl.col("channel").is_null())
        .then(pl.lit("no channel available yet"))
        .otherwise(pl.col("new_reason")),
        send_at=pl.when(stage == "sent")
        .then(pl.col("log_sent_at"))
        .otherwise(pl.coalesce("new_send_at", "send_at")),
        sent_at=pl.when(stage == "sent")
        .then(pl.col("log_sent_at"))
        .when(pl.col("new_status") == "sent")
        .then(pl.lit(at, pl.Datetime("us"))),
        dropped_at=pl.when(stage == "dropped_cap")
        .then(pl.col("dropped_at"))
        .when(pl.col("new_status") == "dropped_cap")
        .then(pl.lit(at, pl.Datetime("us"))),
        quiet_held=pl.col("quiet_held").fill_null(False),
        capped=pl.col("capped").fill_null(False),
        is_new=(pl.col("new_status") == "sent").fill_null(False),
        context=context,
    )
    return out.select(PLAN_COLUMNS).sort(["due_at", "message_id"])
