"""Journeys end to end on hand-written events: raw.events -> dbt -> planner -> outbox.

One dbt build for the module; each customer is a scenario. Times are UTC unless named.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from dbt_helpers import DbtRun, create_raw, failures, new_db

from activations import outbox as dispatch_module
from pipelines.journeys.engine import run_journeys
from pipelines.journeys.flows import load_flows
from pipelines.journeys.planner import plan
from pipelines.journeys.rules import is_held_out

FLOWS = load_flows()
DAY0 = datetime(2026, 1, 5)  # a Monday in winter (Paris = UTC+1)
BUILT_AS_OF = "2026-02-01T00:00:00"
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def pick(prefix: str, held_out_of: str | None = None) -> str:
    """A customer id held out of exactly `held_out_of` (or of nothing)."""
    for i in range(5000):
        candidate = f"{prefix}-{i}"
        held = {f.name for f in FLOWS.flows.values() if is_held_out(candidate, f.name, f.holdout)}
        if held == ({held_out_of} if held_out_of else set()):
            return candidate
    raise AssertionError("no such id")


class Script:
    """Hand-written Segment messages, in the tuple shape dbt_helpers.create_raw takes."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def _add(self, kind, name, user, at, props=None, traits=None, anon=None, tz="UTC") -> None:
        context = {"timezone": tz}
        if isinstance(props, dict) and "advertising_id" in props:
            context["device"] = {"advertisingId": props.pop("advertising_id")}
        message_id = f"m-{len(self.rows):04d}"
        row = (message_id, kind, name, anon, user, at.isoformat(), props, traits, context)
        self.rows.append(row)

    def track(self, user: str | None, at: datetime, name: str, tz: str = "UTC", **props) -> None:
        self._add("track", name, user, at, props, tz=tz, anon=props.pop("anon", None))

    def signup(self, user: str, at: datetime, *channels: str, tz: str = "UTC", **extra) -> None:
        traits = {"email": f"{user}@example.com"}
        if "sms" in channels or extra.get("phone"):
            traits["phone"] = "+15555550100"
        self._add("identify", None, user, at, traits=traits, tz=tz)
        self.track(user, at, "Signed Up", tz=tz, form="popup", incentive=extra.get("incentive"))
        for i, channel in enumerate(channels):
            handle = {"push": {"push_token": f"tok-{user}"}, "messenger": {"psid": f"ps-{user}"}}
            self.track(
                user, at + (i + 1) * timedelta(seconds=1), "Subscription Updated", tz=tz,
                channel=channel, status="subscribed", **handle.get(channel, {}),
            )  # fmt: skip

    def cart(self, user: str, at: datetime, cart_id: str, tz: str = "UTC") -> None:
        self.track(user, at, "Product Added", tz=tz, cart_id=cart_id, product_id="p-1",
                   category="Shoes", price=59.0, quantity=1)  # fmt: skip

    def order(self, user: str, at: datetime, order_id: str, cart_id: str | None = None) -> None:
        line = {"product_id": "p-1", "category": "Shoes", "price": 59.0}
        self.track(user, at, "Order Completed", order_id=order_id, cart_id=cart_id, revenue=59.0,
                   products=[line])  # fmt: skip


WELCOME, CART_ORDER, QUIET, PUSH, EMAIL_ONLY = (pick(p) for p in ("w", "co", "q", "pu", "eo"))
CAP, HELD, TXN, BOUNCED, UNSUB = pick("cap"), pick("h", "welcome"), pick("t"), pick("b"), pick("u")
REVIEW, REACT, BROWSE, VISITOR, JOINER = (pick(p) for p in ("r", "z", "bw", "a", "j"))


