"""Where plans are kept: journeys.messages in DuckDB, or an in-memory copy for a backtest.

Both apply a plan the same way: a message in a final status is never changed again; an open one
takes the new plan's values (keeping when it was first planned and whether quiet hours or caps
ever held it); an open one missing from a full plan is cancelled.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from pipelines.ingest.schema import ensure_raw_schema
from pipelines.journeys.planner import FINAL_STATUSES
from pipelines.warehouse import transaction

STORE_COLUMNS = (
    "message_id", "customer_id", "flow", "step", "channel", "trigger", "trigger_id",
    "triggered_at", "due_at", "send_at", "status", "reason", "context", "sent_at", "dropped_at",
    "quiet_held", "capped", "priority", "transactional", "planned_at", "updated_at",
)  # fmt: skip
OPEN_STATUSES = ("scheduled", "held_quiet_hours", "deferred_cap", "queued")
CANCELLED_REASON = "no longer planned (superseded by a later occurrence or a data correction)"
_STICKY = ("message_id", "planned_at", "quiet_held", "capped")


def _stored(plan: pl.DataFrame, as_of: datetime, queue_new: bool) -> pl.DataFrame:
    status = pl.col("status")
    if queue_new:
        status = pl.when(pl.col("is_new")).then(pl.lit("queued")).otherwise(status)
    at = pl.lit(as_of, pl.Datetime("us"))
    return plan.with_columns(status=status, planned_at=at, updated_at=at).select(STORE_COLUMNS)


def persist(
    con: duckdb.DuckDBPyConnection, plan: pl.DataFrame, as_of: datetime, queue_new: bool = True
) -> None:
    """Upsert a full plan into journeys.messages; newly due messages wait as `queued` for the
    dispatcher unless `queue_new` is false."""
    ensure_raw_schema(con)
    rows = _stored(plan, as_of, queue_new)
    final = ", ".join(f"'{s}'" for s in FINAL_STATUSES)
    updates = ", ".join(f"{c} = excluded.{c}" for c in STORE_COLUMNS if c not in _STICKY)
    with transaction(con, journey_plan_rows=rows):
        con.execute(
            f"insert into journeys.messages ({', '.join(STORE_COLUMNS)})"
            f" select {', '.join(STORE_COLUMNS)} from journey_plan_rows"
            f" on conflict (message_id) do update set {updates},"
            f" quiet_held = journeys.messages.quiet_held or excluded.quiet_held,"
            f" capped = journeys.messages.capped or excluded.capped"
            f" where journeys.messages.status not in ({final})"
        )
        con.execute(
            "update journeys.messages set status = 'cancelled', reason = ?, updated_at = ?"
            f" where status in ({', '.join(repr(s) for s in OPEN_STATUSES)})"
            " and message_id not in (select message_id from journey_plan_rows)",
            [CANCELLED_REASON, as_of],
        )


class MemoryStore:
    """journeys.messages for a backtest: the same rules, in memory, written nowhere."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.settled: set[str] = set()  # ids of the messages in a final status
        self._open: set[str] = set()  # ids of the messages in an open status

    def apply(self, plan: pl.DataFrame, as_of: datetime, full: bool, recurring: set[str]) -> None:
        """Apply a plan; a partial one (a backtest step) cancels only recurring flows' rows."""
        seen = set()
        for row in _stored(plan, as_of, queue_new=False).iter_rows(named=True):
            seen.add(row["message_id"])
            old = self.rows.get(row["message_id"])
            if old is not None and old["status"] in FINAL_STATUSES:
                continue
            if old is not None:
                row.update(
                    planned_at=old["planned_at"],
                    quiet_held=old["quiet_held"] or row["quiet_held"],
                    capped=old["capped"] or row["capped"],
                )
            self.rows[row["message_id"]] = row
            self._track(row)
        for message_id in sorted(self._open - seen):
            row = self.rows[message_id]
            if full or row["flow"] in recurring:
                row.update(status="cancelled", reason=CANCELLED_REASON, updated_at=as_of)
                self._track(row)

    def _track(self, row: dict) -> None:
        message_id = row["message_id"]
        self._open.discard(message_id)
        if row["status"] in FINAL_STATUSES:
            self.settled.add(message_id)
        elif row["status"] in OPEN_STATUSES:
            self._open.add(message_id)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(list(self.rows.values()), schema=_SCHEMA, orient="row")


_SCHEMA = {
    "message_id": pl.String, "customer_id": pl.String, "flow": pl.String, "step": pl.String,
    "channel": pl.String, "trigger": pl.String, "trigger_id": pl.String,
    "triggered_at": pl.Datetime("us"), "due_at": pl.Datetime("us"), "send_at": pl.Datetime("us"),
    "status": pl.String, "reason": pl.String, "context": pl.String, "sent_at": pl.Datetime("us"),
    "dropped_at": pl.Datetime("us"), "quiet_held": pl.Boolean, "capped": pl.Boolean,
    "priority": pl.Int32, "transactional": pl.Boolean, "planned_at": pl.Datetime("us"),
    "updated_at": pl.Datetime("us"),
}  # fmt: skip


def stored_messages(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """journeys.messages as a frame (the same shape as MemoryStore.frame())."""
    return con.sql(f"select {', '.join(STORE_COLUMNS)} from journeys.messages").pl().cast(_SCHEMA)
