"""``dropoutrisk train``: fit the model and its baselines on cohorts, save a bundle."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import (
    created_at_from_env,
    parse_cohorts,
    parse_days,
    parse_weeks,
    read_input,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import DataInput, Flags, SpecFile, Tracking, command


@dataclasses.dataclass(frozen=True)
class TrainingRows:
    """The training rows of canonical tables: cohorts at snapshots, labelled within a horizon."""

    cohorts: Annotated[str | None, typer.Option(
        "--cohorts", help="Training cohorts: 2020-2022 or 2020,2021 (canonical tables; "
        "required without --spec).")] = None
    calib_cohort: Annotated[int | None, typer.Option(
        "--calib-cohort", help="A later cohort to fit the calibrator on.")] = None
    weeks: Annotated[str, typer.Option(
        "--weeks", help="Snapshot weeks of each school year.")] = "6,10,20"
    days: Annotated[str | None, typer.Option(
        "--days", help="Snapshots at these days after each student's own start "
        "(students.start_date, else the school-year start), e.g. 14,30,60,90; instead of "
        "--weeks.")] = None
    horizon_days: Annotated[int, typer.Option(
        "--horizon-days", min=1, help="Label: dropout within this many days.")] = 365
    indicators: Annotated[Path | None, typer.Option(
        "--indicators", help="An indicator file (TOML) adding your own indicators to the "
        "catalogue; the bundle records them and predict computes them.")] = None
    supported: Annotated[str, typer.Option(
        "--supported", help="Rows of students with an intervention before the end of the "
        "label window: keep (with a warning) or exclude (left out of training and "
        "calibration).")] = "keep"

    def refuse_wide(self) -> None:
        """With a wide table (--spec): refuse the options that only canonical tables take."""
        for option, given in (("--cohorts", self.cohorts), ("--calib-cohort", self.calib_cohort),
                              ("--days", self.days), ("--indicators", self.indicators),
                              ("--supported", None if self.supported == "keep" else "")):
            if given is not None:
                raise typer.BadParameter(f"{option} does not apply to a wide table (--spec): "
                                         "its rows and columns are its own.", param_hint=option)

    def options(self, data: Path) -> dict[str, Any]:
        """``train_model``'s options for canonical tables, checked."""
        if self.cohorts is None:
            if data.is_file():  # read_input says what a table file needs
                return {}
            raise typer.BadParameter("--cohorts is required with canonical tables (a folder); "
                                     "a wide table file takes --spec instead.",
                                     param_hint="--cohorts")
        options: dict[str, Any] = dict(
            cohorts=parse_cohorts(self.cohorts), weeks=parse_weeks(self.weeks),
            horizon_days=self.horizon_days, calib_cohort=self.calib_cohort,
            days=None if self.days is None else parse_days(self.days), supported=self.supported)
        if self.indicators is not None:
            from dropoutrisk.features import load_indicators

            options["catalogue"] = load_indicators(self.indicators)
        return options


