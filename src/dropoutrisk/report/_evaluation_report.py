"""evaluation_report(): a bundle evaluated out of time beside its baselines, as one report.

What ``dropoutrisk evaluate`` runs. The model is evaluated with
:func:`~dropoutrisk.models.evaluate` beside the baselines stored in its bundle
and, with ``against``, a previous model scored on the same rows; then compared
with :func:`~dropoutrisk.models.compare_models` (a paired cluster bootstrap)
against the previous model or, without one, the logistic baseline. The result
(:class:`~dropoutrisk.report.EvaluationReport`) holds aggregates only and
writes its whole folder at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import DataError, IncompatibleModelError, ParameterError
from dropoutrisk.explain import reason_codes
from dropoutrisk.models import OperatingPoint, compare_models, evaluate
from dropoutrisk.models._rows import check_way_in, labelled_rows
from dropoutrisk.models._train import cohort_frame
from dropoutrisk.models.evaluation._changes import REASON_DEPTH
from dropoutrisk.models.evaluation._metrics import top_fraction_flags
from dropoutrisk.report._evaluation_files import BASELINE_REFERENCE, PREVIOUS, EvaluationReport

__all__ = ["evaluation_report"]

#: The flag rate of the operating point when none is given.
DEFAULT_FLAG_RATE = 0.10


def evaluation_report(
    bundle: Any,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    spec: Any = None,
    cohorts: Sequence[int] | None = None,
    weeks: Sequence[int] | None = None,
    days: Sequence[int] | None = None,
    horizon_days: int | None = None,
    operating_point: Any = None,
    against: Any = None,
    truth: pd.DataFrame | None = None,
    n_boot: int = 1000,
    random_state: int = 0,
) -> EvaluationReport:
    """Evaluate a bundle's model out of time, beside its baselines and a previous model.

    Parameters
    ----------
    bundle : ModelBundle
        The model to evaluate, verified by :func:`~dropoutrisk.models.load_bundle`.
    data : mapping of str to DataFrame, or DataFrame
        Validated canonical tables, or with ``spec`` a wide table.
    spec : DatasetSpec, optional
        The dataset spec of a wide table (the model must have been trained on one).
    cohorts : sequence of int
        Canonical tables only, required there: the test cohorts, each later
        than every training cohort.
    weeks, days : sequence of int, optional
        Canonical tables only: snapshot weeks, or days after each start;
        default those the model was trained at.
    horizon_days : int, optional
        Canonical tables only: the label horizon; default the training one.
    operating_point : OperatingPoint, optional
        Where the operating-point metrics are taken; default a flag rate of 10%.
    against : ModelBundle, optional
        A previous model, scored on the same rows (with its own features when
        its catalogue differs) and compared with the model.
    truth : DataFrame, optional
        The synthetic truth (``student_id``, ``as_of``, ``true_risk``): adds the
        oracle and the model/oracle ratios, when it covers the evaluated rows.
    n_boot : int, default 1000
        Bootstrap replicates of the comparison's intervals; 0 for point estimates.
    random_state : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    ParameterError
        Test cohorts that are not later than the training cohorts (of the
        model, or of ``against``).
    IncompatibleModelError
        A model that cannot score these rows (another way in, or missing features).
    DataError
        Tables that do not fit, or no labelled row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> from dropoutrisk.schema import validate_tables
    >>> from dropoutrisk.models import train_model
    >>> made = make_cohorts(n_students=300, cohorts=[2021, 2022, 2023], random_state=0)
    >>> tables = validate_tables({k: v for k, v in made.items() if k != "truth"})
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> bundle = train_model(tables, folder, cohorts=[2021, 2022], weeks=[10],
    ...                      model_params={"n_estimators": 20}).bundle
    >>> report = evaluation_report(bundle, tables, cohorts=[2023], n_boot=0)
    >>> sorted(report.files())
    ['calibration.png', 'comparison.json', 'metrics.json', 'report.html', 'roc.png']
    >>> report.comparison.reference
    'logistic'
    """
    point = (OperatingPoint(flag_rate=DEFAULT_FLAG_RATE) if operating_point is None
             else OperatingPoint.from_options(operating_point))
    trained = dict(bundle.manifest.get("params") or {})
    trained_on = [int(c) for c in trained.get("cohorts") or []]
    if spec is None and cohorts:
        _check_out_of_time(list(cohorts), trained_on, "cohorts")
    if against is not None:
        check_way_in(against, spec, parameter="against")
        if spec is None and cohorts:
            previous_on = [int(c) for c in (against.manifest.get("params") or {}).get("cohorts")
                           or []]
            _check_out_of_time(list(cohorts), previous_on, "against")
    rows = labelled_rows(bundle, data, spec=spec, cohorts=cohorts, weeks=weeks, days=days,
                         horizon_days=horizon_days, what="test")
    X, y, settings = rows.X, rows.y, rows.settings
    if truth is not None and not rows.wide:
        truth = _matching_truth(truth, settings["horizon_days"], X)
    else:
        truth = None
    catalogue = _catalogue(bundle.model)
    models: dict[str, Any] = {"model": bundle.model}
    if against is not None:
        if not rows.wide:
            _warn_if_other_horizon(against, settings["horizon_days"])
        models[PREVIOUS] = _previous_scorer(against, data, X, catalogue=catalogue,
                                            settings=settings)
    models.update(bundle.baselines)
    outcomes = None if rows.wide else data.get("outcomes")
    result = evaluate(y, models=models, X=X, truth=truth, operating_point=point,
                      dropout_dates=outcomes)
    reference = _reference(models)
    comparison = None
    if reference is not None:
        order = [reference, "model", *(m for m in models if m not in (reference, "model"))]
        reasons = (None if against is None
                   else _top_reasons({"model": (bundle.model, X),
                                      PREVIOUS: _own_rows(models[PREVIOUS], X)},
                                     X, point.flag_rate))
        comparison = compare_models({name: models[name] for name in order}, X, y,
                                    reference=reference, operating_point=point,
                                    n_boot=n_boot, random_state=random_state, reasons=reasons)
    header = {
        "model_id": bundle.model_id,
        "manifest_sha256": bundle.manifest_sha256,
        "trained_on_cohorts": trained_on,
        "cohorts": settings.get("cohorts", []),
        "weeks": settings.get("weeks", []),
        "days": settings.get("days"),
        "horizon_days": settings.get("horizon_days", trained.get("horizon_days")),
        "n_rows": len(X),
        "n_students": int(X.index.nunique()),
        "truth": truth is not None,
    }
    if rows.wide:
        header["dataset_spec"] = settings["dataset_spec"]
    compared = None
    if comparison is not None:
        compared = {
            "model_id": bundle.model_id,
            "manifest_sha256": bundle.manifest_sha256,
            "against": None if against is None else _about(against, catalogue),
            "cohorts": header["cohorts"],
            "weeks": header["weeks"],
            "horizon_days": header["horizon_days"],
            **comparison.to_dict(),
        }
    return EvaluationReport(header=header, evaluation=result, comparison=comparison,
                            compared=compared)


def _catalogue(model: Any) -> Any:
    from dropoutrisk.features import default_catalogue

    return getattr(model, "catalogue", None) or default_catalogue()


def _check_out_of_time(test_cohorts: list[int], trained_on: list[int], parameter: str) -> None:
    late = [c for c in test_cohorts if trained_on and c <= max(trained_on)]
    if late:
        which = ("the training cohorts" if parameter == "cohorts"
                 else "the previous model's training cohorts")
        raise ParameterError(
            parameter=parameter,
            message=f"cohorts {late} are not later than {which} {trained_on}: that would "
            "not be an out-of-time evaluation.")


def _warn_if_other_horizon(previous: Any, horizon: int) -> None:
    trained = (previous.manifest.get("params") or {}).get("horizon_days")
    if trained is not None and int(trained) != horizon:
        warnings.warn(
            f"The previous model (against) was trained to predict dropout within {trained} days; it is "
            f"compared on labels of {horizon} days, as the model is.",
            UserWarning,
            stacklevel=3,
        )


def _previous_scorer(previous: Any, data: Any, X: pd.DataFrame, *, catalogue: Any,
                     settings: Mapping[str, Any]) -> Any:
    """The previous model, ready to score the rows of ``X``.

    A previous model built on the same catalogue scores ``X`` itself. One built on
    another catalogue gets its own feature frame for the same (student, as_of) rows:
    its scores are computed there and handed back in the order of ``X``.
    """
    own = _catalogue(previous.model)
    X_prev = X
    wide = "dataset_spec" in settings
    if own != catalogue and not wide:
        try:
            X_prev, _ = cohort_frame(data, settings["cohorts"], settings["weeks"],
                                     horizon_days=settings["horizon_days"], catalogue=own,
                                     what="test", days=settings["days"],
                                     model_features=list(previous.model.feature_names_in_))
        except DataError:
            raise
        except ValueError as exc:  # a catalogue of features canonical tables do not have
            raise IncompatibleModelError(
                f"The previous model (against) {previous.path}: its features cannot be built "
                f"from the canonical tables: {exc}", path=str(previous.path)) from exc
    needed = previous.feature_names or list(getattr(previous.model, "feature_names_in_", []))
    missing = [f for f in needed if f not in X_prev.columns]
    if missing:
        where = (f"the wide table of spec {settings['dataset_spec']!r}" if wide else
                 f"the feature frame of cohorts {settings['cohorts']} at weeks "
                 f"{settings['weeks']}")
        raise IncompatibleModelError(
            f"The previous model (against) {previous.path}, {previous.model_id}, cannot score "
            f"these rows: {len(missing)} of its {len(needed)} features are missing from "
            f"{where}: {missing[:10]}{' and more' if len(missing) > 10 else ''}. Compare with "
            "a model trained on the same kind of data.", path=str(previous.path))
    if X_prev is X:
        return previous.model
    rows = _row_keys(X_prev).get_indexer(_row_keys(X))
    if (rows < 0).any():
        raise IncompatibleModelError(
            f"The previous model (against) {previous.path}: its feature frame lacks "
            f"{int((rows < 0).sum())} of the {len(X)} evaluated (student, as_of) rows.",
            path=str(previous.path))
    return _Scores(previous.model, X_prev.iloc[rows])


def _row_keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [frame.index.to_numpy(), pd.to_datetime(frame["as_of"]).to_numpy()])


def _own_rows(scorer: Any, X: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    """The model behind a scorer and the feature rows it scores, aligned with ``X``."""
    if isinstance(scorer, _Scores):
        return scorer.model, scorer.features
    return scorer, X


def _top_reasons(models: Mapping[str, tuple[Any, pd.DataFrame]], X: pd.DataFrame,
                 flag_rate: float) -> dict[str, pd.DataFrame] | None:
    """Each model's top reason codes on the rows either flags at the comparison's flag rate.

    What :func:`~dropoutrisk.models.compare_models` needs for the reason stability (it
    reads the rows flagged by both); None when a model has no exact SHAP reasons (a
    baseline, or a wide table scored without one).
    """
    if not all(hasattr(model, "booster_") and hasattr(model, "rank_score")
               for model, _ in models.values()):
        return None
    as_of = X["as_of"].to_numpy() if "as_of" in X.columns else None
    flagged = np.zeros(len(X), dtype=bool)
    for model, features in models.values():
        rank = np.asarray(model.rank_score(features), dtype=np.float64)
        flagged |= top_fraction_flags(rank, flag_rate, as_of)
    return {name: reason_codes(model, features, n=REASON_DEPTH, rows=flagged)
            for name, (model, features) in models.items()}


class _Scores:
    """A model's scores on its own feature rows, for a frame with the same rows in that order.

    ``evaluate`` and ``compare_models`` score every model on one ``X``; this stands in
    for a model that needs other columns. Ranking follows the model's own flag order
    (``rank_score``: the margin, reversed for a negative Platt slope), as those
    functions do.
    """

    def __init__(self, model: Any, X_own: pd.DataFrame) -> None:
        self.model, self.features = model, X_own  # for the reasons of the comparison
        self._proba = np.asarray(model.predict_proba(X_own), dtype=np.float64)
        if hasattr(model, "rank_score"):
            self._rank = np.asarray(model.rank_score(X_own), dtype=np.float64)
        elif hasattr(model, "decision_function"):
            self._rank = np.asarray(model.decision_function(X_own), dtype=np.float64)
        else:
            self._rank = self._proba[:, 1]

    def _check(self, X: Any) -> None:
        if len(X) != len(self._rank):
            raise ValueError(f"These scores are for {len(self._rank)} rows, not {len(X)}.")

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check(X)
        return self._proba

    def rank_score(self, X: Any) -> np.ndarray:
        self._check(X)
        return self._rank


def _reference(models: Mapping[str, Any]) -> str | None:
    """The model the comparison is against: the previous model, else the logistic baseline."""
    if PREVIOUS in models:
        return PREVIOUS
    others = [m for m in models if m != "model"]
    if not others:
        return None
    return BASELINE_REFERENCE if BASELINE_REFERENCE in others else others[0]


def _about(previous: Any, catalogue: Any) -> dict[str, Any]:
    """What comparison.json records of the previous model."""
    params = dict(previous.manifest.get("params") or {})
    return {
        "name": PREVIOUS,
        "model_id": previous.model_id,
        "manifest_sha256": previous.manifest_sha256,
        "trained_on_cohorts": [int(c) for c in params.get("cohorts") or []],
        "trained_at_weeks": list(params.get("weeks") or []),
        "trained_horizon_days": params.get("horizon_days"),
        "features": ("same catalogue" if _catalogue(previous.model) == catalogue
                     else "own catalogue"),
    }


def _matching_truth(truth: pd.DataFrame, horizon: int, X: pd.DataFrame) -> pd.DataFrame | None:
    """The truth rows at the evaluation's horizon (a truth table may hold several).

    None when they do not cover every evaluated (student, as_of) row: the
    synthetic truth is written at school-year weeks, not at days after a start.
    """
    if "horizon_days" in truth.columns:
        truth = truth[truth["horizon_days"] == horizon]
    if not len(truth) or not {"student_id", "as_of"} <= set(truth.columns):
        return None if not len(truth) else truth
    have = pd.MultiIndex.from_arrays([truth["student_id"].astype(str),
                                      pd.to_datetime(truth["as_of"]).dt.normalize()])
    rows = pd.MultiIndex.from_arrays([X.index.astype(str),
                                      pd.to_datetime(X["as_of"]).dt.normalize()])
    if not rows.isin(have).all():
        warnings.warn("The truth table has no true risk at these snapshots: the oracle is "
                      "left out.", UserWarning, stacklevel=3)
        return None
    return truth
