"""Event contract: each bad line's reason, documented reasons, PII-free reasons, odd inputs."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import polars as pl
from ingest_helpers import EMAIL, PHONE, ingest, msg, quarantine, rows, write

from pipelines.ingest.contract import REASONS, line_reasons
from pipelines.ingest.landing import safe_detail

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
