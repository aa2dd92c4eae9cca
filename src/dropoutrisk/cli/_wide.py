"""The wide-table path of ``train`` and ``predict``: one row per student plus a dataset spec.

``train --data TABLE --spec SPEC.toml``: the table is read with the spec
(:func:`dropoutrisk.features.build_wide_features`). A wide table has no
cohorts, so ``--calib-share`` (default 0.2) of the labelled rows, drawn
stratified by label with ``--seed``, is held out: the booster trains on the
rest, the calibrator on the held-out margins, and the bundle records metrics
there (ranking out of sample, calibration in sample). ``--calib-share 0``
trains on every row and calibrates out of fold (RiskModel's
``calibration_cv="auto"``), with no held-out metrics. The ABC rule needs
``attendance_rate``, ``failed_core_course`` and ``concerns_90d``, which wide
tables rarely have: without them it is skipped and the manifest says so. The
bundle stores the spec (``dataset_spec.json``), its catalogue and a pooled
drift profile (no snapshot weeks: a wide table has no ``as_of``).

``predict --data TABLE --spec SPEC.toml``: the label column may be absent.
The spec's feature columns must be those of the training spec (else exit 2,
naming the columns). Wide tables have no school, so every row gets
``school_id = "all"`` (:data:`WIDE_SCHOOL_ID`): ``rank_in_school`` is the rank
in the whole table.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import typer

__all__ = ["SPEC_EXTRA", "WIDE_SCHOOL_ID", "train_wide", "wide_features"]

#: Name of the bundle's extra JSON document holding the training dataset spec.
SPEC_EXTRA = "dataset_spec"
#: The ``school_id`` given to every row of a wide table at prediction.
WIDE_SCHOOL_ID = "all"


def _abc_columns() -> list[str]:
    from dropoutrisk.models import ABCRule

    rule = ABCRule()
    return [c for c in (rule.attendance_column, rule.failed_core_column, rule.concerns_column)
            if c is not None]


def _calibration_split(X: Any, y: Any, share: float, seed: int) -> tuple[Any, Any, Any, Any]:
    """Hold out ``share`` of the labelled rows, stratified by label; unlabelled rows are dropped."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from dropoutrisk.errors import DataError, MissingLabelWarning

    labelled = y.notna().to_numpy()
    if not labelled.all():
        warnings.warn(MissingLabelWarning(
            f"{int((~labelled).sum())} of {labelled.size} rows have no label and were left "
            "out of training and calibration."), stacklevel=2)
        X, y = X[labelled], y[labelled]
    try:
        fit_rows, calib_rows = train_test_split(
            np.arange(len(y)), test_size=share, stratify=y.to_numpy(), random_state=seed)
    except ValueError as exc:
        raise DataError(
            table="wide table", column="label",
            problem=f"cannot hold out a stratified calibration share of {share} ({exc})",
            fix="Use more labelled rows with both classes, or --calib-share 0 (out of fold)",
        ) from None
    fit_rows, calib_rows = np.sort(fit_rows), np.sort(calib_rows)
    return X.iloc[fit_rows], y.iloc[fit_rows], X.iloc[calib_rows], y.iloc[calib_rows]


