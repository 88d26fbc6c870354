"""The journeys declared in flows.yml: typed and validated at load time, with clear errors."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FLOWS_FILE = Path(__file__).with_name("flows.yml")

Channel = Literal["email", "sms", "push", "messenger", "meta_audience", "google_audience"]
MessageChannel = Literal["email", "sms", "push", "messenger"]
ExitKind = Literal["order", "cart", "browse", "review", "unsubscribe", "engage", "signup"]
Incentive = Literal["discount", "free_shipping", "loyalty_points"]

AUDIENCE_CHANNELS = ("meta_audience", "google_audience")
# The trigger kinds the dbt model journey_triggers produces (its accepted_values test agrees).
TRIGGER_KINDS = (
    "signed_up",
    "email_subscribed",
    "welcome_unengaged",
    "anonymous_visit",
    "browse_idle",
    "cart_idle",
    "order_completed",
    "order_shipped",
    "order_delivered",
    "churn_risk",
)

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """Parse '0h', '90m', '12h', '2d', '1w' into a non-negative timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(
                f"cannot parse duration {value!r}: use a number and a unit, e.g. 30m, 12h, 2d, 1w"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"duration {value!r} is negative")
    return timedelta(seconds=seconds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    """One message of a flow, `delay` after the trigger."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    delay: timedelta
    channels: list[Channel] = Field(min_length=1)
    all_channels: bool = False
    incentive: Incentive | None = None
    only_triggers: list[str] | None = None

    _delay = field_validator("delay", mode="before")(parse_duration)

    @field_validator("channels")
    @classmethod
    def _distinct_channels(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            raise ValueError(f"a channel is listed twice in {channels}")
        return channels


class Flow(_Strict):
    """A journey: a trigger kind, its steps and what ends it for a customer."""

    name: str = ""
    description: str = ""
    trigger: list[str] = Field(min_length=1)
    transactional: bool = False
    holdout_share: float | None = None
    exit_on: list[ExitKind] = []
    over_cap: Literal["defer", "drop"] = "defer"
    recurring: bool = False
    quiet_hours: bool = True
    steps: list[Step] = Field(min_length=1)
    priority: int = 0

    @field_validator("trigger", mode="before")
    @classmethod
    def _trigger_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("trigger")
    @classmethod
    def _known_triggers(cls, triggers: list[str]) -> list[str]:
        unknown = [t for t in triggers if t not in TRIGGER_KINDS]
        if unknown:
            raise ValueError(
                f"unknown trigger {', '.join(unknown)}; known: {', '.join(TRIGGER_KINDS)}"
            )
        return triggers

    @field_validator("holdout_share")
    @classmethod
    def _share(cls, share: float | None) -> float | None:
        if share is not None and not 0 <= share < 1:
            raise ValueError(f"holdout_share {share} is outside [0, 1)")
        return share

    @model_validator(mode="after")
    def _consistent(self) -> Flow:
        names = [s.name for s in self.steps]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate step name {', '.join(duplicates)}")
        share = self.holdout_share
        if self.transactional and share:
            raise ValueError("a transactional flow has no holdout (holdout_share must be 0)")
        for step in self.steps:
            stray = set(step.only_triggers or []) - set(self.trigger)
            if stray:
                raise ValueError(
                    f"step {step.name}: only_triggers {sorted(stray)} is not among the flow's "
                    f"triggers {self.trigger}"
                )
        if self.recurring and len(self.steps) != 1:
            raise ValueError("a recurring flow has exactly one step")
        return self

    @property
    def holdout(self) -> float:
        """The share of entrants held out (0 for transactional flows, else 10% by default)."""
        if self.holdout_share is not None:
            return self.holdout_share
        return 0.0 if self.transactional else 0.10


class QuietHours(_Strict):
    """Local hours during which the listed channels hold their messages until `end`."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    channels: list[MessageChannel] = ["sms", "push", "messenger"]


class CapRule(_Strict):
    """At most `max` marketing messages on `channels` per customer within `window`."""

    name: str
    channels: list[MessageChannel] = Field(min_length=1)
    max: int = Field(ge=1)
    window: timedelta

    _window = field_validator("window", mode="before")(parse_duration)


class Settings(_Strict):
    """Rules across flows: priority, quiet hours, caps, windows, links."""

    store_url: str = Field(pattern=r"^https?://")
    priority: list[str] = Field(min_length=1)
    quiet_hours: QuietHours = QuietHours()
    caps: list[CapRule] = []
    max_lateness: timedelta = timedelta(hours=24)
    attribution: dict[MessageChannel, timedelta] = {
        "email": timedelta(days=5),
        "sms": timedelta(days=1),
        "push": timedelta(days=1),
        "messenger": timedelta(days=1),
    }
    lift_window: timedelta = timedelta(days=5)
    utm: dict[str, str] = {"source": "journeys"}

    _durations = field_validator("max_lateness", "lift_window", mode="before")(parse_duration)

    @field_validator("attribution", mode="before")
    @classmethod
    def _windows(cls, value: Any) -> Any:
        return (
            {k: parse_duration(v) for k, v in value.items()} if isinstance(value, dict) else value
        )


class FlowConfig(_Strict):
    """Every flow and the settings they share."""

    settings: Settings
    flows: dict[str, Flow] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _name_and_rank(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("flows"), dict):
            return data
        priority = (data.get("settings") or {}).get("priority") or []
        rank = (
            {name: i + 1 for i, name in enumerate(priority)} if isinstance(priority, list) else {}
        )
        flows = {}
        for name, flow in data["flows"].items():
            if isinstance(flow, dict):
                flow = {**flow, "name": name, "priority": rank.get(name, 0)}
            flows[name] = flow
        return {**data, "flows": flows}

    @model_validator(mode="after")
    def _priority_covers_flows(self) -> FlowConfig:
        priority = self.settings.priority
        unknown = [f for f in priority if f not in self.flows]
        if unknown:
            raise ValueError(f"unknown flow in priority: {', '.join(unknown)}")
        repeated = sorted({f for f in priority if priority.count(f) > 1})
        if repeated:
            raise ValueError(f"flow listed twice in priority: {', '.join(repeated)}")
        missing = [f for f in self.flows if f not in priority]
        if missing:
            raise ValueError(f"flow missing from priority: {', '.join(missing)}")
        return self


class FlowsError(ValueError):
    """flows.yml is not valid; the message lists each problem with where it is."""


def parse_flows(data: Any, source: str = "flows.yml") -> FlowConfig:
    """Validate a flows document (the parsed YAML)."""
    try:
        return FlowConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "literal_error":
                message = f"{error['input']!r} is not allowed: {message.lower()}"
            problems.append(f"  {where}: {message}")
        raise FlowsError(f"{source} is not valid:\n" + "\n".join(problems)) from None


def load_flows(path: Path | str | None = None) -> FlowConfig:
    """Load and validate flows.yml (the packaged one by default)."""
    path = Path(path) if path else FLOWS_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FlowsError(f"{path.name} is not valid YAML: {exc}") from None
    return parse_flows(data, path.name)
