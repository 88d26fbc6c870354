"""Public types of the demo-store generator: what to generate and what was written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DAY = 86_400
# A fixed default keeps `StoreSpec()` reproducible; callers wanting "up to now" pass `end`.
DEFAULT_END = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StoreSpec:
    """How many people visit the store, over how many days before `end`, from which seed."""

    customers: int = 5000
    days: int = 180
    seed: int = 7
    end: datetime = DEFAULT_END

    def __post_init__(self) -> None:
        for name in ("customers", "days", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if not isinstance(self.end, datetime) or self.end.utcoffset() is None:
            raise ValueError("end must be a time-zone-aware datetime")

    @property
    def end_s(self) -> int:
        """End of the window in Unix seconds (exclusive)."""
        return math.floor(self.end.timestamp())

    @property
    def start_s(self) -> int:
        """Start of the window in Unix seconds (inclusive)."""
        return self.end_s - self.days * DAY


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate_store` wrote."""

    out_dir: Path
    files: int
    events: int
    people: int
    signups: int
    buyers: int
    orders: int
    by_event: dict[str, int]  # per track event name, or per type for identify and page
