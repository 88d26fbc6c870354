"""`journey`: the front door for people and schedulers outside the Dagster UI."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from pipelines.settings import data_dir, default_db, default_landing, parse_as_of


class AsOf(click.ParamType):
    """An ISO 8601 moment, normalised to naive UTC."""

    name = "timestamp"

    def convert(self, value, param, ctx):
        try:
            return parse_as_of(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


AS_OF = AsOf()


@click.group()
def main() -> None:
    """Warehouse-native customer-journey automation for e-commerce."""


@main.command()
@click.option("--customers", default=5000, show_default=True, help="People visiting the store.")
@click.option("--days", default=180, show_default=True, help="Days of history.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same files).")
@click.option("--end", type=AS_OF, default=None, help="End of the history (default: now).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Landing folder.")
def generate(customers: int, days: int, seed: int, end: datetime | None, out: Path | None) -> None:
    """Write a realistic demo store as landing files (JSON lines, gzipped, one file per day)."""
    from pipelines.generate.store import StoreSpec, generate_store

    out = out or default_landing()
    end_ts = (end or parse_as_of(None)).replace(tzinfo=UTC)
    try:
        spec = StoreSpec(customers=customers, days=days, seed=seed, end=end_ts)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    started = time.perf_counter()
    summary = generate_store(spec, out)
    elapsed = time.perf_counter() - started
    click.echo(
        f"Generated {summary.events:,} events for {summary.people:,} people "
        f"({summary.signups:,} sign-ups, {summary.buyers:,} buyers, {summary.orders:,} orders) "
        f"in {summary.files:,} files under {out} ({elapsed:.1f}s)."
    )


@main.command()
@click.option("--landing", type=click.Path(path_type=Path), default=None, help="Landing folder.")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="DuckDB file.")
def ingest(landing: Path | None, db: Path | None) -> None:
    """Load new landing files into the raw tables only (no models, no sends)."""
    from pipelines.ingest.loader import ingest_landing
    from pipelines.summary import summarize

    landing = landing or default_landing()
    db = db or default_db()
    if not landing.is_dir():
        click.echo(f"journey ingest failed: landing folder {landing} does not exist", err=True)
        sys.exit(1)
    db.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).replace(tzinfo=None)
    ingest_landing(db, landing)
    click.echo(summarize(db, started, ingest_only=True))


def _run(landing: Path, db: Path, as_of: datetime | None) -> None:
    from pipelines.runner import PipelineError, run_pipeline
    from pipelines.summary import summarize

    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    try:
        result = run_pipeline(db, landing, as_of)
    except (PipelineError, ValueError) as exc:
        click.echo(f"journey run failed: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"Pipeline ran as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC on {landing} into {db} "
        f"({len(result.steps)} steps, {time.perf_counter() - t0:.1f}s).\n"
    )
    click.echo(summarize(db, started))


@main.command()
@click.option("--landing", type=click.Path(path_type=Path), default=None, help="Landing folder.")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="DuckDB file.")
@click.option("--as-of", "as_of", type=AS_OF, default=None, help="Evaluate as of (default now).")
def run(landing: Path | None, db: Path | None, as_of: datetime | None) -> None:
    """Run the whole pipeline once, in process, on a landing folder."""
    _run(landing or default_landing(), db or default_db(), as_of)


@main.command()
@click.option("--customers", default=20_000, show_default=True, help="People in the demo store.")
@click.option("--days", default=400, show_default=True, help="Days of history.")
def demo(customers: int, days: int) -> None:
    """Generate the demo store (if missing), then run the pipeline on it."""
    # 400 days give the churn model two horizons of history to train and backtest on.
    landing = default_landing()
    if not any(landing.glob("events/*")):
        click.get_current_context().invoke(
            generate, customers=customers, days=days, seed=7, end=None, out=landing
        )
    else:
        click.echo(f"Demo store already in {landing}; delete {data_dir()} to start over.")
    _run(landing, default_db(), None)


@main.command("backtest-churn")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="DuckDB file.")
@click.option("--as-of", "as_of", type=AS_OF, default=None, help="End of the held-out period.")
@click.option("--horizon", default=90, show_default=True, help="Churn horizon in days.")
def backtest_churn(db: Path | None, as_of: datetime | None, horizon: int) -> None:
    """Compare the churn model with BG/NBD and recency on a held-out period."""
    import duckdb

    from models.backtest import backtest_churn as run_backtest
    from models.backtest_report import render_backtest

    db = db or default_db()
    if not db.exists():
        click.echo(
            f"journey backtest-churn failed: {db} does not exist; run `journey run`", err=True
        )
        sys.exit(1)
    with duckdb.connect(str(db), read_only=True) as con:
        try:
            report = run_backtest(con, as_of or parse_as_of(None), horizon)
        except duckdb.CatalogException as exc:
            click.echo(f"journey backtest-churn failed: {exc}; run `journey run` first", err=True)
            sys.exit(1)
    click.echo(render_backtest(report))


@main.command("backtest")
@click.option("--from", "start", type=AS_OF, required=True, help="Start of the replayed period.")
@click.option("--to", "end", type=AS_OF, required=True, help="End of the replayed period.")
@click.option("--flow", default=None, help="Report one flow (all flows are replayed).")
@click.option("--step-minutes", default=15, show_default=True, help="Minutes between runs.")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="DuckDB file.")
def backtest_journeys(
    start: datetime, end: datetime, flow: str | None, step_minutes: int, db: Path | None
) -> None:
    """Replay the journey planner over a past period, writing nothing; report what it sends."""
    import duckdb

    from pipelines.journeys.backtest import backtest, render_backtest
    from pipelines.journeys.flows import FlowsError, load_flows
    from pipelines.journeys.inputs import MissingModelError

    db = db or default_db()
    if not db.exists():
        click.echo(f"journey backtest failed: {db} does not exist; run `journey run`", err=True)
        sys.exit(1)
    try:
        flows = load_flows()
        with duckdb.connect(str(db), read_only=True) as con:
            report = backtest(con, flows, start, end, step_minutes, flow)
    except (FlowsError, MissingModelError, ValueError) as exc:
        click.echo(f"journey backtest failed: {exc}", err=True)
        sys.exit(1)
    click.echo(render_backtest(report))
