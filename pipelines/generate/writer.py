"""Ordering the events and writing one gzipped JSON-lines file per UTC day, days in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.events import K, line_prefix
from pipelines.generate.spec import DAY

GZIP_LEVEL = 1  # polars' gzip at level 1 is fast; files are still ~10x smaller than the text
WORKERS = 2
DAY_FILE_GLOB = "????-??-??.jsonl.gz"


@dataclass(frozen=True)
class Identity:
    """Per person: userId number (0: none), when it becomes known, and the two contexts."""

    user_no: np.ndarray
    known_from: np.ndarray  # events at or after this moment carry the userId
    contexts: pl.Series  # 2i: server-side context of person i, 2i+1: browser context


def _text(values: np.ndarray) -> pl.Series:
    return pl.Series(values).cast(pl.String)


def _clock_members() -> pl.Series:
    """Per second of the day s and kind of body: `HH:MM:SSZ",` then the body member name.

    Index 2s holds `"properties":`, index 2s+1 `"traits":` (identify).
    """
    s = pl.int_range(0, DAY, eager=True)
    two = lambda e: e.cast(pl.String).str.zfill(2)  # noqa: E731
    hms = pl.select(pl.concat_str(two(s // 3600), two(s // 60 % 60), two(s % 60), separator=":"))
    base = hms.to_series() + 'Z",'
    both = pl.DataFrame({"p": base + '"properties":', "t": base + '"traits":'})
    return both.select(pl.concat_list("p", "t").explode()).to_series()


def event_order(ts: np.ndarray, person: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Deterministic order: by time, then person, then kind, then insertion."""
    if len(ts) == 0:
        return np.arange(0)
    span = int(ts.max() - ts.min()) + 1
    people = int(person.max()) + 1
    if span.bit_length() + people.bit_length() + 5 > 62:  # too big for one integer key
        return np.lexsort((np.arange(len(ts)), kind, person, ts))
    key = ((ts - ts.min()) * people + person) * 32 + kind
    return np.argsort(key, kind="stable")


def write_days(
    folder: Path,
    seed: int,
    columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pl.Series],
    identity: Identity,
) -> int:
    """Write every event (already within the window); returns the number of files written."""
    ts, person, kind, browser, body = columns
    for old in folder.glob(DAY_FILE_GLOB):
        old.unlink()  # a previous store in the same folder must not mix with this one
    order = event_order(ts, person, kind)
    day = ts[order] // DAY
    cuts = np.flatnonzero(np.diff(day)) + 1
    bounds = list(zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True))
    prefix = pl.Series([line_prefix(k) + f"{seed}-" for k in K])
    members = _clock_members()
    n = len(identity.user_no)
    anon = '","anonymousId":"a-' + _text(np.arange(1, n + 1))
    user = '","userId":"c-' + _text(identity.user_no)
    user = pl.select(pl.when(pl.lit(identity.user_no > 0)).then(pl.lit(user))).to_series()
    user = user.extend_constant(None, 1)  # index n: no userId
    tail = ',"context":' + identity.contexts + "}"
    identify = np.uint8(K.IDENTIFY)

    def write(bound: tuple[int, int]) -> None:
        a, b = bound
        idx = order[a:b]
        p, t, k = person[idx].astype(np.int64), ts[idx], kind[idx]
        date = datetime.fromtimestamp(int(t[0]) // DAY * DAY, UTC).strftime("%Y-%m-%d")
        line = pl.concat_str(
            pl.lit(prefix.gather(k)),
            pl.lit(_text(np.arange(a + 1, b + 1))),
            pl.lit(anon.gather(p)),
            pl.lit(user.gather(np.where(t >= identity.known_from[p], p, n))),
            pl.lit(f'","timestamp":"{date}T'),
            pl.lit(members.gather(2 * (t % DAY) + (k == identify))),
            pl.lit(body.gather(idx)),
            pl.lit(tail.gather(2 * p + browser[idx])),
            ignore_nulls=True,
        )
        pl.select(line.alias("line")).write_csv(
            folder / f"{date}.jsonl.gz",
            include_header=False,
            quote_style="never",
            compression="gzip",
            compression_level=GZIP_LEVEL,
            check_extension=False,
        )

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(write, bounds))
    return len(bounds)