def script() -> Script:
    s = Script()
    s.signup(WELCOME, DAY0 + 10 * H, "email", "sms", incentive="free_shipping")
    # cart at 09:00, idle -> abandoned 10:00, ordered at 14:00 mid-series
    s.signup(CART_ORDER, DAY0 - 10 * D, "email", "sms")
    s.cart(CART_ORDER, DAY0 + 9 * H, "k-co")
    s.order(CART_ORDER, DAY0 + 14 * H, "o-co", "k-co")
    # Paris: carted 21:30 local, abandoned 22:30 local, SMS due 23:30 local
    s.signup(QUIET, DAY0 - 10 * D, "email", "sms", tz="Europe/Paris")
    s.cart(QUIET, DAY0 + 20 * H + 30 * M, "k-q", tz="Europe/Paris")
    s.signup(PUSH, DAY0 - 10 * D, "email", "push")
    s.cart(PUSH, DAY0 + 9 * H, "k-pu")
    s.signup(EMAIL_ONLY, DAY0 - 10 * D, "email")
    s.cart(EMAIL_ONLY, DAY0 + 9 * H, "k-eo")
    # cart reminder due 13:00; a browse email due 12:55 competes for the same email cap
    s.signup(CAP, DAY0 - 10 * D, "email")
    s.cart(CAP, DAY0, "k-cap")
    for minute in (0, 10, 25):
        s.track(CAP, DAY0 + 12 * H + minute * M, "Product Viewed", product_id="p-2",
                category="Bags", price=80.0)  # fmt: skip
    s.signup(HELD, DAY0 + 10 * H, "email")
    # phone known, no SMS consent, email unsubscribed: order messages still go
    s.signup(TXN, DAY0 - 10 * D, "email", phone=True)
    s.track(TXN, DAY0 - D, "Subscription Updated", channel="email", status="unsubscribed")
    s.order(TXN, DAY0 + 12 * H, "o-t")
    s.signup(BOUNCED, DAY0 - 10 * D, "email")
    s.track(BOUNCED, DAY0 - D, "Email Bounced", message_id="x", bounce_type="hard")
    s.order(BOUNCED, DAY0 + 12 * H, "o-b")
    s.signup(UNSUB, DAY0 + 10 * H, "email")
    s.track(UNSUB, DAY0 + 12 * H, "Unsubscribed", message_id="x")
    # delivered a week before DAY0: review ask due DAY0; reviewed on day 3
    s.signup(REVIEW, DAY0 - 30 * D, "email", "sms")
    s.order(REVIEW, DAY0 - 10 * D, "o-r")
    s.track(REVIEW, DAY0 - 7 * D, "Order Delivered", order_id="o-r")
    s.track(REVIEW, DAY0 + 3 * D, "Product Reviewed", product_id="p-1", rating=5)
    # one order 91 days ago: lapsed (90 days) a day before DAY0
    s.signup(REACT, DAY0 - 120 * D, "email", "sms", "push")
    s.order(REACT, DAY0 - 91 * D + 12 * H, "o-z")
    s.signup(BROWSE, DAY0 - 10 * D, "email")
    for minute, category in ((0, "Shoes"), (10, "Bags"), (20, "Shoes")):
        s.track(BROWSE, DAY0 + 9 * H + minute * M, "Product Viewed", product_id="p-3",
                category=category, price=20.0)  # fmt: skip
    # anonymous visitors with an advertising id; the second signs up five minutes later
    s.track(None, DAY0 + 10 * H, "Product Viewed", anon=VISITOR, product_id="p-1",
            advertising_id="ad-visitor")  # fmt: skip
    s.track(None, DAY0 + 10 * H, "Product Viewed", anon=f"anon-{JOINER}", product_id="p-1",
            advertising_id="ad-joiner")  # fmt: skip
    s._add("identify", None, JOINER, DAY0 + 10 * H + 5 * M, anon=f"anon-{JOINER}",
           traits={"email": "j@example.com"})  # fmt: skip
    s.track(JOINER, DAY0 + 10 * H + 5 * M, "Signed Up", form="popup")
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    db = new_db(folder / "built")
    create_raw(db, script().rows)
    dbt = DbtRun(folder / "target")
    result = dbt(["build", "--select", "+journey_triggers", "+order_lines"], db, BUILT_AS_OF)
    assert result.success, failures(result)
    checkpoint = duckdb.connect(str(db))  # fold the write-ahead log in, so copies are whole
    checkpoint.execute("checkpoint")
    checkpoint.close()
    return db


