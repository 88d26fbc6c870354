"""The planner on hand-made trigger and consent tables: rules, channels, caps, cadence, lift."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from activations.content import product_cards
from activations.templates import render
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.journeys.engine import run_journeys
from pipelines.journeys.flows import CapRule, QuietHours, load_flows
from pipelines.journeys.inputs import MissingModelError, Reach
from pipelines.journeys.lift import conversions, flow_lift, newcombe, wilson
from pipelines.journeys.planner import plan
from pipelines.journeys.rules import (
    Send,
    cap_block,
    holdout_bucket,
    is_held_out,
    message_id,
    next_allowed,
)

FLOWS = load_flows()
T0 = datetime(2026, 1, 5, 9, 0)  # a Monday, winter time in Europe
H = timedelta(hours=1)
D = timedelta(days=1)
EXITS = ("order", "cart", "browse", "review", "unsubscribe", "engage", "signup")


def treated(prefix: str) -> str:
    """A customer id held out of no flow (the holdout is a hash, so this is deterministic)."""
    return next(
        f"{prefix}{i}"
        for i in range(1000)
        if not any(is_held_out(f"{prefix}{i}", f.name, f.holdout) for f in FLOWS.flows.values())
    )


def trigger(kind: str, tid: str, customer: str, at: datetime, **extra) -> dict:
    row = {
        "trigger": kind, "trigger_id": tid, "customer_id": customer, "triggered_at": at,
        "timezone": "UTC", "order_id": None, "cart_id": None, "product_ids": None,
        "categories": None, "incentive": None, "amount": None, "tracking_url": None,
        "advertising_id": None, **{f"exit_{k}_at": None for k in EXITS},
    }  # fmt: skip
    row.update(extra)
    return row


def subscribed(customer: str, *channels: str, since: datetime = T0 - 30 * D) -> tuple[list, list]:
    """Consent periods and contact points of a customer opted in to `channels`."""
    kinds = {"email": "email", "sms": "phone", "push": "push_token", "messenger": "messenger_psid"}
    consents = [(customer, c, True, "subscribed", since, None, f"{customer}-{c}") for c in channels]
    contacts = [(customer, kinds[c], f"{customer}-{kinds[c]}", since, None) for c in channels]
    return consents, contacts


def warehouse(
    path: Path, triggers: list[dict], consents=(), contacts=(), orders=(), clicks=()
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    ensure_raw_schema(con)
    frame = pl.DataFrame(
        triggers or [trigger("signed_up", "x", "x", T0)],
        schema_overrides={f"exit_{k}_at": pl.Datetime("us") for k in EXITS}
        | {"amount": pl.Float64, "triggered_at": pl.Datetime("us")},
    )
    con.register("t", frame.to_arrow())
    con.execute("create table main.journey_triggers as select * from t where ?", [bool(triggers)])
    con.execute(
        "create table main.int_consents_historized (customer_id varchar, channel varchar,"
        " is_consented boolean, reason varchar, valid_from timestamp, valid_to timestamp,"
        " change_message_id varchar)"
    )
    con.execute(
        "create table main.int_contact_points_historized (customer_id varchar,"
        " contact_kind varchar, contact_value varchar, valid_from timestamp, valid_to timestamp)"
    )
    con.execute(
        "create table main.orders (order_id varchar, customer_id varchar, ordered_at timestamp,"
        " revenue double, is_completed boolean)"
    )
    con.execute(
        "create table main.int_journey_events (message_id varchar, customer_id varchar,"
        " event_name varchar, known_at timestamp, properties json)"
    )
    for table, rows in (
        ("int_consents_historized", consents),
        ("int_contact_points_historized", contacts),
        ("orders", orders),
    ):
        for row in rows:
            con.execute(f"insert into main.{table} values ({', '.join('?' * len(row))})", row)
    for i, (about, at) in enumerate(clicks):
        con.execute(
            "insert into main.int_journey_events values (?, 'x', 'Email Link Clicked', ?, ?)",
            [f"click-{i}", at, json.dumps({"message_id": about})],
        )
    return con


def by_step(planned: pl.DataFrame) -> dict[str, dict]:
    return {f"{r['flow']}.{r['step']}.{r['channel']}": r for r in planned.iter_rows(named=True)}


def test_message_id_is_the_documented_hash() -> None:
    expected = hashlib.sha256(b"c1|welcome|welcome|signup:m1").hexdigest()[:20]
    assert message_id("c1", "welcome", "welcome", "signup:m1") == expected


def test_holdout_is_stable_and_near_its_share() -> None:
    ids = [f"c-{i}" for i in range(20_000)]
    held = [c for c in ids if is_held_out(c, "welcome", 0.10)]
    assert 0.09 < len(held) / len(ids) < 0.11
    assert held == [c for c in ids if holdout_bucket(c, "welcome") < 0.10]
    assert not any(is_held_out(c, "order_updates", 0.0) for c in ids[:100])
    # another flow holds out other people
    assert set(held) != {c for c in ids if is_held_out(c, "cadence", 0.10)}


QUIET = QuietHours(start=time(21), end=time(8), channels=["sms", "push", "messenger"])


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        (datetime(2026, 1, 5, 22, 30), "Europe/Paris", datetime(2026, 1, 6, 7, 0)),  # 23:30 CET
        (datetime(2026, 7, 5, 21, 30), "Europe/Paris", datetime(2026, 7, 6, 6, 0)),  # 23:30 CEST
        (datetime(2026, 1, 6, 6, 59), "Europe/Paris", datetime(2026, 1, 6, 7, 0)),  # 07:59
        (datetime(2026, 1, 6, 7, 0), "Europe/Paris", datetime(2026, 1, 6, 7, 0)),  # 08:00 sharp
        (datetime(2026, 1, 6, 12, 0), "Europe/Paris", datetime(2026, 1, 6, 12, 0)),  # daytime
        (datetime(2026, 1, 6, 3, 0), "America/New_York", datetime(2026, 1, 6, 13, 0)),  # 22:00
        (datetime(2026, 3, 8, 5, 0), "America/New_York", datetime(2026, 3, 8, 12, 0)),  # DST day
        (datetime(2026, 1, 6, 22, 0), "Mars/Olympus", datetime(2026, 1, 7, 8, 0)),  # unknown: UTC
        (datetime(2026, 1, 6, 22, 0), None, datetime(2026, 1, 7, 8, 0)),
    ],
)
def test_quiet_hours_hold_until_local_morning(utc: datetime, zone: str, expected: datetime) -> None:
    assert next_allowed(utc, zone, QUIET) == expected


def test_caps_name_the_binding_rule_and_message() -> None:
    rules = FLOWS.settings.caps
    email = Send("m-email", "cart_abandonment", "email", T0)
    assert cap_block("push", [email], T0 + H, rules) is None
    block = cap_block("email", [email], T0 + H, rules)
    assert block is not None and block.rule.name == "email_16h"
    assert block.blocker.message_id == "m-email" and block.frees_at == T0 + 16 * H
    assert "blocked by message m-email (cart_abandonment)" in block.describe()
    assert cap_block("email", [email], T0 + 16 * H, rules) is None  # the window has passed
    three = [
        Send(f"m{i}", "welcome", c, T0 + i * H) for i, c in enumerate(["sms", "push", "email"])
    ]
    total = cap_block("messenger", three, T0 + 3 * H, rules)
    assert total is not None and total.rule.name == "total_24h"
    assert total.blocker.message_id == "m0" and total.frees_at == T0 + 24 * H
    two_per_day = [CapRule(name="two", channels=["sms"], max=2, window=D)]
    sends = [Send("a", "f", "sms", T0), Send("b", "f", "sms", T0 + H)]
    assert cap_block("sms", sends, T0 + 2 * H, two_per_day).frees_at == T0 + D


def test_reach_follows_consent_history_and_transactional_rules() -> None:
    reach = Reach()
    reach.consents["c"] = {
        "email": [(T0, T0 + D, True, "subscribed"), (T0 + D, None, False, "unsubscribed")],
        "sms": [(T0, T0 + 2 * D, True, "subscribed"), (T0 + 2 * D, None, False, "bounced")],
    }
    reach.known["c"] = {"email": T0, "phone": T0 + H}
    assert reach.option("c", "email", T0 + H, False) == (True, None)
    usable, why = reach.option("c", "email", T0 + 2 * D, False)
    assert not usable and why.startswith("email unsubscribed")
    assert reach.option("c", "email", T0 + 2 * D, True) == (True, None)  # receipts still go
    assert reach.option("c", "sms", T0, False)[0] is False  # phone not known yet
    assert reach.option("c", "sms", T0 + 2 * H, False) == (True, None)
    assert reach.option("c", "sms", T0 + 3 * D, True)[0] is False  # any SMS opt-out stops all
    assert reach.option("c", "push", T0 + H, True) == (False, None)  # no token
    assert reach.option("c", "meta_audience", T0 + H, False) == (True, None)
    usable, why = reach.option("c", "google_audience", T0 + 2 * D, False)
    assert not usable and "unsubscribed" in why  # an opt-out anywhere keeps them out of ads


def test_channel_preference_falls_back_and_records_why_not(tmp_path: Path) -> None:
    sms, push, mail, none, gone = (treated(p) for p in ("sms-", "push-", "mail-", "none-", "gone-"))
    consents, contacts = [], []
    for customer, channels in ((sms, ("sms", "push")), (push, ("push",)), (mail, ("email",))):
        c, k = subscribed(customer, *channels)
        consents += c
        contacts += k
    c, k = subscribed(gone, "sms")
    consents += [*c, (gone, "sms", False, "unsubscribed", T0 - D, None, "stop")]
    consents[consents.index(c[0])] = (gone, "sms", True, "subscribed", T0 - 30 * D, T0 - D, "s")
    contacts += k
    triggers = [
        trigger("cart_idle", f"cart:{c}", c, T0, cart_id=f"k-{c}")
        for c in (sms, push, mail, none, gone)
    ]
    con = warehouse(tmp_path / "w.duckdb", triggers, consents, contacts)
    planned = plan(con, FLOWS, T0 + H + timedelta(minutes=5))
    nudges = {
        r["customer_id"]: r for r in planned.filter(pl.col("step") == "nudge").iter_rows(named=True)
    }
    assert (nudges[sms]["channel"], nudges[sms]["status"]) == ("sms", "sent")
    assert (nudges[push]["channel"], nudges[push]["status"]) == ("push", "sent")
    assert (nudges[mail]["channel"], nudges[mail]["status"]) == (None, "no_channel")
    assert "sms,messenger,push" in nudges[mail]["reason"]
    assert nudges[none]["status"] == "no_channel"
    assert nudges[gone]["status"] == "suppressed" and "sms unsubscribed" in nudges[gone]["reason"]
    reminder = planned.filter((pl.col("customer_id") == mail) & (pl.col("step") == "reminder"))
    assert reminder.row(0, named=True)["status"] == "scheduled"
    assert reminder.row(0, named=True)["due_at"] == T0 + 12 * H
    # the UTC day is 09:00-ish: no quiet hours; and each message's context carries the cart
    assert json.loads(nudges[sms]["context"])["cart_id"] == f"k-{sms}"


def test_exits_catch_up_and_expiry(tmp_path: Path) -> None:
    customer = treated("exit-")
    consents, contacts = subscribed(customer, "email", "sms")
    triggers = [
        trigger("cart_idle", "cart:1", customer, T0, exit_order_at=T0 + 5 * H),
        trigger("browse_idle", "browse:1", customer, T0 - 3 * D, categories="Shoes,Bags"),
    ]
    con = warehouse(tmp_path / "w.duckdb", triggers, consents, contacts)
    # a first run long after the order: the unsent nudge never goes out
    steps = by_step(plan(con, FLOWS, T0 + 13 * H))
    assert steps["cart_abandonment.nudge.sms"]["status"] == "exited"
    run_journeys(con, FLOWS, T0 + 75 * timedelta(minutes=1), tmp_path / "outbox")
    steps = by_step(plan(con, FLOWS, T0 + 13 * H))
    assert steps["cart_abandonment.nudge.sms"]["status"] == "sent"  # sent before the order
    assert steps["cart_abandonment.reminder.email"]["status"] == "exited"
    assert "exited on order at" in steps["cart_abandonment.reminder.email"]["reason"]
    assert steps["browse_abandonment.picks.email"]["status"] == "expired"
    assert steps["browse_abandonment.retarget.meta_audience"]["status"] == "expired"
    assert json.loads(steps["browse_abandonment.picks.email"]["context"])["categories"] == [
        "Shoes", "Bags",
    ]  # fmt: skip


def test_caps_defer_by_priority_then_send_when_free(tmp_path: Path) -> None:
    customer = treated("cap-")
    consents, contacts = subscribed(customer, "email")
    triggers = [
        trigger("browse_idle", "browse:1", customer, T0 - 5 * timedelta(minutes=1)),
        trigger("cart_idle", "cart:1", customer, T0 - 12 * H),  # reminder due at T0
    ]
    con = warehouse(tmp_path / "w.duckdb", triggers, consents, contacts)
    outbox = tmp_path / "outbox"
    run_journeys(con, FLOWS, T0, outbox)
    rows = by_step(plan(con, FLOWS, T0))
    cart = rows["cart_abandonment.reminder.email"]
    browse = rows["browse_abandonment.picks.email"]
    assert cart["status"] == "sent"
    assert browse["status"] == "deferred_cap" and browse["send_at"] == T0 + 16 * H
    assert "cap email_16h" in browse["reason"] and cart["message_id"] in browse["reason"]
    run_journeys(con, FLOWS, T0 + 16 * H, outbox)
    stored = con.execute(
        "select status, sent_at, capped from journeys.messages where message_id = ?",
        [browse["message_id"]],
    ).fetchone()
    assert stored == ("sent", T0 + 16 * H, True)


def test_cadence_is_weekly_after_the_latest_email(tmp_path: Path) -> None:
    customer = treated("weekly-")
    consents, contacts = subscribed(customer, "email", since=T0)
    triggers = [
        trigger("email_subscribed", "email:1", customer, T0),
        trigger("cart_idle", "cart:1", customer, T0 + 2 * D - 12 * H),  # reminder email on day 2
    ]
    con = warehouse(tmp_path / "w.duckdb", triggers, consents, contacts)
    outbox = tmp_path / "outbox"
    for day in (2, 7, 9):
        run_journeys(con, FLOWS, T0 + day * D, outbox)
    sent = con.sql(
        "select flow, sent_at from journeys.sent_messages where channel = 'email' order by sent_at"
    ).fetchall()
    # day 2: cart reminder; no cadence at day 7 (emailed on day 2); cadence on day 9
    assert sent == [("cart_abandonment", T0 + 2 * D), ("cadence", T0 + 9 * D)]
    assert plan(con, FLOWS, T0 + 15 * D).filter(pl.col("flow") == "cadence").is_empty()
    due = plan(con, FLOWS, T0 + 16 * D).filter(pl.col("flow") == "cadence")
    assert due["due_at"].to_list() == [T0 + 16 * D] and due["status"].to_list() == ["sent"]


def test_missing_models_say_to_build_dbt(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    ensure_raw_schema(con)
    with pytest.raises(MissingModelError, match="dbt build"):
        plan(con, FLOWS, T0)


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339
    low, high = newcombe(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = wilson(81, 263)  # Wilson interval of 81/263: 0.2553 to 0.3662
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_conversions_take_the_last_touch_within_each_window(tmp_path: Path) -> None:
    buyer = "c-buyer"
    con = warehouse(
        tmp_path / "w.duckdb",
        [],
        orders=[
            ("o-click", buyer, T0 + 2 * D, 50.0, True),  # email clicked 1 day before
            ("o-sms", buyer, T0 + 10 * D + 2 * H, 20.0, True),  # sms 2 h before, after the click
            ("o-late", buyer, T0 + 20 * D, 10.0, True),  # nothing within any window
            ("o-cancelled", buyer, T0 + 10 * D + 3 * H, 10.0, False),
        ],
        clicks=[("m-mail", T0 + D), ("m-mail", T0 + 9 * D)],
    )
    sent = [
        ("m-mail", buyer, "browse_abandonment", "picks", "email", T0),
        ("m-sms", buyer, "cart_abandonment", "nudge", "sms", T0 + 10 * D),
        ("m-old", buyer, "cart_abandonment", "nudge", "sms", T0 + 15 * D),
    ]
    con.executemany("insert into journeys.sent_messages values (?, ?, ?, ?, ?, ?)", sent)
    got = {r[0]: r[1:] for r in conversions(con, FLOWS, T0 + 30 * D).select(
        "order_id", "message_id", "touch").iter_rows()}  # fmt: skip
    assert got == {"o-click": ("m-mail", "click"), "o-sms": ("m-sms", "send")}


def test_flow_lift_compares_treated_and_held_out_entrants(tmp_path: Path) -> None:
    con = warehouse(tmp_path / "w.duckdb", [])
    customers = [f"c-{i}" for i in range(400)]
    held = {c for c in customers if is_held_out(c, "welcome", 0.10)}
    buyers = set(customers[:100]) - held  # only treated people buy
    con.executemany(
        "insert into main.orders values (?, ?, ?, 10.0, true)",
        [(f"o-{c}", c, T0 + 2 * D) for c in sorted(buyers)],
    )
    planned = pl.DataFrame(
        {
            "message_id": customers, "customer_id": customers, "trigger_id": customers,
            "status": ["held_out" if c in held else "sent" for c in customers],
        }
    ).with_columns(
        flow=pl.lit("welcome"), step=pl.lit("welcome"), trigger=pl.lit("signed_up"),
        triggered_at=pl.lit(T0), due_at=pl.lit(T0), quiet_held=False, capped=False,
        priority=pl.lit(4), transactional=False, planned_at=pl.lit(T0), updated_at=pl.lit(T0),
    )  # fmt: skip
    con.register("p", planned.to_arrow())
    con.execute("insert into journeys.messages by name select * from p")
    lift = flow_lift(con, FLOWS, T0 + 10 * D).filter(pl.col("flow") == "welcome").row(0, named=True)
    assert lift["holdout_entrants"] == len(held) and lift["holdout_conversions"] == 0
    assert lift["treated_entrants"] == 400 - len(held)
    assert lift["treated_conversions"] == len(buyers)
    assert lift["lift"] == pytest.approx(len(buyers) / (400 - len(held)))
    assert lift["lift_ci_low"] < lift["lift"] < lift["lift_ci_high"]
    early = flow_lift(con, FLOWS, T0 + 2 * D).filter(pl.col("flow") == "welcome")
    assert early.row(0, named=True)["treated_entrants"] == 0  # the 5-day window is not over


def test_emails_show_products_that_fit_the_message(tmp_path: Path) -> None:
    con = warehouse(tmp_path / "w.duckdb", [])
    assert product_cards(con, [{"message_id": "m", "channel": "email", "flow": "cadence",
                                "context": "{}"}]) == {}  # fmt: skip
    con.execute(
        "create table main.products as select * from (values"
        " ('p1', 'Boot', 'Shoes', 90.0, 'u1', 4.8, 'Great', 5, true),"
        " ('p2', 'Sandal', 'Shoes', 30.0, 'u2', 3.0, null, 50, true),"
        " ('p3', 'Tote', 'Bags', 40.0, 'u3', null, null, 20, true),"
        " ('p4', 'Clutch', 'Bags', 60.0, 'u4', 5.0, 'Lovely', 1, false))"
        " t(product_id, name, category, price, url, avg_rating, top_review_body, purchases,"
        " in_stock)"
    )
    con.execute(
        "insert into ml.recommendations values ('product', 'p1', 'p3', 1, 'bought_together', ?),"
        " ('product', 'p1', 'p2', 2, 'same_category', ?)",
        [T0, T0],
    )

    def message(flow: str, channel: str = "email", **context) -> dict:
        return {"message_id": flow + channel, "flow": flow, "channel": channel,
                "context": json.dumps(context)}  # fmt: skip

    cards = product_cards(
        con,
        [
            message("cross_sell", product_ids=["p1"]),
            message("cart_abandonment", product_ids=["p2", "p4"]),
            message("browse_abandonment", categories=["Shoes"]),
            message("cadence"),
            message("cart_abandonment", "sms", product_ids=["p2"]),
        ],
    )
    names = {k: [c["name"] for c in v] for k, v in cards.items()}
    assert names == {
        "cross_sellemail": ["Tote", "Sandal"],  # pairs with the boot, not the boot again
        "cart_abandonmentemail": ["Sandal"],  # the clutch is out of stock
        "browse_abandonmentemail": ["Boot", "Sandal"],  # best rated first
        "cadenceemail": ["Sandal", "Tote", "Boot"],  # bestsellers
    }
    assert cards["browse_abandonmentemail"][0]["review"] == "Great"
    rendered = render(message("browse_abandonment", categories=["Shoes"]) | {"step": "picks"},
                      FLOWS.settings, cards["browse_abandonmentemail"])  # fmt: skip
    assert '- Boot (4.8/5) "Great"' in rendered["content"]["text"]
    assert rendered["link"].startswith("https://shop.example.com/collections/shoes?utm_source=")
    assert "utm_medium=email&utm_campaign=browse_abandonment&utm_content=picks" in rendered["link"]


def test_every_channel_links_back_with_utm_tags_and_codes() -> None:
    base = {"message_id": "abc123def456", "flow": "cart_abandonment", "step": "incentive",
            "context": json.dumps({"cart_id": "k 1", "incentive": "discount"})}  # fmt: skip
    email = render(base | {"channel": "email"}, FLOWS.settings)
    assert email["link"].startswith("https://shop.example.com/cart?cart=k%201&utm_source=journeys")
    assert "jm=abc123def456" in email["link"] and email["content"]["coupon"] == "DISC-ABC123DE"
    assert "Use code DISC-ABC123DE for 10% off." in email["content"]["text"]
    sms = render(base | {"channel": "sms", "step": "nudge"}, FLOWS.settings)
    assert sms["content"]["text"].endswith(sms["link"]) and "utm_medium=sms" in sms["link"]
    audience = render(base | {"channel": "meta_audience", "step": "retarget"}, FLOWS.settings)
    assert audience["content"]["audience"] == "cart_abandonment.retarget"
