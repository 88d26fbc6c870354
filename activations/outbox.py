"""The dry-run dispatcher: render each queued message into the outbox, then record it as sent.

Order of operations makes it crash-safe: the outbox file is written atomically (temp file and
rename) before the database records the send, in one transaction with the status change. A
crash after the file and before the commit leaves a file with no record; the next run finds it
(reconcile) and records it instead of sending again, and a message whose file exists is never
rendered twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from activations.content import product_cards
from activations.templates import render
from pipelines.journeys.flows import AUDIENCE_CHANNELS, FlowConfig
from pipelines.warehouse import transaction

RECIPIENT_KINDS = {
    "email": "email",
    "sms": "phone",
    "push": "push_token",
    "messenger": "messenger_psid",
}
SENT_COLUMNS = ("message_id", "customer_id", "flow", "step", "channel", "sent_at")


def outbox_path(outbox: Path, channel: str, message_id: str) -> Path:
    return outbox / channel / f"{message_id}.json"


def write_atomic(path: Path, payload: dict[str, Any]) -> bool:
    """Write a JSON file all at once; False (and nothing written) when it already exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as handle:
        json.dump(payload, handle, default=str, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return True


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _recipients(con: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> dict[str, dict]:
    """Each customer's current contact details, by kind."""
    if not customer_ids:
        return {}
    con.register("dispatch_customers", pl.DataFrame({"customer_id": customer_ids}).to_arrow())
    try:
        rows = con.execute(
            "select customer_id, contact_kind, contact_value"
            " from main.int_contact_points_historized where valid_to is null"
            " and customer_id in (select customer_id from dispatch_customers)"
        ).fetchall()
    finally:
        con.unregister("dispatch_customers")
    found: dict[str, dict] = {}
    for customer_id, kind, value in rows:
        found.setdefault(customer_id, {})[kind] = value
    return found


def recipient(channel: str, contacts: dict[str, str]) -> dict[str, str]:
    """The address for a channel; audiences get identifiers normalised and SHA-256 hashed."""
    if channel in AUDIENCE_CHANNELS:
        out = {}
        if contacts.get("email"):
            out["hashed_email"] = _sha256(contacts["email"].strip().lower())
        if contacts.get("phone"):
            out["hashed_phone"] = _sha256(re.sub(r"[^\d+]", "", contacts["phone"]))
        if contacts.get("advertising_id"):
            out["advertising_id"] = contacts["advertising_id"]
        return out
    kind = RECIPIENT_KINDS[channel]
    return {kind: contacts[kind]} if contacts.get(kind) else {}


def _record_sent(con: duckdb.DuckDBPyConnection, sent: pl.DataFrame) -> None:
    """In one transaction: append the sends not yet logged and mark the messages sent."""
    columns = ", ".join(SENT_COLUMNS)
    with transaction(con, dispatched_rows=sent.select(SENT_COLUMNS)):
        con.execute(
            f"insert into journeys.sent_messages ({columns})"
            f" select {columns} from dispatched_rows d where not exists"
            " (select 1 from journeys.sent_messages s where s.message_id = d.message_id)"
        )
        con.execute(
            "update journeys.messages set status = 'sent', sent_at = d.sent_at"
            " from dispatched_rows d where journeys.messages.message_id = d.message_id"
        )


@dataclass(frozen=True)
class DispatchResult:
    written: int
    already_in_outbox: int
    reconciled: int


def reconcile(con: duckdb.DuckDBPyConnection, outbox: Path) -> int:
    """Record as sent every outbox file the database does not know was sent (after a crash)."""
    if not outbox.is_dir():
        return 0
    files = {p.stem: p for p in outbox.glob("*/*.json")}
    known = {r[0] for r in con.execute("select message_id from journeys.sent_messages").fetchall()}
    missing = [files[k] for k in sorted(files) if k not in known]
    if not missing:
        return 0
    payloads = [json.loads(p.read_text()) for p in missing]
    frame = pl.DataFrame({c: [p[c] for p in payloads] for c in SENT_COLUMNS}).with_columns(
        pl.col("sent_at").str.to_datetime()
    )
    _record_sent(con, frame)
    return len(missing)


def dispatch(
    con: duckdb.DuckDBPyConnection, flows: FlowConfig, outbox: Path, dry_run_at: datetime
) -> DispatchResult:
    """Render every queued message into the outbox, then record them all as sent."""
    reconciled = reconcile(con, outbox)
    queued = con.sql("select * from journeys.messages where status = 'queued'").pl()
    contacts = _recipients(con, queued["customer_id"].unique().sort().to_list())
    messages = queued.to_dicts()
    cards = product_cards(con, messages)
    written = existing = 0
    for message in messages:
        payload = {
            **{c: message[c] for c in ("message_id", "customer_id", "flow", "step", "channel")},
            "trigger_id": message["trigger_id"],
            "due_at": message["due_at"],
            "sent_at": message["sent_at"],
            "to": recipient(message["channel"], contacts.get(message["customer_id"], {})),
            "dry_run": True,
            "rendered_at": dry_run_at,
            **render(message, flows.settings, cards.get(message["message_id"])),
        }
        if write_atomic(outbox_path(outbox, message["channel"], message["message_id"]), payload):
            written += 1
        else:
            existing += 1
    if queued.height:
        _record_sent(con, queued)
    return DispatchResult(written=written, already_in_outbox=existing, reconciled=reconciled)
