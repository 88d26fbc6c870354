"""dbt models end to end: hand-written events, then a generated store, through `dbt build`."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dbt_helpers import DbtRun, create_raw, failures, new_db, query, table_snapshot

from pipelines.ingest import loader

AS_OF = "2026-11-30T00:00:00"
EARLIER = "2026-11-20T12:00:00"
PAGE = {"url": "https://shop.example.com/"}
AD = {"timezone": "Europe/Paris", "device": {"advertisingId": "ad-1"}}


def view(pid: str, category: str = "Shoes") -> dict:
    return {"product_id": pid, "category": category, "price": 50.0}


def added(cart: str, pid: str) -> dict:
    return {"cart_id": cart, "product_id": pid, "category": "Shoes", "price": 50.0, "quantity": 1}


def order(oid: str, cart: str, pid: str = "p-1") -> dict:
    line = {"product_id": pid, "category": "Shoes", "price": 50.0, "quantity": 1}
    return {"order_id": oid, "cart_id": cart, "revenue": 50.0, "products": [line]}


def signup(mid: str, anon: str, user: str, ts: str) -> list[tuple]:
    """identify + Signed Up + email opt-in, all at `ts`."""
    traits = {"email": f"{user}@example.com", "first_name": "Test"}
    return [
        (f"{mid}-id", "identify", None, anon, user, ts, None, traits, {"timezone": "Europe/Paris"}),
        (f"{mid}-su", "track", "Signed Up", anon, user, ts, {"form": "popup"}, None, None),
        (
            f"{mid}-sub",
            "track",
            "Subscription Updated",
            anon,
            user,
            ts,
            {"channel": "email", "status": "subscribed"},
            None,
            None,
        ),
    ]


def T(m: str, event: str, anon: str | None, user: str | None, ts: str, props=None) -> tuple:
    return (m, "track", event, anon, user, ts, props, None, None)


# One person per stage and boundary; comments give the expected stage as of AS_OF.
EVENTS: list[tuple] = [
    # anonymous visitor with an advertising id who browsed: visitor, retargeting, browse abandoner
    ("v1", "page", None, "a-vis", None, "2026-11-20 10:00:00", PAGE, None, AD),
    T("v2", "Product Viewed", "a-vis", None, "2026-11-20 10:05:00", view("p-9", "Hats")),
    # browsed BEFORE signing up (separate visit): subscriber; the anonymous view is theirs
    T("s1", "Product Viewed", "a-sub", None, "2026-11-10 09:00:00", view("p-1")),
    *signup("s2", "a-sub", "c-sub", "2026-11-10 10:30:00"),
    # browsed and carted after signing up: shopper, cart abandoner
    *signup("h1", "a-shop", "c-shop", "2026-11-10 10:00:00"),
    T("h2", "Product Viewed", "a-shop", "c-shop", "2026-11-10 10:05:00", view("p-1")),
    T("h3", "Product Added", "a-shop", "c-shop", "2026-11-10 10:06:00", added("k-shop", "p-1")),
    # one delivered order: buyer, review due
    *signup("b1", "a-buy", "c-buy", "2026-11-01 10:00:00"),
    T("b2", "Product Added", "a-buy", "c-buy", "2026-11-01 10:05:00", added("k-buy", "p-1")),
    T("b3", "Order Completed", "a-buy", "c-buy", "2026-11-01 10:10:00", order("o-1", "k-buy")),
    T("b4", "Order Delivered", None, "c-buy", "2026-11-05 10:00:00", {"order_id": "o-1"}),
    # two orders: repeat buyer (a buyer as of EARLIER)
    T("r1", "Order Completed", "a-rep", "c-rep", "2026-11-01 10:00:00", order("o-2", "k-r1")),
    T("r2", "Order Completed", "a-rep", "c-rep", "2026-11-25 10:00:00", order("o-3", "k-r2")),
    # ordered then cancelled: back to shopper (a buyer as of EARLIER)
    *signup("x1", "a-can", "c-can", "2026-11-15 10:00:00"),
    T("x2", "Product Viewed", "a-can", "c-can", "2026-11-15 10:05:00", view("p-2")),
    T("x3", "Order Completed", "a-can", "c-can", "2026-11-20 10:00:00", order("o-4", "k-x")),
    T("x4", "Order Cancelled", None, "c-can", "2026-11-21 10:00:00", {"order_id": "o-4"}),
    # an order after AS_OF is ignored: subscriber
    *signup("l1", "a-late", "c-late", "2026-11-25 10:00:00"),
    T("l2", "Order Completed", "a-late", "c-late", "2026-12-05 10:00:00", order("o-5", "k-l")),
]
# A message loaded twice (the second copy claims another user) counts once.
DUPLICATE = ("s1", "track", "Product Viewed", "a-sub", "c-other", "2026-11-10 09:00:00", None)

STAGES_AS_OF = {
    "a-vis": "visitor",
    "c-sub": "subscriber",
    "c-shop": "shopper",
    "c-buy": "buyer",
    "c-rep": "repeat_buyer",
    "c-can": "shopper",
    "c-late": "subscriber",
}


@pytest.fixture(scope="module")
def dbt(tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    return DbtRun(tmp_path_factory.mktemp("dbt_target"))


@pytest.fixture(scope="module")
def handwritten(dbt: DbtRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-written events, built (models, data tests and unit tests) as of AS_OF."""
    db = new_db(tmp_path_factory.mktemp("handwritten"))
    create_raw(db, [*EVENTS, (*DUPLICATE, None, None)])
    result = dbt(["build"], db, AS_OF)
    assert result.success, failures(result)
    return db


