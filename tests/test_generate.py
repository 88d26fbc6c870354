"""Tests of the demo-store generator: determinism, contract validity, funnel and realism."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipelines.generate import GenerateSummary, StoreSpec, generate_store

END = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
SMALL = StoreSpec(customers=2000, days=60, seed=7, end=END)
SESSION_GAP = timedelta(minutes=30)
# Events a browser sends during a visit (server-side events are not part of sessions).
SESSION_EVENTS = {"Product Viewed", "Product Added", "Product Removed", "Checkout Started",
                  "Order Completed", "Signed Up"}  # fmt: skip

TEXT, NUMBER, INT, LIST = str, (int, float), int, list
PRODUCT = {"product_id": TEXT, "category": TEXT, "price": NUMBER}
CARTED = {"cart_id": TEXT, **PRODUCT, "quantity": INT}
MESSAGE = {"message_id": TEXT}
# Required properties and their JSON types, per track event (the PRODUCT.md contract table).
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "Signed Up": {"form": TEXT, "incentive": TEXT},
    "Subscription Updated": {"channel": TEXT, "status": TEXT, "source": TEXT},
    "Product Viewed": PRODUCT,
    "Product Added": CARTED,
    "Product Removed": CARTED,
    "Checkout Started": {"cart_id": TEXT, "revenue": NUMBER, "products": LIST},
    "Order Completed": {
        "order_id": TEXT,
        "cart_id": TEXT,
        "revenue": NUMBER,
        "discount": NUMBER,
        "products": LIST,
    },
    "Order Shipped": {"order_id": TEXT, "tracking_url": TEXT},
    "Order Delivered": {"order_id": TEXT},
    "Order Cancelled": {"order_id": TEXT},
    "Order Refunded": {"order_id": TEXT},
    "Product Reviewed": {"product_id": TEXT, "rating": INT, "review_body": TEXT},
    "Email Opened": MESSAGE,
    "Email Link Clicked": MESSAGE,
    "Email Bounced": MESSAGE,
    "Email Marked as Spam": MESSAGE,
    "Unsubscribed": MESSAGE,
}
CHOICES = {
    "form": {"popup", "exit_intent", "timed_popup", "animated_form", "landing_page"},
    "incentive": {"discount", "free_shipping", "none"},
    "channel": {"email", "sms", "push", "messenger"},
    "status": {"subscribed", "unsubscribed"},
}


def read_events(out: Path) -> list[tuple[str, dict]]:
    """(file name, message) for every line of every day file, in file then line order."""
    rows = []
    for path in sorted((out / "events").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows.extend((path.name, json.loads(line)) for line in fh)
    return rows


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def contract_problems(msg: dict) -> list[str]:
    """Why a message breaks the event contract (empty when it fits)."""
    problems = []
    if msg.get("type") not in {"track", "identify", "page"}:
        problems.append("type")
    if not (msg.get("anonymousId") or msg.get("userId")):
        problems.append("identity")
    if not isinstance(msg.get("messageId"), str) or not msg["messageId"]:
        problems.append("messageId")
    stamp = msg.get("timestamp", "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", stamp):
        problems.append("timestamp format")
    elif parse_ts(stamp).tzinfo is None:
        problems.append("timestamp zone")
    ZoneInfo(msg.get("context", {}).get("timezone", "Not/AZone"))  # raises when not IANA
    if msg.get("type") == "identify" and not isinstance(msg.get("traits"), dict):
        problems.append("traits")
    if msg.get("type") != "track":
        return problems
    props = msg.get("properties")
    event = msg.get("event")
    if event not in REQUIRED or not isinstance(props, dict):
        return [*problems, f"event {event!r}"]
    for name, kind in REQUIRED[event].items():
        value = props.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, kind):
            problems.append(f"{event}.{name}")
        elif name in CHOICES and value not in CHOICES[name]:
            problems.append(f"{event}.{name} value")
    if event == "Order Completed" and "coupon" not in props:
        problems.append("coupon")
    for item in props.get("products", []):
        if set(item) < {"product_id", "category", "price", "quantity"}:
            problems.append(f"{event}.products item")
    if event == "Product Reviewed" and not 1 <= props["rating"] <= 5:
        problems.append("rating range")
    return problems


def sessions_by_person(rows: list[tuple[str, dict]]) -> dict[str, list[datetime]]:
    """Start of every session (30-minute inactivity gap) of each anonymousId."""
    times = defaultdict(list)
    for _, m in rows:
        if m["type"] == "page" or m.get("event") in SESSION_EVENTS:
            times[m["anonymousId"]].append(parse_ts(m["timestamp"]))
    starts = {}
    for person, ts in times.items():
        ts.sort()
        starts[person] = [t for i, t in enumerate(ts) if i == 0 or t - ts[i - 1] > SESSION_GAP]
    return starts


def file_hashes(out: Path) -> dict[str, str]:
    files = [out / "catalogue.csv", *sorted((out / "events").glob("*"))]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateSummary, list]:
    out = tmp_path_factory.mktemp("small")
    summary = generate_store(SMALL, out)
    return summary, read_events(out)


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    small: tuple[GenerateSummary, list], tmp_path: Path
) -> None:
    again = generate_store(SMALL, tmp_path / "again")
    assert file_hashes(again.out_dir) == file_hashes(small[0].out_dir)
    other = generate_store(StoreSpec(customers=2000, days=60, seed=8, end=END), tmp_path / "o")
    theirs, ours = file_hashes(other.out_dir), file_hashes(small[0].out_dir)
    assert theirs.keys() == ours.keys()
    assert all(theirs[name] != ours[name] for name in ours)


def test_every_line_fits_the_contract(small: tuple[GenerateSummary, list]) -> None:
    _, rows = small
    bad = Counter(p for _, m in rows for p in contract_problems(m))
    assert not bad, bad
    ids = [m["messageId"] for _, m in rows]
    assert len(set(ids)) == len(ids)


def test_checker_rejects_broken_messages() -> None:
    good = {"type": "track", "event": "Product Added", "messageId": "m-1", "anonymousId": "a-1",
            "timestamp": "2026-01-01T10:00:00Z", "context": {"timezone": "Europe/Paris"},
            "properties": {"cart_id": "k-1", "product_id": "p-1", "category": "Shoes",
                           "price": 59.0, "quantity": 1}}  # fmt: skip
    assert contract_problems(good) == []
    assert "timestamp format" in contract_problems({**good, "timestamp": "2026-01-01T10:00:00"})
    assert "identity" in contract_problems({**good, "anonymousId": None})
    broken = {**good, "properties": {**good["properties"], "price": "59"}}
    assert contract_problems(broken) == ["Product Added.price"]


def test_events_lie_in_the_window_sorted_within_their_day_file(
    small: tuple[GenerateSummary, list],
) -> None:
    _, rows = small
    start = END - timedelta(days=SMALL.days)
    by_file = defaultdict(list)
    for name, m in rows:
        by_file[name].append(parse_ts(m["timestamp"]))
    for name, ts in by_file.items():
        assert ts == sorted(ts)
        assert {t.strftime("%Y-%m-%d") + ".jsonl.gz" for t in ts} == {name}
        assert start <= ts[0] and ts[-1] < END


def test_summary_counts_what_was_written(small: tuple[GenerateSummary, list]) -> None:
    summary, rows = small
    names = Counter(m.get("event") or m["type"] for _, m in rows)
    orders = [m["anonymousId"] for _, m in rows if m.get("event") == "Order Completed"]
    assert summary.events == len(rows)
    assert summary.by_event == dict(names)
    assert summary.files == len({name for name, _ in rows})
    assert summary.people == len({m["anonymousId"] for _, m in rows}) == SMALL.customers
    assert summary.signups == names["Signed Up"]
    assert (summary.orders, summary.buyers) == (len(orders), len(set(orders)))


def test_funnel_has_the_shape_of_a_real_store(small: tuple[GenerateSummary, list]) -> None:
    summary, rows = small
    sessions = sum(len(s) for s in sessions_by_person(rows).values())
    assert 0.015 <= summary.signups / sessions <= 0.06  # about 3% of visits sign up
    assert 0.05 <= summary.signups / summary.people <= 0.25
    assert 0.15 <= summary.buyers / summary.signups <= 0.6
    per_buyer = Counter(m["userId"] for _, m in rows if m.get("event") == "Order Completed")
    repeaters = sum(1 for n in per_buyer.values() if n >= 2)
    assert repeaters >= 3 and repeaters < len(per_buyer) / 2  # most buyers ordered once
    carts = {m["properties"]["cart_id"] for _, m in rows if m.get("event") == "Product Added"}
    assert len(carts) >= 2 * summary.orders  # most carts are abandoned


def test_sign_up_ties_earlier_anonymous_browsing_to_the_customer(
    small: tuple[GenerateSummary, list],
) -> None:
    _, rows = small
    signed = {m["anonymousId"]: (m["userId"], m["timestamp"])
              for _, m in rows if m.get("event") == "Signed Up"}  # fmt: skip
    users_of = defaultdict(set)
    for _, m in rows:
        person = m["anonymousId"]
        if person not in signed:
            assert "userId" not in m
            continue
        user, at = signed[person]
        before = parse_ts(m["timestamp"]) < parse_ts(at)
        assert ("userId" not in m) if before else (m["userId"] == user), m
        users_of[user].add(person)
    assert all(len(people) == 1 for people in users_of.values())
    identifies = [m for _, m in rows if m["type"] == "identify"]
    assert len(identifies) == len(signed)
    for m in identifies:
        traits = m["traits"]
        assert traits.get("email") or traits.get("phone")
        assert re.fullmatch(
            r"[a-z]+\.\d+@example\.(com|org|net)", traits.get("email", "x.1@example.com")
        )
        phone = traits.get("phone", "+15555550100")
        assert re.fullmatch(r"\+1\d{3}55501\d\d|\+3363998\d{4}|\+447700900\d{3}", phone), phone


def test_consent_per_channel_with_device_ids_and_opt_outs(
    small: tuple[GenerateSummary, list],
) -> None:
    summary, rows = small
    updates = [m["properties"] for _, m in rows if m.get("event") == "Subscription Updated"]
    subscribed = Counter(p["channel"] for p in updates if p["status"] == "subscribed")
    assert 0.85 <= subscribed["email"] / summary.signups <= 1.0
    assert 0.25 <= subscribed["sms"] / summary.signups <= 0.55
    assert subscribed["push"] > subscribed["messenger"] > 0
    assert all(p.get("push_token") for p in updates if p["channel"] == "push")
    assert all(p.get("psid") for p in updates if p["channel"] == "messenger")
    assert any(p["status"] == "unsubscribed" for p in updates)
    engagement = [m for _, m in rows if m.get("event", "").startswith("Email")]
    assert engagement and all(m["properties"]["message_id"].startswith("ext-") for m in engagement)
    devices = {m["anonymousId"] for _, m in rows if "device" in m["context"]}
    assert 0.2 <= len(devices) / summary.people <= 0.5


def test_orders_add_up_and_are_fulfilled_in_order(small: tuple[GenerateSummary, list]) -> None:
    _, rows = small
    placed, shipped, delivered = {}, {}, {}
    for _, m in rows:
        event, p = m.get("event"), m.get("properties", {})
        if event == "Order Completed":
            subtotal = sum(i["price"] * i["quantity"] for i in p["products"])
            assert p["revenue"] == pytest.approx(subtotal - p["discount"], abs=0.011)
            placed[p["order_id"]] = parse_ts(m["timestamp"])
        elif event == "Order Shipped":
            shipped[p["order_id"]] = parse_ts(m["timestamp"])
        elif event == "Order Delivered":
            delivered[p["order_id"]] = parse_ts(m["timestamp"])
    assert shipped and delivered
    for order, at in shipped.items():
        assert timedelta(days=1) <= at - placed[order] <= timedelta(days=3)
    for order, at in delivered.items():
        assert timedelta(days=2) <= at - placed[order] <= timedelta(days=7)
        assert at > shipped[order]
    ratings = [m["properties"]["rating"] for _, m in rows if m.get("event") == "Product Reviewed"]
    assert ratings and sum(ratings) / len(ratings) > 3.5


def test_visits_happen_at_local_daytime_hours(small: tuple[GenerateSummary, list]) -> None:
    _, rows = small
    zone = {m["anonymousId"]: ZoneInfo(m["context"]["timezone"]) for _, m in rows}
    hours = Counter(
        start.astimezone(zone[person]).hour
        for person, starts in sessions_by_person(rows).items()
        for start in starts
    )
    total = sum(hours.values())
    assert sum(hours[h] for h in range(1, 6)) / total < 0.05
    assert sum(hours[h] for h in range(18, 23)) / total > 0.25
    assert len({str(z) for z in zone.values()}) >= 6


def test_catalogue_is_consistent_with_the_events(small: tuple[GenerateSummary, list]) -> None:
    summary, rows = small
    with (summary.out_dir / "catalogue.csv").open() as fh:
        products = list(csv.DictReader(fh))
    assert list(products[0]) == ["product_id", "name", "category", "price", "url",
                                 "image_url", "in_stock"]  # fmt: skip
    ids = [p["product_id"] for p in products]
    assert len(ids) == len(set(ids)) == max(50, SMALL.customers // 20)
    assert 8 <= len({p["category"] for p in products}) <= 12
    assert 0 < sum(p["in_stock"] == "false" for p in products) <= 0.15 * len(products)
    assert all(float(p["price"]) > 0 and "example.com" in p["url"] for p in products)
    used = {
        m["properties"]["product_id"] for _, m in rows if "product_id" in m.get("properties", {})
    }
    used |= {i["product_id"] for _, m in rows for i in m.get("properties", {}).get("products", [])}
    assert used and used <= set(ids)
    views = Counter(
        m["properties"]["product_id"] for _, m in rows if m.get("event") == "Product Viewed"
    )
    top = sum(n for _, n in views.most_common(len(ids) // 10))
    assert top / sum(views.values()) > 0.3  # Zipf: the top tenth gets a large share


def test_browsing_before_a_cut_off_predicts_buying_after_it(tmp_path: Path) -> None:
    spec = StoreSpec(customers=6000, days=150, seed=3, end=END)
    rows = read_events(generate_store(spec, tmp_path).out_dir)
    cut = END - timedelta(days=45)
    orders_after, sessions_before, buyers = Counter(), Counter(), set()
    for person, starts in sessions_by_person(rows).items():
        sessions_before[person] = sum(cut - timedelta(days=45) <= s < cut for s in starts)
    for _, m in rows:
        if m.get("event") == "Order Completed":
            if parse_ts(m["timestamp"]) < cut:
                buyers.add(m["anonymousId"])
            else:
                orders_after[m["anonymousId"]] += 1
    active = [p for p in buyers if sessions_before[p] >= 4]
    quiet = [p for p in buyers if sessions_before[p] <= 1]
    assert len(active) >= 40 and len(quiet) >= 40
    rate = lambda group: sum(orders_after[p] > 0 for p in group) / len(group)  # noqa: E731
    assert rate(active) > max(0.15, 3 * rate(quiet))


def test_generating_again_replaces_the_previous_day_files(tmp_path: Path) -> None:
    generate_store(StoreSpec(customers=50, days=20, end=END), tmp_path)
    summary = generate_store(StoreSpec(customers=50, days=5, end=END), tmp_path)
    assert len(list((tmp_path / "events").glob("*.jsonl.gz"))) == summary.files <= 6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customers": 0},
        {"days": 0},
        {"seed": -1},
        {"customers": 2.5},
        {"end": datetime(2026, 1, 1)},  # naive: no time zone
    ],
)
def test_bad_specs_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        StoreSpec(**kwargs)


def test_a_tiny_store_still_writes_valid_files(tmp_path: Path) -> None:
    summary = generate_store(StoreSpec(customers=1, days=1, end=END), tmp_path)
    rows = read_events(tmp_path)
    assert summary.people == 1 and summary.events == len(rows) > 0
    assert not [p for _, m in rows for p in contract_problems(m)]


def test_the_ingest_loads_every_generated_line_without_quarantine(tmp_path: Path) -> None:
    from pipelines.ingest.loader import ingest_landing

    summary = generate_store(StoreSpec(customers=300, days=30, end=END), tmp_path / "landing")
    loaded = ingest_landing(tmp_path / "store.duckdb", tmp_path / "landing")
    assert loaded.quarantined_lines == loaded.quarantined_files == 0, loaded.reasons
    assert loaded.events_loaded == summary.events
    assert loaded.catalogue_rows == max(50, 300 // 20)
