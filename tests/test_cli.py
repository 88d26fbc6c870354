"""The `journey` command: its front-door behaviour, errors and the Dagster code location."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.ingest.assets import landing_sensor
from pipelines.resources import Landing

END = "2026-11-30T00:00:00Z"
REPO = Path(__file__).resolve().parent.parent


def run_notebook(path: Path) -> None:
    """Execute a notebook's code cells in order, as a reader would (JOURNEY_DB set by caller)."""
    namespace: dict = {}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(path), "exec"), namespace)
    assert namespace["stages"].height > 0 and namespace["messages"].height > 0


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("store") / "landing"
    result = invoke(
        "generate",
        "--customers",
        "400",
        "--days",
        "30",
        "--seed",
        "5",
        "--end",
        END,
        "--out",
        str(landing),
    )
    assert result.exit_code == 0, result.output
    return landing


def test_generate_reports_what_it_wrote(store: Path) -> None:
    files = sorted((store / "events").glob("*.jsonl.gz"))
    assert len(files) == 30
    assert (store / "catalogue.csv").exists()
    lines = sum(len(gzip.decompress(f.read_bytes()).splitlines()) for f in files)
    assert lines > 400  # every visitor browses at least once


def test_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--customers", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "customers must be at least 1" in result.output
    assert not any(tmp_path.iterdir())


def test_ingest_then_rerun_loads_nothing_twice(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    first = invoke("ingest", "--landing", str(store), "--db", str(db))
    assert first.exit_code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        (events,) = con.execute("select count(*) from raw.events").fetchone()
    assert f"{events:,} events loaded" in first.output
    second = invoke("ingest", "--landing", str(store), "--db", str(db))
    assert "0 new files, 0 events loaded" in second.output


def test_run_fails_clearly_on_a_missing_landing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "nope"), "--db", str(tmp_path / "w.duckdb")]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_run_rejects_a_bad_as_of(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--landing", str(tmp_path), "--as-of", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO 8601 time" in result.output


def test_definitions_load_with_every_asset() -> None:
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw/events", "raw/quarantine", "raw/load_manifest"} <= keys


def test_sensor_requests_ingest_only_for_new_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "events").mkdir(parents=True)
    resources = {"landing": Landing(path=str(landing))}
    with dg.build_sensor_context(resources=resources) as context:
        assert isinstance(landing_sensor(context), dg.SkipReason)
        (landing / "events" / "d1.jsonl").write_text(json.dumps({"type": "page"}) + "\n")
        request = landing_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert isinstance(landing_sensor(context), dg.SkipReason)  # nothing new since
        (landing / "events" / "d2.jsonl.part").write_text("{")  # a writer still at work
        assert isinstance(landing_sensor(context), dg.SkipReason)


def test_ingest_assets_materialize_against_a_temporary_duckdb(store: Path, tmp_path: Path) -> None:
    from pipelines.ingest.assets import raw_tables
    from pipelines.resources import Warehouse

    db = tmp_path / "assets.duckdb"
    result = dg.materialize(
        [raw_tables],
        resources={"warehouse": Warehouse(db_path=str(db)), "landing": Landing(path=str(store))},
    )
    assert result.success
    events = result.asset_materializations_for_node("raw_tables")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in events}
    with duckdb.connect(str(db), read_only=True) as con:
        (loaded,) = con.execute("select count(*) from raw.events").fetchone()
        (files,) = con.execute("select count(*) from raw.load_manifest").fetchone()
    assert by_key["raw/events"]["rows_added"].value == loaded > 0
    assert by_key["raw/load_manifest"]["files_loaded"].value == files == 31  # 30 days + catalogue


def test_demo_runs_the_whole_pipeline_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every default path must follow JOURNEY_DATA; an empty variable counts as unset.
    env = {"JOURNEY_DATA": str(tmp_path / "data"), "JOURNEY_DB": "", "JOURNEY_LANDING": None}
    first = CliRunner().invoke(main, ["demo", "--customers", "600", "--days", "60"], env=env)
    assert first.exit_code == 0, first.output
    db = tmp_path / "data" / "journey.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        stages = dict(
            con.execute("select lifecycle_stage, count(*) from customers group by 1").fetchall()
        )
        (segments,) = con.execute(
            "select count(distinct segment) from segment_memberships"
        ).fetchone()
        (scored,) = con.execute("select count(*) from ml.churn_scores").fetchone()
    assert stages["visitor"] > 0 and stages.get("buyer", 0) > 0
    for stage, n in stages.items():
        assert f"{stage} " in first.output and f"{n:,}" in first.output
    assert "Customers per segment" in first.output and segments >= 5
    assert scored == stages.get("buyer", 0) + stages.get("repeat_buyer", 0)
    assert "Churn scores:" in first.output
    monkeypatch.setenv("JOURNEY_DB", str(db))
    run_notebook(REPO / "notebooks" / "explore_marts.ipynb")
    # A second demo reuses the store and loads nothing twice.
    second = CliRunner().invoke(main, ["demo"], env=env)
    assert second.exit_code == 0, second.output
    assert "already in" in second.output and "0 new files, 0 events loaded" in second.output


def test_run_stops_before_loading_anything_when_flows_yml_is_broken(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.journeys import flows

    broken = tmp_path / "flows.yml"
    broken.write_text(flows.FLOWS_FILE.read_text().replace("delay: 1d", "delay: -2d", 1))
    monkeypatch.setattr(flows, "FLOWS_FILE", broken)
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(main, ["run", "--landing", str(store), "--db", str(db)])
    assert result.exit_code == 1
    assert "flows.yml is not valid" in result.output and "is negative" in result.output
    assert not db.exists()