def stages(db: Path) -> dict[str, str]:
    return dict(query(db, "select customer_id, lifecycle_stage from customers"))


def test_every_stage_and_boundary(handwritten: Path) -> None:
    assert stages(handwritten) == STAGES_AS_OF


def test_anonymous_events_are_stitched_once(handwritten: Path) -> None:
    per_customer = dict(
        query(handwritten, "select customer_id, count(*) from int_events_stitched group by all")
    )
    # the view before sign-up is c-sub's, and the duplicated message is not counted twice
    assert per_customer["c-sub"] == 4
    assert "a-sub" not in per_customer and "c-other" not in per_customer
    (events,) = query(handwritten, "select count(*) from int_events_stitched")[0]
    assert events == len([e for e in EVENTS if e[5] <= AS_OF.replace("T", " ")])


def test_events_after_as_of_are_ignored(handwritten: Path) -> None:
    orders = {o for (o,) in query(handwritten, "select order_id from orders")}
    assert orders == {"o-1", "o-2", "o-3", "o-4"}
    (status,) = query(handwritten, "select status from orders where order_id = 'o-4'")[0]
    assert status == "cancelled"


def test_stage_history_replays_the_cancellation(handwritten: Path) -> None:
    history = query(
        handwritten,
        "select from_stage, to_stage, cast(changed_at as varchar) from customer_stage_history"
        " where customer_id = 'c-can' order by changed_at",
    )
    assert history == [
        (None, "subscriber", "2026-11-15 10:00:00"),
        ("subscriber", "shopper", "2026-11-15 10:05:00"),
        ("shopper", "buyer", "2026-11-20 10:00:00"),
        ("buyer", "shopper", "2026-11-21 10:00:00"),
    ]


def test_segments(handwritten: Path) -> None:
    members = set(query(handwritten, "select segment, customer_id from segment_memberships"))
    expected = {
        ("visitor_retargeting", "a-vis"),
        ("browse_abandoners", "a-vis"),
        ("cart_abandoners", "c-shop"),
        ("review_due", "c-buy"),
        ("never_purchased", "c-sub"),
        ("never_purchased", "c-can"),
        ("not_engaged", "c-sub"),
        ("cadence_due", "c-sub"),
    }
    assert expected <= members
    # c-buy's cart became an order; an order after as_of does not exist yet
    assert ("cart_abandoners", "c-buy") not in members
    assert ("never_purchased", "c-late") in members
    (cart,) = query(
        handwritten, "select product_ids from segment_memberships where segment = 'cart_abandoners'"
    )
    assert cart == ("p-1",)


