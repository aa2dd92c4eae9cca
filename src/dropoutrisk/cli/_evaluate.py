"""``dropoutrisk evaluate``: :func:`dropoutrisk.report.evaluation_report`, written as one folder.

Besides metrics.json, the command writes comparison.json: a paired cluster
bootstrap (:func:`~dropoutrisk.models.compare_models`) of the model against
the previous model (``--against``) or, without one, against the logistic
baseline stored in the bundle. It holds aggregates only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import check_out_folder, load_against, warnings_to_stderr
from dropoutrisk.cli._options import Bootstrap, DataInput, ModelFolder, Rows, Tracking, command


@command(
    "evaluate",
    help=(
        "Evaluate a model out of time on later cohorts, beside the ABC rule and the logistic "
        "baseline stored in its bundle. Writes metrics.json, calibration.png, roc.png and "
        "report.html into --out; with truth.parquet in --data, adds the oracle and "
        "model/oracle ratios.\n\n"
        "Also writes comparison.json: the model against the logistic baseline or, with "
        "--against PREVIOUS_MODEL_DIR, against the previous model (scored on the same rows, "
        "named 'previous'), with paired bootstrap intervals over students (--n-boot "
        "replicates drawn with --seed) on every metric and difference (model - reference); "
        "aggregates only, no student id.\n\n"
        "A model trained on a wide table is evaluated on a wide table: --data TABLE "
        "--spec SPEC.toml (the labelled rows; --cohorts, --weeks and --days do not apply).\n\n"
        "With --against, it also counts the flags that changed, by school (newly flagged, "
        "no longer flagged; counts under 10 suppressed), and the reason stability: the share "
        "of students flagged by both models whose top three reason codes are the same set "
        "(order ignored). --mlflow logs the metrics, differences, changed flags, reason "
        "stability and the report's files to MLflow (aggregates only).\n\n"
        "The folder is written whole: on any failure the previous report stays as it was."
        "\n\n" + EXIT_CODES_HELP
    ),
)
def evaluate(
    *,
    model: ModelFolder,
    data: DataInput,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")],
    rows: Rows,
    flag_rate: Annotated[
        float, typer.Option("--flag-rate", help="Operating point: the share of each snapshot "
                            "flagged.")
    ] = 0.10,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="Previous model folder: scored on the same rows (its "
                     "own features) and compared with the model in comparison.json and "
                     "report.html."),
    ] = None,
    boot: Bootstrap,
    tracking: Tracking,
) -> None:
    from dropoutrisk.models import OperatingPoint, load_bundle
    from dropoutrisk.report import EVALUATION_FILES, evaluation_report

    selected = rows.options()
    point = OperatingPoint(flag_rate=flag_rate)  # checked before any work; names --flag-rate
    check_out_folder(out, EVALUATION_FILES, "an evaluation report")

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    previous = load_against(against) if against is not None else None
    with warnings_to_stderr():
        source, dataset_spec, truth = rows.read(data)
        report = evaluation_report(bundle, source, spec=dataset_spec, operating_point=point,
                                   against=previous, truth=truth, **selected, **boot.options())
    report.write(out)

    header = report.header
    row = report.evaluation.metrics.loc["model"]
    print(
        f"Evaluated model {bundle.model_id} on {rows.describe(header['cohorts'], dataset_spec)} "
        f"({header['n_rows']} rows): "
        f"ROC-AUC {row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, "
        f"ECE {row['ece_equal_mass']:.4f}. Report in {out}"
    )
    comparison = report.comparison
    if comparison is None:
        print("The bundle stores no baseline and no --against model was given: "
              "no comparison.json written (an earlier one in --out is removed).", file=sys.stderr)
        _log(report, tracking)
        return
    s = comparison.settings
    what = (f"the previous model {previous.model_id}" if previous is not None
            else f"the {comparison.reference} baseline")
    spread = (f"{s['confidence']:.0%} paired bootstrap intervals over {s['n_clusters']} "
              f"{'students' if s['bootstrap_unit'] == 'student_id' else s['bootstrap_unit']}, "
              f"{s['n_boot']} replicates, seed {boot.seed}" if s["n_boot"] else "no intervals (--n-boot 0)")
    print(f"Against {what} ({spread}):")
    for line in comparison.summary(metrics=report.summary_metrics()).splitlines():
        if line.startswith("model vs "):
            print(f"  {line}")
    if previous is not None:
        print(comparison.changes_summary(model="model"))
    _log(report, tracking)


def _log(report: object, tracking: Tracking) -> None:
    if tracking.wanted:
        from dropoutrisk.tracking import log_evaluation_report

        run_id = log_evaluation_report(report, tracking_uri=tracking.tracking_uri)
        print(f"MLflow run {run_id}")
