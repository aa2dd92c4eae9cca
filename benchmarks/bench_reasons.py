"""Benchmark the narrative: do the reason lines agree with the numbers they print?

Prints one JSON document. The setting of issue 12: synthetic cohorts 2020-2024
(``make_cohorts``), a RiskModel trained on cohorts 2020-2022 (snapshot weeks 6,
10 and 20) and calibrated on cohort 2023, the top ``--capacity`` students per
school flagged at ``--as-of``, and every flagged student explained in Swedish
and English. Each narrated line (risk reasons and protective factors) is read
back from its printed texts by ``Explanations.check_lines``:

* ``contradicts``: the printed value is not on the side of the printed
  reference that the line claims (risk or protective), for the indicator's
  catalogue risk direction;
* ``uninformative``: the value prints the same as its reference, a placeholder
  ("unknown") is printed, a line repeats, or a missing value is narrated
  without a sentence for it.

It also counts flagged students shown as "universal" (from ``score``) and
flagged students left with no narrated reason. With ``--unconstrained`` the
same is measured for ``RiskModel(monotone=None)`` in the same run.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_reasons.py --students 20000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import pandas as pd

TRAIN, CALIB, WEEKS = [2020, 2021, 2022], 2023, [6, 10, 20]


def _frame(tables, cohorts):
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.schema import snapshot_dates

    X, y = build_training_frame(tables, snapshot_dates(cohorts, WEEKS))
    keep = (X["cohort"].isin(cohorts) & y.notna()).to_numpy()
    return X[keep], y[keep].astype(int)


def measure(model, tables, as_of: str, capacity: int, sample: int) -> dict:
    from dropoutrisk import build_features, explain_students, score

    X = build_features(tables, as_of)
    t0 = time.perf_counter()
    result = score(model, X, as_of, capacity=capacity, by="school_id", reasons=4, drift="off")
    seconds_score = time.perf_counter() - t0
    p = result.predictions.set_index("student_id").reindex(X.index.astype(str))
    flags = p["flag"].to_numpy(dtype=bool)
    ids = X.index[flags]
    out: dict = {
        "students_scored": int(len(X)),
        "flagged": int(flags.sum()),
        "flagged_shown_universal": int((p.loc[flags, "tier"].astype(str) == "universal").sum()),
        "tiers_of_flagged": p.loc[flags, "tier"].astype(str).value_counts().to_dict(),
        "score_seconds": round(seconds_score, 2),
    }
    for lang in ("sv", "en"):
        ex = explain_students(model, X, ids, flags=flags, lang=lang)
        checks = ex.check_lines()
        n = len(checks)
        by_table = checks.groupby("table")[["contradicts", "uninformative"]].sum()
        reasons = ex.reasons
        out[lang] = {
            "lines": n,
            "risk_reasons": int((checks["table"] == "reasons").sum()),
            "protective_factors": int((checks["table"] == "protective").sum()),
            "contradicting": int(checks["contradicts"].sum()),
            "contradicting_share": round(float(checks["contradicts"].mean()) if n else 0.0, 4),
            "uninformative": int(checks["uninformative"].sum()),
            "uninformative_share": round(float(checks["uninformative"].mean()) if n else 0.0, 4),
            "by_table": {k: {c: int(v) for c, v in row.items()}
                         for k, row in by_table.to_dict("index").items()},
            "flagged_without_a_reason": int(len(ids) - reasons["student_id"].nunique()),
            "reference_levels": (pd.concat([ex.reasons, ex.protective])["reference_level"]
                                 .fillna("none (missing or statement)").value_counts().to_dict()),
            "reasons_per_flagged_student": round(len(reasons) / max(len(ids), 1), 2),
        }
        if lang == "en" and sample:
            top = ex.probability.sort_values(ascending=False).index[:sample]
            out["sample_en"] = [
                {"student_id": str(s), "probability": round(float(ex.probability[s]), 3),
                 "tier": str(ex.tier[s]),
                 "reasons": reasons.loc[reasons["student_id"] == s, "sentence"].tolist(),
                 "protective": ex.protective.loc[ex.protective["student_id"] == s,
                                                 "sentence"].tolist()}
                for s in top]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2024-10-28")
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--sample", type=int, default=20,
                        help="highest-risk flagged students whose English lines are printed")
    parser.add_argument("--unconstrained", action="store_true",
                        help="also measure RiskModel(monotone=None) in the same run")
    args = parser.parse_args(argv)

    from dropoutrisk import RiskModel, make_cohorts, validate_tables

    t0 = time.perf_counter()
    cohorts = make_cohorts(args.students, cohorts=range(2020, 2025), random_state=args.seed)
    tables = validate_tables({k: v for k, v in cohorts.items() if k != "truth"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = _frame(tables, TRAIN)
        Xc, yc = _frame(tables, [CALIB])
    report: dict = {"students": args.students, "seed": args.seed, "as_of": args.as_of,
                    "capacity_per_school": args.capacity, "train_cohorts": TRAIN,
                    "calibration_cohort": CALIB, "weeks": WEEKS, "train_rows": int(len(X)),
                    "seconds_data": round(time.perf_counter() - t0, 1), "models": {}}
    settings = {"monotone=catalogue (default)": {}}
    if args.unconstrained:
        settings["monotone=None"] = {"monotone": None}
    for name, params in settings.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = RiskModel(random_state=args.seed, **params).fit(X, y, X_calib=Xc, y_calib=yc)
            report["models"][name] = measure(model, tables, args.as_of, args.capacity,
                                             args.sample if not params else 0)
        print(f"[bench_reasons] {name} done", file=sys.stderr, flush=True)
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
