"""train_model(): fit the model and its baselines, save them as one bundle folder.

One training workflow for both ways in (docs/architecture.md, "Data contract"):

- **Canonical tables** (a mapping of validated tables): the rows are the
  students of ``cohorts`` at ``weeks`` of those school years, labelled by
  dropout within ``horizon_days``. With ``calib_cohort`` the calibrator is
  fitted on that later cohort (out of time) and the bundle records metrics
  there; without it, the calibrator is fitted out of fold and no metrics are
  recorded. The bundle's drift profile is pooled and per snapshot week.
- **A wide table plus its dataset spec**: one row per student. A share
  ``calib_share`` of the labelled rows, drawn stratified by label with
  ``random_state``, is held out to fit the calibrator and for the recorded
  metrics; ``calib_share=0`` calibrates out of fold. The ABC rule is fitted
  only when its columns exist (the manifest says so otherwise), and the spec
  is stored in the bundle (``dataset_spec.json``). The drift profile is pooled
  only: a wide table has no ``as_of``.

In both cases the booster, the ABC rule and the logistic baseline are fitted
on the same rows, and the folder is written atomically by
:func:`~dropoutrisk.models.save_model`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk.errors import (
    DataError,
    EmptyTableError,
    MissingLabelWarning,
    OptionalDataWarning,
    ParameterError,
    SupportedOutcomeWarning,
)
from dropoutrisk.models._abc_rule import ABCRule
from dropoutrisk.models._logistic import LogisticBaseline
from dropoutrisk.models._risk_model import RiskModel
from dropoutrisk.models._supported import check_handling, supported_rows
from dropoutrisk.models.bundle import MANIFEST_NAME, ModelBundle, PredictSettings, save_model
from dropoutrisk.models.bundle._save import check_replaceable
from dropoutrisk.models.drift import TrainingProfile
from dropoutrisk.models.evaluation import Evaluation, evaluate

__all__ = ["SPEC_EXTRA", "WIDE_SCHOOL_ID", "TrainingResult", "cohort_frame", "train_model"]

#: Name of the bundle's extra JSON document holding the training dataset spec.
SPEC_EXTRA = "dataset_spec"
#: The ``school_id`` given to every row of a wide table at prediction.
WIDE_SCHOOL_ID = "all"
#: The largest share of a wide table held out for the calibrator.
MAX_CALIB_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What :func:`train_model` wrote: the saved bundle and its held-out evaluation.

    Attributes
    ----------
    bundle : ModelBundle
        The bundle as saved: its folder, the fitted model and baselines, the
        manifest (read-only, as written to disk) and the extra documents.
    evaluation : Evaluation or None
        The model and baselines on the held-out calibration rows (ranking
        metrics out of sample, calibration metrics in sample); ``None`` when
        the calibrator was fitted out of fold.
    out_of_fold : Evaluation or None
        Without held-out calibration rows: the model on the training rows the
        calibrator was fitted on, each scored by a booster that did not train
        on it (out of fold, or the held-out share of ``calibration_cv``), and
        calibrated by the final calibrator (ranking metrics out of sample,
        calibration metrics in sample). Not in the bundle's manifest; what
        ``train --mlflow`` logs. ``None`` when ``evaluation`` is given.
    """

    bundle: ModelBundle
    evaluation: Evaluation | None
    _params: Mapping[str, Any] = dataclasses.field(repr=False)
    out_of_fold: Evaluation | None = None

    @property
    def model_id(self) -> str:
        """The bundle's model id."""
        return self.bundle.model_id

    @property
    def params(self) -> dict[str, Any]:
        """The training parameters, as given to the manifest (a deep copy)."""
        return copy.deepcopy(dict(self._params))


