"""Dagster resources: the warehouse file, the landing folder and the run's settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.settings import (
    default_db,
    default_landing,
    default_models_dir,
    default_outbox,
    parse_as_of,
)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file every asset reads and writes."""

    db_path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # One short-lived connection per use: DuckDB allows a single writing process, and dbt
        # opens the same file in its own process between our assets.
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.db_path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class Landing(dg.ConfigurableResource):
    """The folder where event and catalogue files arrive."""

    path: str


class RunSettings(dg.ConfigurableResource):
    """The moment the pipeline evaluates as of, and the knobs of the scoring run."""

    as_of: str | None = None
    churn_horizon_days: int = 90
    churn_threshold: float = 0.7
    models_dir: str = "data/models"
    outbox_dir: str = "data/outbox"

    def as_of_ts(self) -> datetime:
        return parse_as_of(self.as_of)


def default_resources(
    db_path: Path | None = None,
    landing: Path | None = None,
    as_of: str | None = None,
) -> dict[str, dg.ConfigurableResource]:
    """Resources for a run: explicit paths win, else the environment, else local defaults."""
    return {
        "warehouse": Warehouse(db_path=str(db_path or default_db())),
        "landing": Landing(path=str(landing or default_landing())),
        "run_settings": RunSettings(
            as_of=as_of,
            models_dir=str(default_models_dir()),
            outbox_dir=str(default_outbox(db_path)),
        ),
    }
