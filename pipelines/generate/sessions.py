"""Inside each session: pages and product views, the sign-up form, and the cart's rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.catalogue import (
    CATEGORIES,
    CATEGORY_NAMES,
    STORE_URL,
    Catalogue,
    product_fields,
)
from pipelines.generate.consent import EXIT_INTENT, LANDING_PAGE, Signups, form_block
from pipelines.generate.events import K
from pipelines.generate.layout import Rows, offsets_in_sessions, spread_sessions
from pipelines.generate.visits import BOUNCE, BROWSE, CART, CHECKOUT, ORDER, Plan

PAGE_SHARE = 0.3  # of browse steps after the landing page, pages rather than product views
FAVOURITE_SHARE = 0.65  # of product views and category pages, in the favourite category
# Mean browse steps beyond the minimum, per session kind (carting sessions: CART_EXTRA_STEPS).
EXTRA_STEPS = {BOUNCE: 0.0, BROWSE: 4.5}
CART_EXTRA_STEPS = 2.0
EXTRA_ADDS = 0.5  # mean products carted beyond the first
MAX_ADDS = 5
REMOVE_SHARE = 0.14


@dataclass(frozen=True)
class Timed:
    """Rows of one kind: their session and timestamp."""

    session: np.ndarray
    ts: np.ndarray


@dataclass(frozen=True)
class Shape:
    """Per-session counts: browse steps, carted products, sign-up block size and position."""

    steps: np.ndarray
    adds: np.ndarray
    remove: np.ndarray
    cart_page: np.ndarray
    block: np.ndarray
    block_after: np.ndarray  # browse step after which the sign-up block comes (-1: none)


def _shape(rng: np.random.Generator, plan: Plan, signups: Signups) -> Shape:
    """How many rows of each part every session has, by its kind; where the sign-up goes."""
    n, kind = len(plan.kind), plan.kind
    carts = kind >= CART
    adds = np.where(carts, 1 + np.minimum(rng.poisson(EXTRA_ADDS, n), MAX_ADDS - 1), 0)
    extra = rng.poisson(
        np.select([kind == BOUNCE, kind == BROWSE], list(EXTRA_STEPS.values()), CART_EXTRA_STEPS)
    )
    steps = np.where(kind == BOUNCE, 1, np.where(kind == BROWSE, 2 + extra, 1 + adds + extra))
    remove = carts & (rng.random(n) < REMOVE_SHARE) & ((kind == CART) | (adds >= 2))
    cart_page = (kind >= CHECKOUT) | (carts & (rng.random(n) < 0.5))
    at = np.flatnonzero(plan.signup)
    block = np.zeros(n, dtype=np.int64)
    block[at] = signups.block_size
    after = np.full(n, -1)
    anywhere = rng.integers(0, steps[at])
    after[at] = np.where(
        signups.form == LANDING_PAGE,
        0,
        np.where(signups.form == EXIT_INTENT, steps[at] - 1, anywhere),
    )
    return Shape(steps, adds, remove, cart_page, block, after)


def _gaps(rng: np.random.Generator, n: int, base: int, mean: float) -> np.ndarray:
    """Seconds between two events of a session: never near the 30-minute session timeout."""
    return np.minimum(base + rng.exponential(mean, n), 900).astype(np.int64)


@dataclass(frozen=True)
class Outcome:
    """Timed rows the rest of the generator needs."""

    start: np.ndarray  # session starts after spreading
    signup_ts: np.ndarray  # Signed Up, per sign-up (in Signups order)
    identify_ts: np.ndarray  # identify, per sign-up
    form_consent_ts: np.ndarray  # Subscription Updated in the form, in `form_block` order
    adds: Timed
    add_product: np.ndarray
    removes: Timed
    cart_pages: Timed
    checkouts: Timed
    orders: Timed


def page_bodies() -> pl.Series:
    """Page properties: Home, then Category per category, Search per category, then Cart."""
    slugs = [c.lower() for c in CATEGORY_NAMES]
    home = [f'{{"path":"/","url":"{STORE_URL}/","title":"Home"}}']
    category = [
        f'{{"path":"/collections/{s}","url":"{STORE_URL}/collections/{s}","title":"{c}"}}'
        for s, c in zip(slugs, CATEGORY_NAMES, strict=True)
    ]
    search = [
        f'{{"path":"/search","url":"{STORE_URL}/search?q={s}","search":"{s}"}}' for s in slugs
    ]
    cart = [f'{{"path":"/cart","url":"{STORE_URL}/cart","title":"Cart"}}']
    return pl.Series(home + category + search + cart)


CART_PAGE_BODY = 1 + 2 * len(CATEGORIES)


def _browse_rows(rng: np.random.Generator, shape: Shape) -> tuple[Rows, np.ndarray, np.ndarray]:
    """Browse steps: the landing page first; the last `adds` steps view the products carted."""
    steps = shape.steps
    session = np.repeat(np.arange(len(steps)), steps)
    k = np.arange(len(session)) - np.repeat(np.cumsum(steps) - steps, steps)
    candidate = k >= (steps - shape.adds)[session]
    is_page = (k == 0) | (~candidate & (rng.random(len(session)) < PAGE_SHARE))
    rank = k + shape.block[session] * (k > shape.block_after[session])
    gap = _gaps(rng, len(session), 5, 40.0)
    return Rows(session, rank, gap), is_page, candidate


def _page_choice(
    rng: np.random.Generator, landing: np.ndarray, favourite: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Page kind and body index: landing pages are often Home, later ones category or search."""
    n = len(landing)
    u = rng.random(n)
    kind = np.where(
        landing,
        np.select([u < 0.45, u < 0.85], [K.PAGE_HOME, K.PAGE_CATEGORY], K.PAGE_SEARCH),
        np.where(u < 0.75, K.PAGE_CATEGORY, K.PAGE_SEARCH),
    )
    shares = np.array([c[1] for c in CATEGORIES])
    category = np.where(
        rng.random(n) < FAVOURITE_SHARE,
        favourite,
        rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum()),
    )
    body = np.select(
        [kind == K.PAGE_HOME, kind == K.PAGE_CATEGORY],
        [0, 1 + category],
        1 + len(CATEGORIES) + category,
    )
    return kind.astype(np.uint8), body


