"""Benchmark: per-student features from a 20-million-row attendance log in Parquet.

Targets (docs/architecture.md, "Scale"; issue 4): the DuckDB engine turns 20 million
attendance rows read from Parquet into per-student features in at most 30 s
with at most 3 GB peak RSS on 2 cores. The pandas engine runs on the same
input in the same run, for comparison.

The log is written by a vectorised numpy writer (one row per student and
school day, absences drifting per student), because the full synthetic
generator is built for realism, not for 20 million rows in seconds. Each
engine runs in its own child process so that its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own. Prints one JSON object.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_features.py [--rows 20000000]
        [--threads 2] [--memory-limit 2GB] [--engines duckdb,pandas] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 30.0
TARGET_PEAK_RSS_GB = 3.0
COHORT = 2024
AS_OF = dt.date(2025, 6, 2)  # near the end of the 2024 school year


def _school_days(cohort: int, n_days: int) -> np.ndarray:
    from dropoutrisk.schema import school_year_start

    start = np.datetime64(school_year_start(cohort), "D")
    days = start + np.arange(int(n_days * 1.5) + 14)
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    return days[weekday < 5][:n_days]


def write_log(folder: Path, n_rows: int, seed: int = 0) -> dict[str, object]:
    """Write students.parquet and attendance.parquet with about ``n_rows`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    days = _school_days(COHORT, 190)
    n_students = max(1, n_rows // len(days))
    rng = np.random.default_rng(seed)
    ids = np.array([f"S{i:07d}" for i in range(n_students)], dtype=object)
    students = pa.table({
        "student_id": pa.array(ids, pa.string()),
        "cohort": pa.array(np.full(n_students, COHORT), pa.int64()),
        "school_id": pa.array([f"SCH{i % 50:02d}" for i in range(n_students)], pa.string()),
    })
    pq.write_table(students, folder / "students.parquet")

    base = rng.beta(1.2, 12.0, n_students)  # personal absence propensity
    drift = rng.normal(0.0, 0.002, n_students)  # per-week drift
    chunk = 10_000
    writer = None
    rows = 0
    try:
        for lo in range(0, n_students, chunk):
            hi = min(lo + chunk, n_students)
            m = hi - lo
            week = np.arange(len(days)) // 5
            p = np.clip(base[lo:hi, None] + drift[lo:hi, None] * week[None, :], 0.0, 0.95)
            u = rng.random((m, len(days)))
            absent = np.where(u < p, 1.0, np.where(u < p * 1.5, 0.25, 0.0)) * 300.0
            late = np.where(rng.random((m, len(days))) < 0.04, 10.0, 0.0)
            table = pa.table({
                "student_id": pa.array(np.repeat(ids[lo:hi], len(days)), pa.string()),
                "date": pa.array(np.tile(days, m), pa.date32()),
                "scheduled_minutes": np.full(m * len(days), 300.0),
                "absent_minutes": absent.ravel(),
                "excused": rng.random(m * len(days)) < 0.6,
                "late_minutes": late.ravel(),
            })
            if writer is None:
                writer = pq.ParquetWriter(folder / "attendance.parquet", table.schema)
            writer.write_table(table, row_group_size=1_000_000)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return {"students": n_students, "attendance_rows": rows, "school_days": len(days)}


def _cpu_seconds() -> float:
    """CPU time of this process, all threads: less sensitive than wall time to a busy machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(engine: str, folder: Path, threads: int, memory_limit: str) -> None:
    """Build the features once and print the timing and this process's peak RSS."""
    from dropoutrisk.features import DuckDBEngine, build_features

    tables = {"students": folder / "students.parquet",
              "attendance": str(folder / "attendance.parquet")}
    if engine == "pandas":
        import pandas as pd

        tables["students"] = pd.read_parquet(tables["students"])
        chosen: object = "pandas"
    else:
        import pandas as pd

        tables["students"] = pd.read_parquet(tables["students"])
        chosen = DuckDBEngine(memory_limit=memory_limit, threads=threads)
    t0 = time.perf_counter()
    c0 = _cpu_seconds()
    X = build_features(tables, AS_OF, engine=chosen)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - c0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_gb": round(peak_kb / 1024**2, 3),
        "students_out": int(len(X)),
        "attendance_rate_mean": round(float(X["attendance_rate"].mean()), 6),
        "attendance_trend_8w_mean": round(float(X["attendance_trend_8w"].mean()), 8),
    }))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--engines", default="duckdb,pandas")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--child", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child(args.child, args.workdir, args.threads, args.memory_limit)
        return

    own_dir = args.workdir is None
    folder = Path(tempfile.mkdtemp(prefix="bench-features-")) if own_dir else args.workdir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        data = write_log(folder, args.rows)
        data["write_seconds"] = round(time.perf_counter() - t0, 2)
        data["parquet_mb"] = round((folder / "attendance.parquet").stat().st_size / 1024**2, 1)
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": str(args.threads)}
        results: dict[str, object] = {}
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            cmd = [sys.executable, __file__, "--child", engine, "--workdir", str(folder),
                   "--threads", str(args.threads), "--memory-limit", args.memory_limit]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                results[engine] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
        duck = results.get("duckdb", {})
        report = {
            "benchmark": "features_from_parquet_attendance",
            "as_of": AS_OF.isoformat(),
            "data": data,
            "threads": args.threads,
            "duckdb_memory_limit": args.memory_limit,
            "cpu_count": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "results": results,
            "targets": {"duckdb_seconds_max": TARGET_SECONDS,
                        "duckdb_peak_rss_gb_max": TARGET_PEAK_RSS_GB},
            "duckdb_meets_targets": (
                isinstance(duck, dict) and "seconds" in duck
                and duck["seconds"] <= TARGET_SECONDS
                and duck["peak_rss_gb"] <= TARGET_PEAK_RSS_GB
            ),
        }
        print(json.dumps(report, indent=2))
    finally:
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
