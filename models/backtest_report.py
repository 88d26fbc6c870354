"""The backtest as text (for `journey backtest-churn`) and as ml.* tables (for dashboards)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines.ingest.schema import ensure_raw_schema
from pipelines.warehouse import transaction

if TYPE_CHECKING:
    from models.backtest import BacktestReport

DDL = """
create table if not exists ml.churn_backtest (
    as_of timestamp not null, horizon_days integer not null, model varchar not null,
    model_version varchar, roc_auc double, average_precision double, brier double,
    ece double, n integer not null, positives integer not null, evaluated_at timestamp not null
);
create table if not exists ml.churn_calibration (
    as_of timestamp not null, horizon_days integer not null, model varchar not null,
    bin integer not null, mean_predicted double not null, observed_rate double not null,
    n integer not null
);
create table if not exists ml.churn_feature_importance (
    as_of timestamp not null, horizon_days integer not null, feature varchar not null,
    importance double not null, rank integer not null
);
create table if not exists ml.recommendation_eval (
    as_of timestamp not null, method varchar not null, k integer not null,
    hit_rate double, n_customers integer not null
);
"""
TABLES = ("churn_backtest", "churn_calibration", "churn_feature_importance", "recommendation_eval")


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_backtest(report: BacktestReport) -> str:
    """A plain-text report: metrics table, calibration deciles, top features, notes."""
    lines = [
        f"Churn backtest as of {report.as_of:%Y-%m-%d %H:%M} (horizon {report.horizon_days} days)",
        f"  train: features at {report.t_train:%Y-%m-%d}, labels until {report.t_eval:%Y-%m-%d}; "
        f"evaluate: features at {report.t_eval:%Y-%m-%d}, labels until {report.as_of:%Y-%m-%d}",
        "",
        f"  {'score':<10}{'ROC AUC':>9}{'avg prec':>10}{'Brier':>8}{'ECE':>8}{'n':>8}"
        f"{'churned':>9}  version",
    ]
    for e in report.churn:
        lines.append(
            f"  {e.model:<10}{_num(e.roc_auc):>9}{_num(e.average_precision):>10}"
            f"{_num(e.brier):>8}{_num(e.ece):>8}{e.n:>8}{e.positives:>9}  {e.version}"
        )
    lines += ["", "  Calibration (deciles, mean predicted -> observed churn rate):"]
    for e in report.churn:
        if e.calibration:
            cells = " ".join(
                f"{b.mean_predicted:.2f}->{b.observed_rate:.2f}" for b in e.calibration
            )
            lines.append(f"    {e.model:<8} {cells}")
    if report.top_features:
        lines += ["", "  Top features (permutation importance, drop in ROC AUC):"]
        lines += [f"    {name:<24}{value:+.4f}" for name, value in report.top_features]
    if report.recommendations:
        lines += ["", "  Recommendations (new products bought in the window, hit rate @k):"]
        lines += [
            f"    {r.method:<12} @{r.k}: {_num(r.hit_rate)} over {r.n_customers} customers"
            for r in report.recommendations
        ]
    if report.notes:
        lines += ["", "  Notes:"] + [f"    - {note}" for note in report.notes]
    return "\n".join(lines)


def write_backtest(con: duckdb.DuckDBPyConnection, report: BacktestReport) -> None:
    """Replace the report's as_of rows in the ml.* backtest tables (idempotent)."""
    ensure_raw_schema(con)
    con.execute(DDL)
    now = datetime.now(UTC).replace(tzinfo=None)
    key = {"as_of": report.as_of, "horizon_days": report.horizon_days}
    frames = {
        "churn_backtest": [
            {**key, "model": e.model, "model_version": e.version, "roc_auc": e.roc_auc,
             "average_precision": e.average_precision, "brier": e.brier, "ece": e.ece,
             "n": e.n, "positives": e.positives, "evaluated_at": now}
            for e in report.churn
        ],
        "churn_calibration": [
            {**key, "model": e.model, "bin": b.bin, "mean_predicted": b.mean_predicted,
             "observed_rate": b.observed_rate, "n": b.n}
            for e in report.churn for b in e.calibration
        ],
        "churn_feature_importance": [
            {**key, "feature": name, "importance": value, "rank": i + 1}
            for i, (name, value) in enumerate(report.top_features)
        ],
        "recommendation_eval": [
            {"as_of": report.as_of, "method": r.method, "k": r.k, "hit_rate": r.hit_rate,
             "n_customers": r.n_customers}
            for r in report.recommendations
        ],
    }  # fmt: skip
    filled = {
        f"bt_{table}": pl.DataFrame(rows, infer_schema_length=None)
        for table, rows in frames.items()
        if rows
    }
    with transaction(con, **filled):
        for table in frames:
            con.execute(f"delete from ml.{table} where as_of = ?", [report.as_of])
            if f"bt_{table}" in filled:
                columns = ", ".join(filled[f"bt_{table}"].columns)
                con.execute(f"insert into ml.{table} ({columns}) select {columns} from bt_{table}")
