"""OULAD: does the per-school drift check find the BBB-2014J assessment fault?

In OULAD's BBB-2014J presentation one assessment was scored 1 or 100 instead of 0-100.
The pooled drift check read only "watch" for it. Here, as in ``bench_oulad.py``, a
module is a school (``school_id`` = ``code_module``) and the reference is profiled like
``dropoutrisk train`` does (the 2013 presentations at days 14, 30, 60 and 90 after each
start, pooled and per snapshot week, per school). Each 2014 presentation (B, then J) is
checked on its own at each day, so a module's rows are one module-presentation. Printed
as JSON: per day and presentation, the pooled status and PSI of the assessment scores,
and every school (module) the per-school check puts at drift or watch, with its features.
Run with ``OMP_WAIT_POLICY=PASSIVE``::

    python benchmarks/bench_oulad_drift.py --oulad ../shared/data/oulad/parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAYS = (14, 30, 60, 90)
SCORES = ("tma_mean_score", "cma_mean_score")


def _rows(tables, cohort: int, days, catalogue, presentation: str | None = None):
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.schema import snapshot_dates

    students = tables["students"]
    if presentation is not None:  # B starts in February, J in October
        month = {"B": 2, "J": 10}[presentation]
        students = students.loc[students["start_date"].dt.month == month]
    snaps = snapshot_dates([cohort], days=list(days), students=students)
    X, _ = build_training_frame(tables, snaps, horizon_days=365, catalogue=catalogue)
    return X[(X["cohort"] == cohort).to_numpy()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oulad", type=Path, required=True,
                        help="Folder of the OULAD Parquet files.")
    parser.add_argument("--tables", type=Path, default=None,
                        help="Folder to cache the canonical tables in (made once).")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_oulad import _tables

    from dropoutrisk.features import load_indicators
    from dropoutrisk.models import TrainingProfile, check_drift

    started = time.perf_counter()
    tables = _tables(args.oulad, args.tables)
    tables["students"]["start_date"] = tables["students"]["start_date"].astype("datetime64[ns]")
    catalogue = load_indicators(ROOT / "examples" / "oulad" / "indicators.toml")
    profile = TrainingProfile.from_features(_rows(tables, 2013, DAYS, catalogue), by_week=True)
    out = {"reference": "2013 presentations at days 14/30/60/90, per week and module",
           "modules_stored": sorted(profile.schools["profiles"]), "checks": []}
    for presentation in ("B", "J"):
        for day in DAYS:
            X = _rows(tables, 2014, (day,), catalogue, presentation)
            as_of = X["as_of"].iloc[0]
            report = check_drift(profile, X, as_of=as_of)
            pooled = report.table.set_index("feature")
            detail = report.school_table
            named = []
            for s in report.schools.itertuples(index=False):
                if s.status == "ok":
                    continue
                rows = detail[(detail["school_id"] == s.school_id) & (detail["status"] != "ok")]
                named.append({
                    "module": f"{s.school_id}-2014{presentation}", "status": s.status,
                    "students": int(s.n_rows), "reference": s.reference,
                    "features": {r.feature: {
                        "status": r.status,
                        "psi": None if r.psi is None else round(float(r.psi), 3),
                        "psi_p_adjusted": None if r.psi_p_adjusted is None
                        else float(f"{r.psi_p_adjusted:.3g}"),
                        "missing_train": round(float(r.missing_train), 3),
                        "missing_now": round(float(r.missing_now), 3)}
                        for r in rows.itertuples(index=False)}})
            out["checks"].append({
                "presentation": f"2014{presentation}", "day": day,
                "as_of": str(as_of.date()), "rows": int(len(X)),
                "reference_week": report.reference.get("week"),
                "pooled": {f: {"status": pooled.loc[f, "status"],
                               "psi": round(float(pooled.loc[f, "psi"]), 3)}
                           for f in SCORES if f in pooled.index},
                "pooled_drift_features": pooled.index[pooled["status"] == "drift"].tolist(),
                "schools_checked": int(len(report.schools)),
                "schools_named": named})
            print(f"{presentation} day {day}: {report.drifted_schools}", file=sys.stderr,
                  flush=True)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
