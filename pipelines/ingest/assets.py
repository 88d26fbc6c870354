"""Ingest assets: landing files into the raw tables, and the sensor that notices new files."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.ingest.landing import scan_landing
from pipelines.ingest.loader import ingest_landing
from pipelines.resources import Landing, Warehouse

RAW_TABLES = ("events", "catalogue_products", "quarantine", "load_manifest")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", table], group_name="ingest", description=f"Append-only raw.{table}.")
        for table in RAW_TABLES
    ],
    can_subset=False,
)
def raw_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, landing: Landing):
    """Load new landing files into the raw tables, quarantining what breaks the contract."""
    landing_dir = Path(landing.path)
    if not landing_dir.is_dir():
        raise dg.Failure(f"landing folder {landing_dir} does not exist")
    summary = ingest_landing(warehouse.db_path, landing_dir)
    context.log.info(
        f"ingest: {summary.files_loaded} new files, {summary.events_loaded} events, "
        f"{summary.duplicates} duplicates dropped, {summary.quarantined_lines} lines and "
        f"{summary.quarantined_files} files quarantined"
    )
    per_table = {
        "events": {"rows_added": summary.events_loaded, "duplicates": summary.duplicates},
        "catalogue_products": {"rows_added": summary.catalogue_rows},
        "quarantine": {
            "lines": summary.quarantined_lines,
            "files": summary.quarantined_files,
            "reasons": dg.MetadataValue.json(summary.reasons),
        },
        "load_manifest": {
            "files_loaded": summary.files_loaded,
            "files_skipped": summary.files_skipped,
        },
    }
    for table, metadata in per_table.items():
        yield dg.MaterializeResult(asset_key=["raw", table], metadata=metadata)


ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.assets(*[["raw", t] for t in RAW_TABLES])
)


def _landing_fingerprint(landing_dir: Path) -> dict[str, str]:
    # The loader's own notion of a landing file; size and mtime notice an arrival without
    # reading it, while the loader's manifest (path + sha256) guarantees each loads once.
    return {
        f.source_file: f"{f.path.stat().st_size}:{f.path.stat().st_mtime_ns}"
        for f in scan_landing(landing_dir)
    }


@dg.sensor(
    job=ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: Landing):
    """Request an ingest run when files arrive or change in the landing folder."""
    landing_dir = Path(landing.path)
    if not landing_dir.is_dir():
        return dg.SkipReason(f"landing folder {landing_dir} does not exist yet")
    seen = json.loads(context.cursor) if context.cursor else {}
    current = _landing_fingerprint(landing_dir)
    new = sorted(name for name, stamp in current.items() if seen.get(name) != stamp)
    context.update_cursor(json.dumps(current))
    if not new:
        return dg.SkipReason("no new landing files")
    run_key = hashlib.sha256("\n".join(f"{n}={current[n]}" for n in new).encode()).hexdigest()
    return dg.RunRequest(run_key=run_key, tags={"landing_files": str(len(new))})
