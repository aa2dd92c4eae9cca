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

Monotone constraints (``--monotone-methods``, default ``advanced``): in the same
folds and repeats, ``RiskModel(monotone=None)`` ("unconstrained") against the
constrained model of each method ("constrained_<method>"), with paired bootstrap
differences constrained - unconstrained (ROC-AUC, PR-AUC, recall at 10% and 20%,
Brier, ECE). Student performance takes its directions from the spec's
``risk_direction`` (the catalogue constraint, the default); UCI 697 has no
catalogue, so it takes the directions declared a priori in
:data:`UCI_DROPOUT_DIRECTIONS`. A SHAP check lists the declared features the
unconstrained model uses against their direction.

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
from typing import Any

import numpy as np
import pandas as pd

_UCI_CODES = ("Marital status", "Application mode", "Course", "Previous qualification",
              "Nacionality", "Mother's qualification", "Father's qualification",
              "Mother's occupation", "Father's occupation")
_METRICS = ("roc_auc", "pr_auc", "brier", "recall_at_10pct", "recall_at_20pct")

#: Risk directions for UCI 697, declared from the domain before looking at the data
#: (+1: a higher value raises dropout risk; -1: a lower value does). Columns whose
#: direction is not known a priori stay unconstrained: units enrolled, evaluated and
#: credited (more can mean a heavier load or more engagement), application order,
#: displacement, special needs, gender, nationality, the macro-economic rates and
#: every integer code (categorical, never constrained).
UCI_DROPOUT_DIRECTIONS = {
    # weaker prior attainment is the classic academic risk factor
    "Previous qualification (grade)": -1,
    "Admission grade": -1,
    # money trouble: owing fees, or fees not paid up, raises risk; a grant lowers it
    "Debtor": 1,
    "Tuition fees up to date": -1,
    "Scholarship holder": -1,
    # older entrants (work, family) leave more often than school leavers
    "Age at enrollment": 1,
    # first-year results: fewer units passed and lower grades raise risk, and units
    # without any evaluation are units the student stopped attending
    "Curricular units 1st sem (approved)": -1,
    "Curricular units 1st sem (grade)": -1,
    "Curricular units 1st sem (without evaluations)": 1,
    "Curricular units 2nd sem (approved)": -1,
    "Curricular units 2nd sem (grade)": -1,
    "Curricular units 2nd sem (without evaluations)": 1,
}


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


def _rounded_differences(d: pd.DataFrame, model: str, metrics) -> dict:
    return {k: {"difference": round(float(d.loc[(model, k), "difference"]), 4),
                "ci95": [round(float(d.loc[(model, k), "ci_low"]), 4),
                         round(float(d.loc[(model, k), "ci_high"]), 4)],
                "p_not_better": round(float(d.loc[(model, k), "p_not_better"]), 3)}
            for k in metrics}


def _favours(diff: dict, metric: str) -> int:
    """+1 when the interval favours the model, -1 the reference, 0 neither."""
    low, high = diff["ci95"]
    if metric in ("brier", "ece_equal_mass"):  # lower is better
        return 1 if high < 0 else -1 if low > 0 else 0
    return 1 if low > 0 else -1 if high < 0 else 0


