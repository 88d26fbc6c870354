"""DDL of the tables written outside dbt (raw ingest, machine-learning output) that dbt reads."""

from __future__ import annotations

import duckdb

RAW_SCHEMA = "raw"

# Timestamps are stored as naive UTC so that every engine and session time zone reads them alike.
DDL = f"""
create schema if not exists {RAW_SCHEMA};

create table if not exists {RAW_SCHEMA}.events (
    message_id      varchar not null,
    type            varchar not null,   -- track | identify | page
    event           varchar,            -- track events only
    anonymous_id    varchar,
    user_id         varchar,
    timestamp       timestamp not null, -- UTC
    properties      json,
    traits          json,
    context         json,
    _source_file    varchar not null,
    _line_number    bigint not null,
    _loaded_at      timestamp not null
);

create table if not exists {RAW_SCHEMA}.catalogue_products (
    product_id      varchar not null,
    name            varchar,
    category        varchar,
    price           double,
    url             varchar,
    image_url       varchar,
    in_stock        boolean,
    _source_file    varchar not null,
    _loaded_at      timestamp not null
);

create table if not exists {RAW_SCHEMA}.quarantine (
    source_file     varchar not null,
    line_number     bigint,             -- null when the whole file is quarantined
    raw_line        varchar,
    reason          varchar not null,
    _loaded_at      timestamp not null
);

create table if not exists {RAW_SCHEMA}.load_manifest (
    source_file     varchar not null,
    sha256          varchar not null,
    kind            varchar not null,   -- events | catalogue
    lines           bigint not null,
    loaded          bigint not null,
    duplicates      bigint not null,
    quarantined     bigint not null,
    status          varchar not null,   -- loaded | quarantined
    _loaded_at      timestamp not null,
    primary key (source_file, sha256)
);

-- Written by the machine-learning assets; read back by dbt as sources. Created empty up front
-- so that the dbt models build (with null scores) before any model has been trained.
create schema if not exists ml;

create table if not exists ml.churn_scores (
    customer_id     varchar not null,
    churn_score     double not null,    -- P(no completed order in the next horizon_days)
    top_reasons     varchar,            -- the two or three features that moved the score most
    model_version   varchar not null,
    horizon_days    integer not null,
    as_of           timestamp not null,
    scored_at       timestamp not null
);

create table if not exists ml.recommendations (
    subject_type    varchar not null,   -- customer | product | category
    subject_id      varchar not null,
    product_id      varchar not null,
    rank            integer not null,
    reason          varchar not null,   -- same_category | bought_together | popular
    as_of           timestamp not null
);

-- Written by the journey engine; read back by dbt (when was each customer last emailed). Created
-- empty up front so that the segments build before the engine has ever run.
create schema if not exists journeys;

create table if not exists journeys.sent_messages (
    message_id      varchar not null,   -- deterministic id (customer, flow, step, trigger)
    customer_id     varchar not null,
    flow            varchar not null,
    step            varchar not null,
    channel         varchar not null,   -- email | sms | push | messenger | *_audience
    sent_at         timestamp not null  -- UTC
);

-- Every message the journey engine planned, upserted by message_id on each run (see
-- pipelines/journeys/planner.py for the statuses). Timestamps are the run's as_of, not the
-- wall clock, so that replaying a run gives the same rows.
create table if not exists journeys.messages (
    message_id      varchar primary key,
    customer_id     varchar not null,
    flow            varchar not null,
    step            varchar not null,
    channel         varchar,            -- null when no channel is available
    trigger         varchar not null,
    trigger_id      varchar not null,
    triggered_at    timestamp not null,
    due_at          timestamp not null,
    send_at         timestamp,
    status          varchar not null,
    reason          varchar,
    context         varchar,            -- JSON: order, cart, products, categories, incentive
    sent_at         timestamp,
    dropped_at      timestamp,
    quiet_held      boolean not null,   -- was held by quiet hours at some run
    capped          boolean not null,   -- was deferred or dropped by a frequency cap
    priority        integer not null,
    transactional   boolean not null,
    planned_at      timestamp not null,
    updated_at      timestamp not null
);

-- The public contract (PRODUCT.md): planned and sent messages.
create or replace view main.journey_messages as
select
    message_id, customer_id, flow, step, channel, due_at, status, reason,
    trigger, trigger_id, triggered_at, send_at, sent_at, context, planned_at, updated_at
from journeys.messages;
"""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables if they are missing (idempotent)."""
    con.execute(DDL)
