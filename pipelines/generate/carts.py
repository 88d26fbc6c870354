"""Carts and orders: Product Added/Removed, the cart page, Checkout Started, Order Completed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.catalogue import Catalogue, product_fields
from pipelines.generate.consent import INCENTIVES
from pipelines.generate.events import EventLog, K
from pipelines.generate.layout import group_ends, group_starts
from pipelines.generate.sessions import CART_PAGE_BODY, Outcome, page_bodies
from pipelines.generate.visits import Plan

QUANTITY_SHARE = (0.85, 0.12, 0.03)  # of 1, 2, 3 units per carted product
WELCOME = ("WELCOME10", 0.10)  # the sign-up incentive, on the first order
FREE_SHIPPING = "FREESHIP"
PROMO_SHARE = 0.12  # of other orders, paid with a promotion code
PROMOS = (("SAVE10", 0.10), ("VIP15", 0.15), ("SPRING20", 0.20))
CURRENCY = "USD"


@dataclass(frozen=True)
class Orders:
    """Completed orders (in session order) and their lines."""

    person: np.ndarray
    ts: np.ndarray
    number: np.ndarray  # order o-<number>
    revenue: np.ndarray
    line_order: np.ndarray  # order index of each line, non-decreasing
    line_product: np.ndarray


def _numbers(size: int, sessions: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Per session, 1-based rank of `when` among `sessions` (ids grow with time); 0 elsewhere."""
    out = np.zeros(size, dtype=np.int64)
    out[sessions[np.argsort(when, kind="stable")]] = np.arange(1, len(sessions) + 1)
    return out


def _text(values: np.ndarray) -> pl.Series:
    return pl.Series(values).cast(pl.String)


def emit_carts(
    rng: np.random.Generator,
    log: EventLog,
    plan: Plan,
    outcome: Outcome,
    catalogue: Catalogue,
    incentive: np.ndarray,
) -> Orders:
    """Write the cart events; `incentive` is each person's sign-up incentive (-1 if none)."""
    n, adds, person = len(plan.person), outcome.adds, plan.person
    carts = adds.session[group_starts(adds.session)]
    cart_id = '"cart_id":"k-' + _text(_numbers(n, carts, outcome.start[carts])) + '"'
    product = outcome.add_product
    qty = rng.choice(np.arange(1, 4), size=len(product), p=QUANTITY_SHARE)
    fields = product_fields(catalogue).gather(product)
    item = fields + ',"quantity":' + _text(qty)
    name = ',"name":"' + catalogue.name.gather(product) + '",'
    added = (
        "{" + cart_id.gather(adds.session) + "," + fields + name + '"quantity":' + _text(qty) + "}"
    )
    log.add(K.PRODUCT_ADDED, adds.ts, person[adds.session], added, browser=True)
    last = np.full(n, -1)
    ends = np.flatnonzero(group_ends(adds.session))
    last[adds.session[ends]] = ends
    removed = last[outcome.removes.session]  # the removal takes out the last product carted
    log.add(
        K.PRODUCT_REMOVED,
        outcome.removes.ts,
        person[outcome.removes.session],
        added.gather(removed),
        browser=True,
    )
    pages = outcome.cart_pages
    body = page_bodies().gather(np.full(len(pages.ts), CART_PAGE_BODY))
    log.add(K.PAGE_CART, pages.ts, person[pages.session], body, browser=True)

    kept = np.ones(len(product), dtype=bool)
    kept[removed] = False
    line_session = adds.session[kept]
    subtotal = np.round(
        np.bincount(line_session, weights=(catalogue.price[product] * qty)[kept], minlength=n), 2
    )
    grouped = (
        pl.DataFrame({"s": line_session, "item": "{" + item.filter(pl.Series(kept)) + "}"})
        .group_by("s", maintain_order=True)
        .agg(pl.col("item").str.join(","))
    )
    items = pl.repeat(None, n, dtype=pl.String, eager=True)
    items.scatter(grouped["s"].to_numpy(), grouped["item"])
    tail = ',"currency":"' + CURRENCY + '","products":[' + items + "]}"
    ck = outcome.checkouts.session
    started = "{" + cart_id.gather(ck) + ',"revenue":' + _text(subtotal[ck]) + tail.gather(ck)
    log.add(K.CHECKOUT_STARTED, outcome.checkouts.ts, person[ck], started, browser=True)
    return _orders(
        rng, log, plan, outcome, incentive, cart_id, subtotal, tail, line_session, product[kept]
    )


def _orders(
    rng, log, plan, outcome, incentive, cart_id, subtotal, tail, line_session, line_product
):
    """Order Completed with the welcome incentive on first orders and some promotion codes."""
    od, ts = outcome.orders.session, outcome.orders.ts
    number = _numbers(len(plan.person), od, ts)[od]
    first = plan.first_order[od]
    chosen = incentive[plan.person[od]]
    welcome = first & (chosen == INCENTIVES.index("discount"))
    free = first & (chosen == INCENTIVES.index("free_shipping"))
    promo = ~welcome & ~free & (rng.random(len(od)) < PROMO_SHARE)
    which = rng.integers(0, len(PROMOS), len(od))
    rate = np.where(
        welcome, WELCOME[1], np.where(promo, np.array([p[1] for p in PROMOS])[which], 0.0)
    )
    discount = np.round(subtotal[od] * rate, 2)
    revenue = np.round(subtotal[od] - discount, 2)
    codes = pl.Series([f'"{c}"' for c, _ in PROMOS]).gather(which)
    coupon = pl.select(
        pl.when(pl.lit(welcome))
        .then(pl.lit(f'"{WELCOME[0]}"'))
        .when(pl.lit(free))
        .then(pl.lit(f'"{FREE_SHIPPING}"'))
        .when(pl.lit(promo))
        .then(pl.lit(codes))
        .otherwise(pl.lit("null"))
    ).to_series()
    body = (
        '{"order_id":"o-'
        + _text(number)
        + '",'
        + cart_id.gather(od)
        + ',"revenue":'
        + _text(revenue)
        + ',"discount":'
        + _text(discount)
        + ',"coupon":'
        + coupon
        + tail.gather(od)
    )
    log.add(K.ORDER_COMPLETED, ts, plan.person[od], body, browser=True)
    index = np.full(len(plan.person), -1)
    index[od] = np.arange(len(od))
    line_order = index[line_session]
    return Orders(
        person=plan.person[od],
        ts=ts,
        number=number,
        revenue=revenue,
        line_order=line_order[line_order >= 0],
        line_product=line_product[line_order >= 0],
    )
