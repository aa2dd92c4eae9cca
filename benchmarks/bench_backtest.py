"""Model ageing: the rolling-origin backtest with and without a planted concept drift.

Prints one JSON document.

Synthetic cohorts (``--students`` over ``--cohorts``, ``--schools`` schools,
seed ``--seed``) go through :func:`dropoutrisk.models.backtest` twice: as
generated (one process every year, so a model should not age), and with
:func:`dropoutrisk.synthetic.plant_concept_drift` from ``--drift-from`` on
(a growing share of each later cohort's dropouts moved to the students with
the lowest merit value, ``--drift-step`` more per cohort). For each: the
ROC-AUC and recall at 10% of every (origin, test cohort) pair with its 95%
interval, each older model's paired difference from the freshest one on the
same cohort, and the mean per age.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_backtest.py --students 5000 \\
        --cohorts 2018-2023 --weeks 10
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings


def _years(text: str) -> list[int]:
    if "-" in text:
        first, last = (int(p) for p in text.split("-"))
        return list(range(first, last + 1))
    return [int(p) for p in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--cohorts", default="2018-2023")
    parser.add_argument("--schools", type=int, default=6)
    parser.add_argument("--weeks", default="10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift-from", type=int, default=2021)
    parser.add_argument("--drift-step", type=float, default=0.5)
    parser.add_argument("--min-train-cohorts", type=int, default=2)
    parser.add_argument("--n-boot", type=int, default=500)
    args = parser.parse_args(argv)

    from dropoutrisk.errors import OptionalDataWarning
    from dropoutrisk.models import backtest
    from dropoutrisk.schema import validate_tables
    from dropoutrisk.synthetic import make_cohorts, plant_concept_drift

    warnings.simplefilter("ignore", OptionalDataWarning)
    cohorts = _years(args.cohorts)
    weeks = [int(w) for w in args.weeks.split(",")]
    made = make_cohorts(args.students, cohorts, n_schools=args.schools, random_state=args.seed)
    variants = {
        "as generated": validate_tables({k: v for k, v in made.items() if k != "truth"}),
        f"concept drift from {args.drift_from}": validate_tables(plant_concept_drift(
            made, from_cohort=args.drift_from, step=args.drift_step,
            random_state=args.seed)),
    }
    out = {"settings": {**vars(args), "python": platform.python_version()}, "results": {}}
    for name, tables in variants.items():
        start = time.perf_counter()
        bt = backtest(tables, cohorts=cohorts, weeks=weeks,
                      min_train_cohorts=args.min_train_cohorts, n_boot=args.n_boot,
                      random_state=args.seed, metrics=["roc_auc", "recall_at_10pct"])
        out["results"][name] = {
            "seconds": round(time.perf_counter() - start, 1),
            "origins": bt.origins.to_dict(orient="records"),
            "scores": bt.scores.round(4).to_dict(orient="records"),
            "decay": bt.decay.round(4).to_dict(orient="records"),
            "by_age": {m: bt.by_age(m).round(4).to_dict(orient="records")
                       for m in ("roc_auc", "recall_at_10pct")},
        }
    json.dump(out, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
