"""Helpers shared by the ingest tests: Segment messages, landing files, warehouse queries."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.ingest.loader import IngestSummary, ingest_landing

LOADED_AT = datetime(2026, 12, 1, 6, 0)
EMAIL, PHONE = "ann.secret@example.com", "+33612345678"


def msg(message_id: str, **fields: object) -> dict:
    """A valid Segment track call; `fields` override or (with None) remove keys."""
    record = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": message_id,
        "anonymousId": "a-1",
        "userId": "c-1",
        "timestamp": "2026-11-30T10:00:00Z",
        "properties": {"product_id": "p-1", "category": "Shoes", "price": 59.0},
        "context": {"timezone": "Europe/Paris"},
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def text(records: list[dict | str]) -> bytes:
    """JSON lines of `records`; strings are written as they are (for malformed lines)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def write(path: Path, records: list[dict | str], gz: bool = False) -> Path:
    """Write `records` as a JSON-lines file, gzipped if asked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text(records)) if gz else text(records))
    return path


def ingest(tmp_path: Path, **kwargs: object) -> IngestSummary:
    """Ingest `tmp_path/landing` into `tmp_path/w.duckdb` at a fixed load time."""
    return ingest_landing(
        tmp_path / "w.duckdb", tmp_path / "landing", loaded_at=LOADED_AT, **kwargs
    )


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    """Result of `sql` on the test warehouse, opened read-only as dbt would after ingest."""
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def quarantine(tmp_path: Path) -> dict[tuple[str, int | None], str]:
    """Quarantine reasons by (source_file, line_number)."""
    found = rows(tmp_path, "select source_file, line_number, reason from raw.quarantine")
    return {(f, n): r for f, n, r in found}
