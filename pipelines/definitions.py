"""The Dagster code location: every asset, resource, job, sensor and schedule of the pipeline."""

from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.ingest.assets import ingest_job, landing_sensor, raw_tables
from pipelines.journeys.assets import JOURNEY_ASSETS, JOURNEY_JOBS, JOURNEY_SCHEDULES
from pipelines.ml.assets import ML_ASSETS
from pipelines.resources import default_resources
from pipelines.transform import DBT_ASSETS, dbt_resource

ALL_ASSETS: list = [raw_tables, *DBT_ASSETS, *ML_ASSETS, *JOURNEY_ASSETS]


def pipeline_resources(
    db_path: Path | None = None, landing: Path | None = None, as_of: str | None = None
) -> dict[str, Any]:
    """Every resource the assets need: the warehouse, landing, settings and dbt."""
    return {**default_resources(db_path, landing, as_of), "dbt": dbt_resource()}


defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[ingest_job, *JOURNEY_JOBS],
    schedules=JOURNEY_SCHEDULES,
    sensors=[landing_sensor],
    resources=pipeline_resources(),
    # DuckDB admits one writing process at a time, so a run's steps go one after another.
    executor=dg.in_process_executor,
)
