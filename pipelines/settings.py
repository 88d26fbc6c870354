"""Where things live by default; every path can be overridden from the environment."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

# Environment variables, read by the CLI, the Dagster resources and dbt's profiles.yml alike.
ENV_DATA = "JOURNEY_DATA"
ENV_DB = "JOURNEY_DB"
ENV_LANDING = "JOURNEY_LANDING"
ENV_MODELS_DIR = "JOURNEY_MODELS_DIR"
ENV_OUTBOX = "JOURNEY_OUTBOX"


def _env_path(name: str, default: Path) -> Path:
    # An empty variable counts as unset, as shells and CI templates often leave them.
    return Path(os.environ.get(name) or default)


def data_dir() -> Path:
    return _env_path(ENV_DATA, REPO_ROOT / "data")


def default_db() -> Path:
    return _env_path(ENV_DB, data_dir() / "journey.duckdb")


def default_landing() -> Path:
    return _env_path(ENV_LANDING, data_dir() / "landing")


def default_outbox(db_path: Path | None = None) -> Path:
    # The outbox is the dry-run record of what one warehouse sent, so it lives beside it.
    return _env_path(ENV_OUTBOX, (db_path or default_db()).parent / "outbox")


def default_models_dir() -> Path:
    return _env_path(ENV_MODELS_DIR, data_dir() / "models")


def parse_as_of(value: str | datetime | None) -> datetime:
    """Parse an ISO 8601 moment (default now) into naive UTC, the warehouse's convention."""
    if value is None or value == "":
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if isinstance(value, datetime):
        ts = value
    else:
        try:
            ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"not an ISO 8601 time: {value!r} (expected e.g. 2026-11-30T10:00:00Z)"
            ) from exc
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts
