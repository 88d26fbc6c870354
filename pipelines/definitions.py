"""The Dagster code location: every asset, resource, job, sensor and schedule of the pipeline."""

from __future__ import annotations

import dagster as dg

from pipelines.ingest.assets import ingest_job, landing_sensor, raw_tables
from pipelines.resources import default_resources

ALL_ASSETS: list = [raw_tables]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[ingest_job],
    sensors=[landing_sensor],
    resources=default_resources(),
)
