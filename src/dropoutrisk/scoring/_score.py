"""Batch scoring: :func:`score`, the library core of ``dropoutrisk predict``.

``score`` takes frames and returns an immutable :class:`ScoreResult`; files
are read and written by the command line (or a job script). The same inputs
give the same predictions, row for row and bit for bit.

Memory stays bounded by scoring in chunks of ``chunk_size`` students:

* feature rows given as an iterable of DataFrames (for example Parquet row
  groups read one at a time) are never held together; only the per-student
  output columns are (ids as Arrow strings, a few numbers per student);
* capacity flags and ``rank_in_school`` need the whole column of
  probabilities, which is cheap (8 bytes a student);
* reasons need school medians over every student of a school, so they are
  computed from an in-memory feature frame, ``chunk_size`` students at a time.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from dropoutrisk._provenance import package_versions
from dropoutrisk.errors import ModelError
from dropoutrisk.models._operating_point import OperatingPoint
from dropoutrisk.models._rows import check_way_in
from dropoutrisk.scoring._inputs import (
    as_of_date,
    check_options,
    replay_warnings,
    resolve_model,
)
from dropoutrisk.scoring._result import ScoreResult
from dropoutrisk.scoring._scorer import Scorer

__all__ = ["score"]



def score(
    model: Any,
    data: Any,
    as_of: Any,
    *,
    operating_point: Any = None,
    threshold: float | None = None,
    capacity: int | None = None,
    by: str | None = None,
    reasons: int = 0,
    reasons_for: Literal["flagged", "all"] = "flagged",
    chunk_size: int = 100_000,
    drift: Literal["warn", "fail", "off"] = "warn",
    profile: Any = None,
    model_id: str | None = None,
    engine: Any = "auto",
    progress: Callable[[int, int | None], None] | None = None,
    require_school: bool = True,
    allow_missing: Sequence[str] = (),
) -> ScoreResult:
    """Score every student enrolled at ``as_of``: probability, flag, tier, rank, reasons.

    This is what ``dropoutrisk predict`` runs; the command line adds reading
    the files, writing the outputs atomically and the input hashes of the run
    record. ``RiskModel.predict`` stays the scikit-learn ``predict`` (class
    labels), so that the model keeps the estimator contract; ``score`` is the
    one entry point with the batch semantics.

    Parameters
    ----------
    model : RiskModel or ModelBundle
        A fitted model, or a verified bundle from
        :func:`~dropoutrisk.models.load_bundle` (which brings its model id and
        its training profile for the drift check).
    data : mapping of tables, DataFrame of feature rows, or iterable of DataFrames
        * canonical tables (``{"students": ..., "attendance": ...}``, frames or
          paths): validated at ``as_of`` (later events dropped with a warning)
          and turned into features with
          :func:`~dropoutrisk.features.build_features`;
        * feature rows (index or column ``student_id``, with ``school_id``);
        * an iterable of such frames, scored one at a time (streaming).
    as_of : date-like
        The prediction date. Feature rows with an ``as_of`` column must match it.
    operating_point : OperatingPoint, mapping or float, optional
        Where to flag (see :class:`~dropoutrisk.models.OperatingPoint`):
        a threshold, a capacity (per ``by`` group), a flag rate or a cost.
        Capacity and flag rate rank on the model's margin; ties are broken by
        student id. Default: the operating point recorded in a bundle at
        training (:attr:`~dropoutrisk.models.ModelBundle.predict_settings`),
        else the model's own flags (``default_flags``).
    threshold : float, optional
        The same as ``operating_point=OperatingPoint(threshold=...)``: flag
        where the probability is at or above it.
    capacity : int, optional
        The same as ``OperatingPoint(capacity=...)``: flag the ``capacity``
        highest-risk students (per ``by`` group).
    by : str, optional
        A column of the feature rows (e.g. ``"school_id"``) for ``capacity``.
    reasons : int, default 0
        Top reasons per explained student (exact SHAP), as
        ``reason_<k>_code``, ``reason_<k>_sv`` and ``reason_<k>_en``.
    reasons_for : {"flagged", "all"}, default "flagged"
        Which students get reasons; the others get missing values.
    chunk_size : int, default 100000
        Students scored (and explained) at a time.
    drift : {"warn", "fail", "off"}, default "warn"
        Compare the rows with the training profile; ``"warn"`` records the
        findings (and emits :class:`~dropoutrisk.errors.DriftWarning`),
        ``"fail"`` raises :class:`~dropoutrisk.errors.DriftError` when a check
        reaches its drift threshold, before any prediction is returned.
    profile : TrainingProfile or dict, optional
        The training profile; by default the bundle's.
    model_id : str, optional
        The id written in every row; by default the bundle's, else ``"unsaved"``.
    engine : str or DuckDBEngine, default "auto"
        Feature engine for canonical tables (see ``build_features``).
    progress : callable, optional
        Called as ``progress(rows_done, rows_total_or_None)`` after each chunk.
    require_school : bool, default True
        Feature rows must have a ``school_id``. With ``False`` rows without one
        are scored as one group: their ``school_id`` is missing in the
        predictions, ``rank_in_school`` ranks them among all rows and reason
        references fall back to the year group or all students. The served
        MLflow model, which receives bare feature rows, scores this way.
    allow_missing : sequence of str, default ()
        Tables (or students columns) the model was trained with that the data may
        lack all the same. Without it such data are refused (``MissingTableError``
        or ``MissingColumnError``, exit code 2); with it their features are missing
        for every student, a warning says so and the run record lists them.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        Invalid tables or feature rows (the message names table, column, rows).
    ModelError
        The model is not a fitted dropoutrisk model.
    DriftError
        With ``drift="fail"``, when the input drifted from the training profile.

    Examples
    --------
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features(n_schools=2)
    >>> model = RiskModel(n_estimators=10, random_state=0).fit(X, y)
    >>> result = score(model, X, "2024-10-01", capacity=2, by="school_id", reasons=1)
    >>> result.predictions.groupby("school_id")["flag"].sum().tolist()
    [2, 2]
    >>> result.predictions.columns[:6].tolist()
    ['student_id', 'school_id', 'probability', 'flag', 'tier', 'rank_in_school']
    >>> int(result.predictions["reason_1_code"].notna().sum())
    4
    """
    started = time.perf_counter()
    point = OperatingPoint.from_options(operating_point, threshold=threshold, capacity=capacity,
                                        by=by)
    check_options(reasons, reasons_for, chunk_size, drift)
    day = as_of_date(as_of)
    estimator, model_id, manifest_sha, profile = resolve_model(model, profile, model_id)
    if isinstance(data, Mapping) and estimator is not model:  # canonical tables, a bundle
        check_way_in(model, None)  # a wide-table model scores its wide table's rows only
    from_bundle = False
    if point is None and hasattr(model, "predict_settings"):
        # a bundle trained for a job (train's operating point): flag where it says
        settings = model.predict_settings
        point, from_bundle = settings.operating_point, settings.recorded and \
            settings.operating_point is not None
    if drift == "fail" and profile is None:
        raise ModelError(
            "Failing on drift was asked for, but the model has no training profile to compare "
            "with. Train the model again with this version of dropoutrisk (it stores "
            "profile.json in the model folder), or pass profile=.")
    timings: dict[str, float] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        core = Scorer(estimator, day, point=point,
                       reasons=int(reasons), reasons_for=reasons_for, chunk_size=int(chunk_size),
                       drift=drift, profile=profile, model_id=model_id, engine=engine,
                       progress=progress, timings=timings, require_school=bool(require_school),
                       allow_missing=tuple(str(a) for a in allow_missing))
        table, counts, report = core.run(data)
    messages = replay_warnings(caught)
    timings["total"] = time.perf_counter() - started
    chosen = {} if point is None else point.to_dict()
    options = {"threshold": chosen.get("threshold"), "capacity": chosen.get("capacity"),
               "by": chosen.get("by"), "reasons": int(reasons),
               "reasons_for": reasons_for, "chunk_size": int(chunk_size), "drift": drift}
    for extra in ("flag_rate", "cost"):  # keys only when used: records stay as they were
        if chosen.get(extra) is not None:
            options[extra] = chosen[extra]
    if from_bundle:
        options["operating_point_from"] = "model bundle (recorded at training)"
    if not require_school:
        options["require_school"] = False
    if allow_missing:
        options["allow_missing"] = sorted(str(a) for a in allow_missing)
    record = {
        "as_of": day.isoformat(),
        "model": {"model_id": model_id, "manifest_sha256": manifest_sha,
                  "model_class": type(estimator).__name__},
        "options": options,
        "rows": counts,
        "drift": report.to_dict() if report is not None else
        {"checked": False, "reason": "off" if drift == "off" else
         "the model has no training profile (train it again to store one)"},
        "warnings": messages,
        "versions": package_versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return ScoreResult(table, record, report)

