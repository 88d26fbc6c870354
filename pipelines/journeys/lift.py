"""Conversions (last touch within per-channel windows) and each flow's lift over its holdout.

- conversions: every completed order attributed to the last message that touched the customer
  before it: an email clicked within the email window (Email Link Clicked carries the
  message_id), or an SMS, push or Messenger message sent within that channel's window.
- flow_lift: per flow, the conversion rate (an order within lift_window of entering) of treated
  and held-out entrants, the absolute lift and its 95% Newcombe (Wilson score) interval. Both
  groups are everyone who entered (intention to treat), reachable or not, so they compare alike.
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import polars as pl

from pipelines.journeys.flows import FlowConfig

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 - p2 (method 10), from two Wilson intervals."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return (d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2))


def conversions(con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime) -> pl.DataFrame:
    """Completed orders up to as_of with the message each is attributed to (last touch)."""
    seconds = {c: int(w.total_seconds()) for c, w in flows.settings.attribution.items()}
    window = (
        "case s.channel "
        + " ".join(f"when '{c}' then {s}" for c, s in sorted(seconds.items()))
        + " end"
    )
    return con.sql(
        f"""
        with orders as (
            select order_id, customer_id, ordered_at, revenue
            from main.orders where is_completed and ordered_at <= $as_of
        ),
        sent as (select * from journeys.sent_messages where sent_at <= $as_of),
        clicks as (
            select json_extract_string(properties, '$.message_id') as message_id,
                known_at as clicked_at
            from main.int_journey_events
            where event_name = 'Email Link Clicked' and known_at <= $as_of
        ),
        touches as (
            select s.message_id, s.customer_id, s.flow, s.step, s.channel,
                c.clicked_at as touched_at, 'click' as touch, {window} as window_seconds
            from clicks c inner join sent s on s.message_id = c.message_id
            where s.channel = 'email'
            union all
            select s.message_id, s.customer_id, s.flow, s.step, s.channel,
                s.sent_at, 'send', {window}
            from sent s where s.channel in ('sms', 'push', 'messenger')
        )
        select o.order_id, o.customer_id, o.ordered_at, o.revenue, t.message_id, t.flow,
            t.step, t.channel, t.touch, t.touched_at
        from orders o
        inner join touches t
            on t.customer_id = o.customer_id
            and t.touched_at <= o.ordered_at
            and o.ordered_at <= t.touched_at + to_seconds(t.window_seconds)
        qualify row_number() over (
            partition by o.order_id order by t.touched_at desc, t.message_id desc
        ) = 1
        order by o.ordered_at, o.order_id
        """,
        params={"as_of": as_of},
    ).pl()


def flow_lift(con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime) -> pl.DataFrame:
    """Per flow: treated vs holdout conversion within lift_window of entering, lift, 95% CI."""
    window = int(flows.settings.lift_window.total_seconds())
    groups = con.execute(
        f"""
        with entrants as (
            select flow, customer_id, trigger_id, min(triggered_at) as entered_at,
                bool_or(status = 'held_out') as held_out
            from journeys.messages
            group by flow, customer_id, trigger_id
            having min(triggered_at) + to_seconds({window}) <= $as_of
        ),
        outcomes as (
            select e.flow, e.held_out, exists (
                select 1 from main.orders o
                where o.customer_id = e.customer_id and o.is_completed
                  and o.ordered_at > e.entered_at
                  and o.ordered_at <= e.entered_at + to_seconds({window})
            ) as converted
            from entrants e
        )
        select flow, held_out, count(*) as entrants, count_if(converted) as conversions
        from outcomes group by flow, held_out
        """,
        {"as_of": as_of},
    ).fetchall()
    counts = {(flow, held): (n, x) for flow, held, n, x in groups}
    rows = []
    for name in flows.settings.priority:
        n1, x1 = counts.get((name, False), (0, 0))
        n2, x2 = counts.get((name, True), (0, 0))
        rate1 = x1 / n1 if n1 else None
        rate2 = x2 / n2 if n2 else None
        lift = rate1 - rate2 if rate1 is not None and rate2 is not None else None
        low, high = newcombe(x1, n1, x2, n2) if lift is not None else (None, None)
        rows.append((name, n1, x1, rate1, n2, x2, rate2, lift, low, high))
    return pl.DataFrame(
        rows,
        schema={
            "flow": pl.String,
            "treated_entrants": pl.Int64,
            "treated_conversions": pl.Int64,
            "treated_rate": pl.Float64,
            "holdout_entrants": pl.Int64,
            "holdout_conversions": pl.Int64,
            "holdout_rate": pl.Float64,
            "lift": pl.Float64,
            "lift_ci_low": pl.Float64,
            "lift_ci_high": pl.Float64,
        },
        orient="row",
    ).with_columns(window_days=pl.lit(window / 86400), as_of=pl.lit(as_of, pl.Datetime("us")))


def write_lift(
    con: duckdb.DuckDBPyConnection, flows: FlowConfig, as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Replace journeys.conversions and journeys.flow_lift (and their main views)."""
    converted = conversions(con, flows, as_of)
    lift = flow_lift(con, flows, as_of)
    for name, frame in (("conversions", converted), ("flow_lift", lift)):
        con.register("lift_rows", frame.to_arrow())
        con.execute(f"create or replace table journeys.{name} as select * from lift_rows")
        con.execute(f"create or replace view main.{name} as select * from journeys.{name}")
        con.unregister("lift_rows")
    return converted, lift
