"""Benchmark of ``validate_tables`` on a large lesson-level attendance table.

Builds ``--rows`` attendance rows for 20,000 students in memory (ids as text,
dates as datetimes, one ``lesson`` id per row: the worst case for the key
check) and validates them twice: once as pandas would hold a Parquet read,
once with dates as Python ``date`` objects (how pandas 3 reads Parquet
dates). Prints one JSON object with seconds, rows per second and peak RSS.

    python benchmarks/bench_validate.py                 # 10 million rows
    python benchmarks/bench_validate.py --rows 200000   # a quick smoke run

Target: 10 million rows in <= 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

TARGET_SECONDS_PER_10M = 60


def _tables(n_rows: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"S{i:06d}" for i in range(20_000)], dtype=object)
    students = pd.DataFrame({"student_id": ids, "cohort": 2022, "school_id": "A"})
    days = pd.date_range("2022-08-15", periods=700, freq="D").to_numpy()
    scheduled = np.full(n_rows, 60.0)
    attendance = pd.DataFrame(
        {
            "student_id": ids[rng.integers(0, len(ids), n_rows)],
            "date": days[rng.integers(0, len(days), n_rows)],
            "lesson": np.arange(n_rows).astype(str).astype(object),
            "scheduled_minutes": scheduled,
            "absent_minutes": np.floor(rng.random(n_rows) * 61),
            "excused": pd.array(rng.random(n_rows) < 0.3, dtype="boolean"),
            "late_minutes": np.zeros(n_rows),
        }
    )
    return {"students": students, "attendance": attendance}


def main() -> None:
    from dropoutrisk.schema import validate_tables

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    tables = _tables(args.rows)
    result: dict[str, object] = {"rows": args.rows}
    for case in ("datetime_dates", "python_dates"):
        if case == "python_dates":
            att = tables["attendance"]
            tables["attendance"] = att.assign(
                date=pd.Series(att["date"].dt.date.to_numpy(), dtype=object, index=att.index)
            )
        start = time.perf_counter()
        out = validate_tables(tables)
        seconds = time.perf_counter() - start
        assert len(out["attendance"]) == args.rows
        result[case] = {
            "seconds": round(seconds, 1),
            "rows_per_second": round(args.rows / seconds),
        }
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["target_seconds"] = TARGET_SECONDS_PER_10M * args.rows / 10_000_000
    print(json.dumps(result))


if __name__ == "__main__":
    main()
