"""Placing rows inside sessions and sessions in time, with grouped cumulative sums (no loops)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Sessions of one person are at least this far apart, so a 30-minute-gap sessionisation
# recovers exactly the generated sessions.
MIN_SESSION_GAP = 31 * 60


@dataclass(frozen=True)
class Rows:
    """Some events of some sessions: their session, position within it, and preceding gap."""

    session: np.ndarray
    rank: np.ndarray
    gap: np.ndarray  # seconds after the previous event of the session (ignored for rank 0)


def offsets_in_sessions(n_sessions: int, parts: list[Rows]) -> tuple[list[np.ndarray], np.ndarray]:
    """Seconds from session start of every row of every part, and each session's duration.

    The ranks of the rows of one session, over all parts, must be 0..count-1.
    """
    counts = sum(np.bincount(p.session, minlength=n_sessions) for p in parts)
    first = np.cumsum(counts) - counts
    gaps = np.zeros(int(counts.sum()), dtype=np.int64)
    taken = np.zeros(len(gaps), dtype=bool)
    positions = []
    for part in parts:
        pos = first[part.session] + part.rank
        gaps[pos] = part.gap
        taken[pos] = True
        positions.append(pos)
    if not taken.all():
        raise ValueError("session rows do not cover each session's ranks exactly once")
    gaps[first[counts > 0]] = 0
    total = np.cumsum(gaps)
    base = total[np.minimum(first, len(total) - 1)]
    offsets = [total[pos] - base[part.session] for pos, part in zip(positions, parts, strict=True)]
    last = np.maximum(first + counts - 1, 0)
    duration = np.where(counts > 0, total[last] - base, 0)
    return offsets, duration


def by_person_then_time(person: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Stable order by person, then time (one integer key, faster than a lexsort)."""
    if len(t) == 0:
        return np.arange(0)
    lo = int(t.min())
    return np.argsort(person.astype(np.int64) * (int(t.max()) - lo + 1) + (t - lo), kind="stable")


def group_starts(keys: np.ndarray) -> np.ndarray:
    """True where a run of equal consecutive keys starts."""
    flags = np.ones(len(keys), dtype=bool)
    flags[1:] = keys[1:] != keys[:-1]
    return flags


def group_ends(keys: np.ndarray) -> np.ndarray:
    """True where a run of equal consecutive keys ends."""
    flags = np.ones(len(keys), dtype=bool)
    flags[:-1] = keys[1:] != keys[:-1]
    return flags


def spread_sessions(person: np.ndarray, start: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Push sessions later where needed so each starts MIN_SESSION_GAP after the previous ends.

    Sessions are sorted by person then start; a session never moves earlier and order is kept.
    start'[i] = max(start[i], start'[i-1] + duration[i-1] + gap), solved as a grouped running max.
    """
    if len(person) == 0:
        return start.copy()
    step = duration + MIN_SESSION_GAP
    is_first = group_starts(person)
    group = np.cumsum(is_first) - 1
    total = np.cumsum(step)
    head = np.flatnonzero(is_first)[group]
    before = total - step - (total[head] - step[head])  # exclusive cumulative sum per person
    v = start - before
    lo = v.min()
    span = int(v.max() - lo) + 1
    running = np.maximum.accumulate((v - lo) + group * span) - group * span + lo
    return before + running
