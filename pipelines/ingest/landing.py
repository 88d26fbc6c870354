"""Finding landing files and reading event files into numbered lines of JSON text."""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

EVENT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".parquet")
CATALOGUE_SUFFIXES = (".csv", ".parquet")
GZIP_MAGIC = b"\x1f\x8b"

# Segment column names, and the snake_case spellings warehouse exports use for them.
PARQUET_COLUMNS = {
    "type": "type",
    "event": "event",
    "messageId": "message_id",
    "anonymousId": "anonymous_id",
    "userId": "user_id",
    "timestamp": "timestamp",
    "properties": "properties",
    "traits": "traits",
    "context": "context",
}
RAW_JSON_COLUMNS = ("properties", "traits", "context")


class FileKind(StrEnum):
    """What a landing file holds, by its name."""

    EVENTS = "events"
    CATALOGUE = "catalogue"
    UNSUPPORTED = "unsupported"


class FileRejected(Exception):
    """A whole file that cannot be read; `reason` is its quarantine reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LandingFile:
    """One candidate file: its path, path relative to the landing folder and kind."""

    path: Path
    source_file: str
    kind: FileKind


def _ignored(relative: Path) -> bool:
    """Hidden files and folders, `_SUCCESS`/`_temporary` markers, writers still in progress."""
    name = relative.name
    return any(part.startswith((".", "_")) for part in relative.parts) or name.endswith(
        (".tmp", ".part")
    )


def classify(name: str) -> FileKind:
    """Catalogue feed, events or unsupported, from the file name alone."""
    lower = name.lower()
    if lower.startswith("catalogue"):
        return FileKind.CATALOGUE if lower.endswith(CATALOGUE_SUFFIXES) else FileKind.UNSUPPORTED
    return FileKind.EVENTS if lower.endswith(EVENT_SUFFIXES) else FileKind.UNSUPPORTED


def scan_landing(landing_dir: Path) -> list[LandingFile]:
    """Every file under `landing_dir` that is not ignored, in sorted relative-path order."""
    found = []
    for path in landing_dir.rglob("*"):
        relative = path.relative_to(landing_dir)
        if path.is_file() and not _ignored(relative):
            found.append(LandingFile(path, relative.as_posix(), classify(path.name)))
    return sorted(found, key=lambda f: f.source_file)


def safe_detail(exc: BaseException) -> str:
    """A short, PII-free description of a reader error, for a quarantine reason."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"\S+@\S+", "<redacted>", text)
    text = re.sub(r"\+?\d[\d\s().-]{5,}\d", "<redacted>", text)
    return text[:120]


def _numbered(lines: pl.DataFrame) -> pl.DataFrame:
    """Number lines from 1 and drop blank ones (they are neither data nor errors)."""
    return (
        lines.with_row_index("line_number", offset=1)
        .with_columns(pl.col("line_number").cast(pl.Int64))
        .filter(pl.col("line").str.contains(r"\S"))
    )


def _text_lines(data: bytes, gzipped: bool) -> pl.DataFrame:
    """The lines of a (possibly gzipped) text file; polars decompresses gzip itself."""
    if gzipped and not data.startswith(GZIP_MAGIC):
        raise FileRejected("corrupt gzip")
    try:
        return pl.read_lines(data, name="line")
    except OSError as exc:
        raise FileRejected("corrupt gzip") from exc
    except pl.exceptions.ComputeError:
        # Invalid UTF-8 somewhere: keep the lines, with U+FFFD for the bad bytes.
        if gzipped:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise FileRejected("corrupt gzip") from exc
        text = data.decode("utf-8", errors="replace").encode()
        return pl.read_lines(text, name="line")


def _parquet_lines(data: bytes) -> pl.DataFrame:
    """Each Parquet row rendered as one Segment JSON line, so every format is checked alike."""
    try:
        frame = pl.read_parquet(data)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise FileRejected(f"unreadable parquet: {safe_detail(exc)}") from exc
    columns = {
        name: alias if alias in frame.columns and name not in frame.columns else name
        for name, alias in PARQUET_COLUMNS.items()
    }
    present = {name: source for name, source in columns.items() if source in frame.columns}
    members = [
        pl.concat_str(pl.lit(f'"{name}":'), _json_value(frame.schema[source], pl.col(source), name))
        for name, source in present.items()
    ]
    body = pl.concat_str(members, separator=",") if members else pl.lit("")
    return frame.select(pl.concat_str(pl.lit("{"), body, pl.lit("}")).alias("line"))


def _json_value(dtype: pl.DataType, col: pl.Expr, name: str) -> pl.Expr:
    """A column's values as JSON text (never null, so that concatenation keeps every row)."""
    if name in RAW_JSON_COLUMNS and dtype == pl.String:
        # JSON text is spliced in verbatim; text that is not JSON makes the whole line invalid
        # JSON, and it is quarantined like any other bad line.
        return col.fill_null("null")
    # Encoding a one-field struct gives `{"v":<value>}`; keep the value.
    return pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def read_event_lines(data: bytes, name: str) -> pl.DataFrame:
    """`line_number` (1-based) and `line` of an events file; raises FileRejected if unreadable."""
    lower = name.lower()
    if lower.endswith(".parquet"):
        return _numbered(_parquet_lines(data))
    return _numbered(_text_lines(data, gzipped=lower.endswith(".gz")))
