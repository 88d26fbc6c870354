"""Who visits when: each person's sessions, the one they sign up in, and their order sessions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.generate.clock import Clock
from pipelines.generate.layout import by_person_then_time, group_starts
from pipelines.generate.people import People
from pipelines.generate.purchases import draw_buyers, repeat_orders
from pipelines.generate.spec import DAY

BOUNCE, BROWSE, CART, CHECKOUT, ORDER = range(5)

VISITS_PER_DAY = 0.11  # visits per day of an average person while interested in the store
INTEREST_DAYS = 45.0  # mean time a visitor who never buys keeps coming back
SIGNUP_PER_VISIT = 0.03  # chance that a visit of an average person ends in a sign-up
FIRST_VISIT_BOOST = 1.6  # first-visit popups convert best
FIRST_ORDER_SHARE = 0.34  # sign-ups who ever place an order (scaled by engagement)
SAME_SESSION_ORDER = 0.3  # of first orders, the share placed in the sign-up session itself
FIRST_ORDER_DAYS = 9.0  # mean delay of a first order placed later
ACTIVE_BASE_VISITS = 0.03  # visits per day of an active buyer, plus...
ACTIVE_VISITS_PER_ORDER = 4.0  # ...this many visits per expected order
LAPSED_VISITS_PER_DAY = 0.008
BOUNCE_SHARE = 0.25
CART_SHARE = 0.08  # of non-bounce, non-order visits: a product gets carted, then abandoned
CHECKOUT_SHARE = 0.35  # of abandoned carts: abandoned at checkout


@dataclass(frozen=True)
class Plan:
    """Sessions sorted by person then start (start before spreading; see layout)."""

    person: np.ndarray
    start: np.ndarray
    kind: np.ndarray  # BOUNCE..ORDER
    signup: np.ndarray  # the person signs up in this session
    first_order: np.ndarray  # the person's first order


def _visits(
    rng: np.random.Generator,
    clock: Clock,
    people: People,
    who: np.ndarray,
    span: tuple[np.ndarray, np.ndarray],
    per_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson visits of `who` in (from, to), each at a typical local hour of its day."""
    t_from, t_to = span
    length = np.maximum(t_to - t_from, 0)
    count = rng.poisson(per_day * length / DAY)
    person = np.repeat(who, count)
    t = np.repeat(t_from, count) + (rng.random(len(person)) * np.repeat(length, count)).astype(
        np.int64
    )
    t = clock.at_local_hour(rng, people.zone[person], t)
    keep = (t > np.repeat(t_from, count)) & (t < np.repeat(t_to, count))
    return person[keep], t[keep]


