"""dbt models as Dagster assets (see assets.py)."""

from pipelines.transform.assets import (
    DBT_EXECUTABLE,
    JourneyDbtTranslator,
    dbt_models,
    dbt_project,
    dbt_resource,
    dbt_scored_models,
    dbt_vars,
    ensure_manifest,
)

DBT_ASSETS = [dbt_models, dbt_scored_models]

__all__ = [
    "DBT_ASSETS",
    "DBT_EXECUTABLE",
    "JourneyDbtTranslator",
    "dbt_models",
    "dbt_project",
    "dbt_resource",
    "dbt_scored_models",
    "dbt_vars",
    "ensure_manifest",
]
