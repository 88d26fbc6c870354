"""Time-split evaluation of the customer recommendations against a popularity baseline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from models.recommend import DEFAULT_K, customer_recommendations, prepare

# New products each customer bought in the evaluation window (re-buys are not discoveries).
_TARGETS_SQL = """
select distinct customer_id, product_id from order_lines
where is_completed and customer_id is not null and product_id is not null
  and ordered_at >= cast($cutoff as timestamp) and ordered_at < cast($end as timestamp)
except
select customer_id, product_id from order_lines where ordered_at < cast($cutoff as timestamp)
"""


@dataclass(frozen=True)
class RecEval:
    """Hit rate @k: share of customers who bought at least one of their k recommendations."""

    method: str
    k: int
    hit_rate: float | None
    n_customers: int


def evaluate_hit_rate(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, end: datetime, k: int = DEFAULT_K
) -> list[RecEval]:
    """Recommend at `cutoff`, check against new purchases in [cutoff, end); method vs popular."""
    if end <= cutoff:
        raise ValueError("the evaluation window must end after the cut-off")
    # Stock is only known as of now, and a product bought in the window was in stock then.
    prepare(con, cutoff, respect_stock=False)
    targets = con.sql(_TARGETS_SQL, params={"cutoff": cutoff, "end": end}).pl()
    lists = {
        "recommender": customer_recommendations(con, cutoff, k),
        "popularity": customer_recommendations(con, cutoff, k, popular_only=True),
    }
    # Both methods are judged on the same people: those the recommender could serve.
    evaluated = targets.join(
        lists["recommender"].select(customer_id="subject_id").unique(), on="customer_id"
    )
    n = evaluated["customer_id"].n_unique()
    return [RecEval(name, k, _hit_rate(recs, evaluated, n), n) for name, recs in lists.items()]


def _hit_rate(recs: pl.DataFrame, targets: pl.DataFrame, n: int) -> float | None:
    if n == 0:
        return None
    hits = targets.join(
        recs.select(customer_id="subject_id", product_id="product_id"),
        on=["customer_id", "product_id"],
    )
    return hits["customer_id"].n_unique() / n
