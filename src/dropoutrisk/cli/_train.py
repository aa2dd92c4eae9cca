"""``dropoutrisk train``: fit the model and its baselines on cohorts, save a bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    cohort_frame,
    created_at_from_env,
    parse_cohorts,
    parse_weeks,
    read_data,
    warnings_to_stderr,
)


@app.command(
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
        + EXIT_CODES_HELP
    ),
)
def train(
    data: Annotated[
        Path,
        typer.Option("--data", help="Folder of canonical tables (Parquet or CSV), or with "
                     "--spec a wide table file (.csv or .parquet)."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Model folder to write (replaced atomically).")
    ],
    cohorts: Annotated[
        str | None,
        typer.Option("--cohorts", help="Training cohorts: 2020-2022 or 2020,2021 (canonical "
                     "tables; required without --spec)."),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Dataset spec (TOML) of the wide table given with --data."),
    ] = None,
    calib_share: Annotated[
        float,
        typer.Option("--calib-share", min=0.0, max=0.5,
                     help="With --spec: share of rows held out (stratified, seeded) for the "
                     "calibrator; 0 = out of fold."),
    ] = 0.2,
    calib_cohort: Annotated[
        int | None,
        typer.Option("--calib-cohort", help="A later cohort to fit the calibrator on."),
    ] = None,
    weeks: Annotated[
        str, typer.Option("--weeks", help="Snapshot weeks of each school year.")
    ] = "6,10,20",
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help="Label: dropout within this many days.")
    ] = 365,
    include_background: Annotated[
        bool,
        typer.Option(
            "--include-background",
            help="Use background features (off by default: they are for the fairness audit).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    use_mlflow: Annotated[
        bool, typer.Option("--mlflow", help="Log the run to MLflow (SQLite in the working folder).")
    ] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow tracking URI; implies --mlflow."),
    ] = None,
    n_estimators: Annotated[
        int | None,
        typer.Option("--n-estimators", min=1, hidden=True,
                     help="Boosting rounds (default: the RiskModel default)."),
    ] = None,
) -> None:
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import ABCRule, LogisticBaseline, RiskModel, save_model
    from dropoutrisk.models._bundle import _check_replaceable

    if spec is not None:
        return _train_wide_command(data, spec, out, cohorts=cohorts, calib_cohort=calib_cohort,
                                   calib_share=calib_share, include_background=include_background,
                                   seed=seed, n_estimators=n_estimators,
                                   mlflow=use_mlflow or tracking_uri is not None)
    if data.is_file():
        raise typer.BadParameter(
            f"{str(data)!r} is a file: a wide table needs its dataset spec, --spec SPEC.toml "
            "(see examples/); canonical tables are given as a folder.", param_hint="--data")
    if cohorts is None:
        raise typer.BadParameter("--cohorts is required with canonical tables (a folder); "
                                 "a wide table file takes --spec instead.",
                                 param_hint="--cohorts")
    train_cohorts = parse_cohorts(cohorts)
    snapshot_weeks = parse_weeks(weeks)
    if calib_cohort is not None and calib_cohort <= max(train_cohorts):
        raise typer.BadParameter(
            f"{calib_cohort} must come after every training cohort {train_cohorts} (out of time).",
            param_hint="--calib-cohort",
        )
    try:  # before any work: never replace a folder that is not a model
        _check_replaceable(out)
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    created_at = created_at_from_env()
    catalogue = default_catalogue()

    with warnings_to_stderr():
        tables, _ = read_data(data)
        frame = dict(horizon_days=horizon_days, catalogue=catalogue)
        X, y = cohort_frame(tables, train_cohorts, snapshot_weeks, what="training", **frame)
        X_calib = y_calib = None
        if calib_cohort is not None:
            X_calib, y_calib = cohort_frame(
                tables, [calib_cohort], snapshot_weeks, what="calibration", **frame
            )

        model = RiskModel(
            **({} if n_estimators is None else {"n_estimators": n_estimators}),
            include_background=include_background,
            catalogue=catalogue,
            random_state=seed,
        ).fit(X, y, X_calib=X_calib, y_calib=y_calib)
        baselines = {
            "abc_rule": ABCRule().fit(X, y),
            "logistic": LogisticBaseline(
                include_background=include_background, catalogue=catalogue
            ).fit(X, y),
        }
        evaluation = None
        metrics: dict[str, Any] = {
            "data": None,
            "note": "No held-out data at training time: pass --calib-cohort, or run "
            "'dropoutrisk evaluate' on a later cohort.",
        }
        if X_calib is not None:
            from dropoutrisk.models import evaluate

            evaluation = evaluate(
                y_calib,
                models={"model": model, **baselines},
                X=X_calib,
                dropout_dates=tables.get("outcomes"),
            )
            metrics = {
                "data": f"calibration cohort {calib_cohort}",
                "note": "The calibrator was fitted on these rows: ranking metrics are out of "
                "sample, calibration metrics are in sample.",
                **evaluation.to_dict(),
            }

    params = {
        "cohorts": train_cohorts,
        "calib_cohort": calib_cohort,
        "weeks": snapshot_weeks,
        "horizon_days": horizon_days,
        "include_background": include_background,
        "seed": seed,
        "n_rows": len(X),
        "n_students": int(X.index.nunique()),
        "calibration": dict(model.calibration_info_),
        "model": {k: v for k, v in model.get_params(deep=False).items() if k != "catalogue"},
    }
    training_data = X.assign(label=y.to_numpy())
    # the drift baseline for 'predict': bins and shares only, no student rows
    from dropoutrisk.models import TrainingProfile

    profiled = [*model.feature_names_in_, *(["attendance_rate"] if "attendance_rate" in X else [])]
    # pooled, and per snapshot week (--weeks): predict compares like with like
    profile = TrainingProfile.from_features(X, features=list(dict.fromkeys(profiled)),
                                            by_week=True)
    try:
        folder = save_model(
            model,
            out,
            training_data=training_data,
            metrics=metrics,
            params=params,
            baselines=baselines,
            catalogue=catalogue,
            extra={"profile": profile.to_dict()},
            created_at=created_at,
        )
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None

    model_id = json.loads((folder / "manifest.json").read_text("utf-8"))["model_id"]
    print(f"Model {model_id} written to {folder}")
    print(
        f"  trained on {params['n_rows']} snapshot rows ({params['n_students']} students) of "
        f"cohorts {train_cohorts} at weeks {snapshot_weeks}; "
        f"calibration: {model.calibration_info_['strategy']}"
    )
    if evaluation is not None:
        row = evaluation.metrics.loc["model"]
        print(
            f"  on calibration cohort {calib_cohort}: ROC-AUC {row['roc_auc']:.3f}, "
            f"PR-AUC {row['pr_auc']:.3f}, Brier {row['brier']:.4f}"
        )

    if use_mlflow or tracking_uri:
        from dropoutrisk.tracking import log_training_run

        figures = {}
        if evaluation is not None:
            figures = {
                "calibration": evaluation.plot_calibration().figure,
                "roc": evaluation.plot_roc().figure,
            }
        run_id = log_training_run(
            model,
            params=params,
            metrics=metrics.get("metrics", {}),
            figures=figures,
            bundle=folder,
            tracking_uri=tracking_uri,
        )
        print(f"  MLflow run {run_id}")


def _train_wide_command(data: Path, spec: Path, out: Path, *, cohorts: str | None,
                        calib_cohort: int | None, calib_share: float, include_background: bool,
                        seed: int, n_estimators: int | None, mlflow: bool) -> None:
    from dropoutrisk.cli._wide import train_wide
    from dropoutrisk.models._bundle import _check_replaceable

    for given, option in ((cohorts, "--cohorts"), (calib_cohort, "--calib-cohort"),
                          (True if mlflow else None, "--mlflow")):
        if given is not None:
            raise typer.BadParameter(f"{option} does not apply to a wide table (--spec).",
                                     param_hint=option)
    try:
        _check_replaceable(out)
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    done = train_wide(data=data, spec_path=spec, out=out, calib_share=calib_share,
                      include_background=include_background, seed=seed,
                      n_estimators=n_estimators, created_at=created_at_from_env())
    folder, params = done["folder"], done["params"]
    model_id = json.loads((folder / "manifest.json").read_text("utf-8"))["model_id"]
    print(f"Model {model_id} written to {folder}")
    print(f"  trained on {params['n_rows']} rows of the wide table ({done['spec'].name}); "
          f"calibration: {done['model'].calibration_info_['strategy']}; ABC rule "
          f"{params['abc_rule']}")
    if done["evaluation"] is not None:
        row = done["evaluation"].metrics.loc["model"]
        print(f"  on the {params['n_calibration_rows']} held-out rows: ROC-AUC "
              f"{row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, Brier {row['brier']:.4f}")