def _arrivals(
    rng: np.random.Generator, clock: Clock, people: People, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """First visit in the window and end of interest of each person.

    For steady traffic, a share of people were already interested when the window opened (the
    steady-state share, interest / (interest + window)); the others arrive uniformly.
    """
    n = people.size
    length = (rng.exponential(INTEREST_DAYS, n) * DAY).astype(np.int64)
    already = rng.random(n) < INTEREST_DAYS / (INTEREST_DAYS + (end - start) / DAY)
    arrival = np.where(already, start, start + (rng.random(n) * (end - start)).astype(np.int64))
    interest = np.minimum(end, arrival + length)
    raw = arrival + np.where(already, rng.random(n) * (interest - arrival), 0).astype(np.int64)
    t = clock.at_local_hour(rng, people.zone, raw)
    first = np.where((t >= arrival) & (t < interest), t, raw)
    return first, np.maximum(interest, first + 1)


def _first_hits(rng: np.random.Generator, person: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Index of the first session of each person whose Bernoulli(p) succeeds (if any)."""
    hit = np.flatnonzero(rng.random(len(person)) < p)
    _, first = np.unique(person[hit], return_index=True)
    return hit[first]


def _interest_visits(
    rng: np.random.Generator, clock: Clock, people: People, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every person's first visit and further visits while interested, by person then time."""
    n = people.size
    first, interest = _arrivals(rng, clock, people, start, end)
    rate = VISITS_PER_DAY * people.engagement
    p, t = _visits(rng, clock, people, np.arange(n), (first, interest), rate)
    person, t = np.concatenate([np.arange(n), p]), np.concatenate([first, t])
    order = by_person_then_time(person, t)
    return person[order], t[order]


def _signup_sessions(rng: np.random.Generator, person: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Index of the session each signing-up person signs up in (person order)."""
    is_first = group_starts(person)
    propensity = SIGNUP_PER_VISIT * z**0.3 * rng.gamma(2.0, 0.5, len(z))
    boost = np.where(is_first, FIRST_VISIT_BOOST, 1.0)
    return _first_hits(rng, person, propensity[person] * boost)


def _first_orders(
    rng: np.random.Generator,
    clock: Clock,
    people: People,
    signup_person: np.ndarray,
    signup_t: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which sign-ups order within the window: (mask over sign-ups, same session?, first time)."""
    z = people.engagement[signup_person]
    buys = rng.random(len(z)) < np.minimum(0.95, FIRST_ORDER_SHARE * z**0.5)
    same = rng.random(len(z)) < SAME_SESSION_ORDER
    # A later first order comes a day or more after the sign-up, on a later local day.
    later = signup_t + ((1 + rng.exponential(FIRST_ORDER_DAYS, len(z))) * DAY).astype(np.int64)
    t1 = np.where(same, signup_t, clock.at_local_hour(rng, people.zone[signup_person], later))
    return buys & (t1 < end), same, t1


def _buyer_sessions(
    rng: np.random.Generator,
    clock: Clock,
    people: People,
    who: np.ndarray,
    t1: np.ndarray,
    end: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Buyers after their first order: repeat orders and visits, each as (person, t)."""
    buyers = draw_buyers(rng, people.engagement[who])
    rep, rep_t, lapse = repeat_orders(rng, buyers, t1, end)
    rep_t = clock.at_local_hour(rng, people.zone[who[rep]], rep_t)
    ok = rep_t < end
    active_rate = ACTIVE_BASE_VISITS + ACTIVE_VISITS_PER_ORDER * buyers.rate
    active = _visits(rng, clock, people, who, (t1, lapse), active_rate)
    stop = np.full(len(who), end)
    lapsed = _visits(
        rng, clock, people, who, (lapse, stop), np.full(len(who), LAPSED_VISITS_PER_DAY)
    )
    visits = (np.concatenate([active[0], lapsed[0]]), np.concatenate([active[1], lapsed[1]]))
    return (who[rep][ok], rep_t[ok]), visits


def plan_sessions(
    rng: np.random.Generator, clock: Clock, people: People, start: int, end: int
) -> Plan:
    """Draw every session: interest-driven visits, sign-ups, first and repeat orders."""
    person, t = _interest_visits(rng, clock, people, start, end)
    at = _signup_sessions(rng, person, people.engagement)
    buys, same, t1 = _first_orders(rng, clock, people, person[at], t[at], end)
    who, same, t1 = person[at][buys], same[buys], t1[buys]
    (order_p, order_t), (visit_p, visit_t) = _buyer_sessions(rng, clock, people, who, t1, end)

    # A buyer's interest-driven visits stop at the first order; the purchase process takes over.
    flags = np.zeros((len(person), 3), dtype=bool)  # sign-up, order, first order
    flags[at, 0] = True
    flags[at[buys][same], 1:] = True
    first_order = np.full(people.size, np.iinfo(np.int64).max)
    first_order[who] = t1
    keep = t <= first_order[person]
    parts = [
        (person[keep], t[keep], flags[keep]),
        (who[~same], t1[~same], np.tile([False, True, True], (int((~same).sum()), 1))),
        (order_p, order_t, np.tile([False, True, False], (len(order_p), 1))),
        (visit_p, visit_t, np.zeros((len(visit_p), 3), dtype=bool)),
    ]
    person = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    flags = np.concatenate([p[2] for p in parts])
    order = by_person_then_time(person, t)
    person, t, flags = person[order], t[order], flags[order]
    return Plan(
        person=person,
        start=t,
        kind=_kinds(rng, people.engagement[person], flags[:, 1]),
        signup=flags[:, 0],
        first_order=flags[:, 2],
    )


def _kinds(rng: np.random.Generator, z: np.ndarray, is_order: np.ndarray) -> np.ndarray:
    """Session kind: orders as planned; other visits bounce, browse or abandon a cart."""
    u = rng.random(len(z))
    carted = rng.random(len(z)) < CART_SHARE * np.clip(z, 0.3, 3.0) ** 0.5
    kind = np.where(u < BOUNCE_SHARE, BOUNCE, np.where(carted, CART, BROWSE))
    kind = np.where((kind == CART) & (rng.random(len(z)) < CHECKOUT_SHARE), CHECKOUT, kind)
    return np.where(is_order, ORDER, kind).astype(np.uint8)