@pytest.fixture
def con(built: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    # dbt-duckdb's views name the database after the file: copies keep the file name
    copy = new_db(tmp_path / "copy")
    shutil.copy(built, copy)
    connection = duckdb.connect(str(copy))
    yield connection
    connection.close()


def rows(planned: pl.DataFrame, customer: str) -> dict[str, dict[str, Any]]:
    """A customer's messages by 'flow.step' (and '.channel' for all-channel steps)."""
    out = {}
    for r in planned.filter(pl.col("customer_id") == customer).iter_rows(named=True):
        step = next(s for s in FLOWS.flows[r["flow"]].steps if s.name == r["step"])
        suffix = f".{r['channel']}" if step.all_channels else ""
        out[f"{r['flow']}.{r['step']}{suffix}"] = r
    return out


def outcome(row: dict[str, Any]) -> tuple[str | None, str]:
    return row["channel"], row["status"]


def run(con: duckdb.DuckDBPyConnection, at: datetime, outbox: Path) -> None:
    run_journeys(con, FLOWS, at, outbox)


def test_welcome_series_on_the_best_channel(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(plan(con, FLOWS, DAY0 + 10 * H + 15 * M), WELCOME)
    code = got["welcome.incentive_code"]
    assert (code["channel"], code["status"], code["due_at"]) == ("sms", "sent", DAY0 + 10 * H)
    assert json.loads(code["context"])["incentive"] == "free_shipping"  # what the form promised
    assert (got["welcome.welcome"]["status"], got["welcome.welcome"]["due_at"]) == (
        "scheduled", DAY0 + D + 10 * H,
    )  # fmt: skip
    assert got["welcome.welcome"]["channel"] == "email"
    assert got["welcome.bestsellers"]["due_at"] == DAY0 + 3 * D + 10 * H


def test_an_order_mid_series_stops_the_rest(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    run(con, DAY0 + 11 * H + 15 * M, tmp_path)
    run(con, DAY0 + 22 * H + 15 * M, tmp_path)
    got = {
        r[0]: r[1:]
        for r in con.execute(
            "select step, channel, status, reason from journey_messages"
            " where customer_id = ? and flow = 'cart_abandonment'",
            [CART_ORDER],
        ).fetchall()
    }
    assert got["nudge"][:2] == ("sms", "sent")
    for step in ("reminder", "incentive", "retarget"):
        assert got[step][1] == "exited" and got[step][2].startswith("exited on order at")


def test_a_cart_abandoned_late_evening_texts_at_eight_local(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    run(con, DAY0 + 22 * H + 45 * M, tmp_path)  # 23:45 in Paris
    nudge = rows(plan(con, FLOWS, DAY0 + 22 * H + 45 * M), QUIET)["cart_abandonment.nudge"]
    assert nudge["due_at"] == DAY0 + 22 * H + 30 * M  # 23:30 in Paris
    assert nudge["status"] == "held_quiet_hours"
    assert nudge["send_at"] == DAY0 + D + 7 * H  # 08:00 in Paris
    run(con, DAY0 + D + 7 * H, tmp_path)
    sent = con.execute(
        "select channel, sent_at from journeys.sent_messages where customer_id = ? and step = ?",
        [QUIET, "nudge"],
    ).fetchall()
    assert sent == [("sms", DAY0 + D + 7 * H)]
    assert len(list((tmp_path / "sms").glob("*.json"))) == 1


def test_without_sms_consent_push_or_nothing(con: duckdb.DuckDBPyConnection) -> None:
    planned = plan(con, FLOWS, DAY0 + 11 * H + 15 * M)
    push = rows(planned, PUSH)["cart_abandonment.nudge"]
    assert (push["channel"], push["status"]) == ("push", "sent")
    none = rows(planned, EMAIL_ONLY)["cart_abandonment.nudge"]
    assert (none["channel"], none["status"]) == (None, "no_channel")
    reminder = rows(planned, EMAIL_ONLY)["cart_abandonment.reminder"]
    assert (reminder["channel"], reminder["status"]) == ("email", "scheduled")


def test_the_cap_defers_a_browse_email_behind_a_cart_email(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    run(con, DAY0 + 13 * H, tmp_path)
    got = rows(plan(con, FLOWS, DAY0 + 13 * H), CAP)
    cart, browse = got["cart_abandonment.reminder"], got["browse_abandonment.picks"]
    assert (cart["status"], cart["channel"]) == ("sent", "email")
    assert browse["status"] == "deferred_cap"
    assert "cap email_16h" in browse["reason"] and cart["message_id"] in browse["reason"]
    assert browse["send_at"] == DAY0 + 13 * H + 16 * H
    run(con, DAY0 + 29 * H, tmp_path)
    status = con.execute(
        "select status, sent_at from journey_messages where message_id = ?",
        [browse["message_id"]],
    ).fetchone()
    assert status == ("sent", DAY0 + 29 * H)


def test_the_holdout_is_stable_across_runs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    first = rows(plan(con, FLOWS, DAY0 + 10 * H + 15 * M), HELD)
    run(con, DAY0 + 10 * H + 15 * M, tmp_path)
    run(con, DAY0 + 2 * D, tmp_path)
    later = rows(plan(con, FLOWS, DAY0 + 4 * D), HELD)
    for step in ("incentive_code", "welcome", "bestsellers"):
        assert (
            first[f"welcome.{step}"]["status"] == later[f"welcome.{step}"]["status"] == "held_out"
        )
    assert con.execute(
        "select count(*) from journeys.sent_messages where customer_id = ? and flow = 'welcome'",
        [HELD],
    ).fetchone() == (0,)


def test_transactional_needs_contact_details_not_consent(con: duckdb.DuckDBPyConnection) -> None:
    planned = plan(con, FLOWS, DAY0 + 12 * H + 15 * M)
    txn = rows(planned, TXN)
    assert outcome(txn["order_updates.confirmation"]) == ("sms", "sent")
    assert outcome(txn["order_updates.receipt"]) == ("email", "sent")
    receipt = rows(planned, BOUNCED)["order_updates.receipt"]
    assert receipt["status"] == "suppressed" and "email bounced" in receipt["reason"]


def test_an_unsubscribe_suppresses_what_was_planned(con: duckdb.DuckDBPyConnection) -> None:
    before = rows(plan(con, FLOWS, DAY0 + 11 * H), UNSUB)["welcome.welcome"]
    assert (before["status"], before["channel"]) == ("scheduled", "email")
    after = rows(plan(con, FLOWS, DAY0 + D + 10 * H + 15 * M), UNSUB)["welcome.welcome"]
    assert after["status"] == "suppressed" and "email unsubscribed" in after["reason"]


def test_review_request_then_reminder_unless_reviewed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    run(con, DAY0 + 15 * M, tmp_path)
    got = rows(plan(con, FLOWS, DAY0 + 7 * D + 15 * M), REVIEW)
    assert (got["review_request.ask"]["channel"], got["review_request.ask"]["status"]) == (
        "email", "sent",
    )  # fmt: skip
    assert got["review_request.sms_incentive"]["status"] == "exited"
    assert "review" in got["review_request.sms_incentive"]["reason"]


def test_reactivation_goes_to_every_opted_in_channel(con: duckdb.DuckDBPyConnection) -> None:
    planned = plan(con, FLOWS, DAY0 - D + 12 * H + 15 * M)
    got = rows(planned, REACT)
    channels = {k.split(".")[-1]: v["status"] for k, v in got.items() if ".we_miss_you." in k}
    assert channels == {"email": "sent", "sms": "sent", "push": "sent"}
    assert got["reactivation.we_miss_you.email"]["due_at"] == DAY0 - D + 12 * H


def test_browse_abandonment_emails_then_retargets(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(plan(con, FLOWS, DAY0 + 10 * H), BROWSE)
    picks = got["browse_abandonment.picks"]
    assert outcome(picks) == ("email", "sent") and picks["due_at"] == DAY0 + 9 * H + 50 * M
    assert json.loads(picks["context"])["categories"] == ["Bags", "Shoes"]
    for audience in ("meta_audience", "google_audience"):
        retarget = got[f"browse_abandonment.retarget.{audience}"]
        assert (
            retarget["status"] == "scheduled"
            and retarget["due_at"] == DAY0 + 2 * D + 9 * H + 50 * M
        )


def test_visitors_with_an_advertising_id_join_audiences(con: duckdb.DuckDBPyConnection) -> None:
    planned = plan(con, FLOWS, DAY0 + 10 * H + 15 * M)
    got = rows(planned, VISITOR)
    assert {k: v["status"] for k, v in got.items() if k.count(".") == 2} == {
        "visitor_retargeting.audience.meta_audience": "sent",
        "visitor_retargeting.audience.google_audience": "sent",
    }
    assert planned.filter(
        (pl.col("customer_id") == JOINER) & (pl.col("flow") == "visitor_retargeting")
    ).is_empty()  # signed up at once: never a retargeting entrant


def test_the_plan_is_the_same_on_every_run_and_ids_never_change(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    at = DAY0 + 13 * H
    first = plan(con, FLOWS, at)
    assert first.equals(plan(con, FLOWS, at))
    run(con, at, tmp_path)
    stored = con.sql("select * from journeys.messages order by message_id").fetchall()
    files = sorted(p.name for p in tmp_path.rglob("*.json"))
    run(con, at, tmp_path)
    assert con.sql("select * from journeys.messages order by message_id").fetchall() == stored
    assert sorted(p.name for p in tmp_path.rglob("*.json")) == files
    decisions = ["message_id", "status", "channel", "due_at", "sent_at", "dropped_at"]
    assert plan(con, FLOWS, at).select(decisions).equals(first.select(decisions))
    later = plan(con, FLOWS, at + 3 * D)
    assert set(first["message_id"]) <= set(later["message_id"])
    sent = con.sql("select count(*), count(distinct message_id) from journeys.sent_messages")
    assert sent.fetchall()[0][0] == sent.fetchall()[0][1] == len(files)


def test_a_crash_between_outbox_and_commit_sends_nothing_twice(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = DAY0 + 13 * H

    def crash(*args: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(dispatch_module, "_record_sent", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        run_journeys(con, FLOWS, at, tmp_path)
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    assert written, "the scenario has messages due"
    assert con.sql("select count(*) from journeys.sent_messages").fetchall() == [(0,)]
    monkeypatch.undo()
    summary = run_journeys(con, FLOWS, at + 15 * M, tmp_path)
    assert summary.recovered == len(written)
    assert {p: p.stat().st_mtime_ns for p in written} == written  # not rewritten
    sent = con.sql("select message_id from journeys.sent_messages").fetchall()
    assert len(sent) == len({m for (m,) in sent})
    assert {m for (m,) in sent} >= {p.stem for p in written}
    for path in written:
        payload = json.loads(path.read_text())
        status = con.execute(
            "select status, sent_at from journeys.messages where message_id = ?",
            [payload["message_id"]],
        ).fetchone()
        assert status == ("sent", at)
    assert "utm_campaign=" in payload["link"] and payload["link"].startswith(
        FLOWS.settings.store_url
    )
