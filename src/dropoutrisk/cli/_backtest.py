"""``dropoutrisk backtest``: :func:`dropoutrisk.models.backtest`, written as one folder.

The folder holds backtest.json (settings, the models, every score with its
interval and every difference from the freshest model) and one plot per
metric of the model's age against its score. Aggregates only.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import (
    check_out_folder,
    parse_cohorts,
    parse_weeks,
    read_data,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import Bootstrap, TablesFolder, Tracking, command

#: The metrics of a backtest run from the command line, and their plots.
_PLOTTED = ("roc_auc", "recall_at_10pct")
#: Every file a backtest folder may hold (an earlier one is replaced whole).
BACKTEST_FILES = ("backtest.json", *(f"{m}_by_age.png" for m in _PLOTTED))


@command(
    "backtest",
    help=(
        "Rolling-origin backtest: for each cohort Y (with at least --min-train-cohorts "
        "cohorts up to it), train a model on the cohorts up to Y as 'train' does (the last "
        "--window of them, if given; calibrated out of fold), and test it on every later "
        "cohort as 'evaluate' does. The model's age is the test cohort minus Y. Shows how "
        "performance decays with age, so that you can choose how often to retrain: each "
        "score has a bootstrap interval over the test cohort's students, and each older "
        "model's difference from the freshest one on the same cohort a paired interval.\n\n"
        "Writes backtest.json and a plot of ROC-AUC and of recall at 10% by model age into "
        "--out (aggregates only), and prints the tables. Use only cohorts whose outcomes "
        "are known within --horizon-days of the snapshots.\n\n" + EXIT_CODES_HELP
    ),
)
def backtest(
    *,
    data: TablesFolder,
    cohorts: Annotated[str, typer.Option(
        "--cohorts", help="Cohorts with known outcomes: 2018-2023 or 2019,2020,2022.")],
    out: Annotated[Path, typer.Option("--out", help="Report folder.")],
    weeks: Annotated[str, typer.Option(
        "--weeks", help="Snapshot weeks of each school year.")] = "6,10,20",
    horizon_days: Annotated[int, typer.Option(
        "--horizon-days", min=1, help="Label: dropout within this many days.")] = 365,
    min_train_cohorts: Annotated[int, typer.Option(
        "--min-train-cohorts", min=1, help="The first origin has this many cohorts up to "
        "it.")] = 2,
    window: Annotated[int | None, typer.Option(
        "--window", min=1, help="Train on the last N cohorts up to each origin (default: "
        "all of them).")] = None,
    max_age: Annotated[int | None, typer.Option(
        "--max-age", min=1, help="Test each model on cohorts at most this many years "
        "later.")] = None,
    include_background: Annotated[bool, typer.Option(
        "--include-background", help="Use background features in the models.")] = False,
    boot: Bootstrap,
    tracking: Tracking,
) -> None:
    from dropoutrisk.models import backtest as run_backtest

    years = parse_cohorts(cohorts)
    snapshot_weeks = parse_weeks(weeks)
    check_out_folder(out, BACKTEST_FILES, "a backtest report")
    with warnings_to_stderr():
        tables, _ = read_data(data)
        result = run_backtest(
            tables, cohorts=years, weeks=snapshot_weeks, horizon_days=horizon_days,
            min_train_cohorts=min_train_cohorts, window=window, max_age=max_age,
            include_background=include_background, flag_rate=0.10,
            metrics=("roc_auc", "pr_auc", "brier", "recall_at_10pct"), **boot.options())
    files = _files(result)
    from dropoutrisk._atomic import write_folder

    write_folder(out, files)
    _print(result, out)
    if tracking.wanted:
        from dropoutrisk.tracking import log_evaluation_run

        s = result.settings
        run_id = log_evaluation_run(
            params={k: s[k] for k in ("cohorts", "origins", "weeks", "horizon_days",
                                      "min_train_cohorts", "window", "max_age", "training",
                                      "n_boot", "random_state")},
            metrics=_tracked_metrics(result), files=files, tracking_uri=tracking.tracking_uri,
            tags={"dropoutrisk.run": "backtest"})
        print(f"MLflow run {run_id}")


def _files(result: Any) -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = {"backtest.json": result.to_json() + "\n"}
    for metric in _PLOTTED:
        ax = result.plot(metric)
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        files[f"{metric}_by_age.png"] = buffer.getvalue()
        ax.figure.clear()
    return files


def _tracked_metrics(result: Any) -> dict[str, float]:
    """Per metric and age: the mean score and the mean difference from the freshest model."""
    out: dict[str, float] = {}
    for metric in result.settings["metrics"]:
        for r in result.by_age(metric).itertuples(index=False):
            out[f"{metric}.age_{r.age}.mean"] = r.mean
            out[f"{metric}.age_{r.age}.mean_difference"] = r.mean_difference
    return out


def _print(result: Any, out: Path) -> None:
    s = result.settings
    o = result.origins
    print(f"Backtest of cohorts {s['cohorts']} at weeks {s['weeks']} ({s['training']} "
          f"training, calibrated out of fold; {s['confidence']:.0%} bootstrap intervals over "
          f"the test students, {s['n_boot']} replicates). Report in {out}")
    for r in o.itertuples(index=False):
        print(f"  origin {r.origin}: trained on cohorts {r.train_cohorts} ({r.n_rows} rows, "
              f"{r.n_dropouts} dropouts, {r.rounds} rounds)")
    for metric in ("roc_auc", "recall_at_10pct"):
        print(f"\n{metric} by origin (rows) and test cohort (columns):")
        print(result.table(metric).to_string())
        print(f"\n{metric} by model age (mean over test cohorts; difference from the freshest "
              "model on the same cohort):")
        print(result.by_age(metric).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    decay = result.decay[result.decay["metric"] == "roc_auc"]
    if len(decay):
        worse = decay[decay["ci_high"] < 0]
        print(f"\nOlder than the freshest model, ROC-AUC lower beyond noise: {len(worse)} of "
              f"{len(decay)} (test cohort, model) pairs.", file=sys.stdout)
