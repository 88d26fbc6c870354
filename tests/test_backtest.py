"""Backtest = stepping the real planner; triggers known at t do not depend on when dbt ran."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt_helpers import DbtRun, failures, new_db
from polars.testing import assert_frame_equal

from pipelines.generate.spec import StoreSpec
from pipelines.generate.store import generate_store
from pipelines.ingest.loader import ingest_landing
from pipelines.journeys.backtest import backtest, render_backtest, report_from_store, step_times
from pipelines.journeys.engine import run_journeys
from pipelines.journeys.flows import load_flows

FLOWS = load_flows()
END = datetime(2026, 3, 1)
MIDDLE = END - timedelta(days=4)
MODELS = ["+journey_triggers", "+orders"]


def _build(dbt: DbtRun, landing: Path, folder: Path, as_of: datetime) -> Path:
    db = new_db(folder)
    ingest_landing(db, landing)
    result = dbt(["run", "--select", *MODELS], db, as_of.isoformat())
    assert result.success, failures(result)
    con = duckdb.connect(str(db))  # fold the write-ahead log in, so copies are whole
    con.execute("checkpoint")
    con.close()
    return db


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backtest")
    landing = folder / "landing"
    spec = StoreSpec(customers=600, days=30, seed=11, end=END.replace(tzinfo=UTC))
    generate_store(spec, landing)
    dbt = DbtRun(folder / "target")
    return {
        "end": _build(dbt, landing, folder / "end", END),
        "middle": _build(dbt, landing, folder / "middle", MIDDLE),
    }


def _copy(db: Path, folder: Path) -> duckdb.DuckDBPyConnection:
    copy = new_db(folder)
    shutil.copy(db, copy)
    return duckdb.connect(str(copy))


def test_backtest_reports_what_stepping_the_planner_does(
    store: dict[str, Path], tmp_path: Path
) -> None:
    start, end, step = END - timedelta(days=3), END - timedelta(days=2), 30
    con = _copy(store["end"], tmp_path / "db")
    report = backtest(con, FLOWS, start, end, step)
    assert con.sql("select count(*) from journeys.messages").fetchall() == [(0,)]
    assert report.runs == len(step_times(start, end, step)) == 49
    assert report.rows["sent"].sum() > 20, "the period should send messages"

    for at in step_times(start, end, step):
        run_journeys(con, FLOWS, at, tmp_path / "outbox")
    stepped = report_from_store(con, FLOWS, start, end, step)
    assert_frame_equal(report.rows, stepped.rows)

    decisions = ["message_id", "status", "channel", "sent_at", "dropped_at", "quiet_held", "capped"]
    simulated = report.messages.select(decisions).sort("message_id")
    persisted = stepped.messages.select(decisions).sort("message_id")
    assert_frame_equal(simulated, persisted)
    outbox_files = len(list((tmp_path / "outbox").rglob("*.json")))
    assert outbox_files == report.messages.filter(pl.col("status") == "sent").height


def test_one_flow_is_the_all_flows_report_filtered(store: dict[str, Path], tmp_path: Path) -> None:
    con = _copy(store["end"], tmp_path / "db")
    start, end = END - timedelta(days=2), END
    every = backtest(con, FLOWS, start, end, 60)
    browse = backtest(con, FLOWS, start, end, 60, flow="browse_abandonment")
    assert_frame_equal(browse.rows, every.rows.filter(pl.col("flow") == "browse_abandonment"))
    text = render_backtest(browse)
    assert text.splitlines()[0].startswith("Backtest 2026-02-27 00:00 -> 2026-03-01 00:00 UTC")
    assert "flow browse_abandonment" in text and text.splitlines()[-1].startswith("total")
    with pytest.raises(ValueError, match="unknown flow"):
        backtest(con, FLOWS, start, end, 60, flow="winback")
    with pytest.raises(ValueError, match="ends"):
        backtest(con, FLOWS, end, start, 60)


def _known_at(db: Path, table: str, moment_columns: list[str], start: str, t: datetime):
    con = duckdb.connect(str(db))  # the same configuration as dbt's in-process connection
    try:
        frame = con.sql(f"select * from main.{table} where {start} <= ?", params=[t]).pl()
    finally:
        con.close()
    # what happened after t is unknown at t: mask it
    masked = frame.with_columns(
        pl.when(pl.col(c) <= t).then(pl.col(c)).alias(c) for c in moment_columns
    )
    return masked.sort(masked.columns)


@pytest.mark.parametrize(
    ("table", "start", "later"),
    [
        ("journey_triggers", "triggered_at", [f"exit_{k}_at" for k in (
            "order", "cart", "browse", "review", "unsubscribe", "engage", "signup")]),
        ("int_consents_historized", "valid_from", ["valid_to"]),
        ("int_contact_points_historized", "valid_from", ["valid_to"]),
    ],
)  # fmt: skip
def test_what_is_known_at_t_does_not_depend_on_when_dbt_ran(
    store: dict[str, Path], table: str, start: str, later: list[str]
) -> None:
    built_then = _known_at(store["middle"], table, later, start, MIDDLE)
    built_later = _known_at(store["end"], table, later, start, MIDDLE)
    # The known limit: a browser linked to a person only after t is its own (anonymous)
    # customer as of t, and that person's from the link on; nothing else may differ.
    con = duckdb.connect(str(store["end"]))
    linked_later = [
        a for (a,) in con.execute(
            "select anonymous_id from int_identities_stitched where linked_at > ?", [MIDDLE]
        ).fetchall()
    ]  # fmt: skip
    con.close()
    built_then = built_then.filter(~pl.col("customer_id").is_in(linked_later))
    assert built_then.height > 0
    assert_frame_equal(built_then, built_later)


def test_the_backtest_command(store: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipelines.cli import main

    db = new_db(tmp_path / "db")
    shutil.copy(store["end"], db)
    args = ["backtest", "--from", "2026-02-27", "--to", "2026-02-28", "--db", str(db)]
    result = CliRunner().invoke(main, [*args, "--step-minutes", "60", "--flow", "welcome"])
    assert result.exit_code == 0, result.output
    assert "every 60 min (25 runs" in result.output and "welcome" in result.output
    missing = CliRunner().invoke(main, ["backtest", "--from", "2026-02-27", "--to", "2026-02-28",
                                        "--db", str(tmp_path / "none.duckdb")])  # fmt: skip
    assert missing.exit_code == 1 and "does not exist" in missing.output
