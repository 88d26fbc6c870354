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


@dataclass(frozen=True)
class _Carts:
    """Per session (null where no cart): cart id member, subtotal and the products tail."""

    cart_id: pl.Series  # `"cart_id":"k-<n>"`
    subtotal: np.ndarray
    tail: pl.Series  # `,"currency":..,"products":[..]}`
    line_session: np.ndarray  # lines left in the cart, in session order
    line_product: np.ndarray


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
    quantity = ',"quantity":' + _text(qty) + "}"
    name = ',"name":"' + catalogue.name.gather(product) + '"'
    added = "{" + cart_id.gather(adds.session) + "," + fields + name + quantity
    log.add(K.PRODUCT_ADDED, adds.ts, person[adds.session], added, browser=True)
    last = np.full(n, -1)
    ends = np.flatnonzero(group_ends(adds.session))
    last[adds.session[ends]] = ends
    removed = last[outcome.removes.session]  # the removal takes out the last product carted
    removes = outcome.removes
    log.add(K.PRODUCT_REMOVED, removes.ts, person[removes.session], added.gather(removed),
            browser=True)  # fmt: skip
    pages = outcome.cart_pages
    body = page_bodies().gather(np.full(len(pages.ts), CART_PAGE_BODY))
    log.add(K.PAGE_CART, pages.ts, person[pages.session], body, browser=True)

    kept = np.ones(len(product), dtype=bool)
    kept[removed] = False
    line_session = adds.session[kept]
    amount = (catalogue.price[product] * qty)[kept]
    subtotal = np.round(np.bincount(line_session, weights=amount, minlength=n), 2)
    items = "{" + (fields + quantity).filter(pl.Series(kept))
    grouped = (
        pl.DataFrame({"s": line_session, "item": items})
        .group_by("s", maintain_order=True)
        .agg(pl.col("item").str.join(","))
    )
    products = pl.repeat(None, n, dtype=pl.String, eager=True)
    products.scatter(grouped["s"].to_numpy(), grouped["item"])
    tail = ',"currency":"' + CURRENCY + '","products":[' + products + "]}"
    ck = outcome.checkouts.session
    started = "{" + cart_id.gather(ck) + ',"revenue":' + _text(subtotal[ck]) + tail.gather(ck)
    log.add(K.CHECKOUT_STARTED, outcome.checkouts.ts, person[ck], started, browser=True)
    lines = _Carts(cart_id, subtotal, tail, line_session, product[kept])
    return _orders(rng, log, plan, outcome, incentive, lines)


def _orders(
    rng: np.random.Generator,
    log: EventLog,
    plan: Plan,
    outcome: Outcome,
    incentive: np.ndarray,
    carts: _Carts,
) -> Orders:
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
    discount = np.round(carts.subtotal[od] * rate, 2)
    revenue = np.round(carts.subtotal[od] - discount, 2)
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
    money = ',"revenue":' + _text(revenue) + ',"discount":' + _text(discount)
    order_id = '{"order_id":"o-' + _text(number) + '",'
    body = (
        order_id + carts.cart_id.gather(od) + money + ',"coupon":' + coupon + carts.tail.gather(od)
    )
    log.add(K.ORDER_COMPLETED, ts, plan.person[od], body, browser=True)
    index = np.full(len(plan.person), -1)
    index[od] = np.arange(len(od))
    line_order = index[carts.line_session]
    return Orders(
        person=plan.person[od],
        ts=ts,
        number=number,
        revenue=revenue,
        line_order=line_order[line_order >= 0],
        line_product=carts.line_product[line_order >= 0],
    )
