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

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    check_out_folder,
    load_against,
    parse_cohorts,
    read_input,
    snapshot_options,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import (
    Cohorts,
    DataInput,
    Days,
    HorizonDays,
    ModelFolder,
    NBoot,
    Seed,
    SpecFile,
    Weeks,
)


@app.command(
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
        "The folder is written whole: on any failure the previous report stays as it was."
        "\n\n" + EXIT_CODES_HELP
    ),
)
def evaluate(
    model: ModelFolder,
    data: DataInput,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")],
    cohorts: Cohorts = None,
    spec: SpecFile = None,
    weeks: Weeks = None,
    days: Days = None,
    horizon_days: HorizonDays = None,
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
    n_boot: NBoot = 1000,
    seed: Seed = 0,
) -> None:
    from dropoutrisk.models import OperatingPoint, load_bundle
    from dropoutrisk.report import EVALUATION_FILES, evaluation_report

    if spec is None and cohorts is None:
        raise typer.BadParameter("--cohorts is required with canonical tables (a folder); "
                                 "a wide table file takes --spec instead.", param_hint="--cohorts")
    test_cohorts = None if cohorts is None else parse_cohorts(cohorts)
    snapshots = snapshot_options(weeks, days)
    point = OperatingPoint(flag_rate=flag_rate)  # checked before any work; names --flag-rate
    check_out_folder(out, EVALUATION_FILES, "an evaluation report")

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    previous = load_against(against) if against is not None else None
    with warnings_to_stderr():
        source, dataset_spec, truth = read_input(data, spec, cohorts=cohorts)
        report = evaluation_report(bundle, source, spec=dataset_spec, cohorts=test_cohorts,
                                   horizon_days=horizon_days, operating_point=point,
                                   against=previous, truth=truth, n_boot=n_boot,
                                   random_state=seed, **snapshots)
    report.write(out)

    header = report.header
    row = report.evaluation.metrics.loc["model"]
    rows = (f"cohorts {header['cohorts']}" if dataset_spec is None
            else f"the wide table of spec {dataset_spec.name!r}")
    print(
        f"Evaluated model {bundle.model_id} on {rows} ({header['n_rows']} rows): "
        f"ROC-AUC {row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, "
        f"ECE {row['ece_equal_mass']:.4f}. Report in {out}"
    )
    comparison = report.comparison
    if comparison is None:
        print("The bundle stores no baseline and no --against model was given: "
              "no comparison.json written (an earlier one in --out is removed).", file=sys.stderr)
        return
    s = comparison.settings
    what = (f"the previous model {previous.model_id}" if previous is not None
            else f"the {comparison.reference} baseline")
    spread = (f"{s['confidence']:.0%} paired bootstrap intervals over {s['n_clusters']} "
              f"{'students' if s['bootstrap_unit'] == 'student_id' else s['bootstrap_unit']}, "
              f"{s['n_boot']} replicates, seed {seed}" if s["n_boot"] else "no intervals (--n-boot 0)")
    print(f"Against {what} ({spread}):")
    for line in comparison.summary(metrics=report.summary_metrics()).splitlines():
        if line.startswith("model vs "):
            print(f"  {line}")
