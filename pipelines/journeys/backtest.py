"""Replay the planner over a past period against a simulated send log, writing nothing.

dbt is built once (as of the end of the period or later); because journey_triggers is a timeline
(triggers known at t = triggered_at <= t, exits <= t), replaying the planner at t = start,
start + step, ..., end gives what `journey run --as-of t` at each of those moments would have
done. A step only re-decides the messages that can still change; the last one re-plans all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import polars as pl

from pipelines.journeys.candidates import expand
from pipelines.journeys.flows import FlowConfig
from pipelines.journeys.inputs import load_inputs
from pipelines.journeys.planner import decide
from pipelines.journeys.sendlog import LogEntry, SendLog
from pipelines.journeys.store import MemoryStore, stored_messages

REPORT_COLUMNS = (
    "flow", "step", "channel", "sent", "customers", "held_quiet_hours", "capped", "held_out",
    "exited", "unreachable", "orders",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestReport:
    start: datetime
    end: datetime
    step_minutes: int
    runs: int
    seconds: float
    flow: str | None
    rows: pl.DataFrame
    messages: pl.DataFrame


def step_times(start: datetime, end: datetime, step_minutes: int) -> list[datetime]:
    """start, start + step, ... up to end (inclusive)."""
    if step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    step = timedelta(minutes=step_minutes)
    return [start + i * step for i in range(int((end - start) / step) + 1)]


def completed_orders(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """order_id, customer_id, ordered_at of completed orders (the orders mart)."""
    return con.sql(
        "select order_id, customer_id, ordered_at from main.orders where is_completed"
    ).pl()


def summarize(
    messages: pl.DataFrame,
    orders: pl.DataFrame,
    flows: FlowConfig,
    start: datetime,
    end: datetime,
    flow: str | None = None,
) -> pl.DataFrame:
    """Per flow, step and channel: sent, customers reached, held by quiet hours, capped, held
    out, exited, unreachable (no channel or suppressed), and orders that followed a send within
    the channel's attribution window."""
    period = messages.filter(pl.col("planned_at") >= start).filter(
        pl.when(pl.col("status") == "sent")
        .then(pl.col("sent_at").is_between(start, end))
        .otherwise(pl.col("due_at").is_between(start, end))
    )
    if flow is not None:
        period = period.filter(pl.col("flow") == flow)
    windows = {c: w for c, w in flows.settings.attribution.items()}
    sent = period.filter(pl.col("status") == "sent").with_columns(
        window=pl.col("channel").replace_strict(
            windows, default=timedelta(0), return_dtype=pl.Duration("us")
        )
    )
    followed = (
        sent.join(orders, on="customer_id")
        .filter(
            (pl.col("ordered_at") > pl.col("sent_at"))
            & (pl.col("ordered_at") <= pl.col("sent_at") + pl.col("window"))
        )
        .group_by("flow", "step", "channel")
        .agg(orders=pl.col("order_id").n_unique())
    )
    status = pl.col("status")
    counts = period.group_by("flow", "step", "channel").agg(
        sent=(status == "sent").sum(),
        customers=pl.col("customer_id").filter(status == "sent").n_unique(),
        held_quiet_hours=pl.col("quiet_held").sum(),
        capped=pl.col("capped").sum(),
        held_out=(status == "held_out").sum(),
        exited=(status == "exited").sum(),
        unreachable=status.is_in(["no_channel", "suppressed"]).sum(),
        priority=pl.col("priority").first(),
    )
    return (
        counts.join(followed, on=["flow", "step", "channel"], how="left", nulls_equal=True)
        .with_columns(pl.col("orders").fill_null(0))
        .sort("priority", "flow", "step", "channel", nulls_last=True)
        .select(REPORT_COLUMNS)
        .cast({c: pl.Int64 for c in REPORT_COLUMNS[3:]})
    )


def backtest(
    con: duckdb.DuckDBPyConnection,
    flows: FlowConfig,
    start: datetime,
    end: datetime,
    step_minutes: int = 15,
    flow: str | None = None,
) -> BacktestReport:
    """Replay every flow at each step time and report (one flow, with `flow`); writes nothing."""
    if flow is not None and flow not in flows.flows:
        raise ValueError(f"unknown flow {flow!r}; flows: {', '.join(flows.flows)}")
    started = time.perf_counter()
    times = step_times(start, end, step_minutes)
    inputs = load_inputs(con)
    log = SendLog.from_db(con, flows, start - timedelta(microseconds=1))
    candidates = expand(inputs.triggers, flows)
    pending_ids = set(candidates.frame["message_id"])
    store = MemoryStore()
    recurring = {name for name, f in flows.flows.items() if f.recurring}
    for i, at in enumerate(times):
        last = i == len(times) - 1
        if not last:
            candidates = candidates.without(store.settled & pending_ids)
            pending_ids -= store.settled
        planned = decide(candidates, inputs, log, flows, at, None if last else store.settled)
        for row in planned.filter(pl.col("is_new")).iter_rows(named=True):
            log.add_send(
                LogEntry(
                    *(
                        row[c]
                        for c in ("message_id", "customer_id", "flow", "step", "channel", "sent_at")
                    )
                )
            )
        for row in planned.filter(
            (pl.col("status") == "dropped_cap") & (pl.col("dropped_at") == at)
        ).iter_rows(named=True):
            log.add_drop(row["message_id"], at, row["channel"])
        store.apply(planned, at, full=last, recurring=recurring)
    messages = store.frame()
    rows = summarize(messages, completed_orders(con), flows, start, end, flow)
    return BacktestReport(
        start=start,
        end=end,
        step_minutes=step_minutes,
        runs=len(times),
        seconds=time.perf_counter() - started,
        flow=flow,
        rows=rows,
        messages=messages,
    )


def report_from_store(
    con: duckdb.DuckDBPyConnection,
    flows: FlowConfig,
    start: datetime,
    end: datetime,
    step_minutes: int = 15,
    flow: str | None = None,
) -> BacktestReport:
    """The same report from what real runs persisted in journeys.messages over the period."""
    messages = stored_messages(con)
    rows = summarize(messages, completed_orders(con), flows, start, end, flow)
    runs = len(step_times(start, end, step_minutes))
    return BacktestReport(start, end, step_minutes, runs, 0.0, flow, rows, messages)


def render_backtest(report: BacktestReport) -> str:
    """The report as a text table with a totals line."""
    rows = report.rows
    header = (
        f"Backtest {report.start:%Y-%m-%d %H:%M} -> {report.end:%Y-%m-%d %H:%M} UTC, every "
        f"{report.step_minutes} min ({report.runs} runs, {report.seconds:.1f}s)"
        + (f", flow {report.flow}" if report.flow else "")
    )
    names = list(REPORT_COLUMNS)
    table = [[str(v) if v is not None else "-" for v in r] for r in rows.iter_rows()]
    totals = ["total", "", ""] + [str(rows[c].sum()) for c in names[3:]]
    widths = [max(len(x) for x in col) for col in zip(names, *table, totals, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    body = [line(names), rule, *(line(r) for r in table), rule, line(totals)]
    return "\n".join([header, "", *body])
