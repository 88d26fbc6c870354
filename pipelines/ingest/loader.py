"""Load a landing folder into the raw tables: events, catalogue feed, quarantine, manifest.

Files are read in sorted path order and written in batches of about `batch_lines` lines, each
batch in one transaction together with its manifest rows, so that a crash loads nothing twice
and loses nothing: a re-run skips exactly the files whose (path, sha256) the manifest holds.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.ingest.catalogue import read_catalogue
from pipelines.ingest.landing import (
    FileKind,
    FileRejected,
    LandingFile,
    read_event_lines,
    scan_landing,
)
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.ingest.writer import BatchResult, PendingFile, write_batch

# Files read ahead of the batch being written: enough to hide reading, small for memory.
READ_AHEAD_FILES = 4


@dataclass
class IngestSummary:
    """Counts of one ingest run."""

    files_seen: int = 0
    files_loaded: int = 0
    files_skipped: int = 0  # already in the manifest with the same sha256
    events_loaded: int = 0
    duplicates: int = 0
    quarantined_lines: int = 0
    quarantined_files: int = 0
    catalogue_rows: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # quarantine rows per reason

    def add(self, batch: BatchResult) -> None:
        """Fold in the counts of one committed batch."""
        for row in batch.manifest.iter_rows(named=True):
            if row["status"] == "quarantined":
                self.quarantined_files += 1
                continue
            self.files_loaded += 1
            self.quarantined_lines += row["quarantined"]
            if row["kind"] == FileKind.CATALOGUE:
                self.catalogue_rows += row["loaded"]
            else:
                self.events_loaded += row["loaded"]
                self.duplicates += row["duplicates"]
        self.reasons = dict(Counter(self.reasons) + batch.reasons)


def _read(file: LandingFile, known: set[tuple[str, str]]) -> PendingFile | None:
    """Read and parse one file; None when the manifest already holds these very bytes."""
    data = file.path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if (file.source_file, sha256) in known:
        return None
    pending = PendingFile(file.source_file, sha256, file.kind)
    try:
        if file.kind is FileKind.EVENTS:
            pending.lines = read_event_lines(data, file.path.name)
        elif file.kind is FileKind.CATALOGUE:
            pending.catalogue = read_catalogue(data, file.path.name)
        else:
            pending.rejected = "unsupported file type"
    except FileRejected as exc:
        pending.rejected = exc.reason
    return pending


def _read_ahead(
    files: list[LandingFile], known: set[tuple[str, str]]
) -> Iterator[PendingFile | None]:
    """`_read` of each file, done on a worker thread a few files ahead of the caller.

    Reading and parsing (polars, hashlib) release the GIL, so the next files are read while
    DuckDB validates and writes the current batch.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read")
    ahead: deque[Future[PendingFile | None]] = deque()
    try:
        for file in files:
            ahead.append(pool.submit(_read, file, known))
            if len(ahead) > READ_AHEAD_FILES:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _utc_naive(moment: datetime | None) -> datetime:
    """`moment` (now by default) as naive UTC; a naive `moment` is taken to be UTC already."""
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def ingest_connection(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    *,
    loaded_at: datetime | None = None,
    batch_lines: int = 2_000_000,
) -> IngestSummary:
    """Load the new files of `landing_dir` through an open connection (see module doc)."""
    ensure_raw_schema(con)
    stamp = _utc_naive(loaded_at)
    known = set(con.execute("select source_file, sha256 from raw.load_manifest").fetchall())
    summary = IngestSummary()
    batch: list[PendingFile] = []
    files = scan_landing(Path(landing_dir))
    summary.files_seen = len(files)
    for pending in _read_ahead(files, known):
        if pending is None:
            summary.files_skipped += 1
            continue
        batch.append(pending)
        if sum(f.size for f in batch) >= batch_lines:
            summary.add(write_batch(con, batch, stamp))
            batch = []
    if batch:
        summary.add(write_batch(con, batch, stamp))
    return summary


def ingest_landing(
    db_path: Path | str,
    landing_dir: Path,
    *,
    loaded_at: datetime | None = None,
    batch_lines: int = 2_000_000,
) -> IngestSummary:
    """Load the new files of `landing_dir` into the DuckDB file `db_path`, then close it."""
    con = duckdb.connect(str(db_path))
    try:
        return ingest_connection(con, landing_dir, loaded_at=loaded_at, batch_lines=batch_lines)
    finally:
        con.close()
