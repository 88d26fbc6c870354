"""The shared write path: all or nothing, and no registered frame left behind."""

import duckdb
import polars as pl
import pytest

from pipelines.warehouse import transaction


def test_a_failing_block_writes_nothing_and_unregisters_its_frames() -> None:
    con = duckdb.connect()
    con.execute("create table t (x integer)")
    with pytest.raises(RuntimeError), transaction(con, rows=pl.DataFrame({"x": [1, 2]})):
        con.execute("insert into t select x from rows")
        raise RuntimeError("crash mid-write")
    assert con.execute("select count(*) from t").fetchone() == (0,)
    with pytest.raises(duckdb.CatalogException):
        con.execute("select * from rows")


def test_a_block_that_finishes_commits() -> None:
    con = duckdb.connect()
    con.execute("create table t (x integer)")
    with transaction(con, rows=pl.DataFrame({"x": [1, 2]})):
        con.execute("insert into t select x from rows")
    assert con.execute("select sum(x) from t").fetchone() == (3,)
