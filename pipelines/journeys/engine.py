"""One journey run: recover, plan, persist, dispatch; what `journey run` and the assets call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from activations.outbox import DispatchResult, dispatch, reconcile
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.journeys.flows import FlowConfig
from pipelines.journeys.planner import plan
from pipelines.journeys.store import persist


@dataclass(frozen=True)
class RunSummary:
    as_of: datetime
    messages: int
    by_status: dict[str, int]
    recovered: int  # outbox files a crash had left unrecorded, now recorded as sent
    dispatched: DispatchResult


def plan_and_persist(
    con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime, outbox: Path
) -> tuple[pl.DataFrame, int]:
    """Record any send a crash left unrecorded, plan as of `as_of` and upsert the plan; returns
    the plan and how many sends were recovered from the outbox."""
    ensure_raw_schema(con)
    recovered = reconcile(con, outbox)
    planned = plan(con, flows, as_of)
    persist(con, planned, as_of)
    return planned, recovered


def run_journeys(
    con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime, outbox: Path
) -> RunSummary:
    """Plan, persist and dispatch the messages due as of `as_of` (idempotent)."""
    planned, recovered = plan_and_persist(con, flows, as_of, outbox)
    result = dispatch(con, flows, outbox, as_of)
    counts = planned.group_by("status").len().sort("status")
    return RunSummary(
        as_of=as_of,
        messages=planned.height,
        by_status=dict(zip(counts["status"], counts["len"], strict=True)),
        recovered=recovered,
        dispatched=result,
    )
