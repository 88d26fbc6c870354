"""Event kinds of the landing contract and the columnar log that the generator fills."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import polars as pl


class K(IntEnum):
    """Event kind; at equal timestamps for one person, the lower kind is written first."""

    PAGE_HOME = 0
    PAGE_CATEGORY = 1
    PAGE_SEARCH = 2
    PAGE_CART = 3
    PRODUCT_VIEWED = 4
    SIGNED_UP = 5
    IDENTIFY = 6
    SUBSCRIPTION_UPDATED = 7
    PRODUCT_ADDED = 8
    PRODUCT_REMOVED = 9
    CHECKOUT_STARTED = 10
    ORDER_COMPLETED = 11
    ORDER_CANCELLED = 12
    ORDER_SHIPPED = 13
    ORDER_DELIVERED = 14
    ORDER_REFUNDED = 15
    PRODUCT_REVIEWED = 16
    EMAIL_OPENED = 17
    EMAIL_LINK_CLICKED = 18
    EMAIL_BOUNCED = 19
    EMAIL_MARKED_AS_SPAM = 20
    UNSUBSCRIBED = 21


_PAGE_NAMES = {
    K.PAGE_HOME: "Home",
    K.PAGE_CATEGORY: "Category",
    K.PAGE_SEARCH: "Search",
    K.PAGE_CART: "Cart",
}


def segment_type(kind: K) -> str:
    """Segment message type of a kind."""
    if kind in _PAGE_NAMES:
        return "page"
    return "identify" if kind is K.IDENTIFY else "track"


def event_name(kind: K) -> str:
    """Track event name (title case as in the contract), or page name."""
    if kind in _PAGE_NAMES:
        return _PAGE_NAMES[kind]
    special = {K.EMAIL_MARKED_AS_SPAM: "Email Marked as Spam"}
    return special.get(kind, kind.name.replace("_", " ").title())


def label(kind: K) -> str:
    """Name counted in the summary: the track event name, else the message type."""
    t = segment_type(kind)
    return event_name(kind) if t == "track" else t


def line_prefix(kind: K) -> str:
    """Start of a JSON line of this kind, up to the messageId value."""
    t = segment_type(kind)
    named = {"track": f',"event":"{event_name(kind)}"', "page": f',"name":"{event_name(kind)}"'}
    return f'{{"type":"{t}"{named.get(t, "")},"messageId":"m-'


def body_key(kind: K) -> str:
    """Member holding the body: traits for identify, properties otherwise."""
    return '"traits":' if kind is K.IDENTIFY else '"properties":'


@dataclass
class EventLog:
    """Columns of every event, in chunks; events at or after `end` are dropped on entry."""

    end: int
    ts: list[np.ndarray] = field(default_factory=list)
    person: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    browser: list[np.ndarray] = field(default_factory=list)
    body: list[pl.Series] = field(default_factory=list)

    def add(
        self,
        kind: K | np.ndarray,
        ts: np.ndarray,
        person: np.ndarray,
        body: pl.Series,
        *,
        browser: bool,
    ) -> None:
        """Append events of one kind (or a kind per event) with their JSON bodies."""
        if not (len(ts) == len(person) == len(body)):
            raise ValueError("ts, person and body must have the same length")
        keep = ts < self.end
        kinds = np.broadcast_to(np.asarray(kind, dtype=np.uint8), ts.shape)
        self.ts.append(ts[keep].astype(np.int64))
        self.person.append(person[keep].astype(np.int32))
        self.kind.append(kinds[keep])
        self.browser.append(np.full(int(keep.sum()), browser))
        self.body.append(body.filter(pl.Series(keep)).cast(pl.String))

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pl.Series]:
        """All events: ts, person, kind, browser, body (in insertion order)."""
        return (
            np.concatenate(self.ts),
            np.concatenate(self.person),
            np.concatenate(self.kind),
            np.concatenate(self.browser),
            pl.concat(self.body, rechunk=True),
        )
