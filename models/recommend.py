"""Product recommendations: bought together (cosine co-occurrence) and best of the category.

Everything is computed from data strictly before a cut-off, so the same SQL serves the daily
run (cut-off = as_of) and the time-split evaluation (cut-off in the past).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from models import recommend_sql as sql
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.warehouse import transaction

DEFAULT_K = 10


def prepare(con: duckdb.DuckDBPyConnection, cutoff: datetime, respect_stock: bool = True) -> None:
    """Build the temp tables every recommender reads (products, similarity, top lists)."""
    params = {"cutoff": cutoff}
    con.execute(sql.PRODUCTS, {**params, "respect_stock": respect_stock})
    con.execute(sql.SIMILARITY, params)
    con.execute(sql.TOP)


def similarity(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The prepared co-occurrence table: product_id, other_id, together, similarity."""
    return con.sql("select * from rec_similarity order by product_id, other_id").pl()


def _ranked(con: duckdb.DuckDBPyConnection, candidates_sql: str, k: int) -> pl.DataFrame:
    # A product can be a candidate for several reasons: keep its best (lowest) sort key.
    query = f"""
    with cand as ({candidates_sql}),
    best as (
        select *, row_number() over (
            partition by subject_id, product_id order by sort_key, reason) as dup
        from cand
    )
    select subject_id, product_id,
        row_number() over (
            partition by subject_id order by sort_key, product_id)::integer as rank,
        reason
    from best where dup = 1
    qualify rank <= $k
    order by subject_id, rank
    """
    return con.sql(query, params={"k": k}).pl()


def product_recommendations(con: duckdb.DuckDBPyConnection, k: int = DEFAULT_K) -> pl.DataFrame:
    """Per product: bought together, then the rest of its category, then store-wide popular."""
    return _ranked(
        con,
        f"""
        select s.product_id as subject_id, s.other_id as product_id,
            'bought_together' as reason, 1 - s.similarity as sort_key
        from rec_similarity s join rec_top t on t.product_id = s.other_id
        union all
        select p.product_id, t.product_id, 'same_category', 10 + t.category_rank
        from rec_products p join rec_top t on t.category = p.category
        where t.product_id <> p.product_id and t.category_rank <= {k + 1}
        union all
        select p.product_id, t.product_id, 'popular', 100000 + t.global_rank
        from rec_products p cross join rec_top t
        where t.product_id <> p.product_id and t.global_rank <= {k + 1}
        """,
        k,
    )


def category_recommendations(con: duckdb.DuckDBPyConnection, k: int = DEFAULT_K) -> pl.DataFrame:
    """Per category: its best in-stock products."""
    return _ranked(
        con,
        """
        select category as subject_id, product_id, 'same_category' as reason,
            category_rank as sort_key
        from rec_top where category is not null
        """,
        k,
    )


def customer_recommendations(
    con: duckdb.DuckDBPyConnection,
    cutoff: datetime,
    k: int = DEFAULT_K,
    popular_only: bool = False,
) -> pl.DataFrame:
    """Per customer with a last order, a cart or recent browsing: what to show them next."""
    con.execute(sql.CUSTOMER_CONTEXT, {"cutoff": cutoff})
    lanes = "(100000)" if popular_only else "(0, 1, 100000)"
    return _ranked(con, sql.CUSTOMER_CANDIDATES.format(depth=3 * k, lanes=lanes), k)


def recommend_all(
    con: duckdb.DuckDBPyConnection, as_of: datetime, k: int = DEFAULT_K
) -> pl.DataFrame:
    """Every recommendation row of a run: per customer, per product and per category."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    prepare(con, as_of)
    parts = [
        ("customer", customer_recommendations(con, as_of, k)),
        ("product", product_recommendations(con, k)),
        ("category", category_recommendations(con, k)),
    ]
    return pl.concat(
        [df.select(pl.lit(kind).alias("subject_type"), pl.all()) for kind, df in parts]
    ).with_columns(as_of=pl.lit(as_of))


def write_recommendations(
    con: duckdb.DuckDBPyConnection, recs: pl.DataFrame, as_of: datetime
) -> None:
    """Replace the rows of `as_of` in ml.recommendations (re-runs are idempotent)."""
    ensure_raw_schema(con)
    with transaction(con, rec_rows=recs):
        con.execute("delete from ml.recommendations where as_of = ?", [as_of])
        con.execute(
            "insert into ml.recommendations (subject_type, subject_id, product_id, rank, reason,"
            " as_of) select subject_type, subject_id, product_id, rank, reason, ? from rec_rows",
            [as_of],
        )
