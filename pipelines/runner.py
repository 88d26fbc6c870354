"""Run the whole pipeline once, in process, as the `journey run` command and the tests do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg

from pipelines.resources import default_resources
from pipelines.settings import parse_as_of


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
    from pipelines.definitions import ALL_ASSETS

    as_of_ts = parse_as_of(as_of)
    if not landing.is_dir():
        raise PipelineError(f"landing folder {landing} does not exist")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    result = dg.materialize(
        ALL_ASSETS,
        resources=default_resources(db_path, landing, as_of_ts.isoformat()),
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            f"{event.step_key}: {_failure_message(event)}"
            for event in result.all_events
            if event.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        raise PipelineError("pipeline failed in " + "; ".join(failures or ["an unknown step"]))
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
    # The user-facing cause is the innermost error, not Dagster's wrapper around it.
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1] if error.message.strip() else error.cls_name
