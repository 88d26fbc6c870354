"""One way to write to the warehouse: a DuckDB transaction that is all or nothing."""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction with `frames` readable as views; roll back on any error."""
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for name in frames:
            con.unregister(name)
