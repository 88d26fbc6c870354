"""What the planner reads from the warehouse, and who can be reached on which channel at t."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from pipelines.journeys.flows import AUDIENCE_CHANNELS

# The contact detail each messaging channel needs; an audience needs any of AUDIENCE_KINDS.
CONTACT_KIND = {"email": "email", "sms": "phone", "push": "push_token", "messenger": "messenger_psid"}
AUDIENCE_KINDS = ("email", "phone", "advertising_id")
# Opt-outs that stop even transactional email; any opt-out stops transactional SMS, push, chat.
HARD_EMAIL_REASONS = ("bounced", "spam_report")


class MissingModelError(RuntimeError):
    """A dbt model the planner reads has not been built."""


@dataclass(frozen=True)
class Inputs:
    """Trigger timelines, consent history and when each contact detail became known."""

    triggers: pl.DataFrame
    consents: pl.DataFrame
    contacts: pl.DataFrame


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
        "select customer_id, channel, is_consented, reason, valid_from, valid_to"
        " from main.int_consents_historized",
        "int_consents_historized",
    )
    contacts = _read(
        con,
        "select customer_id, contact_kind, min(valid_from) as known_from"
        " from main.int_contact_points_historized where contact_kind <> 'timezone'"
        " group by customer_id, contact_kind",
        "int_contact_points_historized",
    )
    return Inputs(triggers=triggers, consents=consents, contacts=contacts)


def availability(inputs: Inputs, pairs: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """For (customer_id, channel) pairs: ok_marketing, ok_transactional and block_reason at `at`.

    Marketing needs the contact detail and a current opt-in; transactional needs the contact
    detail and no current opt-out (for email, no hard bounce or spam report). Audiences need an
    email, phone or advertising id and no current opt-out on any channel.
    """
    consents = inputs.consents.filter(
        (pl.col("valid_from") <= at) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > at))
    )
    known = inputs.contacts.filter(pl.col("known_from") <= at)
    optouts = (
        consents.filter(~pl.col("is_consented"))
        .sort(["customer_id", "channel"])
        .group_by("customer_id", maintain_order=True)
        .agg(any_optout=pl.format("{} {} at {}", "channel", "reason", "valid_from").first())
    )
    audience_ok = (
        known.filter(pl.col("contact_kind").is_in(AUDIENCE_KINDS))
        .select("customer_id")
        .unique()
        .with_columns(has_audience_id=pl.lit(True))
    )
    has_contact = known.select(
        "customer_id", kind="contact_kind", has_contact=pl.lit(True)
    ).unique()
    frame = (
        pairs.unique()
        .with_columns(kind=pl.col("channel").replace_strict(CONTACT_KIND, default=None))
        .join(
            consents.select("customer_id", "channel", "is_consented", "reason", "valid_from"),
            on=["customer_id", "channel"],
            how="left",
        )
        .join(has_contact, on=["customer_id", "kind"], how="left")
        .join(optouts, on="customer_id", how="left")
        .join(audience_ok, on="customer_id", how="left")
    )
    audience = pl.col("channel").is_in(AUDIENCE_CHANNELS)
    contact = pl.col("has_contact").fill_null(False)
    opted_out = pl.col("is_consented").not_().fill_null(False)
    hard = opted_out & (
        (pl.col("channel") != "email") | pl.col("reason").is_in(HARD_EMAIL_REASONS)
    )
    audience_clear = pl.col("has_audience_id").fill_null(False) & pl.col("any_optout").is_null()
    return frame.select(
        "customer_id",
        "channel",
        ok_marketing=pl.when(audience)
        .then(audience_clear)
        .otherwise(contact & pl.col("is_consented").fill_null(False)),
        ok_transactional=pl.when(audience).then(audience_clear).otherwise(contact & ~hard),
        block_reason=pl.when(audience)
        .then(pl.col("any_optout"))
        .when(opted_out)
        .then(pl.format("{} {} at {}", "channel", "reason", "valid_from")),
    )
