"""Churn features and labels of every buyer at any cut-off, from the dbt models in DuckDB."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import polars as pl

# Order matters: it is the column order of the model's input matrix.
FEATURES: tuple[str, ...] = (
    "days_since_last_order",
    "tenure_days",
    "orders_count",
    "orders_90d",
    "orders_365d",
    "revenue_total",
    "avg_order_value",
    "avg_gap_days",
    "recency_gap_ratio",
    "discount_share",
    "cancelled_count",
    "refunded_count",
    "days_since_last_visit",
    "views_30d",
    "views_90d",
    "carts_30d",
    "carts_90d",
    "email_opens_90d",
    "email_clicks_90d",
)

# Site activity that shows the customer is still around (email events are provider feedback,
# and order lifecycle events are already counted by the order features).
_VISIT_EVENTS = "('Product Viewed', 'Product Added', 'Product Removed', 'Checkout Started')"

# Everything reads strictly before the cut-off, so that the same function gives training features
# (at as_of - horizon) and scoring features (at as_of) without ever looking ahead.
_FEATURES_SQL = f"""
with p as (select cast($cutoff as timestamp) as c),
-- An order's status as it was at the cut-off: a later cancellation or refund is the future.
placed as (
    select o.*, coalesce(o.cancelled_at < p.c, false) as cancelled_by_cutoff,
           coalesce(o.refunded_at < p.c, false) as refunded_by_cutoff
    from orders o, p
    where o.ordered_at < p.c and o.customer_id is not null
),
done as (
    select customer_id, order_id, ordered_at, revenue,
           coalesce(discount, 0) > 0 or coupon is not null as discounted
    from placed
    where not cancelled_by_cutoff and not refunded_by_cutoff
),
buyers as (
    select customer_id,
        count(*) as orders_count,
        count(*) filter (where ordered_at >= (select c from p) - interval 90 day) as orders_90d,
        count(*) filter (where ordered_at >= (select c from p) - interval 365 day) as orders_365d,
        -- Exact decimal sum: a float sum depends on the (parallel) order of the rows.
        coalesce(sum(revenue::decimal(18, 2)), 0) as revenue_total,
        min(ordered_at) as first_at,
        max(ordered_at) as last_at,
        avg(discounted::int) as discount_share
    from done group by customer_id
),
unhappy as (
    select customer_id,
        count(*) filter (where cancelled_by_cutoff) as cancelled_count,
        count(*) filter (where refunded_by_cutoff) as refunded_count
    from placed
    group by customer_id
),
ev as (
    select e.customer_id,
        max(e.occurred_at) filter (
            where e.event_type = 'page' or e.event_name in {_VISIT_EVENTS}) as last_visit_at,
        count(*) filter (where e.event_name = 'Product Viewed'
                         and e.occurred_at >= p.c - interval 30 day) as views_30d,
        count(*) filter (where e.event_name = 'Product Viewed'
                         and e.occurred_at >= p.c - interval 90 day) as views_90d,
        count(*) filter (where e.event_name = 'Product Added'
                         and e.occurred_at >= p.c - interval 30 day) as carts_30d,
        count(*) filter (where e.event_name = 'Product Added'
                         and e.occurred_at >= p.c - interval 90 day) as carts_90d,
        count(*) filter (where e.event_name = 'Email Opened'
                         and e.occurred_at >= p.c - interval 90 day) as email_opens_90d,
        count(*) filter (where e.event_name = 'Email Link Clicked'
                         and e.occurred_at >= p.c - interval 90 day) as email_clicks_90d
    from int_events_stitched e, p
    where e.occurred_at < p.c and e.customer_id in (select customer_id from buyers)
    group by e.customer_id
)
select
    b.customer_id,
    date_diff('second', b.last_at, p.c) / 86400.0 as days_since_last_order,
    date_diff('second', b.first_at, p.c) / 86400.0 as tenure_days,
    b.orders_count::double as orders_count,
    b.orders_90d::double as orders_90d,
    b.orders_365d::double as orders_365d,
    b.revenue_total::double as revenue_total,
    b.revenue_total / b.orders_count as avg_order_value,
    case when b.orders_count > 1
         then date_diff('second', b.first_at, b.last_at) / 86400.0 / (b.orders_count - 1)
    end as avg_gap_days,
    case when b.orders_count > 1
         then date_diff('second', b.last_at, p.c) * (b.orders_count - 1)
              / greatest(date_diff('second', b.first_at, b.last_at), 3600)
    end as recency_gap_ratio,
    b.discount_share::double as discount_share,
    coalesce(u.cancelled_count, 0)::double as cancelled_count,
    coalesce(u.refunded_count, 0)::double as refunded_count,
    date_diff('second', ev.last_visit_at, p.c) / 86400.0 as days_since_last_visit,
    coalesce(ev.views_30d, 0)::double as views_30d,
    coalesce(ev.views_90d, 0)::double as views_90d,
    coalesce(ev.carts_30d, 0)::double as carts_30d,
    coalesce(ev.carts_90d, 0)::double as carts_90d,
    coalesce(ev.email_opens_90d, 0)::double as email_opens_90d,
    coalesce(ev.email_clicks_90d, 0)::double as email_clicks_90d
from buyers b
cross join p
left join unhappy u using (customer_id)
left join ev using (customer_id)
order by b.customer_id
"""

# A purchase in the window counts if it was not cancelled or refunded by the window's end.
_LABELS_SQL = """
select distinct customer_id
from orders
where customer_id is not null
  and ordered_at >= cast($start as timestamp) and ordered_at < cast($end as timestamp)
  and not coalesce(cancelled_at < cast($end as timestamp), false)
  and not coalesce(refunded_at < cast($end as timestamp), false)
"""


def features_at(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> pl.DataFrame:
    """One row per customer with a completed order before `cutoff`: customer_id + FEATURES."""
    df = con.sql(_FEATURES_SQL, params={"cutoff": cutoff}).pl()
    # Nulls mean "not defined" (no second order, never visited): the model sees them as NaN.
    return df.with_columns(pl.col(FEATURES).cast(pl.Float64).fill_null(float("nan")))


def labelled_features(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, horizon_days: int
) -> pl.DataFrame:
    """Features at `cutoff` plus `churned` = 1 if no completed order in [cutoff, cutoff + H)."""
    buyers = con.sql(
        _LABELS_SQL, params={"start": cutoff, "end": cutoff + timedelta(days=horizon_days)}
    ).pl()
    bought = set(buyers["customer_id"].to_list())
    df = features_at(con, cutoff)
    return df.with_columns(churned=pl.col("customer_id").is_in(list(bought)).not_().cast(pl.Int8))


def history_start(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The earliest order or event: how far back the store's history goes."""
    rows = con.sql(
        "select least((select min(ordered_at) from orders),"
        " (select min(occurred_at) from int_events_stitched))"
    ).fetchall()
    return rows[0][0]
