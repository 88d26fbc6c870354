"""Time zones of the visitors and local-time-of-day sampling, vectorised over people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from pipelines.generate.spec import DAY

# IANA zone and share of visitors: a store selling mostly to North America and Europe.
TIME_ZONES: tuple[tuple[str, float], ...] = (
    ("America/New_York", 0.22),
    ("America/Chicago", 0.08),
    ("America/Los_Angeles", 0.12),
    ("Europe/London", 0.14),
    ("Europe/Paris", 0.15),
    ("Europe/Berlin", 0.08),
    ("Asia/Tokyo", 0.07),
    ("Australia/Sydney", 0.06),
    ("America/Sao_Paulo", 0.04),
    ("Asia/Singapore", 0.04),
)

# Relative traffic per local hour: quiet nights, a lunch bump and an evening peak.
HOUR_WEIGHTS = np.array(
    [1.2, 0.6, 0.35, 0.25, 0.25, 0.4, 1.0, 2.0, 3.0, 3.6, 4.0, 4.3,
     5.0, 5.0, 4.4, 4.2, 4.3, 4.8, 5.4, 6.2, 6.8, 6.5, 4.8, 2.8]
)  # fmt: skip
_HOUR_CDF = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()
_MARGIN_DAYS = 3


@dataclass(frozen=True)
class Clock:
    """UTC offsets per zone and hour around the window, so local times convert exactly."""

    grid0: int  # Unix seconds of the first hour in `offsets`
    offsets: np.ndarray  # (zones, hours) UTC offset in seconds

    @classmethod
    def build(cls, start: int, end: int) -> Clock:
        """Offsets for every hour from a few days before `start` to a few days after `end`."""
        grid0 = (start // 3600) * 3600 - _MARGIN_DAYS * DAY
        stop = end + _MARGIN_DAYS * DAY
        hours = pl.datetime_range(
            datetime.fromtimestamp(grid0, UTC),
            datetime.fromtimestamp(stop, UTC),
            interval="1h",
            time_zone="UTC",
            eager=True,
        )
        naive = hours.dt.replace_time_zone(None)
        rows = [
            (hours.dt.convert_time_zone(zone).dt.replace_time_zone(None) - naive)
            .dt.total_seconds()
            .to_numpy()
            for zone, _ in TIME_ZONES
        ]
        return cls(grid0=grid0, offsets=np.vstack(rows).astype(np.int64))

    def offset(self, zone: np.ndarray, utc: np.ndarray) -> np.ndarray:
        """UTC offset in seconds of `zone` at `utc` (clamped to the table's range)."""
        hour = np.clip((utc - self.grid0) // 3600, 0, self.offsets.shape[1] - 1)
        return self.offsets[zone, hour]

    def at_local_hour(
        self, rng: np.random.Generator, zone: np.ndarray, utc: np.ndarray
    ) -> np.ndarray:
        """Move each time to a typical hour of its own local day (same local date)."""
        local_day = (utc + self.offset(zone, utc)) // DAY
        local = local_day * DAY + sample_time_of_day(rng, len(utc))
        guess = local - self.offset(zone, utc)
        return local - self.offset(zone, guess)


def sample_time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after local midnight, following the hourly traffic profile."""
    hour = np.minimum(np.searchsorted(_HOUR_CDF, rng.random(n), side="right"), 23)
    return hour * 3600 + rng.integers(0, 3600, n)
