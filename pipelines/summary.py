"""The short human summary that `journey run` prints: what came in and what the models say."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def format_table(headers: list[str], rows: list[tuple]) -> str:
    """Plain fixed-width table, right-aligning numbers."""
    cells = [[str(h) for h in headers]] + [
        [f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v)) for v in row]
        for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ingest_summary(con: duckdb.DuckDBPyConnection, since: datetime) -> str:
    (files, loaded, dups, quarantined) = _rows(
        con,
        """select count(*), coalesce(sum(loaded) filter (where kind = 'events'), 0),
                  coalesce(sum(duplicates), 0),
                  coalesce(sum(quarantined), 0)
           from raw.load_manifest where _loaded_at >= ?""",
        [since],
    )[0]
    (total_events,) = _rows(con, "select count(*) from raw.events")[0]
    out = [
        f"Ingest: {files:,} new files, {loaded:,} events loaded, {dups:,} duplicates dropped, "
        f"{quarantined:,} lines quarantined ({total_events:,} events in the warehouse)."
    ]
    reasons = _rows(
        con,
        """select reason, count(*)::bigint as n from raw.quarantine where _loaded_at >= ?
           group by 1 order by n desc, reason""",
        [since],
    )
    if reasons:
        out.append("Quarantined this run, by reason:")
        out.append(format_table(["reason", "lines"], reasons))
    return "\n".join(out)


def stage_summary(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """select lifecycle_stage, count(*)::bigint from customers group by 1
           order by case lifecycle_stage when 'visitor' then 1 when 'subscriber' then 2
           when 'shopper' then 3 when 'buyer' then 4 else 5 end""",
    )
    return "Customers by lifecycle stage:\n" + format_table(["stage", "customers"], rows)


def segment_summary(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """select segment, count(distinct customer_id)::bigint from segment_memberships
           group by 1 order by 1""",
    )
    return "Customers per segment:\n" + format_table(["segment", "customers"], rows)


def churn_summary(con: duckdb.DuckDBPyConnection) -> str:
    scored = _rows(
        con,
        """select model_version, count(*)::bigint, round(avg(churn_score), 3)
           from ml.churn_scores where as_of = (select max(as_of) from ml.churn_scores)
           group by 1""",
    )
    out = [
        f"Churn scores: {n:,} buyers scored by {version} (mean score {mean})"
        for version, n, mean in scored
    ] or ["Churn scores: none (no buyers yet)."]
    backtest = _rows(
        con,
        """select model, round(roc_auc, 3), round(average_precision, 3), round(brier, 3),
                  n::bigint, positives::bigint
           from ml.churn_backtest where as_of = (select max(as_of) from ml.churn_backtest)
           order by case model when 'model' then 1 when 'bgnbd' then 2 else 3 end""",
    )
    if backtest:
        out.append("Churn backtest on the held-out period (journey backtest-churn for more):")
        out.append(
            format_table(["score", "ROC AUC", "avg precision", "Brier", "n", "churned"], backtest)
        )
    recs = _rows(
        con,
        """select method, k, round(hit_rate, 3), n_customers::bigint from ml.recommendation_eval
           where as_of = (select max(as_of) from ml.recommendation_eval) order by method desc""",
    )
    if recs:
        out.append("Recommendations, hit rate on the held-out period:")
        out.append(format_table(["method", "k", "hit rate", "customers"], recs))
    return "\n".join(out)


def journey_summary(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """select flow, step, coalesce(channel, '-') as channel,
                  count(*)::bigint as planned,
                  count(*) filter (where status = 'sent')::bigint,
                  count(*) filter (where status = 'scheduled')::bigint,
                  count(*) filter (where status = 'held_quiet_hours')::bigint,
                  count(*) filter (where status in ('deferred_cap', 'dropped_cap'))::bigint,
                  count(*) filter (where status = 'held_out')::bigint,
                  count(*) filter (where status in ('exited', 'expired', 'cancelled'))::bigint,
                  count(*) filter (where status in ('suppressed', 'no_channel'))::bigint
           from journey_messages group by all order by flow, min(due_at), step, channel""",
    )
    headers = ["flow", "step", "channel", "planned", "sent", "scheduled", "quiet hours",
               "capped", "held out", "exited/expired", "no channel"]  # fmt: skip
    return "Messages planned per flow, step and channel (all runs so far):\n" + format_table(
        headers, rows
    )


def summarize(db_path: Path, since: datetime, ingest_only: bool = False) -> str:
    """Everything the run produced that exists in this warehouse, as plain text."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        parts = [ingest_summary(con, since)]
        if ingest_only:
            return parts[0]
        if _table_exists(con, "main", "customers"):
            parts.append(stage_summary(con))
        if _table_exists(con, "main", "segment_memberships"):
            parts.append(segment_summary(con))
        if _table_exists(con, "ml", "churn_backtest"):
            parts.append(churn_summary(con))
        if _table_exists(con, "journeys", "messages"):
            parts.append(journey_summary(con))
        return "\n\n".join(parts)
    finally:
        con.close()
