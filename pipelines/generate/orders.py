"""After an order: cancellation, shipping, delivery, refunds and product reviews."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.carts import Orders
from pipelines.generate.events import EventLog, K
from pipelines.generate.people import random_digits
from pipelines.generate.spec import DAY

CANCEL_SHARE = 0.03  # cancelled within a day, never shipped
REFUND_SHARE = 0.05  # of delivered orders
REVIEW_SHARE = 0.2  # of delivered orders kept
RATING_SHARE = (0.04, 0.05, 0.11, 0.28, 0.52)  # ratings 1..5: reviews skew positive
CARRIERS = ("ups", "fedex", "dhl", "usps")
TRACKING_URL = "https://track.example.com/"
REVIEWS = (
    ("Disappointed, it broke within a week.", "Not as described, sending it back."),
    ("Runs small and feels cheap.", "Took ages to arrive and looks different."),
    ("Decent, nothing special.", "Fine for the price, colour a bit off."),
    ("Really nice, would buy again.", "Good quality and quick delivery."),
    ("Absolutely love it!", "Perfect, exactly as pictured. Highly recommend."),
)


def _uniform_days(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return ((low + (high - low) * rng.random(n)) * DAY).astype(np.int64)


def emit_fulfilment(rng: np.random.Generator, log: EventLog, orders: Orders) -> None:
    """Write what happens to each order after it is placed (events after the window drop)."""
    n = len(orders.ts)
    if n == 0:
        return
    order_id = '{"order_id":"o-' + pl.Series(orders.number).cast(pl.String) + '"'
    cancelled = rng.random(n) < CANCEL_SHARE
    cancel_ts = orders.ts + _uniform_days(rng, n, 0.02, 0.9)
    shipped_ts = orders.ts + _uniform_days(rng, n, 1, 3)
    delivered_ts = shipped_ts + _uniform_days(rng, n, 1, 4)
    refunded = ~cancelled & (rng.random(n) < REFUND_SHARE)
    refund_ts = delivered_ts + _uniform_days(rng, n, 2, 20)
    reviewed = ~cancelled & ~refunded & (rng.random(n) < REVIEW_SHARE)
    review_ts = delivered_ts + _uniform_days(rng, n, 1, 14)
    revenue = pl.Series(orders.revenue).cast(pl.String)

    def add(kind: K, mask: np.ndarray, ts: np.ndarray, body: pl.Series) -> None:
        log.add(kind, ts[mask], orders.person[mask], body.filter(pl.Series(mask)), browser=False)

    add(K.ORDER_CANCELLED, cancelled, cancel_ts, order_id + ',"reason":"customer_request"}')
    carrier = pl.Series(CARRIERS).gather(rng.integers(0, len(CARRIERS), n))
    url = TRACKING_URL + carrier + "/" + random_digits(rng, n, 12)
    add(
        K.ORDER_SHIPPED,
        ~cancelled,
        shipped_ts,
        order_id + ',"carrier":"' + carrier + '","tracking_url":"' + url + '"}',
    )
    add(K.ORDER_DELIVERED, ~cancelled, delivered_ts, order_id + "}")
    add(K.ORDER_REFUNDED, refunded, refund_ts, order_id + ',"revenue":' + revenue + "}")

    # Review one line of the order, picked uniformly.
    lines = np.bincount(orders.line_order, minlength=n)
    pick = (np.cumsum(lines) - lines) + (rng.random(n) * lines).astype(np.int64)
    rating = rng.choice(np.arange(1, 6), size=n, p=RATING_SHARE)
    text = pl.Series([t for ts in REVIEWS for t in ts]).gather(
        (rating - 1) * 2 + rng.integers(0, 2, n)
    )
    product = pl.Series(orders.line_product[pick] + 1)
    review = (
        '{"product_id":"p-'
        + product.cast(pl.String)
        + '","order_id":"o-'
        + pl.Series(orders.number).cast(pl.String)
        + '","rating":'
        + pl.Series(rating).cast(pl.String)
        + ',"review_body":"'
        + text
        + '"}'
    )
    add(K.PRODUCT_REVIEWED, reviewed, review_ts, review)
