"""The send log the planner decides against: what was sent (or dropped by a cap) and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from pipelines.journeys.flows import AUDIENCE_CHANNELS, FlowConfig
from pipelines.journeys.rules import Send


@dataclass(frozen=True)
class LogEntry:
    message_id: str
    customer_id: str
    flow: str
    step: str
    channel: str
    sent_at: datetime


@dataclass
class SendLog:
    """Sends and cap drops up to a moment: from DuckDB, or simulated by a backtest."""

    flows: FlowConfig
    sends: dict[str, LogEntry] = field(default_factory=dict)
    dropped: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    _marketing: dict[str, list[Send]] = field(default_factory=dict)
    _emails: dict[str, list[datetime]] = field(default_factory=dict)
    _frame: pl.DataFrame | None = None

    def add_send(self, entry: LogEntry) -> None:
        if entry.message_id in self.sends:
            return
        self.sends[entry.message_id] = entry
        self._frame = None
        flow = self.flows.flows.get(entry.flow)
        if entry.channel not in AUDIENCE_CHANNELS and not (flow and flow.transactional):
            self._marketing.setdefault(entry.customer_id, []).append(
                Send(entry.message_id, entry.flow, entry.channel, entry.sent_at)
            )
        if entry.channel == "email":
            self._emails.setdefault(entry.customer_id, []).append(entry.sent_at)

    def add_drop(self, message_id: str, at: datetime, channel: str | None) -> None:
        self.dropped.setdefault(message_id, (at, channel))

    def marketing_history(self, customer_id: str) -> list[Send]:
        """Marketing messages sent to a customer (what the frequency caps count)."""
        return self._marketing.get(customer_id, [])

    def last_email_before(self, customer_id: str, at: datetime) -> datetime | None:
        """The latest email sent to a customer strictly before `at` (so that a rerun as of the
        same moment sees what the first run saw)."""
        earlier = [t for t in self._emails.get(customer_id, []) if t < at]
        return max(earlier) if earlier else None

    def frame(self) -> pl.DataFrame:
        """message_id, log_channel, log_sent_at of every send."""
        if self._frame is None:
            entries = list(self.sends.values())
            self._frame = pl.DataFrame(
                {
                    "message_id": [e.message_id for e in entries],
                    "log_channel": [e.channel for e in entries],
                    "log_sent_at": [e.sent_at for e in entries],
                },
                schema={
                    "message_id": pl.String,
                    "log_channel": pl.String,
                    "log_sent_at": pl.Datetime("us"),
                },
            )
        return self._frame

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection, flows: FlowConfig, until: datetime) -> SendLog:
        """The persisted log: journeys.sent_messages and the cap drops, up to `until`."""
        log = cls(flows)
        rows = con.execute(
            "select message_id, customer_id, flow, step, channel, sent_at"
            " from journeys.sent_messages where sent_at <= ? order by sent_at, message_id",
            [until],
        ).fetchall()
        for row in rows:
            log.add_send(LogEntry(*row))
        drops = con.execute(
            "select message_id, dropped_at, channel from journeys.messages"
            " where status = 'dropped_cap' and dropped_at <= ?",
            [until],
        ).fetchall()
        for message_id, at, channel in drops:
            log.add_drop(message_id, at, channel)
        return log
