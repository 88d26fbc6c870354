"""After sign-up: later opt-ins, opt-outs, bounces and spam reports, and newsletter engagement."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.clock import Clock
from pipelines.generate.consent import LATER_SOURCE, Signups, subscription_bodies
from pipelines.generate.events import EventLog, K
from pipelines.generate.people import random_hex
from pipelines.generate.spec import DAY

LATER_OPT_IN_DAYS = 6.0  # mean delay of opt-ins not given in the sign-up form
UNSUBSCRIBE = np.array([0.08, 0.12, 0.15, 0.10])  # per channel, of those subscribed
UNSUBSCRIBE_DAYS = 35.0
UNSUBSCRIBE_SOURCE = ("preference_center", "stop_reply", "device_settings", "messenger")
EMAIL_LINK_SHARE = 0.5  # of email opt-outs, by the provider's unsubscribe link (else settings)
BOUNCE_SHARE = 0.02
SPAM_SHARE = 0.006
OPENS_PER_WEEK = 0.25  # newsletter opens per week of an average subscriber
CLICK_SHARE = 0.3  # of opens


def _ext_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """Message ids of emails sent by the store's previous email provider."""
    return "ext-" + random_hex(rng, n, 16)


def emit_consent(
    rng: np.random.Generator,
    log: EventLog,
    signups: Signups,
    signup_ts: np.ndarray,
    engagement: np.ndarray,
    clock: Clock,
    zone: np.ndarray,
) -> None:
    """Events after each sign-up (`signup_ts` per sign-up; engagement and zone per sign-up)."""
    since = _later_opt_ins(rng, log, signups, signup_ts)
    stop = _opt_outs(rng, log, signups, since)
    _newsletter(rng, log, signups, since[:, 0], stop, engagement, clock, zone)


def _later_opt_ins(
    rng: np.random.Generator, log: EventLog, signups: Signups, signup_ts: np.ndarray
) -> np.ndarray:
    """Opt-ins not given in the form come days later; returns when each channel was granted."""
    later = signups.opt_in & ~signups.in_form
    delay = (60 + rng.exponential(LATER_OPT_IN_DAYS * DAY, later.shape)).astype(np.int64)
    since = np.where(later, signup_ts[:, None] + delay, signup_ts[:, None])
    who, ch = np.nonzero(later)
    body = subscription_bodies(signups, who, ch, "subscribed", pl.Series(LATER_SOURCE).gather(ch))
    log.add(K.SUBSCRIPTION_UPDATED, since[who, ch], signups.person[who], body, browser=False)
    return since


def _opt_outs(
    rng: np.random.Generator, log: EventLog, signups: Signups, since: np.ndarray
) -> np.ndarray:
    """Unsubscribes per channel, email bounces and spam reports; returns when email stops."""
    n = len(signups.person)
    quits = signups.opt_in & (rng.random((n, 4)) < UNSUBSCRIBE)
    quit_ts = since + (3600 + rng.exponential(UNSUBSCRIBE_DAYS * DAY, (n, 4))).astype(np.int64)
    by_link = quits[:, 0] & (rng.random(n) < EMAIL_LINK_SHARE)
    who, ch = np.nonzero(quits & ~np.c_[by_link, np.zeros((n, 3), dtype=bool)])
    source = pl.Series(UNSUBSCRIBE_SOURCE).gather(ch)
    body = subscription_bodies(signups, who, ch, "unsubscribed", source)
    log.add(K.SUBSCRIPTION_UPDATED, quit_ts[who, ch], signups.person[who], body, browser=False)

    email = signups.opt_in[:, 0]
    bounced = email & (rng.random(n) < BOUNCE_SHARE)
    bounce_ts = since[:, 0] + (60 + rng.random(n) * 3 * DAY).astype(np.int64)
    spam = email & ~bounced & (rng.random(n) < SPAM_SHARE)
    spam_ts = since[:, 0] + (3600 + rng.exponential(30 * DAY, n)).astype(np.int64)
    for kind, mask, ts in (
        (K.UNSUBSCRIBED, by_link, quit_ts[:, 0]),
        (K.EMAIL_BOUNCED, bounced, bounce_ts),
        (K.EMAIL_MARKED_AS_SPAM, spam, spam_ts),
    ):
        body = '{"message_id":"' + _ext_ids(rng, int(mask.sum())) + '"}'
        log.add(kind, ts[mask], signups.person[mask], body, browser=False)
    stop = np.where(quits[:, 0], quit_ts[:, 0], log.end)
    stop = np.where(bounced, np.minimum(stop, bounce_ts), stop)
    stop = np.where(spam, np.minimum(stop, spam_ts), stop)
    return np.where(email, np.minimum(stop, log.end), since[:, 0])


def _newsletter(
    rng: np.random.Generator,
    log: EventLog,
    signups: Signups,
    since: np.ndarray,
    stop: np.ndarray,
    engagement: np.ndarray,
    clock: Clock,
    zone: np.ndarray,
) -> None:
    """Opens (and some clicks) of the old provider's newsletter while email is allowed."""
    span = np.maximum(stop - since, 0)
    count = rng.poisson(OPENS_PER_WEEK * engagement**0.5 * span / (7 * DAY))
    who = np.repeat(np.arange(len(since)), count)
    raw = since[who] + (rng.random(len(who)) * span[who]).astype(np.int64)
    ts = clock.at_local_hour(rng, zone[who], raw)
    ok = (ts > since[who]) & (ts < stop[who])
    who, ts = who[ok], ts[ok]
    body = '{"message_id":"' + _ext_ids(rng, len(who)) + '"}'
    log.add(K.EMAIL_OPENED, ts, signups.person[who], body, browser=False)
    click = rng.random(len(who)) < CLICK_SHARE
    click_ts = ts[click] + (10 + rng.exponential(60, int(click.sum()))).astype(np.int64)
    clicked = body.filter(pl.Series(click))
    log.add(K.EMAIL_LINK_CLICKED, click_ts, signups.person[who[click]], clicked, browser=False)
