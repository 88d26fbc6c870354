"""Reading and checking the optional product catalogue feed (CSV or Parquet)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.ingest.landing import FileRejected, safe_detail

COLUMNS = ("product_id", "name", "category", "price", "url", "image_url", "in_stock")
TRUE_VALUES = ("true", "t", "yes", "y", "1")
FALSE_VALUES = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class CatalogueRows:
    """A feed split into typed rows that load and rows quarantined with a reason."""

    good: pl.DataFrame  # line_number + COLUMNS, typed as raw.catalogue_products
    bad: pl.DataFrame  # line_number, raw_line, reason


def _read(data: bytes, name: str) -> tuple[pl.DataFrame, int]:
    """Every column as text, and the line number of the first data row."""
    try:
        if name.lower().endswith(".parquet"):
            frame, first_line = pl.read_parquet(data), 1
        else:
            frame = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy")
            first_line = 2  # line 1 is the header
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise FileRejected(f"unreadable catalogue: {safe_detail(exc)}") from exc
    frame = frame.rename(lambda c: c.strip().lower())
    missing = [pl.lit(None, pl.String).alias(c) for c in COLUMNS if c not in frame.columns]
    return frame.with_columns(missing).select(pl.col(COLUMNS).cast(pl.String)), first_line


def read_catalogue(data: bytes, name: str) -> CatalogueRows:
    """Parse and check a catalogue feed; raises FileRejected if it cannot be read at all."""
    frame, first_line = _read(data, name)
    present = {c: pl.col(c).str.strip_chars().replace("", None) for c in COLUMNS}
    price = present["price"].cast(pl.Float64, strict=False)
    stock = present["in_stock"].str.to_lowercase()
    reason = (
        pl.when(present["product_id"].is_null())
        .then(pl.lit("missing product_id"))
        .when(present["price"].is_not_null() & ~(price.is_finite() & (price >= 0)).fill_null(False))
        .then(pl.lit("invalid price"))
        .when(stock.is_not_null() & ~stock.is_in(TRUE_VALUES + FALSE_VALUES))
        .then(pl.lit("invalid in_stock"))
    )
    checked = frame.with_columns(
        line_number=pl.int_range(pl.len(), dtype=pl.Int64) + first_line,
        reason=reason,
        raw_line=pl.struct(COLUMNS).struct.json_encode(),
    )
    good = checked.filter(pl.col("reason").is_null()).select(
        "line_number",
        present["product_id"].alias("product_id"),
        *COLUMNS[1:3],
        price.alias("price"),
        *COLUMNS[4:6],
        pl.when(stock.is_in(TRUE_VALUES))
        .then(True)
        .when(stock.is_not_null())
        .then(False)
        .alias("in_stock"),
    )
    bad = checked.filter(pl.col("reason").is_not_null()).select("line_number", "raw_line", "reason")
    return CatalogueRows(good, bad)
