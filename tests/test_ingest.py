"""Event ingest: contract checks, quarantine, duplicates, manifest and crash safety."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest import writer
from pipelines.ingest.contract import REASONS, line_reasons
from pipelines.ingest.landing import safe_detail
from pipelines.ingest.loader import IngestSummary, ingest_landing

LOADED_AT = datetime(2026, 12, 1, 6, 0)
EMAIL, PHONE = "ann.secret@example.com", "+33612345678"


def msg(message_id: str, **fields: object) -> dict:
    """A valid Segment track call; `fields` override or (with None) remove keys."""
    record = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": message_id,
        "anonymousId": "a-1",
        "userId": "c-1",
        "timestamp": "2026-11-30T10:00:00Z",
        "properties": {"product_id": "p-1", "category": "Shoes", "price": 59.0},
        "context": {"timezone": "Europe/Paris"},
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def text(records: list[dict | str]) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def write(path: Path, records: list[dict | str], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text(records)) if gz else text(records))
    return path


def ingest(tmp_path: Path, **kwargs: object) -> IngestSummary:
    return ingest_landing(
        tmp_path / "w.duckdb", tmp_path / "landing", loaded_at=LOADED_AT, **kwargs
    )


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def quarantine(tmp_path: Path) -> dict[tuple[str, int | None], str]:
    found = rows(tmp_path, "select source_file, line_number, reason from raw.quarantine")
    return {(f, n): r for f, n, r in found}


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


BAD_LINES: list[tuple[dict | str, str]] = [
    ("{not json", "invalid json"),
    ("[1, 2]", "not an object"),
    ("{}", "missing messageId"),
    (msg("  "), "missing messageId"),
    (msg("b1", type="alias"), "unknown type"),
    (msg("b2", event=None), "missing event"),
    (msg("b3", anonymousId=None, userId=""), "missing identity"),
    (msg("b4", timestamp=None), "missing timestamp"),
    (msg("b5", timestamp="yesterday"), "invalid timestamp"),
    (msg("b6", timestamp="2026-11-30T10:00:00"), "timestamp without time zone"),
    (msg("b7", properties=["x"]), "invalid properties"),
    (msg("b8", event="Order Completed", properties={"revenue": 5}), "missing properties.order_id"),
    (
        msg("b9", event="Order Completed", properties={"order_id": "o", "revenue": "lots"}),
        "invalid properties.revenue",
    ),
    (
        msg("b9n", event="Checkout Started", properties={"cart_id": "k", "revenue": "NaN"}),
        "invalid properties.revenue",
    ),
    (msg("b10", properties={"category": "Shoes"}), "missing properties.product_id"),
    (
        msg("b11", event="Product Added", properties={"product_id": "p"}),
        "missing properties.cart_id",
    ),
    (
        msg("b12", event="Product Reviewed", properties={"product_id": "p", "rating": 6}),
        "invalid properties.rating",
    ),
    (
        msg(
            "b13",
            event="Subscription Updated",
            properties={"channel": "fax", "status": "subscribed"},
        ),
        "invalid properties.channel",
    ),
    (
        msg("b14", event="Subscription Updated", properties={"channel": "sms", "status": "maybe"}),
        "invalid properties.status",
    ),
]


def test_each_bad_line_is_quarantined_with_its_reason_and_good_lines_still_load(
    tmp_path: Path,
) -> None:
    good = [
        msg("g1", type="identify", event=None, properties=None, traits={"email": EMAIL}),
        msg("g2", type="page", event=None, properties={"path": "/"}),
        msg("g3", event="Some Custom Event", properties={}),
        msg("g4", event="Order Completed", properties={"order_id": "o", "revenue": "12.50"}),
        msg("g5", event="Email Bounced", properties={}),
        msg("g6", event="Product Reviewed", properties={"product_id": "p", "rating": "4"}),
    ]
    records = [bad for bad, _ in BAD_LINES] + ["", "   "] + good
    write(tmp_path / "landing/mixed.jsonl", records)
    summary = ingest(tmp_path)
    expected = {("mixed.jsonl", i + 1): reason for i, (_, reason) in enumerate(BAD_LINES)}
    assert quarantine(tmp_path) == expected
    assert summary.events_loaded == len(good)
    assert summary.quarantined_lines == len(BAD_LINES) and summary.quarantined_files == 0
    assert summary.reasons == Counter(reason for _, reason in BAD_LINES)
    raw = rows(tmp_path, "select raw_line from raw.quarantine where line_number = 1")
    assert raw == [("{not json",)]
    manifest = rows(tmp_path, "select lines, loaded, quarantined, status from raw.load_manifest")
    assert manifest == [(len(BAD_LINES) + len(good), len(good), len(BAD_LINES), "loaded")]


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


def test_quarantine_reasons_never_carry_contact_details(tmp_path: Path) -> None:
    traits = {"email": EMAIL, "phone": PHONE}
    records = [
        msg("p1", type="identify", timestamp=EMAIL, traits=traits),
        msg("p2", type=PHONE, traits=traits),
        msg(EMAIL, event="Subscription Updated", properties={"channel": PHONE, "status": EMAIL}),
        '{"messageId": "p4", "traits": {"email": "' + EMAIL + '"',
    ]
    write(tmp_path / "landing/pii.jsonl", records)
    (tmp_path / "landing/catalogue.csv").write_text(f"product_id,price\n,{PHONE}\np,{EMAIL}\n")
    ingest(tmp_path)
    reasons = [r for (r,) in rows(tmp_path, "select reason from raw.quarantine")]
    assert len(reasons) == 6
    assert not any(EMAIL in r or PHONE in r or "secret" in r for r in reasons)
    assert EMAIL in rows(tmp_path, "select string_agg(raw_line) from raw.quarantine")[0][0]
    detail = safe_detail(ValueError(f"bad value {EMAIL} near {PHONE} in row 3"))
    assert EMAIL not in detail and PHONE not in detail and detail.startswith("bad value")


def test_invalid_utf8_and_crlf_lines_are_read(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    land.mkdir()
    good = json.dumps(msg("m1")).encode()
    (land / "a.jsonl").write_bytes(good + b"\r\n" + b'{"messageId": "\xff\xfe"}\r\n')
    summary = ingest(tmp_path)
    assert (summary.events_loaded, summary.reasons) == (1, {"unknown type": 1})


def test_parquet_with_snake_case_columns_and_naive_timestamps(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pl.DataFrame(
        {
            "type": ["page", "page"],
            "message_id": ["m1", "m2"],
            "anonymous_id": ["a-1", "a-1"],
            "timestamp": ["2026-11-30T10:00:00+01:00", None],
            "context": ['{"timezone": "Europe/Paris"}', "{broken"],
        }
    ).write_parquet(buffer)
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing/p.parquet").write_bytes(buffer.getvalue())
    pl.DataFrame(
        {
            "type": ["page"],
            "messageId": ["m3"],
            "userId": ["c"],
            "timestamp": [datetime(2026, 11, 30, 10)],
        }
    ).write_parquet(tmp_path / "landing/q.parquet")
    summary = ingest(tmp_path)
    assert summary.events_loaded == 1
    assert quarantine(tmp_path) == {
        ("p.parquet", 2): "invalid json",
        ("q.parquet", 1): "timestamp without time zone",
    }
    assert rows(tmp_path, "select context->>'$.timezone' from raw.events") == [("Europe/Paris",)]


def test_every_reason_a_line_can_get_is_documented() -> None:
    for reason in line_reasons():
        assert re.sub(r"properties\.\w+$", "properties.<name>", reason) in REASONS
    assert {reason for _, reason in BAD_LINES} <= set(line_reasons())