def cohort_frame(
    tables: Mapping[str, Any],
    cohorts: Sequence[int],
    weeks: Sequence[int],
    *,
    horizon_days: int,
    catalogue: Any,
    what: str,
    days: Sequence[int] | None = None,
    model_features: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Feature rows and labels of ``cohorts`` at their school years' snapshot weeks.

    Rows are students of those cohorts (the ``cohort`` column), at weeks
    ``weeks`` of the school years starting in those years, or with ``days`` at
    those days after each student's own start; rows without a label
    (censored, or not yet known) are left out. With ``model_features`` (a
    trained model's), tables that lack what those features come from are
    refused, and no warning is shown for the optional data the model does not use.

    Raises
    ------
    EmptyTableError
        No labelled row is left.
    """
    from dropoutrisk.features import build_training_frame, require_inputs
    from dropoutrisk.schema import snapshot_dates

    cohorts = list(cohorts)
    if days is not None:
        when = f"days {list(days)} after each start"
        snaps = snapshot_dates(cohorts, days=list(days), students=tables["students"])
    else:
        when = f"weeks {list(weeks)}"
        snaps = snapshot_dates(cohorts, list(weeks))
    if model_features is None:
        X, y = build_training_frame(tables, snaps, horizon_days=horizon_days,
                                    catalogue=catalogue)
    else:
        require_inputs(tables, model_features, catalogue)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptionalDataWarning)
            X, y = build_training_frame(tables, snaps, horizon_days=horizon_days,
                                        catalogue=catalogue)
    keep = (X["cohort"].isin(cohorts) & y.notna()).to_numpy()
    X, y = X[keep], y[keep].astype(int)
    if len(X) == 0:
        raise EmptyTableError(
            table="students",
            column="cohort",
            problem=f"no labelled snapshot rows for the {what} cohorts {cohorts} at {when}",
            allowed="cohorts present in the students table, with outcomes known within "
            f"{horizon_days} days of the snapshots",
            fix="Check --cohorts (and --weeks or --days, --horizon-days) against the data",
        )
    return X, y


def train_model(
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    spec: Any = None,
    cohorts: Sequence[int] | None = None,
    weeks: Sequence[int] = (6, 10, 20),
    days: Sequence[int] | None = None,
    horizon_days: int = 365,
    calib_cohort: int | None = None,
    calib_share: float = 0.2,
    include_background: bool = False,
    catalogue: Any = None,
    random_state: int = 0,
    model_params: Mapping[str, Any] | None = None,
    created_at: Any = None,
    operating_point: Any = None,
    predict_weeks: Sequence[int] | None = None,
    predict_days: Sequence[int] | None = None,
    supported: str = "keep",
) -> TrainingResult:
    """Fit the calibrated model and its baselines, and save them as a bundle folder.

    Parameters
    ----------
    data : mapping of str to DataFrame, or DataFrame
        Validated canonical tables (see
        :func:`~dropoutrisk.schema.validate_tables`), or with ``spec`` the
        wide table (one row per student).
    path : path-like
        The bundle folder. It is replaced atomically when it holds a bundle;
        a non-empty folder that is not a bundle is refused before any work.
    spec : DatasetSpec, optional
        The dataset spec of a wide table (see
        :func:`~dropoutrisk.features.load_dataset_spec`).
    cohorts : sequence of int
        Canonical tables only, required there: the training cohorts
        (school-year starts).
    weeks : sequence of int, default (6, 10, 20)
        Canonical tables only: snapshot weeks of each school year, 0 to 52.
    days : sequence of int, optional
        Canonical tables only: snapshots at these days after each student's own
        start (``students.start_date``, else the school-year start), instead of
        ``weeks``; for programmes and courses that start on other days.
    horizon_days : int, default 365
        Canonical tables only: the label is dropout within this many days.
    calib_cohort : int, optional
        Canonical tables only: a cohort later than every training cohort to
        fit the calibrator on (and record metrics on); default out of fold.
    calib_share : float, default 0.2
        Wide table only: share (0 to 0.5) of the labelled rows held out for
        the calibrator and the recorded metrics; 0 calibrates out of fold.
    include_background : bool, default False
        Use background features (off by default: they are for the audit).
    catalogue : Catalogue, optional
        Canonical tables only: the indicator catalogue (default: the
        built-in one). A wide table's catalogue comes from its spec.
    random_state : int, default 0
        Seed of the booster and of the held-out split.
    model_params : mapping, optional
        Further :class:`RiskModel` parameters (for example ``n_estimators``).
    created_at : datetime or str, optional
        The bundle's creation time, for reproducible bytes.
    operating_point : OperatingPoint, mapping or float, optional
        Where ``predict`` flags with this model ("the 10 highest-risk students
        per school": ``{"capacity": 10, "by": "school_id"}``); default the
        model's own flags. Recorded in the manifest (``params["predict"]``,
        read back as :attr:`ModelBundle.predict_settings`): ``score`` and
        ``predict`` flag there unless told otherwise, and the fairness audit
        audits it.
    predict_weeks : sequence of int, optional
        Canonical tables only: the snapshot week(s) ``predict`` scores at, for
        the audit (default the first of ``weeks``).
    predict_days : sequence of int, optional
        The same for a model trained at ``days`` (default the first of them).
    supported : {"keep", "exclude"}, default "keep"
        Canonical tables only: what to do with rows whose outcome the school may
        have changed (the student has an ``interventions`` row dated before the
        end of the label window). ``"keep"`` trains on them, with a
        :class:`~dropoutrisk.errors.SupportedOutcomeWarning`: where support
        worked, the model learns that the supported profile is safer.
        ``"exclude"`` leaves them out of training and calibration. The manifest
        records the choice and the rows affected (``params.supported``;
        docs/follow-up.md, "Training").

    Returns
    -------
    TrainingResult

    Raises
    ------
    ParameterError
        A parameter that does not fit the data (for example ``cohorts``
        with a wide table, or a ``calib_cohort`` that is not later).
    DataError
        No labelled rows to train on, or a wide table that cannot be split.
    FileExistsError
        ``path`` is a file, or a non-empty folder that is not a bundle.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> from dropoutrisk.schema import validate_tables
    >>> cohorts = make_cohorts(n_students=300, cohorts=[2021, 2022], random_state=0)
    >>> tables = validate_tables({k: v for k, v in cohorts.items() if k != "truth"})
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> result = train_model(tables, folder, cohorts=[2021], calib_cohort=2022, weeks=[10],
    ...                      model_params={"n_estimators": 20})
    >>> result.bundle.path == folder, sorted(result.bundle.baselines)
    (True, ['abc_rule', 'logistic'])
    >>> result.params["cohorts"], result.evaluation is not None
    ([2021], True)
    """
    target = Path(path)
    check_replaceable(target)  # before any work: never replace a folder that is not a model
    _check_share(calib_share)
    if spec is not None:
        for name, given in (("cohorts", cohorts), ("calib_cohort", calib_cohort),
                            ("catalogue", catalogue)):
            if given is not None:
                raise ParameterError(
                    parameter=name, value=given, problem="does not apply to a wide table "
                    "(a dataset spec is given)", fix="Leave it out; a wide table has no cohorts "
                    "and takes its catalogue from the spec")
        if predict_weeks is not None or predict_days is not None:
            raise ParameterError(
                parameter="predict_weeks" if predict_weeks is not None else "predict_days",
                value=predict_weeks if predict_weeks is not None else predict_days,
                problem="does not apply to a wide table (it has no snapshots)",
                fix="Leave it out")
        return _train_wide(data, spec, target, calib_share=calib_share,
                           include_background=include_background, random_state=random_state,
                           model_params=model_params, created_at=created_at,
                           predict=PredictSettings.record(operating_point))
    if isinstance(data, pd.DataFrame):
        raise ParameterError(
            parameter="data", value="a DataFrame", problem="a single table needs its dataset "
            "spec", allowed="a mapping of canonical tables, or a wide table with spec=",
            fix="Pass spec=load_dataset_spec(...) or the canonical tables")
    train_cohorts, snapshot_weeks = _check_cohorts(cohorts, calib_cohort, weeks, horizon_days)
    snapshot_days = _check_days(days)
    predict = _predict_settings(operating_point, predict_weeks, predict_days, snapshot_weeks,
                                snapshot_days)
    handling = check_handling(supported)
    if catalogue is None:
        from dropoutrisk.features import default_catalogue

        catalogue = default_catalogue()

    frame = dict(horizon_days=horizon_days, catalogue=catalogue, days=snapshot_days)
    X, y = cohort_frame(data, train_cohorts, snapshot_weeks, what="training", **frame)
    X, y, counts = _handle_supported(X, y, data.get("interventions"), horizon_days, handling,
                                     "training")
    support: dict[str, Any] = {"handling": handling,
                               "interventions_table": data.get("interventions") is not None,
                               **{f"training_{k}": v for k, v in counts.items()}}
    _check_both_classes(y, "outcomes", "event", f"training cohorts {train_cohorts}")
    X_calib = y_calib = None
    if calib_cohort is not None:
        X_calib, y_calib = cohort_frame(data, [calib_cohort], snapshot_weeks,
                                        what="calibration", **frame)
        X_calib, y_calib, counts = _handle_supported(
            X_calib, y_calib, data.get("interventions"), horizon_days, handling, "calibration")
        support.update({f"calibration_{k}": v for k, v in counts.items()})
        _check_both_classes(y_calib, "outcomes", "event", f"calibration cohort {calib_cohort}")
    model, baselines = _fit(X, y, X_calib, y_calib, catalogue=catalogue,
                            include_background=include_background, random_state=random_state,
                            model_params=model_params, abc_rule=True)
    evaluation = None
    if X_calib is not None:
        evaluation = evaluate(y_calib, models={"model": model, **baselines}, X=X_calib,
                              dropout_dates=data.get("outcomes"),
                              interventions=data.get("interventions"), horizon_days=horizon_days)
    metrics = _metrics_record(
        evaluation, f"calibration cohort {calib_cohort}",
        "No held-out data at training time: pass --calib-cohort, or run "
        "'dropoutrisk evaluate' on a later cohort.")
    params = {
        "cohorts": train_cohorts,
        "calib_cohort": calib_cohort,
        "weeks": None if snapshot_days is not None else snapshot_weeks,
        "days": snapshot_days,
        "horizon_days": horizon_days,
        "include_background": include_background,
        "supported": support,
        "seed": random_state,
        "n_rows": len(X),
        "n_students": int(X.index.nunique()),
        "features_left_out": list(model.features_left_out_),
        "own_indicators": [i.name for i in catalogue.indicators if i.computation is not None],
        "calibration": dict(model.calibration_info_),
        "model": _model_params(model),
        "predict": predict,
    }
    # the drift baseline for 'predict': bins and shares only, no student rows;
    # pooled, and per snapshot week: predict compares like with like
    profiled = [*model.feature_names_in_, *(["attendance_rate"] if "attendance_rate" in X else [])]
    profile = TrainingProfile.from_features(X, features=list(dict.fromkeys(profiled)),
                                            by_week=True)
    extra = {"profile": profile.to_dict()}
    return _save(model, target, X, y, metrics=metrics, params=params, baselines=baselines,
                 catalogue=catalogue, extra=extra, created_at=created_at, evaluation=evaluation,
                 dropout_dates=data.get("outcomes"))


def _handle_supported(X: pd.DataFrame, y: pd.Series, interventions: Any, horizon_days: int,
                      handling: str, what: str) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """Keep (with a warning) or leave out the rows whose outcome support may have changed."""
    mask = supported_rows(interventions, X.index, X["as_of"], horizon_days)
    n = int(mask.sum())
    record = {"rows_supported": n, "rows_left_out": n if handling == "exclude" else 0}
    if n and handling == "exclude":
        X, y = X[~mask], y[~mask]
    elif n:
        warnings.warn(SupportedOutcomeWarning(
            f"{n} of the {mask.size} {what} rows are students with an intervention before the "
            "end of their label window: where the support worked, their outcomes teach the model "
            "that their profile is safer than it is. Pass supported='exclude' (--supported "
            "exclude) to leave them out; the manifest records the choice."), stacklevel=3)
    return X, y, record


def _train_wide(frame: pd.DataFrame, spec: Any, target: Path, *, calib_share: float,
                include_background: bool, random_state: int,
                model_params: Mapping[str, Any] | None, created_at: Any,
                predict: dict[str, Any]) -> TrainingResult:
    from dropoutrisk.features import build_wide_features

    include_background = include_background or bool(getattr(spec, "include_background", False))
    X_all, y_all, _, catalogue = build_wide_features(frame, spec)
    _check_both_classes(y_all.dropna(), f"wide table ({spec.name})", spec.label.column,
                        "the labelled rows", fix="Check the label rule of the dataset spec "
                        "against the table; it needs rows of both outcomes")
    if calib_share > 0:
        X, y, X_calib, y_calib = _calibration_split(X_all, y_all, calib_share, random_state)
    else:
        X, y, X_calib, y_calib = X_all, y_all, None, None
    abc_missing = [c for c in _abc_columns() if c not in X.columns]
    model, baselines = _fit(X, y, X_calib, y_calib, catalogue=catalogue,
                            include_background=include_background, random_state=random_state,
                            model_params=model_params, abc_rule=not abc_missing)
    # the order the wide path has always reported its baselines in
    baselines = dict(sorted(baselines.items(), key=lambda item: item[0] != "logistic"))
    abc_note = ("fitted" if not abc_missing else "skipped: the table has no column(s) "
                + ", ".join(abc_missing) + " that the ABC rule reads")
    evaluation = None
    if X_calib is not None:
        evaluation = evaluate(y_calib, models={"model": model, **baselines}, X=X_calib)
    metrics = _metrics_record(
        evaluation,
        f"held-out calibration share {calib_share} of the rows (stratified, seed {random_state})",
        "No held-out rows (--calib-share 0): calibrated out of fold; run "
        "'dropoutrisk evaluate' on other data for metrics.")
    params = {
        "data_kind": "wide table",
        "dataset_spec": spec.name,
        "calib_share": calib_share,
        "include_background": include_background,
        "seed": random_state,
        "n_rows": len(X),
        "n_calibration_rows": 0 if X_calib is None else len(X_calib),
        "abc_rule": abc_note,
        "school_id_at_prediction": WIDE_SCHOOL_ID,
        "calibration": dict(model.calibration_info_),
        "model": _model_params(model),
        "predict": predict,
    }
    # pooled only: a wide table has no as_of, hence no snapshot weeks
    profile = TrainingProfile.from_features(X_all, features=list(model.feature_names_in_))
    # feature_columns keeps the spec order (the JSON file sorts its keys)
    extra = {"profile": profile.to_dict(),
             SPEC_EXTRA: {"feature_columns": list(spec.feature_columns),
                          "spec": spec.model_dump(mode="json")}}
    return _save(model, target, X, y, metrics=metrics, params=params, baselines=baselines,
                 catalogue=catalogue, extra=extra, created_at=created_at, evaluation=evaluation)


def _metrics_record(evaluation: Any, data: str, without: str) -> dict[str, Any]:
    """The manifest's ``metrics``: the held-out evaluation and what it was made on.

    Without held-out rows (``evaluation`` is None) it says so, with ``without``
    as the note on how to get metrics.
    """
    if evaluation is None:
        return {"data": None, "note": without}
    return {"data": data,
            "note": "The calibrator was fitted on these rows: ranking metrics are out of "
                    "sample, calibration metrics are in sample.",
            **evaluation.to_dict()}


def _fit(X: pd.DataFrame, y: pd.Series, X_calib: Any, y_calib: Any, *, catalogue: Any,
         include_background: bool, random_state: int, model_params: Mapping[str, Any] | None,
         abc_rule: bool) -> tuple[RiskModel, dict[str, Any]]:
    """The booster and its baselines, fitted on the same rows."""
    model = RiskModel(
        **dict(model_params or {}),
        include_background=include_background, catalogue=catalogue, random_state=random_state,
    ).fit(X, y, X_calib=X_calib, y_calib=y_calib)
    baselines: dict[str, Any] = {}
    if abc_rule:
        baselines["abc_rule"] = ABCRule().fit(X, y)
    baselines["logistic"] = LogisticBaseline(
        include_background=include_background, catalogue=catalogue).fit(X, y)
    return model, baselines


def _held_out_evaluation(model: RiskModel, X: pd.DataFrame, y: pd.Series,
                         outcomes: Any = None) -> Evaluation | None:
    """The model on its training rows scored out of fold (see ``TrainingResult.out_of_fold``)."""
    held = getattr(model, "_held_out_scores", None)
    if held is None:
        return None
    rows, proba = held
    labels = y.iloc[rows].to_numpy(dtype=float)
    if np.unique(labels[~np.isnan(labels)]).size < 2:
        return None
    return evaluate(labels, models={"model": proba}, X=X.iloc[rows], dropout_dates=outcomes)


def _save(model: RiskModel, target: Path, X: pd.DataFrame, y: pd.Series, *,
          evaluation: Evaluation | None, dropout_dates: Any = None,
          **saved: Any) -> TrainingResult:
    out_of_fold = (_held_out_evaluation(model, X, y, dropout_dates) if evaluation is None
                   else None)
    folder = save_model(model, target, training_data=X.assign(label=y.to_numpy()), **saved)
    manifest = json.loads((folder / MANIFEST_NAME).read_text("utf-8"))
    from types import MappingProxyType

    bundle = ModelBundle(path=folder, model=model, manifest=MappingProxyType(manifest),
                         baselines=MappingProxyType(dict(saved["baselines"])),
                         extra=MappingProxyType(to_jsonable(saved["extra"])))
    return TrainingResult(bundle=bundle, evaluation=evaluation,
                          _params=MappingProxyType(copy.deepcopy(saved["params"])),
                          out_of_fold=out_of_fold)


def _predict_settings(operating_point: Any, predict_weeks: Sequence[int] | None,
                      predict_days: Sequence[int] | None, weeks: list[int],
                      days: list[int] | None) -> dict[str, Any]:
    """The manifest entry of predict's configuration; checked before any work."""
    if days is not None and predict_weeks is not None:
        raise ParameterError(
            parameter="predict_weeks", value=list(predict_weeks),
            problem="the model is trained at days after each start, not at weeks",
            fix="Give predict_days instead")
    if days is None and predict_days is not None:
        raise ParameterError(
            parameter="predict_days", value=list(predict_days),
            problem="the model is trained at weeks of the school year, not at days",
            fix="Give predict_weeks instead")
    if days is not None:
        chosen = _check_days(predict_days) if predict_days is not None else days[:1]
        return PredictSettings.record(operating_point, days=chosen)
    chosen = list(predict_weeks) if predict_weeks is not None else weeks[:1]
    bad = [w for w in chosen if not (isinstance(w, int | np.integer) and 0 <= w <= 52)]
    if bad or not chosen:
        raise ParameterError(
            parameter="predict_weeks", value=chosen, problem="not snapshot weeks",
            allowed="whole numbers from 0 to 52", fix="Give the week predict scores at, e.g. [10]")
    return PredictSettings.record(operating_point, weeks=chosen)


def _model_params(model: RiskModel) -> dict[str, Any]:
    return {k: v for k, v in model.get_params(deep=False).items() if k != "catalogue"}


def _check_share(calib_share: float) -> None:
    if not (isinstance(calib_share, int | float) and 0 <= calib_share <= MAX_CALIB_SHARE):
        raise ParameterError(
            parameter="calib_share", value=calib_share,
            problem="is not a share of the rows to hold out",
            allowed=f"a number from 0 (out of fold) to {MAX_CALIB_SHARE}")


def _check_cohorts(cohorts: Sequence[int] | None, calib_cohort: int | None,
                   weeks: Sequence[int], horizon_days: int) -> tuple[list[int], list[int]]:
    if cohorts is None or len(list(cohorts)) == 0:
        raise ParameterError(
            parameter="cohorts", value=cohorts, problem="training on canonical tables needs "
            "the cohorts to train on", allowed="school-year starts such as 2020-2022 or "
            "2020,2021", fix="Pass the training cohorts; a wide table takes a dataset spec "
            "instead")
    train_cohorts = sorted({int(c) for c in cohorts})
    snapshot_weeks = sorted({int(w) for w in weeks})
    if not snapshot_weeks or any(w < 0 or w > 52 for w in snapshot_weeks):
        raise ParameterError(
            parameter="weeks", value=list(weeks), problem="is not a list of snapshot weeks",
            allowed="whole weeks 0 to 52 after the start of the school year, e.g. 6,10,20")
    if int(horizon_days) < 1:
        raise ParameterError(parameter="horizon_days", value=horizon_days,
                             problem="the label horizon must be at least one day",
                             allowed="a whole number of days >= 1")
    if calib_cohort is not None and calib_cohort <= max(train_cohorts):
        raise ParameterError(
            parameter="calib_cohort", value=calib_cohort,
            problem=f"must come after every training cohort {train_cohorts} (out of time)",
            fix="Calibrate on a later cohort, or leave it out to calibrate out of fold")
    return train_cohorts, snapshot_weeks


def _check_days(days: Sequence[int] | None) -> list[int] | None:
    if days is None:
        return None
    try:
        out = sorted({int(d) for d in days})
    except (TypeError, ValueError):
        out = []
    if not out or any(d < 0 or d > 3660 for d in out):
        raise ParameterError(
            parameter="days", value=list(days) if days is not None else days,
            problem="is not a list of snapshot days",
            allowed="whole days 0 to 3660 after each student's start, e.g. 14,30,60,90")
    return out


def _check_both_classes(y: pd.Series, table: str, column: str, rows: str, *,
                        fix: str = "Train on more cohorts, a longer --horizon-days, or data "
                        "with both outcomes") -> None:
    """A model needs dropouts and non-dropouts to learn from: say which rows lack one."""
    present = sorted({int(v) for v in pd.unique(y)})
    if len(present) < 2:
        raise DataError(
            table=table, column=column,
            problem=f"{rows} have only one label ({present or 'none'}): "
            f"{'no dropout' if present == [0] else 'no student without a dropout'}",
            allowed="rows with both outcomes, dropout (1) and no dropout (0)", fix=fix)


def _abc_columns() -> list[str]:
    rule = ABCRule()
    return [c for c in (rule.attendance_column, rule.failed_core_column, rule.concerns_column)
            if c is not None]


def _calibration_split(X: pd.DataFrame, y: pd.Series, share: float,
                       seed: int) -> tuple[Any, Any, Any, Any]:
    """Hold out ``share`` of the labelled rows, stratified by label; unlabelled rows are dropped."""
    from sklearn.model_selection import train_test_split

    labelled = y.notna().to_numpy()
    if not labelled.all():
        warnings.warn(MissingLabelWarning(
            f"{int((~labelled).sum())} of {labelled.size} rows have no label and were left "
            "out of training and calibration."), stacklevel=3)
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
