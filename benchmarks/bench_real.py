"""RiskModel against the logistic baseline on real, public student data. Prints JSON.

The synthetic benchmark (``bench_model.py``) ties the two models: its risk is close
to logit-linear in the indicators. This script asks the same question on real data,
where the shape of the risk is whatever it is:

- ``--uci-dropout PATH``: UCI 697 "Predict Students' Dropout and Academic Success"
  (Realinho et al. 2022, CC BY 4.0; ``data.csv``, 4,424 students of a Portuguese
  polytechnic). Label: ``Target == "Dropout"`` (Enrolled and Graduate are 0). Two
  feature sets: ``enrolment`` (what is known at enrolment: no "Curricular units"
  column) and ``first_year`` (all columns, including both semesters' results). Integer
  code columns (course, application mode, parents' qualification, ...) are categorical.
- ``--student-performance PATH``: UCI "Student Performance" (Cortez & Silva 2008,
  ``student-por.csv``) read with the dataset spec ``--spec`` (default
  ``examples/uci_student_performance_no_g1g2.toml``: fail = G3 < 10, no period grades).

These are not cohorts, so there is no out-of-time split: each data set is scored by
``--repeats`` x 5-fold stratified cross-validation. Every student gets one
out-of-fold probability per repeat from each model, with the library defaults
(``RiskModel(random_state=r)``, ``LogisticBaseline()``). For each repeat,
:func:`dropoutrisk.models.compare_models` compares the two on the same students
with a paired bootstrap (``--n-boot``). The JSON reports every repeat and the
median over repeats.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_real.py \\
        --uci-dropout ../shared/data/uci_dropout/data.csv \\
        --student-performance ../shared/data/uci_student_performance/student-por.csv
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd

_UCI_CODES = ("Marital status", "Application mode", "Course", "Previous qualification",
              "Nacionality", "Mother's qualification", "Father's qualification",
              "Mother's occupation", "Father's occupation")
_METRICS = ("roc_auc", "pr_auc", "brier", "recall_at_10pct", "recall_at_20pct")


def _uci_dropout(path: str, setup: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig")
    frame.columns = [c.strip() for c in frame.columns]
    y = (frame.pop("Target") == "Dropout").to_numpy(dtype=np.int64)
    if setup == "enrolment":
        frame = frame[[c for c in frame.columns if not c.startswith("Curricular units")]]
    for c in _UCI_CODES:
        frame[c] = frame[c].astype(str).astype("category")
    frame.index = pd.Index([f"s{i}" for i in range(len(frame))], name="student_id")
    return frame, y


def _student_performance(path: str, spec_path: str) -> tuple[pd.DataFrame, np.ndarray, object]:
    from dropoutrisk.features import build_wide_features, load_dataset_spec
    from dropoutrisk.features._wide import read_wide_table

    spec = load_dataset_spec(spec_path)
    X, y, _, catalogue = build_wide_features(read_wide_table(path, spec), spec)
    return X, np.asarray(y, dtype=np.int64), catalogue


def _compare(X: pd.DataFrame, y: np.ndarray, repeats: int, n_boot: int, n_jobs: int | None,
             catalogue=None) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from dropoutrisk.models import LogisticBaseline, RiskModel, compare_models

    runs = []
    for r in range(repeats):
        oof = {"logistic": np.full(len(y), np.nan), "model": np.full(len(y), np.nan)}
        t0 = time.perf_counter()
        for train, test in StratifiedKFold(5, shuffle=True, random_state=r).split(X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lr = LogisticBaseline(catalogue=catalogue).fit(X.iloc[train], y[train])
                rm = RiskModel(catalogue=catalogue, random_state=r, n_jobs=n_jobs).fit(
                    X.iloc[train], y[train])
            oof["logistic"][test] = lr.predict_proba(X.iloc[test])[:, 1]
            oof["model"][test] = rm.predict_proba(X.iloc[test])[:, 1]
        seconds = time.perf_counter() - t0
        cmp = compare_models(oof, y=y, reference="logistic", k_rates=(0.10, 0.20),
                             n_boot=n_boot, random_state=r)
        m, d = cmp.metrics, cmp.differences.set_index("metric")
        runs.append({
            "repeat": r, "seconds": round(seconds, 1),
            "model": {k: round(float(m.loc["model", k]), 4) for k in _METRICS},
            "logistic": {k: round(float(m.loc["logistic", k]), 4) for k in _METRICS},
            "model_minus_logistic": {
                k: {"difference": round(float(d.loc[k, "difference"]), 4),
                    "ci95": [round(float(d.loc[k, "ci_low"]), 4),
                             round(float(d.loc[k, "ci_high"]), 4)],
                    "p_not_better": round(float(d.loc[k, "p_not_better"]), 3)}
                for k in _METRICS},
        })
    median = {k: round(statistics.median(r["model_minus_logistic"][k]["difference"]
                                         for r in runs), 4) for k in _METRICS}
    better = {k: sum(1 for r in runs if (r["model_minus_logistic"][k]["ci95"][0] > 0
                                         if k != "brier" else
                                         r["model_minus_logistic"][k]["ci95"][1] < 0))
              for k in _METRICS}
    return {"students": int(len(y)), "positives": int(y.sum()),
            "features": int(X.shape[1]), "runs": runs,
            "median_difference_model_minus_logistic": median,
            "repeats_with_interval_favouring_model": better}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uci-dropout", default=None, help="path of UCI 697 data.csv")
    parser.add_argument("--student-performance", default=None,
                        help="path of student-por.csv (or student-mat.csv)")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--spec", default=os.path.join(
        here, os.pardir, "examples", "uci_student_performance_no_g1g2.toml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    if not (args.uci_dropout or args.student_performance):
        parser.error("give --uci-dropout and/or --student-performance (paths of the real data)")

    import lightgbm
    import sklearn

    report: dict = {"environment": {"lightgbm": lightgbm.__version__,
                                    "scikit-learn": sklearn.__version__,
                                    "cpus": os.cpu_count(),
                                    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")},
                    "protocol": f"{args.repeats} x stratified 5-fold CV, library defaults, "
                                f"paired bootstrap ({args.n_boot}) per repeat"}
    if args.uci_dropout:
        for setup in ("enrolment", "first_year"):
            X, y = _uci_dropout(args.uci_dropout, setup)
            report[f"uci_dropout_{setup}"] = _compare(X, y, args.repeats, args.n_boot,
                                                      args.n_jobs)
            print(f"[bench_real] uci_dropout {setup} done", file=sys.stderr, flush=True)
    if args.student_performance:
        X, y, catalogue = _student_performance(args.student_performance, args.spec)
        report["student_performance"] = {
            "spec": os.path.basename(args.spec),
            **_compare(X, y, args.repeats, args.n_boot, args.n_jobs, catalogue)}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
