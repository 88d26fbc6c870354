"""Writing one batch of landing files to the raw tables in a single DuckDB transaction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from pipelines.ingest.catalogue import CatalogueRows
from pipelines.ingest.contract import validation_sql
from pipelines.ingest.landing import FileKind

# Lines checked against the contract; the text of a line is kept only when it is quarantined.
STAGE_SQL = f"""
create or replace temp table _ingest_staged as
select * exclude (line), case when reason is not null then line end as line
from ({validation_sql("_ingest_lines")})
"""

# Good lines whose messageId was seen earlier, in this batch (file then line order) or in a
# previous load: they are counted as duplicates, neither loaded nor quarantined.
DUPLICATES_SQL = """
create or replace temp table _ingest_dups as
select file_idx, line_number from (
    select file_idx, line_number, message_id,
        row_number() over (partition by message_id order by file_idx, line_number) as nth
    from _ingest_staged where reason is null
)
where nth > 1 or message_id in (select message_id from raw.events)
"""

# Per file: lines, quarantined, whether any line was a JSON object at all, and duplicates.
FILE_STATS_SQL = """
select file_idx, count(*), count(reason),
    bool_or(reason is null or reason not in ('invalid json', 'not an object')),
    coalesce(any_value(d.n), 0)
from _ingest_staged
left join (select file_idx, count(*) as n from _ingest_dups group by file_idx) d using (file_idx)
group by file_idx
"""

INSERT_EVENTS_SQL = """
insert into raw.events
select message_id, type, event, anonymous_id, user_id, timestamp, properties, traits, context,
    f.source_file, line_number, $loaded_at
from _ingest_staged s join _ingest_files f using (file_idx)
where reason is null
    and not exists (
        select 1 from _ingest_dups d
        where d.file_idx = s.file_idx and d.line_number = s.line_number
    )