def _cart_rows(rng: np.random.Generator, shape: Shape, kind: np.ndarray) -> list[Rows]:
    """Adds, the removal, the cart page, checkout and order, after browsing and sign-up."""
    base = shape.steps + shape.block
    has = np.flatnonzero(shape.adds)
    session = np.repeat(has, shape.adds[has])
    i = np.arange(len(session)) - np.repeat(
        np.cumsum(shape.adds[has]) - shape.adds[has], shape.adds[has]
    )
    rows = [Rows(session, base[session] + i, _gaps(rng, len(session), 3, 20.0))]
    after = base + shape.adds
    for present, gap in (
        (shape.remove, (5, 30.0)),
        (shape.cart_page, (3, 10.0)),
        (kind >= CHECKOUT, (5, 30.0)),
        (kind == ORDER, (60, 120.0)),
    ):
        s = np.flatnonzero(present)
        rows.append(Rows(s, after[s], _gaps(rng, len(s), *gap)))
        after = after + present
    return rows


def run_sessions(
    rng: np.random.Generator,
    plan: Plan,
    favourite: np.ndarray,
    catalogue: Catalogue,
    signups: Signups,
) -> tuple[Outcome, list[tuple[np.ndarray, np.ndarray, np.ndarray, pl.Series]]]:
    """Lay out every session and time its rows; browse events come as (kind, ts, person, body)."""
    shape = _shape(rng, plan, signups)
    browse, is_page, candidate = _browse_rows(rng, shape)
    at = np.flatnonzero(plan.signup)
    who, _, m = form_block(signups)
    block = [
        Rows(at, shape.block_after[at] + 1, _gaps(rng, len(at), 3, 15.0)),
        Rows(at, shape.block_after[at] + 2, rng.integers(1, 4, len(at))),
        Rows(at[who], shape.block_after[at[who]] + 1 + m, rng.integers(1, 4, len(who))),
    ]
    carts = _cart_rows(rng, shape, plan.kind)
    offsets, duration = offsets_in_sessions(len(plan.kind), [browse, *block, *carts])
    start = spread_sessions(plan.person, plan.start, duration)
    ts = [start[r.session] + o for r, o in zip([browse, *block, *carts], offsets, strict=True)]

    fav = favourite[plan.person[browse.session]]
    page_kind, page_body = _page_choice(rng, (browse.rank == 0)[is_page], fav[is_page])
    views = ~is_page
    carted = candidate[views]
    product = np.empty(len(carted), dtype=np.int64)
    product[carted] = catalogue.carts.draw_mixed(rng, fav[views][carted], FAVOURITE_SHARE)
    product[~carted] = catalogue.views.draw_mixed(rng, fav[views][~carted], FAVOURITE_SHARE)
    view_bodies = "{" + product_fields(catalogue) + ',"name":"' + catalogue.name + '"}'
    person = plan.person[browse.session]
    chunks = [
        (page_kind, ts[0][is_page], person[is_page], page_bodies().gather(page_body)),
        (np.uint8(K.PRODUCT_VIEWED), ts[0][views], person[views], view_bodies.gather(product)),
    ]
    outcome = Outcome(
        start=start,
        signup_ts=ts[1],
        identify_ts=ts[2],
        form_consent_ts=ts[3],
        adds=Timed(carts[0].session, ts[4]),
        add_product=product[carted],
        removes=Timed(carts[1].session, ts[5]),
        cart_pages=Timed(carts[2].session, ts[6]),
        checkouts=Timed(carts[3].session, ts[7]),
        orders=Timed(carts[4].session, ts[8]),
    )
    return outcome, chunks
