"""Rules across flows: deterministic holdout, quiet hours in local time, frequency caps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.journeys.flows import CapRule, QuietHours


def message_id(customer_id: str, flow: str, step: str, trigger_id: str) -> str:
    """The deterministic id of a message: first 20 hex of sha256(customer|flow|step|trigger)."""
    key = f"{customer_id}|{flow}|{step}|{trigger_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def holdout_bucket(customer_id: str, flow: str) -> float:
    """A stable number in [0, 1) per customer and flow; below the flow's share = held out."""
    digest = hashlib.sha256(f"{customer_id}|{flow}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def is_held_out(customer_id: str, flow: str, share: float) -> bool:
    return share > 0 and holdout_bucket(customer_id, flow) < share


@cache
def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        # An unknown time zone in the events must not stop the plan; UTC is the fallback.
        return ZoneInfo("UTC")


def _in_quiet(local: time, quiet: QuietHours) -> bool:
    if quiet.start == quiet.end:
        return False
    if quiet.start > quiet.end:  # wraps midnight, e.g. 21:00-08:00
        return local >= quiet.start or local < quiet.end
    return quiet.start <= local < quiet.end


def next_allowed(ts: datetime, tz: str | None, quiet: QuietHours) -> datetime:
    """The first moment at or after `ts` (naive UTC) outside quiet hours in the zone `tz`."""
    zone = _zone(tz)
    local = ts.replace(tzinfo=UTC).astimezone(zone)
    if not _in_quiet(local.time(), quiet):
        return ts
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)
    # fold=0: on a DST change the earlier of two identical wall-clock times
    end_local = datetime.combine(day, quiet.end, tzinfo=zone)
    return end_local.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Send:
    """A message handed to a channel, as the caps see it."""

    message_id: str
    flow: str
    channel: str
    sent_at: datetime


@dataclass(frozen=True)
class CapBlock:
    """Why a message cannot go out now and when it could."""

    rule: CapRule
    blocker: Send
    frees_at: datetime

    def describe(self) -> str:
        hours = self.rule.window.total_seconds() / 3600
        return (
            f"cap {self.rule.name} (max {self.rule.max} on {'/'.join(self.rule.channels)} per "
            f"{hours:g}h): blocked by message {self.blocker.message_id} ({self.blocker.flow}) "
            f"until {self.frees_at:%Y-%m-%d %H:%M} UTC"
        )


def cap_block(
    channel: str, history: list[Send], at: datetime, rules: list[CapRule]
) -> CapBlock | None:
    """The binding cap (the one freeing last) if a marketing send on `channel` at `at` is over."""
    worst: CapBlock | None = None
    for rule in rules:
        if channel not in rule.channels:
            continue
        recent = sorted(
            (s for s in history if s.channel in rule.channels and s.sent_at > at - rule.window),
            key=lambda s: (s.sent_at, s.message_id),
        )
        if len(recent) < rule.max:
            continue
        blocker = recent[len(recent) - rule.max]
        block = CapBlock(rule, blocker, blocker.sent_at + rule.window)
        if worst is None or block.frees_at > worst.frees_at:
            worst = block
    return worst
