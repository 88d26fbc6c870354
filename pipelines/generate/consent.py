"""Sign-up forms, channel consent (email, SMS, push, Messenger) and the identify traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.people import People, contact_traits, random_digits, random_hex

FORMS = ("popup", "exit_intent", "timed_popup", "animated_form", "landing_page")
FORM_SHARE = (0.35, 0.2, 0.15, 0.1, 0.2)
INCENTIVES = ("discount", "free_shipping", "none")
INCENTIVE_SHARE = (0.5, 0.25, 0.25)
CHANNELS = ("email", "sms", "push", "messenger")
OPT_IN = np.array([0.95, 0.40, 0.25, 0.15])
IN_FORM = np.array([1.0, 1.0, 0.4, 0.5])  # share of opt-ins given in the sign-up form itself
LATER_SOURCE = ("account_settings", "checkout", "browser_prompt", "messenger_checkbox")
EXIT_INTENT, LANDING_PAGE = FORMS.index("exit_intent"), FORMS.index("landing_page")


@dataclass(frozen=True)
class Signups:
    """People who sign up (sorted by person); sign-up j is userId `c-<user_no[j]>`."""

    person: np.ndarray
    user_no: np.ndarray
    form: np.ndarray  # index into FORMS
    incentive: np.ndarray  # index into INCENTIVES
    opt_in: np.ndarray  # (n, 4) consent per channel
    in_form: np.ndarray  # (n, 4) consent given in the sign-up form (the rest comes later)
    push_token: pl.Series
    psid: pl.Series

    @property
    def block_size(self) -> np.ndarray:
        """Sign-up block size: Signed Up, identify, a Subscription Updated per form opt-in."""
        return 2 + self.in_form.sum(axis=1)


def draw_signups(rng: np.random.Generator, person: np.ndarray) -> Signups:
    """Form, incentive and channel consent of each signing-up person."""
    n = len(person)
    opt_in = rng.random((n, 4)) < OPT_IN
    opt_in[~opt_in[:, 0] & ~opt_in[:, 1], 0] = True  # a sign-up leaves an email or a phone
    return Signups(
        person=person,
        user_no=np.arange(1, n + 1),
        form=rng.choice(len(FORMS), size=n, p=FORM_SHARE),
        incentive=rng.choice(len(INCENTIVES), size=n, p=INCENTIVE_SHARE),
        opt_in=opt_in,
        in_form=opt_in & (rng.random((n, 4)) < IN_FORM),
        push_token="fcm-" + random_hex(rng, n, 40),
        psid="2" + random_digits(rng, n, 15),
    )


def signed_up_bodies(s: Signups) -> pl.Series:
    """Properties of Signed Up."""
    form = pl.Series(FORMS).gather(s.form)
    incentive = pl.Series(INCENTIVES).gather(s.incentive)
    return '{"form":"' + form + '","incentive":"' + incentive + '"}'


def identify_traits(rng: np.random.Generator, s: Signups, people: People) -> pl.Series:
    """Traits of the identify call: SMS-only sign-ups leave no email."""
    return contact_traits(rng, people, s.person, s.user_no, s.opt_in[:, 0], s.opt_in[:, 1])


def subscription_bodies(
    s: Signups, who: np.ndarray, channel: np.ndarray, status: str, source: pl.Series
) -> pl.Series:
    """Properties of Subscription Updated for sign-ups `who` on `channel` (push/Messenger ids)."""
    ch = pl.Series(CHANNELS).gather(channel)
    token = s.push_token.gather(who)
    psid = s.psid.gather(who)
    return pl.select(
        pl.concat_str(
            pl.lit('{"channel":"') + ch + f'","status":"{status}","source":"' + source + '"',
            pl.when(pl.lit(channel == 2)).then(',"push_token":"' + token + '"'),
            pl.when(pl.lit(channel == 3)).then(',"psid":"' + psid + '"'),
            pl.lit("}"),
            ignore_nulls=True,
        )
    ).to_series()


def form_block(s: Signups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subscription rows of the sign-up block: (sign-up index, channel, position in block)."""
    who, channel = np.nonzero(s.in_form)
    start = np.cumsum(s.in_form.sum(axis=1)) - s.in_form.sum(axis=1)
    return who, channel, 2 + np.arange(len(who)) - start[who]