def test_customer_profile(handwritten: Path) -> None:
    row = query(
        handwritten,
        "select email is not null, email_consent, sms_consent, timezone, orders_count, revenue,"
        " churn_score from customers where customer_id = 'c-buy'",
    )
    assert row == [(True, True, False, "Europe/Paris", 1, 50.0, None)]


MODELS = [
    "int_events_stitched",
    "sessions",
    "orders",
    "order_lines",
    "products",
    "customers",
    "customer_stage_history",
    "segment_memberships",
    "visitors",
]
# The compared models and what they are built from (other folders' models are not needed).
COMPARED = ["--select", *(f"+{m}" for m in MODELS)]


def _rebuild_elsewhere(dbt: DbtRun, tmp: Path, events: list[tuple], as_of: str) -> Path:
    db = new_db(tmp / "fresh")
    create_raw(db, events)
    result = dbt(["run", "--full-refresh", *COMPARED], db, as_of)
    assert result.success, failures(result)
    return db


def test_as_of_moved_back_then_forward_matches_full_refresh(dbt: DbtRun, tmp_path: Path) -> None:
    events = [*EVENTS, (*DUPLICATE, None, None)]
    db = new_db(tmp_path / "replay")
    create_raw(db, events)
    for as_of in (AS_OF, EARLIER):  # the second run is incremental, with as_of moved back
        result = dbt(["run", *COMPARED], db, as_of)
        assert result.success, failures(result)
    assert stages(db)["c-rep"] == "buyer" and stages(db)["c-can"] == "buyer"
    fresh = _rebuild_elsewhere(dbt, tmp_path, events, EARLIER)
    for model in MODELS:
        assert table_snapshot(db, model) == table_snapshot(fresh, model), model
    forward = dbt(["run", *COMPARED], db, AS_OF)
    assert forward.success, failures(forward)
    assert stages(db) == STAGES_AS_OF


def test_bad_as_of_is_refused(dbt: DbtRun, handwritten: Path) -> None:
    result = dbt(["run", "--select", "stg_segment__messages"], handwritten, "next tuesday")
    assert not result.success
    assert "ISO 8601" in " ".join(failures(result))


def test_docs_generate(dbt: DbtRun, handwritten: Path) -> None:
    result = dbt(["docs", "generate"], handwritten, AS_OF)
    assert result.success, failures(result)
    assert (dbt.target_path / "catalog.json").exists()


# --- a generated store, loaded in two batches -------------------------------------------------

STORE_END = datetime(2026, 11, 30, tzinfo=UTC)
FIRST_AS_OF = "2026-11-24T00:00:00"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store_module = pytest.importorskip("pipelines.generate.store")
    spec_module = pytest.importorskip("pipelines.generate.spec")
    out = tmp_path_factory.mktemp("store")
    spec = spec_module.StoreSpec(customers=800, days=60, seed=11, end=STORE_END)
    store_module.generate_store(spec, out)
    return out


def _landing(store: Path, dest: Path, last_day: str | None) -> Path:
    """A landing folder with the catalogue and the day files up to `last_day` (all if None)."""
    (dest / "events").mkdir(parents=True, exist_ok=True)
    for f in store.glob("*.*"):
        shutil.copy(f, dest / f.name)
    for f in sorted((store / "events").iterdir()):
        if last_day is None or f.name[:10] <= last_day:
            shutil.copy(f, dest / "events" / f.name)
    return dest


