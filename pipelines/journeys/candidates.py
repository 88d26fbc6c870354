"""Candidate messages: every (trigger instance, flow, step) a flow declares, with its due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from pipelines.journeys.flows import Flow, FlowConfig, Step
from pipelines.journeys.rules import holdout_bucket, message_id
from pipelines.journeys.sendlog import SendLog

CONTEXT_COLUMNS = ("order_id", "cart_id", "product_ids", "categories", "amount", "tracking_url")
SIGNUP_INCENTIVES = ("discount", "free_shipping")


def _exit(flow: Flow) -> tuple[pl.Expr, pl.Expr]:
    columns = [f"exit_{kind}_at" for kind in flow.exit_on]
    if not columns:
        return pl.lit(None, pl.Datetime("us")), pl.lit(None, pl.String)
    exit_at = pl.min_horizontal(columns)
    reason = pl.lit(None, pl.String)
    for kind, column in reversed(list(zip(flow.exit_on, columns, strict=True))):
        reason = pl.when(pl.col(column) == exit_at).then(pl.lit(kind)).otherwise(reason)
    return exit_at, reason


def _step_rows(triggers: pl.DataFrame, flow: Flow, step: Step) -> list[pl.DataFrame]:
    if step.only_triggers:
        triggers = triggers.filter(pl.col("trigger").is_in(step.only_triggers))
    exit_at, exit_reason = _exit(flow)
    incentive = pl.lit(step.incentive, pl.String)
    if step.incentive is not None:
        # the incentive promised on the sign-up form wins over the step's default
        incentive = (
            pl.when(pl.col("incentive").is_in(SIGNUP_INCENTIVES))
            .then(pl.col("incentive"))
            .otherwise(incentive)
        )
    preference_lists = [[c] for c in step.channels] if step.all_channels else [step.channels]
    frames = []
    for channels in preference_lists:
        key = f"{step.name}.{channels[0]}" if step.all_channels else step.name
        frames.append(
            triggers.select(
                "customer_id",
                "trigger",
                "trigger_id",
                "triggered_at",
                "timezone",
                *CONTEXT_COLUMNS,
                flow=pl.lit(flow.name),
                step=pl.lit(step.name),
                step_key=pl.lit(key),
                channel_prefs=pl.lit(",".join(channels)),
                due_at=pl.col("triggered_at") + pl.lit(step.delay),
                exit_at=exit_at,
                exit_reason=exit_reason,
                incentive=incentive,
            )
        )
    return frames


def _with_ids(frame: pl.DataFrame, flows: FlowConfig) -> pl.DataFrame:
    ids = [
        message_id(c, f, s, t)
        for c, f, s, t in zip(
            frame["customer_id"], frame["flow"], frame["step_key"], frame["trigger_id"], strict=True
        )
    ]
    buckets = {
        (c, f): holdout_bucket(c, f)
        for c, f in frame.select("customer_id", "flow").unique().iter_rows()
    }
    shares = {name: flow.holdout for name, flow in flows.flows.items()}
    held = [
        shares[f] > 0 and buckets[(c, f)] < shares[f]
        for c, f in zip(frame["customer_id"], frame["flow"], strict=True)
    ]
    return frame.with_columns(
        message_id=pl.Series(ids, dtype=pl.String),
        held_out=pl.Series(held, dtype=pl.Boolean),
        priority=pl.col("flow").replace_strict(
            {n: f.priority for n, f in flows.flows.items()}, return_dtype=pl.Int32
        ),
        transactional=pl.col("flow").replace_strict(
            {n: f.transactional for n, f in flows.flows.items()}, return_dtype=pl.Boolean
        ),
    )


def _empty(triggers: pl.DataFrame, flows: FlowConfig) -> pl.DataFrame:
    flow = next(iter(flows.flows.values()))
    return _step_rows(triggers.clear(), flow, flow.steps[0])[0]


@dataclass(frozen=True)
class Candidates:
    """One-off candidate messages, and the trigger rows of recurring flows (planned per run)."""

    frame: pl.DataFrame
    recurring: dict[str, list[dict[str, Any]]]
    trigger_schema: pl.Schema

    def without(self, message_ids: set[str]) -> Candidates:
        """The same, minus messages already settled (a backtest prunes as it goes)."""
        if not message_ids:
            return self
        kept = self.frame.filter(~pl.col("message_id").is_in(list(message_ids)))
        return Candidates(kept, self.recurring, self.trigger_schema)


def expand(triggers: pl.DataFrame, flows: FlowConfig) -> Candidates:
    """One candidate per trigger instance, flow and step (and channel, for all-channel steps)."""
    frames: list[pl.DataFrame] = []
    recurring_triggers = {}
    for flow in flows.flows.values():
        matching = triggers.filter(pl.col("trigger").is_in(flow.trigger))
        if flow.recurring:
            exit_at, _ = _exit(flow)
            recurring_triggers[flow.name] = matching.with_columns(exit_at=exit_at).to_dicts()
            continue
        for step in flow.steps:
            frames.extend(_step_rows(matching, flow, step))
    frame = pl.concat(frames, how="vertical_relaxed") if frames else _empty(triggers, flows)
    return Candidates(_with_ids(frame, flows), recurring_triggers, triggers.schema)


def recurring(candidates: Candidates, flows: FlowConfig, log: SendLog, at: datetime) -> list[dict]:
    """The occurrence of each recurring flow due by `at`: `delay` after the trigger or the
    customer's latest email, whichever is later; occurrences missed by more than max_lateness
    are skipped (the next one is anchored where the missed one was due)."""
    lateness = flows.settings.max_lateness
    rows: list[dict] = []
    for name, triggers in candidates.recurring.items():
        flow = flows.flows[name]
        step = flow.steps[0]
        due = []
        for trigger in triggers:
            if trigger["triggered_at"] > at or (trigger["exit_at"] and trigger["exit_at"] <= at):
                continue
            last = log.last_email_before(trigger["customer_id"], at)
            anchor = max(trigger["triggered_at"], last) if last else trigger["triggered_at"]
            if anchor + step.delay + lateness < at and step.delay.total_seconds() > 0:
                anchor += ((at - lateness - anchor - step.delay) // step.delay + 1) * step.delay
            if anchor + step.delay <= at:
                occurrence_id = f"{trigger['trigger_id']}@{anchor:%Y%m%dT%H%M%S}"
                due.append({**trigger, "triggered_at": anchor, "trigger_id": occurrence_id})
        if due:
            frame = pl.from_dicts(
                [{k: v for k, v in d.items() if k != "exit_at"} for d in due],
                schema=candidates.trigger_schema,
            )
            rows.extend(_with_ids(pl.concat(_step_rows(frame, flow, step)), flows).to_dicts())
    return rows