def _compare(X: pd.DataFrame, y: np.ndarray, repeats: int, n_boot: int, n_jobs: int | None,
             catalogue=None, monotone: Any = "catalogue",
             methods: tuple[str, ...] = ("advanced",)) -> dict:
    from bench_model import direction_check, paired_ece
    from sklearn.model_selection import StratifiedKFold

    from dropoutrisk.models import LogisticBaseline, RiskModel, compare_models

    # "model" is the library default; the monotone comparison puts the unconstrained
    # model beside the constrained one of each method, in the same folds
    variants = {"unconstrained": {"monotone": None},
                **{f"constrained_{m}": {"monotone": monotone, "monotone_method": m}
                   for m in methods}}
    constrained = [k for k in variants if k != "unconstrained"]
    if not constrained:
        raise SystemExit("--monotone-methods needs at least one method")
    mono_metrics = (*_METRICS, "ece_equal_mass")
    runs, mono_runs = [], []
    declared: dict[str, int] = {}
    directions: dict[str, list[float]] = {}
    for r in range(repeats):
        oof = {n: np.full(len(y), np.nan) for n in ("logistic", "model", *variants)}
        seconds = dict.fromkeys(oof, 0.0)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=r).split(X, y):
            fitted = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                fitted["logistic"] = LogisticBaseline(catalogue=catalogue).fit(
                    X.iloc[train], y[train])
                seconds["logistic"] += time.perf_counter() - t0
                for name, kwargs in {"model": {}, **variants}.items():
                    t0 = time.perf_counter()
                    fitted[name] = RiskModel(catalogue=catalogue, random_state=r, n_jobs=n_jobs,
                                             **kwargs).fit(X.iloc[train], y[train])
                    seconds[name] += time.perf_counter() - t0
            for name, est in fitted.items():
                oof[name][test] = est.predict_proba(X.iloc[test])[:, 1]
            declared = fitted[constrained[0]].monotone_constraints_
            check = direction_check(fitted["unconstrained"], X.iloc[test], declared, seed=r)
            for f, v in check["features"].items():
                directions.setdefault(f, []).append(v["spearman_value_vs_shap_signed"])
        cmp = compare_models({k: oof[k] for k in ("logistic", "model")}, y=y,
                             reference="logistic", k_rates=(0.10, 0.20), n_boot=n_boot,
                             random_state=r)
        m, d = cmp.metrics, cmp.differences.set_index(["model", "metric"])
        runs.append({
            "repeat": r, "seconds": round(seconds["logistic"] + seconds["model"], 1),
            "model": {k: round(float(m.loc["model", k]), 4) for k in _METRICS},
            "logistic": {k: round(float(m.loc["logistic", k]), 4) for k in _METRICS},
            "model_minus_logistic": _rounded_differences(d, "model", _METRICS),
        })
        mono = compare_models({k: oof[k] for k in variants}, y=y, reference="unconstrained",
                              k_rates=(0.10, 0.20), n_boot=n_boot, random_state=r)
        ece = paired_ece({k: oof[k] for k in variants}, y, reference="unconstrained",
                         n_boot=n_boot, random_state=r)
        mm, md = mono.metrics, mono.differences.set_index(["model", "metric"])
        mono_runs.append({
            "repeat": r, "fit_seconds": {k: round(seconds[k], 1) for k in variants},
            **{k: {**{c: round(float(mm.loc[k, c]), 4) for c in _METRICS},
                   "ece_equal_mass": ece["ece_equal_mass"][k]} for k in variants},
            **{f"{k}_minus_unconstrained": {
                **_rounded_differences(md, k, _METRICS),
                "ece_equal_mass": ece[f"{k}_minus_unconstrained"]}
               for k in variants if k != "unconstrained"},
        })
    median = {k: round(statistics.median(r["model_minus_logistic"][k]["difference"]
                                         for r in runs), 4) for k in _METRICS}
    better = {k: sum(1 for r in runs if _favours(r["model_minus_logistic"][k], k) > 0)
              for k in _METRICS}
    monotone_summary = {
        "constraints": {"increasing": sorted(k for k, v in declared.items() if v > 0),
                        "decreasing": sorted(k for k, v in declared.items() if v < 0)},
        "median_over_repeats": {
            k: {c: round(statistics.median(r[k][c] for r in mono_runs), 4)
                for c in mono_metrics} for k in variants},
        "median_fit_seconds_per_repeat": {
            k: round(statistics.median(r["fit_seconds"][k] for r in mono_runs), 1)
            for k in variants},
        "median_difference_minus_unconstrained": {
            k: {c: round(statistics.median(r[f"{k}_minus_unconstrained"][c]["difference"]
                                           for r in mono_runs), 4) for c in mono_metrics}
            for k in constrained},
        # how many repeats have an interval that favours the constrained model (+)
        # or the unconstrained one (-)
        "repeats_with_interval_favouring": {
            k: {c: {"constrained": sum(1 for r in mono_runs if _favours(
                        r[f"{k}_minus_unconstrained"][c], c) > 0),
                    "unconstrained": sum(1 for r in mono_runs if _favours(
                        r[f"{k}_minus_unconstrained"][c], c) < 0)}
                for c in mono_metrics} for k in constrained},
        # Spearman(value, SHAP) of the unconstrained model on each test fold, signed so
        # that < 0 goes against the declared direction
        "unconstrained_model_directions": {
            f: {"median_signed_spearman": (round(statistics.median(v2), 4)
                                           if (v2 := [v for v in vs if v is not None])
                                           else None),
                "folds_against": sum(1 for v in vs if v is not None and v < 0),
                "folds": len(vs)}
            for f, vs in directions.items()},
        "runs": mono_runs,
    }
    return {"students": int(len(y)), "positives": int(y.sum()),
            "features": int(X.shape[1]), "runs": runs,
            "median_difference_model_minus_logistic": median,
            "repeats_with_interval_favouring_model": better,
            "monotone": monotone_summary}


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
    parser.add_argument("--monotone-methods", default="advanced",
                        help="monotone_constraints_method(s) of the constrained models, "
                             "e.g. advanced,intermediate,basic")
    args = parser.parse_args(argv)
    methods = tuple(m.strip() for m in args.monotone_methods.split(",") if m.strip())
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
            declared = {c: v for c, v in UCI_DROPOUT_DIRECTIONS.items() if c in X.columns}
            report[f"uci_dropout_{setup}"] = _compare(X, y, args.repeats, args.n_boot,
                                                      args.n_jobs, monotone=declared,
                                                      methods=methods)
            print(f"[bench_real] uci_dropout {setup} done", file=sys.stderr, flush=True)
    if args.student_performance:
        X, y, catalogue = _student_performance(args.student_performance, args.spec)
        report["student_performance"] = {
            "spec": os.path.basename(args.spec),
            **_compare(X, y, args.repeats, args.n_boot, args.n_jobs, catalogue,
                       methods=methods)}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
