"""Recommendations: co-occurrence math, stock and ownership exclusions, evaluation, writes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest

from models.recommend import (
    category_recommendations,
    customer_recommendations,
    prepare,
    product_recommendations,
    recommend_all,
    similarity,
    write_recommendations,
)
from models.recommend_eval import evaluate_hit_rate

AS_OF = datetime(2026, 3, 1)
DAY = timedelta(days=1)

# Category X: A, B, C (bought), E (out of stock), F (never bought); category Y: D, G.
PRODUCTS = [
    ("A", "X", True, 4.5, 10),
    ("B", "X", True, 4.0, 2),
    ("C", "X", True, None, 0),
    ("D", "Y", True, 3.0, 1),
    ("E", "X", False, 5.0, 50),
    ("F", "X", True, 4.0, 1),
    ("G", "Y", True, None, 0),
]
# (order_id, customer_id, products, days before AS_OF, completed)
ORDERS = [
    ("o1", "c1", ["A", "B"], 40, True),
    ("o2", "c2", ["A", "B", "C"], 30, True),
    ("o3", "c3", ["A", "C"], 20, True),
    ("o4", "c4", ["D"], 10, True),
    ("o5", "c5", ["E", "A"], 50, True),
    ("o6", "c1", ["D"], 5, False),  # cancelled: not a basket, but c1 did order D
]


def _build(con: duckdb.DuckDBPyConnection, orders=ORDERS, events=()) -> None:
    lines = [
        (f"{oid}-{p}", oid, cid, p, dict((r[0], r[1]) for r in PRODUCTS)[p], AS_OF - d * DAY, ok)
        for oid, cid, items, d, ok in orders
        for p in items
    ]
    con.execute(
        "create or replace table order_lines (order_line_id varchar, order_id varchar,"
        " customer_id varchar, product_id varchar, category varchar, ordered_at timestamp,"
        " is_completed boolean)"
    )
    con.executemany("insert into order_lines values (?, ?, ?, ?, ?, ?, ?)", lines)
    con.execute(
        "create or replace table products (product_id varchar, category varchar,"
        " in_stock boolean, avg_rating double, reviews_count integer)"
    )
    con.executemany("insert into products values (?, ?, ?, ?, ?)", PRODUCTS)
    con.execute(
        "create or replace table int_events_stitched (message_id varchar, customer_id varchar,"
        " event_type varchar, event_name varchar, occurred_at timestamp, product_id varchar,"
        " category varchar)"
    )
    rows = [
        (f"m{i}", c, "track", n, AS_OF - d * DAY, p, cat)
        for i, (c, n, d, p, cat) in enumerate(events)
    ]
    if rows:
        con.executemany("insert into int_events_stitched values (?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _build(
        con, events=[("c9", "Product Viewed", 2, "F", "X"), ("c9", "Product Viewed", 1, None, "Y")]
    )
    prepare(con, AS_OF)
    return con


def test_cosine_co_occurrence_on_hand_example(con: duckdb.DuckDBPyConnection) -> None:
    sim = {(r["product_id"], r["other_id"]): r for r in similarity(con).iter_rows(named=True)}
    # Baskets containing A: o1, o2, o3, o5 (4); B: o1, o2 (2); C: o2, o3 (2); E: o5 (1).
    assert sim[("A", "B")]["together"] == 2
    assert sim[("A", "B")]["similarity"] == pytest.approx(2 / math.sqrt(4 * 2))
    assert sim[("B", "C")]["similarity"] == pytest.approx(1 / math.sqrt(2 * 2))
    assert sim[("A", "E")]["similarity"] == pytest.approx(1 / math.sqrt(4 * 1))
    assert sim[("B", "A")]["similarity"] == sim[("A", "B")]["similarity"]
    # The cancelled order o6 is not a basket, and an item is never paired with itself.
    assert ("D", "A") not in sim and ("A", "A") not in sim


def test_product_recommendations_rank_pairs_then_category_and_skip_stock_and_self(
    con: duckdb.DuckDBPyConnection,
) -> None:
    recs = product_recommendations(con, k=10)
    for_b = recs.filter(pl.col("subject_id") == "B").sort("rank")
    assert for_b["product_id"].to_list()[:2] == ["A", "C"]  # 0.71 before 0.5
    assert for_b["reason"].to_list()[:2] == ["bought_together", "bought_together"]
    assert for_b.filter(pl.col("product_id") == "F")["reason"].to_list() == ["same_category"]
    assert "E" not in recs["product_id"].to_list()  # out of stock, although bought with A
    assert recs.filter(pl.col("subject_id") == pl.col("product_id")).is_empty()
    # An out-of-stock product still gets suggestions (its cart can be abandoned).
    assert recs.filter(pl.col("subject_id") == "E")["product_id"].to_list()[0] == "A"
    assert (
        recs.group_by("subject_id")
        .agg(pl.col("rank").sort())
        .filter(pl.col("rank") != pl.int_ranges(1, pl.col("rank").list.len() + 1))
        .is_empty()
    )


def test_category_recommendations_are_in_stock_members_only(con: duckdb.DuckDBPyConnection) -> None:
    recs = category_recommendations(con, k=3)
    x = recs.filter(pl.col("subject_id") == "X")
    assert len(x) == 3 and set(x["product_id"]) <= {"A", "B", "C", "F"}
    assert x["product_id"][0] == "A"  # most bought and well rated
    assert recs.filter(pl.col("subject_id") == "Y")["product_id"].to_list() == ["D", "G"]


def test_customer_recommendations_never_suggest_owned_or_out_of_stock(
    con: duckdb.DuckDBPyConnection,
) -> None:
    recs = customer_recommendations(con, AS_OF, k=10)
    owned = {(c, p) for _, c, items, _, _ in ORDERS for p in items}
    pairs = set(zip(recs["subject_id"], recs["product_id"], strict=True))
    assert not pairs & owned
    assert "E" not in recs["product_id"].to_list()
    # c3 bought A and C: B is bought with both, the best pairing left.
    c3 = recs.filter(pl.col("subject_id") == "c3").sort("rank")
    assert (c3["product_id"][0], c3["reason"][0]) == ("B", "bought_together")
    # c9 never ordered but browsed X and Y: same-category suggestions.
    c9 = recs.filter(pl.col("subject_id") == "c9")
    assert set(c9.filter(pl.col("reason") == "same_category")["product_id"]) >= {"A", "D"}
    # c1's cancelled order of D still counts as owned.
    assert ("c1", "D") not in pairs


def test_nothing_after_the_cutoff_is_used() -> None:
    con = duckdb.connect()
    late = [*ORDERS, ("o9", "c4", ["D", "F"], -3, True)]
    _build(con, orders=late, events=[("c4", "Product Added", -1, "A", "X")])
    prepare(con, AS_OF)
    assert "F" not in similarity(con)["other_id"].to_list()
    c4 = customer_recommendations(con, AS_OF, k=10).filter(pl.col("subject_id") == "c4")
    assert "bought_together" not in c4["reason"].to_list()  # D was bought alone before


def test_hit_rate_evaluation_compares_with_popularity() -> None:
    con = duckdb.connect()
    # G sells alone and is the store's best seller; after the cut-off c3 (bought A, C) buys B,
    # which the pairings predict and popularity (G first) does not.
    g_orders = [(f"g{i}", f"c{6 + i}", ["G"], 15 + i, True) for i in range(3)]
    _build(con, orders=[*ORDERS, *g_orders, ("o9", "c3", ["B"], -3, True)])
    results = {r.method: r for r in evaluate_hit_rate(con, AS_OF, AS_OF + 10 * DAY, k=1)}
    assert results["recommender"].n_customers == 1
    assert results["recommender"].hit_rate == 1.0
    assert results["popularity"].hit_rate == 0.0
    with pytest.raises(ValueError):
        evaluate_hit_rate(con, AS_OF, AS_OF, k=1)


def test_write_recommendations_replaces_the_same_as_of(con: duckdb.DuckDBPyConnection) -> None:
    recs = recommend_all(con, AS_OF, k=5)
    assert set(recs["subject_type"]) == {"customer", "product", "category"}
    write_recommendations(con, recs, AS_OF)
    write_recommendations(con, recs, AS_OF)
    write_recommendations(con, recs.head(3), AS_OF - DAY)
    counts = dict(
        con.execute("select as_of, count(*) from ml.recommendations group by 1").fetchall()
    )
    assert counts == {AS_OF: len(recs), AS_OF - DAY: 3}
    with pytest.raises(ValueError):
        recommend_all(con, AS_OF, k=0)