"""

INSERT_LINE_QUARANTINE_SQL = """
insert into raw.quarantine
select f.source_file, line_number, line, reason, $loaded_at
from _ingest_staged join _ingest_files f using (file_idx)
where reason is not null and f.rejected is null
order by file_idx, line_number
"""

LINE_REASONS_SQL = """
select reason, count(*) from _ingest_staged join _ingest_files f using (file_idx)
where reason is not null and f.rejected is null group by reason
"""

QUARANTINE_SCHEMA = {"file_idx": pl.Int32, "line_number": pl.Int64, "raw_line": pl.String}
MANIFEST_COUNTS = ("lines", "loaded", "duplicates", "quarantined")


@dataclass
class PendingFile:
    """A file read and waiting for its batch to be written."""

    source_file: str
    sha256: str
    kind: FileKind
    lines: pl.DataFrame | None = None  # events: line_number, line
    catalogue: CatalogueRows | None = None
    rejected: str | None = None  # reason when the whole file is quarantined

    @property
    def size(self) -> int:
        """Lines or rows it holds, to bound a batch."""
        if self.lines is not None:
            return self.lines.height
        if self.catalogue is not None:
            return self.catalogue.good.height + self.catalogue.bad.height
        return 0


@dataclass
class BatchResult:
    """What one committed batch wrote: its manifest rows and quarantine counts per reason."""

    manifest: pl.DataFrame
    reasons: Counter[str]


def _stage_events(con: duckdb.DuckDBPyConnection, files: list[PendingFile]) -> dict[int, tuple]:
    """Validate and dedupe every events line of the batch; per-file counts by batch index."""
    frames = [
        f.lines.with_columns(file_idx=pl.lit(i, pl.Int32))
        for i, f in enumerate(files)
        if f.lines is not None
    ]
    if not frames:
        return {}
    con.register("_ingest_lines", pl.concat(frames).to_arrow())
    con.execute(STAGE_SQL)
    con.unregister("_ingest_lines")
    con.execute(DUPLICATES_SQL)
    return {row[0]: row[1:] for row in con.execute(FILE_STATS_SQL).fetchall()}


def _counts(file: PendingFile, stats: tuple | None) -> tuple[int, int, int, int]:
    """Manifest lines, loaded, duplicates and quarantined of one file."""
    if file.catalogue is not None:
        return (file.size, file.catalogue.good.height, 0, file.catalogue.bad.height)
    if stats is None:
        return (0, 0, 0, 0)
    lines, quarantined, _, duplicates = stats
    if file.rejected:
        return (lines, 0, 0, lines)
    return (lines, lines - quarantined - duplicates, duplicates, quarantined)


def _manifest(files: list[PendingFile], stats: dict[int, tuple]) -> pl.DataFrame:
    """One manifest row per file; an events file without a single JSON object is rejected."""
    for i, (_, _, has_object, _) in stats.items():
        if not has_object:
            files[i].rejected = "not json lines"
    rows = [
        (i, f.source_file, f.sha256, f.kind.value, *_counts(f, stats.get(i)), f.rejected)
        for i, f in enumerate(files)
    ]
    schema = ["file_idx", "source_file", "sha256", "kind", *MANIFEST_COUNTS, "rejected"]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(
        pl.col("file_idx").cast(pl.Int32),
        status=pl.when(pl.col("rejected").is_null())
        .then(pl.lit("loaded"))
        .otherwise(pl.lit("quarantined")),
    )


def _other_quarantine(files: list[PendingFile]) -> pl.DataFrame:
    """Quarantine rows not drawn from event lines: whole files and bad catalogue rows."""
    parts = [pl.DataFrame(schema={**QUARANTINE_SCHEMA, "reason": pl.String})]
    for i, f in enumerate(files):
        if f.rejected:
            part = pl.DataFrame({"reason": [f.rejected]})
        elif f.catalogue is not None:
            part = f.catalogue.bad
        else:
            continue
        parts.append(part.with_columns(file_idx=pl.lit(i)))
    return pl.concat(parts, how="diagonal_relaxed").cast(QUARANTINE_SCHEMA)


def _catalogue_rows(files: list[PendingFile]) -> pl.DataFrame | None:
    """The good catalogue rows of the batch, tagged with their file."""
    frames = [
        f.catalogue.good.with_columns(file_idx=pl.lit(i, pl.Int32))
        for i, f in enumerate(files)
        if f.catalogue is not None
    ]
    return pl.concat(frames) if frames else None


def _write(
    con: duckdb.DuckDBPyConnection, files: list[PendingFile], loaded_at: datetime
) -> BatchResult:
    """Every insert of one batch, inside the caller's transaction."""
    stats = _stage_events(con, files)
    manifest = _manifest(files, stats)
    params = {"loaded_at": loaded_at}
    con.register("_ingest_files", manifest.to_arrow())
    reasons: Counter[str] = Counter()
    if stats:
        con.execute(INSERT_EVENTS_SQL, params)
        con.execute(INSERT_LINE_QUARANTINE_SQL, params)
        reasons.update(dict(con.execute(LINE_REASONS_SQL).fetchall()))
    other = _other_quarantine(files)
    reasons.update(other["reason"].to_list())
    con.register("_ingest_other", other.to_arrow())
    con.execute(
        """insert into raw.quarantine
           select f.source_file, line_number, raw_line, reason, $loaded_at
           from _ingest_other join _ingest_files f using (file_idx)""",
        params,
    )
    catalogue = _catalogue_rows(files)
    if catalogue is not None:
        con.register("_ingest_catalogue", catalogue.to_arrow())
        con.execute(
            """insert into raw.catalogue_products
               select product_id, name, category, price, url, image_url, in_stock,
                   f.source_file, $loaded_at
               from _ingest_catalogue join _ingest_files f using (file_idx)""",
            params,
        )
    con.execute(
        f"""insert into raw.load_manifest
            select source_file, sha256, kind, {", ".join(MANIFEST_COUNTS)}, status, $loaded_at
            from _ingest_files""",
        params,
    )
    return BatchResult(manifest, reasons)


def write_batch(
    con: duckdb.DuckDBPyConnection, files: list[PendingFile], loaded_at: datetime
) -> BatchResult:
    """Write good rows, quarantine and manifest of `files` all at once, or nothing at all."""
    con.begin()
    try:
        result = _write(con, files, loaded_at)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for view in ("_ingest_lines", "_ingest_files", "_ingest_other", "_ingest_catalogue"):
            con.unregister(view)
        con.execute("drop table if exists _ingest_staged; drop table if exists _ingest_dups")
    return result
