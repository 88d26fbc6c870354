"""What the planner reads from the warehouse, and who can be reached on which channel at t."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from pipelines.journeys.flows import AUDIENCE_CHANNELS

# The contact detail each messaging channel needs; an audience needs any of AUDIENCE_KINDS.
CONTACT_KIND = {
    "email": "email",
    "sms": "phone",
    "push": "push_token",
    "messenger": "messenger_psid",
}
AUDIENCE_KINDS = ("email", "phone", "advertising_id")
# Opt-outs that stop even transactional email; any opt-out stops transactional SMS, push, chat.
HARD_EMAIL_REASONS = ("bounced", "spam_report")

Period = tuple[datetime, datetime | None, bool, str]  # valid_from, valid_to, consented, reason


class MissingModelError(RuntimeError):
    """A dbt model the planner reads has not been built."""


@dataclass
class Reach:
    """Consent periods and contact details per customer, for choosing a channel at a moment."""

    consents: dict[str, dict[str, list[Period]]] = field(default_factory=dict)
    known: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def consent(self, customer_id: str, channel: str, at: datetime) -> Period | None:
        for period in self.consents.get(customer_id, {}).get(channel, ()):
            if period[0] <= at and (period[1] is None or period[1] > at):
                return period
        return None

    def has(self, customer_id: str, kinds: tuple[str, ...], at: datetime) -> bool:
        known = self.known.get(customer_id, {})
        return any(kind in known and known[kind] <= at for kind in kinds)

    def option(
        self, customer_id: str, channel: str, at: datetime, transactional: bool
    ) -> tuple[bool, str | None]:
        """(usable, why not) for a channel at `at`.

        Marketing needs the contact detail and a current opt-in; transactional needs the contact
        detail and no current opt-out (for email, no hard bounce or spam report). Audiences need
        an email, phone or advertising id and no current opt-out on any channel.
        """
        if channel in AUDIENCE_CHANNELS:
            for other in CONTACT_KIND:
                period = self.consent(customer_id, other, at)
                if period is not None and not period[2]:
                    return False, f"{other} {period[3]} at {period[0]}"
            return self.has(customer_id, AUDIENCE_KINDS, at), None
        period = self.consent(customer_id, channel, at)
        opted_out = period is not None and not period[2]
        why = f"{channel} {period[3]} at {period[0]}" if opted_out and period else None
        if not self.has(customer_id, (CONTACT_KIND[channel],), at):
            return False, why
        if transactional:
            hard = opted_out and (channel != "email" or period[3] in HARD_EMAIL_REASONS)  # type: ignore[index]
            return not hard, why if hard else None
        return period is not None and period[2], why


@dataclass(frozen=True)
class Inputs:
    """Trigger timelines (journey_triggers) and who can be reached how, from dbt's models."""

    triggers: pl.DataFrame
    reach: Reach


def _read(con: duckdb.DuckDBPyConnection, sql: str, model: str) -> pl.DataFrame:
    try:
        return con.sql(sql).pl()
    except duckdb.CatalogException as exc:
        raise MissingModelError(
            f"main.{model} is missing: build the dbt models (dbt build) before planning"
        ) from exc


def load_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    """Read journey_triggers and the consent and contact histories built by dbt."""
    triggers = _read(con, "select * from main.journey_triggers", "journey_triggers")
    consents = _read(
        con,
        "select customer_id, channel, valid_from, valid_to, is_consented, reason"
        " from main.int_consents_historized order by customer_id, channel, valid_from",
        "int_consents_historized",
    )
    contacts = _read(
        con,
        "select customer_id, contact_kind, min(valid_from) as known_from"
        " from main.int_contact_points_historized where contact_kind <> 'timezone'"
        " group by customer_id, contact_kind",
        "int_contact_points_historized",
    )
    reach = Reach()
    for customer_id, channel, *period in consents.iter_rows():
        reach.consents.setdefault(customer_id, {}).setdefault(channel, []).append(tuple(period))  # type: ignore[arg-type]
    for customer_id, kind, known_from in contacts.iter_rows():
        reach.known.setdefault(customer_id, {})[kind] = known_from
    return Inputs(triggers=triggers, reach=reach)
