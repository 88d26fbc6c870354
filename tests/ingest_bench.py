"""Throughput benchmark of `ingest_landing` on a synthetic gzipped JSON-lines store.

Run: `python tests/ingest_bench.py [--events 10000000] [--days 365] [--dir DIR]`. The store is
written once (vectorised with polars, so generation is quick) and reused on later runs.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.ingest.loader import ingest_landing

EVENTS = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Email Opened",
    "Signed Up",
]
# Rough funnel shape: many views, fewer carts, few orders; plus page and identify calls.
WEIGHTS = [0.45, 0.12, 0.04, 0.03, 0.08, 0.03]


def fmt(template: str, *exprs: pl.Expr) -> pl.Expr:
    """`template` with each `{}` replaced by the next expression (other braces are literal)."""
    pieces = template.split("{}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for expr, piece in zip(exprs, pieces[1:], strict=True):
        parts += [expr.cast(pl.String), pl.lit(piece)]
    return pl.concat_str(parts)


def _props(event: pl.Expr, n: pl.Expr) -> pl.Expr:
    product = fmt('"product_id":"p-{}","category":"Cat {}","price":{}', n % 997, n % 13, n % 90)
    cart = fmt('"cart_id":"k-{}"', n // 7)
    return (
        pl.when(event == "Product Viewed")
        .then(fmt("{{}}", product))
        .when(event == "Product Added")
        .then(fmt('{{},{},"quantity":1}', cart, product))
        .when(event == "Checkout Started")
        .then(fmt('{{},"revenue":{}}', cart, n % 300))
        .when(event == "Order Completed")
        .then(
            fmt('{"order_id":"o-{}",{},"revenue":{},"products":[{{}}]}', n, cart, n % 300, product)
        )
        .when(event == "Email Opened")
        .then(fmt('{"message_id":"msg-{}"}', n % 5000))
        .otherwise(pl.lit('{"form":"popup","incentive":"discount"}'))
    )


def day_lines(day: int, n: int, rng: np.random.Generator) -> pl.Series:
    """One day of Segment JSON lines (track, page and identify calls)."""
    kinds = rng.choice(len(EVENTS) + 2, size=n, p=[*WEIGHTS, 0.17, 0.08])
    seconds = np.sort(rng.integers(0, 86_400, size=n))
    df = pl.DataFrame({"k": kinds, "s": seconds, "u": rng.integers(0, 200_000, size=n)})
    ts = (
        pl.lit(datetime(2026, 1, 1, tzinfo=UTC)) + pl.duration(days=day, seconds=pl.col("s"))
    ).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    idx = pl.int_range(pl.len()) + day * 1_000_000
    event = pl.col("k").replace_strict(list(range(len(EVENTS))), EVENTS, default=None)
    head = fmt(
        '{"messageId":"m-{}","anonymousId":"a-{}","userId":"c-{}"', idx, pl.col("u"), pl.col("u")
    )
    tail = fmt('"timestamp":"{}","context":{"timezone":"Europe/Paris","ip":"10.0.0.1"}}', ts)
    line = (
        pl.when(pl.col("k") < len(EVENTS))
        .then(
            fmt(
                '{},"type":"track","event":"{}","properties":{},{}',
                head,
                event,
                _props(event, idx),
                tail,
            )
        )
        .when(pl.col("k") == len(EVENTS))
        .then(
            fmt('{},"type":"page","properties":{"path":"/c/{}"},{}', head, pl.col("u") % 40, tail)
        )
        .otherwise(
            fmt(
                '{},"type":"identify","traits":{"email":"c{}@example.com"},{}',
                head,
                pl.col("u"),
                tail,
            )
        )
    )
    return df.select(line.alias("line")).to_series()


def write_store(root: Path, events: int, days: int) -> None:
    """Write `days` gzipped daily files holding `events` lines in all, unless already there."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    per_day = events // days
    for day in range(days):
        path = root / f"events/{2026}/day-{day:03d}.jsonl.gz"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(day_lines(day, per_day, rng).to_list()) + "\n"
        path.write_bytes(gzip.compress(text.encode(), compresslevel=6))


def main() -> None:
    """Generate (or reuse) the store, ingest it into a fresh database, print events/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ingest-bench")
    args = parser.parse_args()
    store = args.dir / f"store-{args.events}-{args.days}"
    started = time.perf_counter()
    write_store(store, args.events, args.days)
    print(f"store ready in {time.perf_counter() - started:.1f}s: {store}")
    db = args.dir / "bench.duckdb"
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    summary = ingest_landing(db, store)
    elapsed = time.perf_counter() - started
    print(summary)
    print(f"ingest: {elapsed:.1f}s, {summary.events_loaded / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
