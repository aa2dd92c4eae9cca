"""Benchmark of the synthetic generator, the load generator of every other benchmark.

Two cases, each run in a fresh child process through the ``dropoutrisk synth``
command so that peak memory is the child's own (``ru_maxrss``):

- ``events``: 100,000 students over four cohorts with day-level attendance
  (tens of millions of rows) streamed to Parquet in chunks.
  Targets: <= 300 s and <= 4 GB peak RSS on 2 cores.
- ``students``: 1,000,000 students, student-level tables only
  (students, outcomes, truth). Target: <= 120 s.

Prints one JSON object. Run with ``OMP_WAIT_POLICY=PASSIVE``::

    python benchmarks/bench_synth.py            # both cases
    python benchmarks/bench_synth.py --scale 0.01   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"events": {"seconds": 300, "peak_rss_mb": 4096}, "students": {"seconds": 120}}


def _child(case: str, students: int, out: str) -> None:
    """Run one case in this process and print its JSON line."""
    import pyarrow.parquet as pq

    from dropoutrisk.cli import main

    argv = ["synth", "--students", str(students), "--cohorts", "2020-2023", "--seed", "1"]
    argv += ["--out", out, "--canonical-only"]
    if case == "students":
        argv.append("--no-events")
    start = time.perf_counter()
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code:
            raise
    seconds = time.perf_counter() - start
    rows = {
        p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(Path(out).glob("*.parquet"))
    }
    size = sum(p.stat().st_size for p in Path(out).glob("*.parquet"))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "case": case,
                "students": students,
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "rows": rows,
                "parquet_mb": round(size / 2**20, 1),
            }
        )
    )


def _run(case: str, students: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as out:
        cmd = [sys.executable, __file__, "--child", case, "--students", str(students), "--out", out]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return {"case": case, "students": students, "error": proc.stderr[-2000:]}
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    target = TARGETS[case]
    result["targets"] = target
    result["within_targets"] = all(result[k] <= v for k, v in target.items())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the student counts.")
    parser.add_argument("--case", choices=["events", "students", "both"], default="both")
    parser.add_argument("--child", choices=["events", "students"], help=argparse.SUPPRESS)
    parser.add_argument("--students", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.students, args.out)
        return
    cases = {"events": 100_000, "students": 1_000_000}
    chosen = list(cases) if args.case == "both" else [args.case]
    results = [_run(c, max(100, int(cases[c] * args.scale))) for c in chosen]
    report = {
        "benchmark": "bench_synth",
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
