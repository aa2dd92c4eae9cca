"""Choose RiskModel's default LightGBM parameters on validation cohorts, never the test cohort.

Prints one JSON document.

The quality benchmark (``bench_model.py``) tests on cohort 2024. Defaults
chosen by looking at cohort 2024 would be tuned on the test set, so this
script compares candidate parameter sets on two out-of-time *validation*
folds that use only cohorts 2020-2023:

- fold ``val_2022``: train on cohorts 2020-2021 (school years up to 2022),
  validate on cohort 2022 in its first year;
- fold ``val_2023``: train on cohorts 2020-2022 (school years up to 2023),
  validate on cohort 2023 in its first year (the benchmark's calibration
  cohort, not its test cohort).

Every candidate is a full ``RiskModel`` (default calibration) and is scored
with :func:`dropoutrisk.models.evaluate` at weeks 6, 10 and 20, beside the
logistic baseline on the same rows. The candidates are LightGBM's own
defaults, the library's earlier default (depth 6, 100 rounds at 0.1) and
shallower, slower-learning trees.

Since the rounds are chosen on held-out students (``early_stopping``),
``n_estimators`` is the most rounds a candidate may keep; ``--candidates
small`` compares the default with its rounds fixed at 300 and with stronger
regularisation, for a few thousand students.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/tune_model.py --students-per-cohort 30000 \\
        --cache-dir /tmp/bench/cache
    # small data: 3,000 students over five cohorts, the notebook's 8 schools
    OMP_WAIT_POLICY=PASSIVE python benchmarks/tune_model.py --students-per-cohort 600 \\
        --n-schools 8 --candidates small --seed 0
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_model import _log, _school_year, synthetic_frame

CANDIDATES: dict[str, dict] = {
    "lightgbm_defaults": {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31,
                          "max_depth": -1, "min_child_samples": 20},
    "depth6_100x0.1": {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31,
                       "max_depth": 6, "min_child_samples": 50},
    "depth3_150x0.1": {"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 8,
                       "max_depth": 3, "min_child_samples": 50},
    "depth3_300x0.05": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 8,
                        "max_depth": 3, "min_child_samples": 50},
    "depth3_600x0.025": {"n_estimators": 600, "learning_rate": 0.025, "num_leaves": 8,
                         "max_depth": 3, "min_child_samples": 50},
    "depth2_600x0.05": {"n_estimators": 600, "learning_rate": 0.05, "num_leaves": 4,
                        "max_depth": 2, "min_child_samples": 50},
    "depth4_300x0.05": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 15,
                        "max_depth": 4, "min_child_samples": 50},
    # small data (issue 14): the default with its rounds fixed, and stronger regularisation
    "depth3_300x0.05_fixed": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 8,
                              "max_depth": 3, "min_child_samples": 50, "early_stopping": False},
    "depth3_300x0.05_leaf200": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 8,
                                "max_depth": 3, "min_child_samples": 200},
    "depth3_300x0.05_subsample0.7": {"n_estimators": 300, "learning_rate": 0.05,
                                     "num_leaves": 8, "max_depth": 3, "min_child_samples": 50,
                                     "subsample": 0.7},
    "depth3_300x0.05_lambda5": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 8,
                                "max_depth": 3, "min_child_samples": 50, "reg_lambda": 5.0},
    "depth2_300x0.05_leaf100": {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 4,
                                "max_depth": 2, "min_child_samples": 100},
}
#: The candidates compared at small data (``--candidates small``).
SMALL_DATA = ("depth3_300x0.05", "depth3_300x0.05_fixed", "depth3_300x0.05_leaf200",
              "depth3_300x0.05_subsample0.7", "depth3_300x0.05_lambda5",
              "depth2_300x0.05_leaf100")

FOLDS = {
    "val_2022": ((2020, 2021), 2022),
    "val_2023": ((2020, 2021, 2022), 2023),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students-per-cohort", type=int, default=30_000)
    parser.add_argument("--n-schools", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--data", default=None, help="folder written by `dropoutrisk synth`")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--candidates", default=",".join(c for c in CANDIDATES
                                                          if c not in SMALL_DATA[1:]),
                        help="comma-separated names, or 'small' for the small-data set")
    args = parser.parse_args(argv)

    from dropoutrisk.models import LogisticBaseline, RiskModel, evaluate

    X, y, *_ = synthetic_frame(args.students_per_cohort, args.n_schools, args.seed,
                               args.cache_dir, args.data)
    year = _school_year(X["as_of"])
    cohort = X["cohort"].to_numpy()
    names = list(SMALL_DATA) if args.candidates == "small" else args.candidates.split(",")
    folds: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN labels (censored) are dropped with a warning
        for fold, (train_cohorts, val_cohort) in FOLDS.items():
            train = np.isin(cohort, train_cohorts) & (year <= val_cohort)
            val = (cohort == val_cohort) & (year == val_cohort)
            Xtr, ytr, Xv, yv = X[train], y[train], X[val], y[val]
            models = {"logistic": LogisticBaseline().fit(Xtr, ytr)}
            seconds = {}
            for name in names:
                t0 = time.perf_counter()
                models[name] = RiskModel(**CANDIDATES[name], baseline_check=False,
                                         random_state=args.seed, n_jobs=args.n_jobs).fit(Xtr, ytr)
                seconds[name] = round(time.perf_counter() - t0, 1)
                _log(f"{fold}: {name} fitted in {seconds[name]} s")
            m = evaluate(models=models, X=Xv, y=yv, flag_rate=0.10).metrics
            folds[fold] = {
                "rows": {"train": int(train.sum()), "validation": int(val.sum())},
                "positives": int(np.nansum(yv)),
                "metrics": {n: {"roc_auc": round(float(m.loc[n, "roc_auc"]), 4),
                                "recall_at_10pct": round(float(m.loc[n, "recall_at_10pct"]), 4),
                                "ece_equal_mass": round(float(m.loc[n, "ece_equal_mass"]), 4),
                                "fit_seconds": seconds.get(n),
                                "rounds": getattr(models[n], "n_estimators_", None)}
                            for n in ["logistic", *names]},
            }
    summary = {}
    for n in ["logistic", *names]:
        rec = [folds[f]["metrics"][n]["recall_at_10pct"] for f in FOLDS]
        auc = [folds[f]["metrics"][n]["roc_auc"] for f in FOLDS]
        summary[n] = {"mean_recall_at_10pct": round(statistics.mean(rec), 4),
                      "mean_roc_auc": round(statistics.mean(auc), 4),
                      "recall_over_logistic": [
                          round(folds[f]["metrics"][n]["recall_at_10pct"]
                                / folds[f]["metrics"]["logistic"]["recall_at_10pct"], 4)
                          for f in FOLDS]}
    report = {"students_per_cohort": args.students_per_cohort, "seed": args.seed,
              "candidates": {n: CANDIDATES[n] for n in names}, "folds": folds,
              "summary": summary,
              "best_by_mean_recall": max(names, key=lambda n: summary[n]["mean_recall_at_10pct"]),
              "best_by_mean_auc": max(names, key=lambda n: summary[n]["mean_roc_auc"])}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
