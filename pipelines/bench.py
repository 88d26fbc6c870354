"""`make bench`: wall time, peak memory and throughput of generation and ingest.

Each step runs as its own `journey` process so its peak RSS is its own; the table gives the
command that reproduces each row. Generated stores are cached under .bench/ between runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import REPO_ROOT
from pipelines.summary import format_table

BENCH_DIR = REPO_ROOT / ".bench"
JOURNEY = str(Path(sys.executable).parent / "journey")
# People per store, calibrated so the stores hold about 1M and 10M events over a year.
STORES = {"1M": 36_000, "10M": 360_000}
# The whole pipeline (ingest, dbt, churn, journeys) is measured on the smaller store only.
FULL_RUN_STORES = {"1M"}
DAYS = 365
END = "2026-11-30T00:00:00Z"


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    peak_rss_mb: float


def measure(cmd: list[str]) -> Measurement:
    """Run a command, returning its wall time and its own peak resident memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {shlex.join(cmd)}")
    return Measurement(wall_s=wall, peak_rss_mb=usage.ru_maxrss / 1024)


def count_events(landing: Path) -> int:
    import polars as pl

    files = sorted(str(p) for p in (landing / "events").glob("*.jsonl.gz"))
    return sum(
        pl.read_csv(f, has_header=False, separator="\x1f", quote_char=None).height for f in files
    )


def _shown(cmd: list[str]) -> str:
    """The command as a person reruns it from the repository root."""
    return shlex.join([".venv/bin/journey", *cmd[1:]]).replace(f"{REPO_ROOT}/", "")


def bench_store(label: str, people: int) -> list[tuple]:
    store = BENCH_DIR / f"store-{label}"
    timing = store / "_generate_timing.json"
    gen_cmd = [JOURNEY, "generate", "--customers", str(people), "--days", str(DAYS),
               "--seed", "1", "--end", END, "--out", str(store)]  # fmt: skip
    if not timing.exists():
        shutil.rmtree(store, ignore_errors=True)
        m = measure(gen_cmd)
        record = {"wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb, "events": count_events(store)}
        timing.write_text(json.dumps(record))
    cached = json.loads(timing.read_text())
    events = cached["events"]
    steps = [("generate", gen_cmd, Measurement(cached["wall_s"], cached["peak_rss_mb"]))]
    for step, command in (("ingest", "ingest"), ("run (all steps)", "run")):
        if command == "run" and label not in FULL_RUN_STORES:
            continue
        path = BENCH_DIR / f"{command}-{label}.duckdb"
        path.unlink(missing_ok=True)
        cmd = [JOURNEY, command, "--landing", str(store), "--db", str(path)]
        cmd += ["--as-of", END] if command == "run" else []
        steps.append((step, cmd, measure(cmd)))
    return [
        (step, label, events, round(m.wall_s, 1), round(m.peak_rss_mb), int(events / m.wall_s),
         _shown(cmd))
        for step, cmd, m in steps
    ]  # fmt: skip


def main() -> None:
    BENCH_DIR.mkdir(exist_ok=True)
    rows = [row for label, people in STORES.items() for row in bench_store(label, people)]
    print(
        format_table(
            ["step", "store", "events", "wall s", "peak RSS MB", "events/s", "command"], rows
        )
    )
    print("\nGeneration timings are cached with each store; delete .bench/ to re-measure them.")


if __name__ == "__main__":
    main()