@pytest.fixture(scope="module")
def generated(dbt: DbtRun, store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store loaded in two batches: built as of FIRST_AS_OF, then incrementally as of end."""
    tmp = tmp_path_factory.mktemp("generated")
    db = new_db(tmp)
    create_raw(db, [])
    landing = _landing(store, tmp / "landing", "2026-11-25")
    loader.ingest_landing(db, landing)
    first = dbt(["run"], db, FIRST_AS_OF)
    assert first.success, failures(first)
    loader.ingest_landing(db, _landing(store, landing, None))
    second = dbt(["build"], db, AS_OF)
    assert second.success, failures(second)
    return db


def test_generated_store_populates_every_stage(generated: Path) -> None:
    counts = dict(query(generated, "select lifecycle_stage, count(*) from customers group by all"))
    assert set(counts) == {"visitor", "subscriber", "shopper", "buyer", "repeat_buyer"}
    segments = {s for (s,) in query(generated, "select distinct segment from segment_memberships")}
    assert {"browse_abandoners", "cart_abandoners", "never_purchased", "review_due"} <= segments


def test_buyer_counts_match_an_independent_count(generated: Path) -> None:
    raw = query(
        generated,
        "select type, event, anonymous_id, user_id, timestamp, properties->>'order_id'"
        f" from raw.events where timestamp <= '{AS_OF}' order by timestamp, message_id",
    )
    first_user: dict[str, str] = {}
    for _, _, anon, user, _, _ in raw:
        if anon and user:
            first_user.setdefault(anon, user)
    owner: dict[str, str] = {}
    voided: set[str] = set()
    for _, event, anon, user, _, order_id in raw:
        if event == "Order Completed":
            owner.setdefault(order_id, user or first_user.get(anon, anon))
        elif event in ("Order Cancelled", "Order Refunded"):
            voided.add(order_id)
    completed = Counter(c for o, c in owner.items() if o not in voided)
    expected = Counter("buyer" if n == 1 else "repeat_buyer" for n in completed.values())
    actual = dict(
        query(
            generated,
            "select lifecycle_stage, count(*) from customers"
            " where lifecycle_stage in ('buyer', 'repeat_buyer') group by all",
        )
    )
    assert actual == dict(expected)


def test_incremental_runs_match_a_full_refresh(
    dbt: DbtRun, generated: Path, store: Path, tmp_path: Path
) -> None:
    fresh = new_db(tmp_path / "fresh")
    create_raw(fresh, [])
    loader.ingest_landing(fresh, _landing(store, tmp_path / "landing", None))
    result = dbt(["run", "--full-refresh", *COMPARED], fresh, AS_OF)
    assert result.success, failures(result)
    differing = [m for m in MODELS if table_snapshot(generated, m) != table_snapshot(fresh, m)]
    assert differing == []


def test_sessions_cover_site_activity_once(generated: Path) -> None:
    site_events = dict(
        query(
            generated,
            "select customer_id, count(*) from int_events_stitched"
            " where is_site_activity group by all",
        )
    )
    in_sessions = dict(
        query(generated, "select customer_id, sum(events_count) from sessions group by all")
    )
    assert in_sessions == site_events


# --- the Dagster wiring ----------------------------------------------------------------------


def test_dagster_assets_split_around_the_churn_model() -> None:
    import dagster as dg

    from pipelines.resources import RunSettings
    from pipelines.transform import dbt_models, dbt_scored_models, dbt_vars

    first, scored = set(dbt_models.keys), set(dbt_scored_models.keys)
    key = dg.AssetKey
    assert {key("int_customers_profiled"), key("int_events_stitched"), key("orders")} <= first
    assert {key("customers"), key("segment_memberships"), key("stg_ml__churn_scores")} <= scored
    # nothing before the churn model reads its output; the sources keep their schema as prefix
    first_deps = {d.asset_key for k in first for d in dbt_models.specs_by_key[k].deps}
    assert key(["ml", "churn_scores"]) not in first_deps and key(["raw", "events"]) in first_deps
    specs = dbt_scored_models.specs_by_key
    # the journey engine's sent log feeds back from the previous run: not a dependency
    assert {d.asset_key for d in specs[key("segment_memberships")].deps}.isdisjoint(
        {key(["journeys", "sent_messages"])}
    )
    assert dbt_models.specs_by_key[key("sessions")].group_name == "marts"
    assert dbt_models.specs_by_key[key("stg_segment__messages")].group_name == "staging"
    assert len(dbt_models.check_keys) > 50  # dbt data tests become asset checks
    assert dbt_vars(RunSettings(as_of="2026-11-30T10:00:00+01:00", churn_threshold=0.5)) == {
        "as_of": "2026-11-30T09:00:00",
        "churn_threshold": 0.5,
    }
