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

import json
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from pipelines.journeys.candidates import CONTEXT_COLUMNS, Candidates, expand, recurring
from pipelines.journeys.flows import AUDIENCE_CHANNELS, FlowConfig
from pipelines.journeys.inputs import Inputs, load_inputs
from pipelines.journeys.rules import Send, cap_block, next_allowed
from pipelines.journeys.sendlog import SendLog

FINAL_STATUSES = (
    "sent",
    "dropped_cap",
    "held_out",
    "suppressed",
    "no_channel",
    "exited",
    "expired",
)
PLAN_SCHEMA: dict[str, Any] = {
    "message_id": pl.String, "customer_id": pl.String, "flow": pl.String, "step": pl.String,
    "channel": pl.String, "trigger": pl.String, "trigger_id": pl.String,
    "triggered_at": pl.Datetime("us"), "due_at": pl.Datetime("us"), "send_at": pl.Datetime("us"),
    "status": pl.String, "reason": pl.String, "context": pl.String, "sent_at": pl.Datetime("us"),
    "dropped_at": pl.Datetime("us"), "quiet_held": pl.Boolean, "capped": pl.Boolean,
    "priority": pl.Int32, "transactional": pl.Boolean, "is_new": pl.Boolean,
}  # fmt: skip


def plan(con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime) -> pl.DataFrame:
    """The plan as of `as_of` against the persisted send log (reads only; deterministic)."""
    inputs = load_inputs(con)
    log = SendLog.from_db(con, flows, as_of)
    return decide(expand(inputs.triggers, flows), inputs, log, flows, as_of)


def decide(
    candidates: Candidates,
    inputs: Inputs,
    log: SendLog,
    flows: FlowConfig,
    at: datetime,
    settled: set[str] | None = None,
) -> pl.DataFrame:
    """Every candidate known at `at` with its status. With `settled` (the ids already final, as
    a backtest step passes), only what can change now: due, exited or held-out messages."""
    frame = candidates.frame.filter(pl.col("triggered_at") <= at)
    if settled is not None:
        frame = frame.filter(
            (pl.col("due_at") <= at) | (pl.col("exit_at") <= at) | pl.col("held_out")
        )
    rows = frame.to_dicts() + recurring(candidates, flows, log, at)
    if settled is not None:
        rows = [r for r in rows if r["message_id"] not in settled]
    decided = [_stage(r, inputs, log, flows, at) for r in rows]
    due = sorted(
        (r for r in decided if r["status"] == "due"),
        key=lambda r: (r["priority"], r["send_at"], r["message_id"]),
    )
    batch: dict[str, list[Send]] = {}
    for row in due:
        _resolve_due(row, log, flows, at, batch)
    decided.sort(key=lambda r: (r["due_at"], r["message_id"]))
    return pl.DataFrame(
        [{c: r.get(c) for c in PLAN_SCHEMA} for r in decided], schema=PLAN_SCHEMA, orient="row"
    )


def _context(row: dict[str, Any]) -> str:
    context = {c: row[c] for c in CONTEXT_COLUMNS if c not in ("product_ids", "categories")}
    for listed in ("product_ids", "categories"):
        context[listed] = row[listed].split(",") if row[listed] else []
    context["incentive"] = row["incentive"]
    return json.dumps(context)


def _stage(
    row: dict[str, Any], inputs: Inputs, log: SendLog, flows: FlowConfig, at: datetime
) -> dict[str, Any]:
    """Status of a message that needs no cap decision; "due" for the rest (channel chosen)."""
    flow = flows.flows[row["flow"]]
    row.update(context=_context(row), quiet_held=False, capped=False, is_new=False, reason=None)
    sent = log.sends.get(row["message_id"])
    if sent is not None:
        row.update(status="sent", channel=sent.channel, sent_at=sent.sent_at, send_at=sent.sent_at)
        return row
    if row["message_id"] in log.dropped:
        dropped_at, channel = log.dropped[row["message_id"]]
        row.update(status="dropped_cap", channel=channel, dropped_at=dropped_at)
        row.update(send_at=row["due_at"], reason="dropped by a frequency cap")
        return row
    row["channel"], row["block_reason"] = None, None
    for channel in row["channel_prefs"].split(","):
        usable, why = inputs.reach.option(row["customer_id"], channel, at, row["transactional"])
        if usable:
            row["channel"] = channel
            break
        row["block_reason"] = row["block_reason"] or why
    quiet = flows.settings.quiet_hours
    row["quiet"] = flow.quiet_hours and row["channel"] in quiet.channels
    row["send_at"] = (
        next_allowed(row["due_at"], row["timezone"], quiet) if row["quiet"] else row["due_at"]
    )
    if row["held_out"]:
        row.update(
            status="held_out",
            reason=f"holdout: {flow.holdout:.0%} of {flow.name} entrants get nothing",
        )
    elif row["exit_at"] is not None and row["exit_at"] <= at:
        row.update(status="exited", reason=f"exited on {row['exit_reason']} at {row['exit_at']}")
    elif row["due_at"] > at:
        row.update(
            status="scheduled", reason=None if row["channel"] else "no channel available yet"
        )
    else:
        row["status"] = "due"
    return row


def _resolve_due(
    row: dict[str, Any], log: SendLog, flows: FlowConfig, at: datetime, batch: dict[str, list[Send]]
) -> None:
    """A due message: no channel, expired, held by quiet hours, over a cap, or sent now."""
    settings = flows.settings
    quiet = settings.quiet_hours
    if row["channel"] is None:
        if row["block_reason"]:
            row.update(status="suppressed", reason=f"suppressed: {row['block_reason']}")
        else:
            row.update(
                status="no_channel",
                reason=f"no consent or contact details on {row['channel_prefs']}",
            )
        return
    if at > row["send_at"] + settings.max_lateness:
        row.update(
            status="expired", reason=f"not sent within {settings.max_lateness} of {row['send_at']}"
        )
        return
    held_until = next_allowed(at, row["timezone"], quiet) if row["quiet"] else at
    if row["send_at"] > at or held_until > at:
        send_at = max(row["send_at"], held_until)
        row.update(
            status="held_quiet_hours",
            send_at=send_at,
            quiet_held=True,
            reason=f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} {row['timezone']}:"
            f" held until {send_at:%Y-%m-%d %H:%M} UTC",
        )
        return
    marketing = not row["transactional"] and row["channel"] not in AUDIENCE_CHANNELS
    if marketing:
        history = log.marketing_history(row["customer_id"]) + batch.get(row["customer_id"], [])
        block = cap_block(row["channel"], history, at, settings.caps)
        if block is not None:
            row.update(capped=True, reason=block.describe())
            if flows.flows[row["flow"]].over_cap == "drop":
                row.update(status="dropped_cap", dropped_at=at)
            else:
                row.update(status="deferred_cap", send_at=block.frees_at)
            return
        batch.setdefault(row["customer_id"], []).append(
            Send(row["message_id"], row["flow"], row["channel"], at)
        )
    quiet_held = row["send_at"] > row["due_at"]
    row.update(status="sent", sent_at=at, send_at=at, is_new=True, quiet_held=quiet_held)