def train_wide(
    *, data: Path, spec_path: Path, out: Path, calib_share: float, include_background: bool,
    seed: int, n_estimators: int | None, created_at: Any,
) -> dict[str, Any]:
    """Fit the model and baselines on a wide table; save the bundle; return a summary."""
    from dropoutrisk.cli._cohorts import warnings_to_stderr
    from dropoutrisk.features import build_wide_features, load_dataset_spec, read_wide_table
    from dropoutrisk.models import (
        ABCRule,
        LogisticBaseline,
        RiskModel,
        TrainingProfile,
        save_model,
    )

    with warnings_to_stderr():
        spec = load_dataset_spec(spec_path)
        X_all, y_all, _, catalogue = build_wide_features(read_wide_table(data, spec), spec)
        if calib_share > 0:
            X, y, X_calib, y_calib = _calibration_split(X_all, y_all, calib_share, seed)
        else:
            X, y, X_calib, y_calib = X_all, y_all, None, None

        model = RiskModel(
            **({} if n_estimators is None else {"n_estimators": n_estimators}),
            include_background=include_background, catalogue=catalogue, random_state=seed,
        ).fit(X, y, X_calib=X_calib, y_calib=y_calib)
        baselines: dict[str, Any] = {
            "logistic": LogisticBaseline(
                include_background=include_background, catalogue=catalogue).fit(X, y),
        }
        abc_missing = [c for c in _abc_columns() if c not in X.columns]
        if abc_missing:
            abc_note = ("skipped: the table has no column(s) " + ", ".join(abc_missing)
                        + " that the ABC rule reads")
        else:
            baselines["abc_rule"] = ABCRule().fit(X, y)
            abc_note = "fitted"

        evaluation = None
        metrics: dict[str, Any] = {
            "data": None,
            "note": "No held-out rows (--calib-share 0): calibrated out of fold; run "
                    "'dropoutrisk evaluate' on other data for metrics.",
        }
        if X_calib is not None:
            from dropoutrisk.models import evaluate

            evaluation = evaluate(y_calib, models={"model": model, **baselines}, X=X_calib)
            metrics = {
                "data": f"held-out calibration share {calib_share} of the rows "
                        f"(stratified, seed {seed})",
                "note": "The calibrator was fitted on these rows: ranking metrics are out of "
                        "sample, calibration metrics are in sample.",
                **evaluation.to_dict(),
            }

    params = {
        "data_kind": "wide table",
        "dataset_spec": spec.name,
        "calib_share": calib_share,
        "include_background": include_background,
        "seed": seed,
        "n_rows": len(X),
        "n_calibration_rows": 0 if X_calib is None else len(X_calib),
        "abc_rule": abc_note,
        "school_id_at_prediction": WIDE_SCHOOL_ID,
        "calibration": dict(model.calibration_info_),
        "model": {k: v for k, v in model.get_params(deep=False).items() if k != "catalogue"},
    }
    # pooled only: a wide table has no as_of, hence no snapshot weeks
    profile = TrainingProfile.from_features(X_all, features=list(model.feature_names_in_))
    try:
        folder = save_model(
            model, out,
            training_data=X.assign(label=y.to_numpy()),
            metrics=metrics, params=params, baselines=baselines, catalogue=catalogue,
            # feature_columns keeps the spec order (the JSON file sorts its keys)
            extra={"profile": profile.to_dict(),
                   SPEC_EXTRA: {"feature_columns": list(spec.feature_columns),
                                "spec": spec.model_dump(mode="json")}},
            created_at=created_at,
        )
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    return {"folder": folder, "model": model, "params": params, "evaluation": evaluation,
            "spec": spec}


def wide_features(bundle: Any, data: Path, spec_path: Path) -> Any:
    """Feature rows of a wide table for ``score``, checked against the model's training spec."""
    from dropoutrisk.errors import DatasetSpecError, ModelError
    from dropoutrisk.features import build_wide_features, load_dataset_spec, read_wide_table

    spec = load_dataset_spec(spec_path)
    trained = bundle.extra.get(SPEC_EXTRA)
    if trained is None:
        raise ModelError(
            f"The model {bundle.model_id} was trained on canonical tables, not on a wide table "
            "with a dataset spec: score it with --data FOLDER or --features FILE, or train a "
            "model with --spec.", path=str(bundle.path))
    want = list(trained.get("feature_columns", []))
    have = list(spec.feature_columns)
    if set(have) != set(want):  # the model selects its columns by name: order does not matter
        missing = [c for c in want if c not in have]
        extra = [c for c in have if c not in want]
        parts = []
        if missing:
            parts.append("the model's column(s) " + ", ".join(missing) + " are not in the spec")
        if extra:
            parts.append("the spec's column(s) " + ", ".join(extra) + " were not in training")
        raise DatasetSpecError(
            table=f"dataset spec {spec_path.name}", column=(missing + extra + [None])[0],
            problem="its feature columns differ from those the model was trained with: "
                    + "; ".join(parts),
            fix=f"Use the training spec {trained['spec'].get('name')!r} (stored in the model "
                f"folder as {SPEC_EXTRA}.json), or train a model with this spec.")
    X, _, _, _ = build_wide_features(read_wide_table(data, spec), spec, require_label=False)
    if "school_id" not in X.columns:
        X = X.assign(school_id=WIDE_SCHOOL_ID)
    return X
