"""Per-school drift on unchanged synthetic cohorts: how often does it raise a false alarm?

For each seed, ``make_cohorts`` writes cohorts 2020-2023 at ``--schools`` schools. The
reference is profiled like ``dropoutrisk train`` does (school years 2021 and 2022, weeks
6, 10 and 20, pooled and per week, per school); the check is the weekly job's: every
student enrolled at week 10 of school year 2023, compared with training week 10 and
re-weighted to today's mix of year groups. Nothing changed between the years, so every
finding is a false alarm. A second null splits the students of school year 2023 in two
random halves (reference and current: the same population, by construction).

A third part plants a fault: at one school, the teacher rating item
``aca_tasks_completed`` is recorded on a 1-10 scale (the value doubled) instead of 1-5, and
reports whether the per-school check names that school and what the pooled check says.

Printed as JSON. Run with ``OMP_WAIT_POLICY=PASSIVE``::

    python benchmarks/bench_drift.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

FAULT_ITEM = "aca_tasks_completed"


def _tables(n_students: int, n_schools: int, seed: int):
    from dropoutrisk.schema import validate_tables
    from dropoutrisk.synthetic import make_cohorts

    raw = make_cohorts(n_students, range(2020, 2024), n_schools=n_schools, random_state=seed)
    return validate_tables({k: v for k, v in raw.items() if k != "truth"})


def _reference(tables):
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.models import TrainingProfile
    from dropoutrisk.schema import snapshot_dates

    X, _ = build_training_frame(tables, snapshot_dates([2021, 2022], weeks=(6, 10, 20)),
                                horizon_days=365)
    return TrainingProfile.from_features(X, by_week=True)


def _counts(report) -> dict:
    pooled = report.table["status"].value_counts()
    schools = report.school_table["status"].value_counts()
    from dropoutrisk.models.drift._schools import SCHOOL_FDR

    p = report.school_table[["psi_p_adjusted", "missing_p_adjusted"]].astype(float)
    return {"school_tests_significant": int((p < SCHOOL_FDR).to_numpy().sum()),"pooled_drift": int(pooled.get("drift", 0)), "pooled_watch": int(pooled.get("watch", 0)),
            "school_drift": int(schools.get("drift", 0)),
            "school_watch": int(schools.get("watch", 0)),
            "school_tests": int(report.school_table[["psi_p_adjusted", "missing_p_adjusted"]]
                                .notna().to_numpy().sum()),
            "schools_checked": len(report.schools)}


def _rate(runs: list[dict], key: str) -> float:
    return round(float(np.mean([r[key] > 0 for r in runs])), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--students", type=int, default=4000)
    parser.add_argument("--schools", type=int, default=10)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    from dropoutrisk.features import build_features
    from dropoutrisk.models import TrainingProfile, check_drift

    day = "2023-10-30"  # week 10 of school year 2023
    later_year, halves, fault = [], [], []
    started = time.perf_counter()
    for seed in range(args.seeds):
        tables = _tables(args.students, args.schools, seed)
        profile = _reference(tables)
        now = build_features(tables, day)
        later_year.append(_counts(check_drift(profile, now, as_of=day)))
        rng = np.random.default_rng(seed)
        half = rng.random(len(now)) < 0.5
        split = check_drift(TrainingProfile.from_features(now[half]), now[~half])
        halves.append(_counts(split))
        # the planted fault: one school's item on 0-100
        school = sorted(now["school_id"].unique())[seed % args.schools]
        students = tables["students"].loc[tables["students"]["school_id"] == school,
                                          "student_id"]
        a = tables["assessments"].copy()
        hit = a["student_id"].isin(students) & (a["item"] == FAULT_ITEM)
        a.loc[hit, "value"] = a.loc[hit, "value"] * 2.0  # 1-5 recorded on a 1-10 scale
        faulty = check_drift(profile, build_features({**tables, "assessments": a}, day),
                             as_of=day)
        pooled = faulty.table.set_index("feature")
        fault.append({"school": school, "named": faulty.drifted_schools,
                      "pooled_status": pooled.loc["teacher_academic_rating", "status"],
                      "pooled_psi": round(float(pooled.loc["teacher_academic_rating", "psi"]), 3)})
    out = {
        "seeds": args.seeds, "students": args.students, "schools": args.schools,
        "check": f"week 10 of 2023 ({day}) against training weeks 6/10/20 of 2021-2022",
        "false_alarms_next_year": {
            "runs_with_a_school_at_drift": _rate(later_year, "school_drift"),
            "runs_with_a_school_at_watch": _rate(later_year, "school_watch"),
            "runs_with_pooled_drift": _rate(later_year, "pooled_drift"),
            "runs_with_a_significant_school_test": _rate(later_year, "school_tests_significant"),
            "school_feature_rows_at_drift_per_run": float(np.mean(
                [r["school_drift"] for r in later_year])),
            "school_feature_rows_at_watch_per_run": float(np.mean(
                [r["school_watch"] for r in later_year])),
            "tests_per_run": float(np.mean([r["school_tests"] for r in later_year])),
        },
        "false_alarms_random_halves": {
            "runs_with_a_school_at_drift": _rate(halves, "school_drift"),
            "runs_with_a_school_at_watch": _rate(halves, "school_watch"),
            "runs_with_pooled_drift": _rate(halves, "pooled_drift"),
            "runs_with_a_significant_school_test": _rate(halves, "school_tests_significant"),
            "tests_per_run": float(np.mean([r["school_tests"] for r in halves])),
        },
        "planted_fault": {
            "item": f"{FAULT_ITEM} doubled (1-10 for 1-5) at one school (feature "
                    "teacher_academic_rating)",
            "school_named": float(np.mean([f["school"] in f["named"] for f in fault])),
            "other_schools_named": int(sum(len(set(f["named"]) - {f["school"]}) for f in fault)),
            "pooled_status": pd.Series([f["pooled_status"] for f in fault]).value_counts()
            .to_dict(),
            "pooled_psi_median": float(np.median([f["pooled_psi"] for f in fault])),
        },
        "runs": {"next_year": later_year, "fault": fault},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
