"""Small data: the default RiskModel against the logistic baseline and the ABC rule, over seeds.

Prints one JSON document.

Most municipalities have one or two upper-secondary schools, so the defaults
must hold up at 1,000-5,000 students. For each size (``--sizes``, students
over five cohorts 2020-2024, ``--schools`` schools) and each seed
(``--seeds``), synthetic cohorts (``dropoutrisk.synthetic.make_cohorts``) go
through the quick-start notebook's out-of-time split: train on cohorts
2020-2022, calibrate on cohort 2023 (``X_calib``), test on cohort 2024 at
weeks 6, 10 and 20. On the test rows, per seed:

- ROC-AUC, PR-AUC and recall at a 10% flag rate of the default ``RiskModel``
  (rounds chosen on held-out training students), of the same model with the
  fixed 300 rounds of the earlier default (``early_stopping=False``), of the
  logistic baseline and of the ABC rule;
- the paired difference model - logistic with its 95% interval
  (``compare_models``: bootstrap over students, 1,000 replicates);
- the rounds the model chose, and whether its own held-out check inside the
  training cohorts raised a ``BaselineWarning``.

Per size: the medians over seeds of every metric and difference, and how many
seeds have an interval wholly above or wholly below 0 ("beyond noise").

Nothing here tunes a default: the test cohort is only measured.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_small.py --sizes 1000,3000,10000 \\
        --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings

import numpy as np

COHORTS = range(2020, 2025)
TRAIN, CALIB, TEST = (2020, 2021, 2022), 2023, 2024
WEEKS = (6, 10, 20)
METRICS = ("roc_auc", "pr_auc", "recall_at_10pct")


def _log(message: str) -> None:
    print(f"[bench_small {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def one_seed(n_students: int, n_schools: int, seed: int, n_boot: int) -> dict:
    """Every model on one synthetic data set; aggregates only."""
    import dropoutrisk as dr
    from dropoutrisk.errors import BaselineWarning
    from dropoutrisk.schema import snapshot_dates

    t0 = time.perf_counter()
    cohorts = dr.make_cohorts(n_students, cohorts=COHORTS, n_schools=n_schools,
                              random_state=seed)
    tables = dr.validate_tables({k: v for k, v in cohorts.items() if k != "truth"})
    X, y = dr.build_training_frame(tables, snapshot_dates(COHORTS, weeks=WEEKS))
    t_data = time.perf_counter() - t0
    split = dr.out_of_time_split(X, y, train_cohorts=TRAIN, calib_cohort=CALIB, test_cohort=TEST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")  # NaN labels (censored) are dropped with a warning
        warnings.simplefilter("always", BaselineWarning)
        t0 = time.perf_counter()
        model = dr.RiskModel(random_state=seed).fit(
            split.X_train, split.y_train, X_calib=split.X_calib, y_calib=split.y_calib)
        t_fit = time.perf_counter() - t0
    warned = sorted({str(w.message).split(",")[0] for w in caught
                     if issubclass(w.category, BaselineWarning)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = dr.RiskModel(random_state=seed, early_stopping=False, baseline_check=False).fit(
            split.X_train, split.y_train, X_calib=split.X_calib, y_calib=split.y_calib)
        logistic = dr.LogisticBaseline().fit(split.X_train, split.y_train)
        abc = dr.ABCRule().fit(split.X_train, split.y_train)
        cmp = dr.compare_models({"logistic": logistic, "model": model, "model_fixed_300": fixed,
                                 "abc": abc}, split.X_test, split.y_test, reference="logistic",
                                k_rates=(0.10,), metrics=list(METRICS), n_boot=n_boot,
                                random_state=seed)
    m = cmp.metrics
    d = cmp.differences.set_index(["model", "metric"])
    yte = split.y_test.to_numpy(dtype=float)
    return {
        "seed": seed,
        "rows": {"train": len(split.X_train), "calibration": len(split.X_calib),
                 "test": len(split.X_test)},
        "test_students": int(split.X_test.index.nunique()),
        "test_dropout_rows": int(np.nansum(yte)),
        "train_dropout_rows": int(np.nansum(split.y_train.to_numpy(dtype=float))),
        "seconds": {"data": round(t_data, 1), "fit_default": round(t_fit, 1)},
        "rounds_chosen": int(model.n_estimators_),
        "held_out_check": {
            "ahead": model.baseline_comparison_["ahead"] if model.baseline_comparison_ else None,
            "model_minus_logistic_roc_auc": (model.baseline_comparison_ or {})
            .get("differences", {}).get("logistic", {}).get("roc_auc"),
            "baseline_warning": warned,
        },
        "metrics": {name: {k: round(float(m.loc[name, k]), 4) for k in METRICS}
                    for name in m.index},
        "minus_logistic": {
            name: {k: {"difference": round(float(d.loc[(name, k), "difference"]), 4),
                       "ci95": [round(float(d.loc[(name, k), "ci_low"]), 4),
                                round(float(d.loc[(name, k), "ci_high"]), 4)]}
                   for k in METRICS}
            for name in ("model", "model_fixed_300", "abc")},
    }


def summarise(runs: list[dict]) -> dict:
    """Medians over seeds and the count of seeds beyond noise either way."""
    out: dict = {"seeds": len(runs),
                 "median_rounds_chosen": statistics.median(r["rounds_chosen"] for r in runs),
                 "held_out_baseline_warnings": sum(bool(r["held_out_check"]["ahead"])
                                                   for r in runs),
                 "median_metrics": {}, "minus_logistic": {}}
    for name in runs[0]["metrics"]:
        out["median_metrics"][name] = {
            k: round(statistics.median(r["metrics"][name][k] for r in runs), 4) for k in METRICS}
    for name in runs[0]["minus_logistic"]:
        out["minus_logistic"][name] = {}
        for k in METRICS:
            diffs = [r["minus_logistic"][name][k] for r in runs]
            out["minus_logistic"][name][k] = {
                "median_difference": round(statistics.median(x["difference"] for x in diffs), 4),
                "seeds_above_beyond_noise": sum(x["ci95"][0] > 0 for x in diffs),
                "seeds_below_beyond_noise": sum(x["ci95"][1] < 0 for x in diffs),
            }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000",
                        help="students over the five cohorts, comma-separated")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--schools", type=int, default=8, help="as in the quick-start notebook")
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 5:
        _log(f"only {len(seeds)} seeds: the issue asks for at least five")
    t0 = time.perf_counter()
    report: dict = {
        "split": {"train_cohorts": list(TRAIN), "calib_cohort": CALIB, "test_cohort": TEST,
                  "weeks": list(WEEKS), "n_schools": args.schools},
        "n_boot": args.n_boot, "machine": platform.platform(), "sizes": {},
    }
    for n in sizes:
        runs = []
        for seed in seeds:
            runs.append(one_seed(n, args.schools, seed, args.n_boot))
            r = runs[-1]["minus_logistic"]["model"]["roc_auc"]
            _log(f"{n} students, seed {seed}: rounds {runs[-1]['rounds_chosen']}, "
                 f"model - logistic ROC-AUC {r['difference']:+.4f} {r['ci95']}")
        report["sizes"][str(n)] = {"summary": summarise(runs), "per_seed": runs}
    report["seconds_total"] = round(time.perf_counter() - t0, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
