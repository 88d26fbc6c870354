"""Run the dbt project in process against a test DuckDB file, parsing the project only once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from dbt.cli.main import dbtRunner, dbtRunnerResult

from pipelines.ingest.schema import ensure_raw_schema

DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# Columns stamped with the wall-clock time of the load or dbt run that wrote the row: they
# differ between two warehouses by design and are left out when comparing tables.
RUN_STAMPS = {"loaded_at", "stitched_at", "events_stitched_through"}

DB_NAME = "journey.duckdb"

EVENT_COLUMNS = (
    "message_id, type, event, anonymous_id, user_id, timestamp, properties, traits, context,"
    " _source_file, _line_number, _loaded_at"
)


class DbtRun:
    """dbt invocations sharing one parsed manifest and one target folder."""

    def __init__(self, target_path: Path) -> None:
        self.target_path = target_path
        self._manifest: Any = None

    def _args(self) -> list[str]:
        target = str(self.target_path)
        return [
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            target,
        ]

    def __call__(
        self, command: Sequence[str], db_path: Path, as_of: str | None = None
    ) -> dbtRunnerResult:
        """Run `dbt <command>` on `db_path` (as of `as_of`), reusing the parsed project."""
        # dbt-duckdb names the database after the file, and the parsed manifest remembers it.
        assert db_path.name == DB_NAME, f"test warehouses are named {DB_NAME}, see new_db()"
        previous = os.environ.get("JOURNEY_DB")
        os.environ["JOURNEY_DB"] = str(db_path)
        try:
            if self._manifest is None:
                parsed = dbtRunner().invoke(["parse", "--quiet", *self._args()])
                assert parsed.success, parsed.exception
                self._manifest = parsed.result
            vars_args = ["--vars", json.dumps({"as_of": as_of})] if as_of else []
            return dbtRunner(manifest=self._manifest).invoke(
                [*command, "--quiet", *self._args(), *vars_args]
            )
        finally:
            if previous is None:
                os.environ.pop("JOURNEY_DB", None)
            else:
                os.environ["JOURNEY_DB"] = previous


def failures(result: dbtRunnerResult) -> list[str]:
    """Names and messages of the nodes that did not pass, for assertion messages."""
    if result.exception is not None:
        return [repr(result.exception)]
    return [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]


def new_db(directory: Path) -> Path:
    """Where a test warehouse goes: every one has the same file name, in its own folder."""
    directory.mkdir(parents=True, exist_ok=True)
    return directory / DB_NAME


def create_raw(db_path: Path, events: Iterable[Sequence[Any]]) -> None:
    """A warehouse with the raw, ml and journeys tables and the given raw.events rows."""
    con = duckdb.connect(str(db_path))
    try:
        ensure_raw_schema(con)
        rows = [_event_row(e, i) for i, e in enumerate(events)]
        if rows:
            marks = ", ".join("?" * 12)
            con.executemany(f"insert into raw.events ({EVENT_COLUMNS}) values ({marks})", rows)
    finally:
        con.close()


def _event_row(event: Sequence[Any], line: int) -> tuple:
    # (message_id, type, event, anonymous_id, user_id, timestamp, properties, traits, context)
    message_id, kind, name, anonymous_id, user_id, ts, props, traits, context = event
    as_json = lambda d: None if d is None else json.dumps(d)  # noqa: E731
    return (
        message_id,
        kind,
        name,
        anonymous_id,
        user_id,
        datetime.fromisoformat(ts),
        as_json(props),
        as_json(traits),
        as_json(context),
        "handwritten.jsonl",
        line,
        datetime(2026, 12, 1),
    )


def query(db_path: Path, sql: str) -> list[tuple]:
    """Rows of a query on the test warehouse."""
    # Same configuration as dbt's in-process connection (DuckDB refuses to mix them).
    con = duckdb.connect(str(db_path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_snapshot(db_path: Path, table: str) -> list[tuple]:
    """Every row of a model (without run stamps), sorted, for comparing two builds."""
    columns = [
        name
        for (name,) in query(
            db_path,
            "select column_name from information_schema.columns"
            f" where table_schema = 'main' and table_name = '{table}' order by ordinal_position",
        )
        if name not in RUN_STAMPS
    ]
    assert columns, f"model {table} was not built"
    cols = ", ".join(f'cast("{c}" as varchar)' for c in columns)
    return sorted(query(db_path, f"select {cols} from main.{table}"), key=repr)