@command(
    "train",
    help=(
        "Train the calibrated model on cohorts and save it as a verified bundle folder, with "
        "the ABC rule and the logistic baseline fitted on the same rows.\n\n"
        "Rows are the students of --cohorts at --weeks of those school years, labelled by "
        "dropout within --horizon-days. With --calib-cohort the calibrator is fitted on that "
        "later cohort and the bundle records metrics there; without it, out of fold.\n\n"
        "Wide table: --data TABLE.csv|.parquet --spec SPEC.toml (a dataset spec, see "
        "examples/) trains on one row per student; --cohorts and --weeks do not apply. "
        "--calib-share (default 0.2) of the labelled rows, stratified by label and drawn "
        "with --seed, is held out to fit the calibrator and for the recorded metrics; "
        "--calib-share 0 calibrates out of fold. The ABC rule is fitted only when its "
        "columns (attendance_rate, failed_core_course, concerns_90d) exist, otherwise "
        "skipped (the manifest says so). The bundle stores the spec as dataset_spec.json.\n\n"
        "Predict's configuration: --threshold, --capacity/--by or --flag-rate, and "
        "--predict-weeks (or --predict-days) say where and when predict flags with this "
        "model; the bundle records them, predict flags there unless told otherwise, and the "
        "audit audits that operating point at that snapshot. Default: the model's own flags at "
        "the first training snapshot.\n\n"
        + EXIT_CODES_HELP
    ),
)
def train(
    *,
    data: DataInput,
    out: Annotated[
        Path, typer.Option("--out", help="Model folder to write (replaced atomically).")
    ],
    rows: TrainingRows,
    spec: SpecFile = None,
    calib_share: Annotated[
        float,
        typer.Option("--calib-share", min=0.0, max=0.5,
                     help="With --spec: share of rows held out (stratified, seeded) for the "
                     "calibrator; 0 = out of fold."),
    ] = 0.2,
    include_background: Annotated[
        bool,
        typer.Option(
            "--include-background",
            help="Use background features (off by default: they are for the fairness audit).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    tracking: Tracking,
    n_estimators: Annotated[
        int | None,
        typer.Option("--n-estimators", min=1, hidden=True,
                     help="Boosting rounds (default: the RiskModel default)."),
    ] = None,
    flags: Flags,
    predict_weeks: Annotated[
        str | None,
        typer.Option("--predict-weeks", help="The snapshot week(s) predict scores at, e.g. 10 "
                     "(recorded for the audit); default the first of --weeks."),
    ] = None,
    predict_days: Annotated[
        str | None,
        typer.Option("--predict-days", help="With --days: the day(s) predict scores at."),
    ] = None,
) -> None:
    from dropoutrisk.models import train_model

    point = flags.point()  # checked before any work; its errors name the option

    wide = spec is not None
    if wide:
        rows.refuse_wide()
        if tracking.wanted:
            raise typer.BadParameter("--mlflow does not apply to a wide table (--spec).",
                                     param_hint="--mlflow")
    options: dict[str, Any] = dict(
        include_background=include_background, random_state=seed,
        model_params=None if n_estimators is None else {"n_estimators": n_estimators},
        created_at=created_at_from_env(), operating_point=point,
        **(dict(calib_share=calib_share) if wide else rows.options(data)),
    )
    if predict_weeks is not None:
        options["predict_weeks"] = parse_weeks(predict_weeks)
    if predict_days is not None:
        options["predict_days"] = parse_days(predict_days)
    try:
        with warnings_to_stderr():
            source, dataset_spec, _ = read_input(data, spec)
            result = train_model(source, out, spec=dataset_spec, **options)
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None

    folder, params, evaluation = result.bundle.path, result.params, result.evaluation
    print(f"Model {result.model_id} written to {folder}")
    _print_model_checks(result.bundle.model)
    if wide:
        print(f"  trained on {params['n_rows']} rows of the wide table ({params['dataset_spec']}); "
              f"calibration: {params['calibration']['strategy']}; ABC rule "
              f"{params['abc_rule']}")
        if evaluation is not None:
            row = evaluation.metrics.loc["model"]
            print(f"  on the {params['n_calibration_rows']} held-out rows: ROC-AUC "
                  f"{row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, Brier {row['brier']:.4f}")
        return
    print(f"  predict's configuration: {result.bundle.predict_settings.describe()}")
    when = (f"days {params['days']} after each start" if params.get("days")
            else f"weeks {params['weeks']}")
    print(
        f"  trained on {params['n_rows']} snapshot rows ({params['n_students']} students) of "
        f"cohorts {params['cohorts']} at {when}; "
        f"calibration: {params['calibration']['strategy']}"
    )
    if params.get("own_indicators"):
        print(f"  own indicators: {', '.join(params['own_indicators'])}")
    if params.get("features_left_out"):
        print(f"  left out (no values in the training data): "
              f"{', '.join(params['features_left_out'])}")
    if evaluation is not None:
        row = evaluation.metrics.loc["model"]
        print(
            f"  on calibration cohort {rows.calib_cohort}: ROC-AUC {row['roc_auc']:.3f}, "
            f"PR-AUC {row['pr_auc']:.3f}, Brier {row['brier']:.4f}"
        )

    if tracking.wanted:
        from dropoutrisk.tracking import log_training_run

        # held-out calibration rows when there are some, else the out-of-fold scores
        logged = evaluation if evaluation is not None else result.out_of_fold
        figures = {}
        if logged is not None:
            figures = {
                "calibration": logged.plot_calibration().figure,
                "roc": logged.plot_roc().figure,
            }
        on = (f"calibration cohort {rows.calib_cohort}" if evaluation is not None
              else "training rows, out of fold" if logged is not None else "none")
        run_id = log_training_run(
            result.bundle.model,
            params=params,
            metrics={} if logged is None else logged.to_dict().get("metrics", {}),
            figures=figures,
            bundle=folder,
            tracking_uri=tracking.tracking_uri,
            tags={"dropoutrisk.metrics_on": on},
        )
        print(f"  MLflow run {run_id} (metrics and plots on {on})")


def _print_model_checks(model: Any) -> None:
    """The rounds the model kept and how it compares with the baselines on held-out students."""
    selection = getattr(model, "round_selection_", None)
    if selection is None:
        return
    if selection["strategy"] == "held_out_students":
        print(f"  rounds: {model.n_estimators_} of at most {selection['max_rounds']}, chosen on "
              f"held-out students ({selection['n_folds']} folds grouped by student)")
    else:
        print(f"  rounds: {model.n_estimators_} (fixed)")
    comparison = model.baseline_comparison_
    if comparison is None:
        return

    def signed(value: float | None) -> str:
        return "n/a" if value is None else f"{value:+.3f}"

    for name, d in comparison["differences"].items():
        auc, recall = d["roc_auc"], d["recall_at_10pct"]
        if name in comparison["ahead"]:
            verdict = f"{name} ahead beyond noise on {', '.join(comparison['ahead_on'][name])}"
        elif auc["ci_low"] is not None and auc["ci_low"] > 0:
            verdict = "model ahead beyond noise"
        else:
            verdict = "within noise"
        print(f"  on {comparison['held_out_students']} held-out training students, model - "
              f"{name}: ROC-AUC {signed(auc['difference'])} [{signed(auc['ci_low'])}, "
              f"{signed(auc['ci_high'])}], recall@10% {signed(recall['difference'])}: {verdict}")
    for name, reason in comparison["not_compared"].items():
        print(f"  {name} not compared on held-out students: {reason}")
    if comparison["ahead"]:
        print(f"  WARNING: {' and '.join(comparison['ahead'])} did better than the model on "
              "the held-out students (BaselineWarning); on data this small consider the "
              "baseline, or compare on a later cohort with 'dropoutrisk evaluate'.")
