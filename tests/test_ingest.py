"""Event ingest: formats, whole-file quarantine, duplicates, manifest, crash safety, catalogue."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import EMAIL, ingest, msg, quarantine, rows, text, write

from pipelines.ingest import writer


def test_jsonl_gzip_and_parquet_load_typed_with_utc_timestamps(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    write(land / "2026/11/a.jsonl", [msg("m1", timestamp="2026-11-30T10:00:00+02:00")])
    write(land / "b.ndjson.gz", [msg("m2", timestamp="2026-11-30T10:00:00.250-05:30")], gz=True)
    frame = pl.DataFrame(
        {
            "type": ["identify", "track"],
            "messageId": ["m3", "m4"],
            "userId": ["c-9", "c-9"],
            "event": [None, "Order Completed"],
            "timestamp": [datetime(2026, 11, 30, 9, tzinfo=UTC)] * 2,
            "traits": [json.dumps({"email": EMAIL}), None],
            "properties": [None, {"order_id": "o-1", "revenue": 12.5}],
        }
    )
    frame.write_parquet(land / "c.parquet")
    summary = ingest(tmp_path)
    assert (summary.files_loaded, summary.events_loaded, summary.quarantined_lines) == (3, 4, 0)
    got = rows(
        tmp_path,
        """select message_id, timestamp, _source_file, _line_number, properties->>'$.revenue',
                  traits->>'$.email' from raw.events order by message_id""",
    )
    assert got == [
        ("m1", datetime(2026, 11, 30, 8, 0), "2026/11/a.jsonl", 1, None, None),
        ("m2", datetime(2026, 11, 30, 15, 30, 0, 250000), "b.ndjson.gz", 1, None, None),
        ("m3", datetime(2026, 11, 30, 9, 0), "c.parquet", 1, None, EMAIL),
        ("m4", datetime(2026, 11, 30, 9, 0), "c.parquet", 2, "12.5", None),
    ]
    types = dict(rows(tmp_path, "select column_name, column_type from (describe raw.events)"))
    assert (types["timestamp"], types["properties"], types["_line_number"]) == (
        "TIMESTAMP",
        "JSON",
        "BIGINT",
    )


def test_unreadable_files_are_quarantined_whole_and_the_run_goes_on(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    (land / "a_junk.jsonl.gz").parent.mkdir(parents=True)
    (land / "a_junk.jsonl.gz").write_bytes(b"this is not gzip")
    (land / "b_cut.jsonl.gz").write_bytes(gzip.compress(text([msg("x")] * 500))[:-30])
    (land / "c_table.json").write_text("id,email\n1,someone@example.com\n")
    (land / "d_binary.jsonl").write_bytes(bytes(range(256)) * 4)
    (land / "e_bad.parquet").write_bytes(b"PAR1 nope")
    (land / "f_notes.txt").write_text("hello")
    (land / "catalogue-old.parquet").write_bytes(b"not parquet")
    write(land / "z_good.jsonl", [msg("m1")])
    summary = ingest(tmp_path)
    q = quarantine(tmp_path)
    assert q[("a_junk.jsonl.gz", None)] == "corrupt gzip"
    assert q[("b_cut.jsonl.gz", None)] == "corrupt gzip"
    assert q[("c_table.json", None)] == "not json lines"
    assert q[("d_binary.jsonl", None)] == "not json lines"
    assert q[("e_bad.parquet", None)].startswith("unreadable parquet: ")
    assert q[("f_notes.txt", None)] == "unsupported file type"
    assert q[("catalogue-old.parquet", None)].startswith("unreadable catalogue: ")
    assert len(q) == 7 and summary.quarantined_files == 7
    assert (summary.files_seen, summary.files_loaded, summary.events_loaded) == (8, 1, 1)
    statuses = dict(rows(tmp_path, "select source_file, status from raw.load_manifest"))
    assert statuses["z_good.jsonl"] == "loaded" and statuses["a_junk.jsonl.gz"] == "quarantined"
    assert ingest(tmp_path).files_skipped == 8


def test_hidden_underscore_and_in_progress_files_are_ignored(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    for name in (".hidden.jsonl", "_SUCCESS", "x.jsonl.tmp", "y.jsonl.part", ".staging/z.jsonl"):
        write(land / name, [msg(name)])
    write(land / "real.jsonl", [msg("m1")])
    summary = ingest(tmp_path)
    assert (summary.files_seen, summary.events_loaded) == (1, 1)


def test_duplicates_within_files_across_files_and_runs_are_dropped_and_counted(
    tmp_path: Path,
) -> None:
    land = tmp_path / "landing"
    write(land / "a.jsonl", [msg("m1"), msg("m2"), msg("m1", userId="late-copy")])
    write(land / "b.jsonl", [msg("m2"), msg("m3")])
    first = ingest(tmp_path)
    assert (first.events_loaded, first.duplicates, first.quarantined_lines) == (3, 2, 0)
    kept = rows(
        tmp_path, "select message_id, _source_file, _line_number from raw.events order by 1"
    )
    assert kept == [("m1", "a.jsonl", 1), ("m2", "a.jsonl", 2), ("m3", "b.jsonl", 2)]
    dups = dict(rows(tmp_path, "select source_file, duplicates from raw.load_manifest"))
    assert dups == {"a.jsonl": 1, "b.jsonl": 1}
    write(land / "c.jsonl", [msg("m3"), msg("m4", timestamp="2020-01-01T00:00:00Z")])
    second = ingest(tmp_path)
    assert (second.files_skipped, second.events_loaded, second.duplicates) == (2, 1, 1)
    # A file rewritten in place is read again; what it already delivered is not loaded twice.
    write(land / "a.jsonl", [msg("m1"), msg("m2"), msg("m5")])
    third = ingest(tmp_path)
    assert (third.files_loaded, third.events_loaded, third.duplicates) == (1, 1, 2)
    assert rows(tmp_path, "select count(*), count(distinct message_id) from raw.events") == [(5, 5)]


def test_a_crash_mid_run_then_a_rerun_loads_every_file_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    land = tmp_path / "landing"
    for day in range(4):
        write(land / f"d{day}.jsonl", [msg(f"m{day}-{i}") for i in range(3)] + ["{bad"])
    real_write = writer._write
    calls = []

    def crash_on_second_batch(con, files, loaded_at):
        calls.append(len(files))
        result = real_write(con, files, loaded_at)  # every insert of the batch has run...
        if len(calls) == 2:
            raise RuntimeError("power cut")  # ...but the transaction never commits
        return result

    monkeypatch.setattr(writer, "_write", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(tmp_path, batch_lines=8)
    assert rows(tmp_path, "select count(*) from raw.events") == [(6,)]
    assert rows(tmp_path, "select count(*) from raw.load_manifest") == [(2,)]
    monkeypatch.setattr(writer, "_write", real_write)
    rerun = ingest(tmp_path, batch_lines=8)
    assert (rerun.files_skipped, rerun.files_loaded, rerun.events_loaded) == (2, 2, 6)
    assert rerun.duplicates == 0
    counts = "select count(*), count(distinct message_id) from raw.events"
    assert rows(tmp_path, counts) == [(12, 12)]
    assert rows(tmp_path, "select count(*) from raw.quarantine") == [(4,)]
    assert ingest(tmp_path).files_skipped == 4


def test_batches_give_the_same_result_as_one_load(tmp_path: Path) -> None:
    for day in range(5):
        write(tmp_path / f"landing/d{day}.jsonl", [msg(f"m{i}") for i in range(day, day + 3)])
    summary = ingest(tmp_path, batch_lines=1)
    assert (summary.events_loaded, summary.duplicates) == (7, 8)


def test_catalogue_is_optional_and_bad_rows_are_quarantined(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    orders = [msg("o1", event="Order Completed", properties={"order_id": "o1", "revenue": 9})]
    write(land / "orders.jsonl", orders)
    assert ingest(tmp_path).catalogue_rows == 0  # an orders-only store loads without a feed
    (land / "catalogue.csv").write_text(
        "product_id,name,category,price,url,image_url,in_stock\n"
        "p-1,Boot,Shoes,59.0,https://s/p-1,https://s/p-1.jpg,true\n"
        ",Nameless,Shoes,10,,,true\n"
        "p-3,Hat,Hats,cheap,,,false\n"
    )
    pl.DataFrame({"product_id": ["p-4"], "price": [12.0], "in_stock": [False]}).write_parquet(
        land / "catalogue-2026-12.parquet"
    )
    summary = ingest(tmp_path)
    assert (summary.catalogue_rows, summary.quarantined_lines, summary.events_loaded) == (2, 2, 0)
    assert quarantine(tmp_path) == {
        ("catalogue.csv", 3): "missing product_id",
        ("catalogue.csv", 4): "invalid price",
    }
    got = rows(
        tmp_path, "select product_id, price, in_stock, _source_file from raw.catalogue_products"
    )
    assert sorted(got) == [
        ("p-1", 59.0, True, "catalogue.csv"),
        ("p-4", 12.0, False, "catalogue-2026-12.parquet"),
    ]
