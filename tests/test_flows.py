"""flows.yml: the packaged declaration loads, and every bad declaration fails with a clear error."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from pipelines.journeys.flows import (
    FLOWS_FILE,
    TRIGGER_KINDS,
    FlowsError,
    load_flows,
    parse_duration,
    parse_flows,
)

PACKAGED = yaml.safe_load(FLOWS_FILE.read_text())
DBT_YAML = Path(__file__).resolve().parent.parent / "dbt_project/models/journeys/_journeys.yml"


def test_packaged_flows_follow_the_brief() -> None:
    flows = load_flows()
    assert set(flows.flows) == {
        "welcome", "cadence", "not_engaged", "visitor_retargeting", "browse_abandonment",
        "cart_abandonment", "order_updates", "review_request", "cross_sell", "reactivation",
    }  # fmt: skip
    ranked = sorted(flows.flows.values(), key=lambda f: f.priority)
    assert [f.name for f in ranked][:8] == [
        "order_updates", "cart_abandonment", "browse_abandonment", "welcome",
        "review_request", "cross_sell", "reactivation", "cadence",
    ]  # fmt: skip
    assert flows.flows["order_updates"].holdout == 0.0
    assert flows.flows["welcome"].holdout == 0.10
    cart = {s.name: s for s in flows.flows["cart_abandonment"].steps}
    assert cart["nudge"].delay == timedelta(hours=1)
    assert cart["nudge"].channels == ["sms", "messenger", "push"]
    assert cart["retarget"].all_channels and cart["retarget"].delay == timedelta(days=7)
    assert flows.flows["browse_abandonment"].steps[0].channels == ["email"]
    assert flows.settings.quiet_hours.channels == ["sms", "push", "messenger"]
    assert flows.settings.attribution["email"] == timedelta(days=5)


def test_trigger_kinds_match_the_dbt_model() -> None:
    columns = next(m for m in yaml.safe_load(DBT_YAML.read_text())["models"]
                   if m["name"] == "journey_triggers")["columns"]  # fmt: skip
    trigger = next(c for c in columns if c["name"] == "trigger")
    accepted = next(t for t in trigger["data_tests"] if isinstance(t, dict))
    assert set(accepted["accepted_values"]["arguments"]["values"]) == set(TRIGGER_KINDS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0h", timedelta(0)), ("90m", timedelta(minutes=90)), ("12h", timedelta(hours=12)),
     ("2d", timedelta(days=2)), ("1w", timedelta(days=7)), (" 1.5h ", timedelta(minutes=90))],
)  # fmt: skip
def test_durations_parse(value: str, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["1 day", "h", "12", "-1h", "2y"])
def test_bad_durations_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"negative|cannot parse"):
        parse_duration(value)


def _broken(edit) -> dict:
    data = copy.deepcopy(PACKAGED)
    edit(data)
    return data


def _step(data: dict, flow: str, i: int) -> dict:
    return data["flows"][flow]["steps"][i]


BAD = [
    ("unknown channel", lambda d: _step(d, "welcome", 0).update(channels=["sms", "fax"]),
     "flows.welcome.steps.0.channels.1: 'fax' is not allowed"),
    ("negative delay", lambda d: _step(d, "welcome", 1).update(delay="-2d"),
     "flows.welcome.steps.1.delay: duration '-2d' is negative"),
    ("unparsable delay", lambda d: _step(d, "welcome", 1).update(delay="tomorrow"),
     "flows.welcome.steps.1.delay: cannot parse duration 'tomorrow'"),
    ("unknown trigger", lambda d: d["flows"]["welcome"].update(trigger="signed_in"),
     "flows.welcome.trigger: unknown trigger signed_in"),
    ("unknown flow in priority", lambda d: d["settings"]["priority"].append("winback"),
     "unknown flow in priority: winback"),
    ("flow missing from priority", lambda d: d["settings"]["priority"].remove("cadence"),
     "flow missing from priority: cadence"),
    ("holdout of 1", lambda d: d["flows"]["welcome"].update(holdout_share=1.0),
     "flows.welcome.holdout_share: holdout_share 1.0 is outside [0, 1)"),
    ("negative holdout", lambda d: d["flows"]["welcome"].update(holdout_share=-0.1),
     "holdout_share -0.1 is outside [0, 1)"),
    ("duplicate step names", lambda d: _step(d, "welcome", 2).update(name="welcome"),
     "flows.welcome: duplicate step name welcome"),
    ("transactional holdout", lambda d: d["flows"]["order_updates"].update(holdout_share=0.1),
     "a transactional flow has no holdout"),
    ("step trigger outside the flow", lambda d: _step(d, "order_updates", 0).update(
        only_triggers=["cart_idle"]), "only_triggers ['cart_idle'] is not among"),
    ("misspelt field", lambda d: _step(d, "welcome", 0).update(dealy="1h"),
     "flows.welcome.steps.0.dealy: Extra inputs are not permitted"),
    ("unknown exit", lambda d: d["flows"]["welcome"].update(exit_on=["purchase"]),
     "flows.welcome.exit_on.0: 'purchase' is not allowed"),
    ("cap of zero", lambda d: d["settings"]["caps"][0].update(max=0),
     "settings.caps.0.max: Input should be greater than or equal to 1"),
    ("recurring with two steps", lambda d: d["flows"]["cadence"]["steps"].append(
        {"name": "again", "delay": "14d", "channels": ["email"]}), "exactly one step"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_declarations_say_what_and_where(what: str, edit, message: str) -> None:
    with pytest.raises(FlowsError) as raised:
        parse_flows(_broken(edit))
    assert message in str(raised.value), str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    def edit(d: dict) -> None:
        _step(d, "welcome", 0).update(channels=["fax"])
        _step(d, "cart_abandonment", 1).update(delay="soon")

    with pytest.raises(FlowsError) as raised:
        parse_flows(_broken(edit))
    assert "welcome.steps.0" in str(raised.value)
    assert "cart_abandonment.steps.1" in str(raised.value)


def test_a_flow_added_in_yaml_needs_no_python(tmp_path: Path) -> None:
    data = _broken(
        lambda d: (
            d["flows"].update(
                winback={
                    "trigger": "churn_risk",
                    "exit_on": ["order"],
                    "steps": [{"name": "last_call", "delay": "30d", "channels": ["email"]}],
                }
            )
            or d["settings"]["priority"].append("winback")
        )
    )
    path = tmp_path / "flows.yml"
    path.write_text(yaml.safe_dump(data))
    flows = load_flows(path)
    assert flows.flows["winback"].steps[0].delay == timedelta(days=30)
    assert flows.flows["winback"].priority == len(flows.flows)


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "flows.yml"
    path.write_text("flows: [unclosed")
    with pytest.raises(FlowsError, match="not valid YAML"):
        load_flows(path)
