"""Run the whole pipeline once, in process, as the `journey run` command and the tests do."""

from __future__ import annotations

from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipelines.settings import parse_as_of

MESSAGE_LINES = 6


class PipelineError(RuntimeError):
    """A step of the pipeline failed; the message says which and why."""


@dataclass(frozen=True)
class RunResult:
    db_path: Path
    landing: Path
    as_of: datetime
    steps: list[str]


def run_pipeline(db_path: Path, landing: Path, as_of: str | datetime | None = None) -> RunResult:
    """Materialize every asset against one DuckDB file and landing folder, as of a moment."""
    # Imported here so that `journey generate` does not pay for loading dbt and Dagster assets.
    from pipelines.definitions import ALL_ASSETS, pipeline_resources
    from pipelines.journeys.flows import load_flows

    as_of_ts = parse_as_of(as_of)
    if not landing.is_dir():
        raise PipelineError(f"landing folder {landing} does not exist")
    # A broken flows.yml should stop the run before it spends a minute on ingest and dbt.
    load_flows()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_path.parent / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # dbt's own chatter and Dagster's debug events go to a log file; the caller prints a summary.
    with log_path.open("w") as log, redirect_stdout(log):
        result = dg.materialize(
            ALL_ASSETS,
            resources=pipeline_resources(db_path, landing, as_of_ts.isoformat()),
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            raise_on_error=False,
        )
        for event in result.all_events:
            log.write(f"{event.event_type_value} {event.step_key or ''} {event.message or ''}\n")
    if not result.success:
        failures = [
            f"{event.step_key}: {_failure_message(event)}"
            for event in result.all_events
            if event.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        raise PipelineError(
            "pipeline failed in "
            + "; ".join(failures or ["an unknown step"])
            + f" (details in {log_path})"
        )
    steps = [
        event.step_key or ""
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    ]
    return RunResult(db_path=db_path, landing=landing, as_of=as_of_ts, steps=steps)


def _failure_message(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return "no error recorded"
    # The user-facing cause is the innermost error, not Dagster's wrapper around it; its first
    # lines carry the reason (dbt's name the model and the database's message).
    while error.cause is not None:
        error = error.cause
    lines = [line.strip() for line in error.message.splitlines() if line.strip()]
    return "\n  ".join(lines[:MESSAGE_LINES]) or error.cls_name
