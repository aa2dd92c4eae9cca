"""The fairness audit: measures by group and intersection at the operating point.

:func:`audit` turns a model (or precomputed scores and flags), labels and
audit groups into an :class:`Audit`. Like fairlearn's ``MetricFrame``, the
``Audit`` computes everything when it is built, takes keyword-only
arguments, is immutable, and returns plain DataFrames.

Rules, exactly
--------------
* **Cells.** Every group of every grouping named in ``groups`` and, with
  ``intersections=True``, every combination of 2 to k groupings (for
  example ``gender × newly_arrived × special_support``). Every combination
  of observed values is listed, also those no student falls into. Missing
  group values form their own group, ``"missing"``.
* **Measures** per cell: base rate, flag rate, TPR, FPR, precision at the
  operating point, mean predicted probability (compare with the base rate),
  expected calibration error (``n_bins`` equal-width bins) and ROC-AUC.
  Point estimates come from :class:`fairlearn.metrics.MetricFrame`.
* **Intervals.** Percentile bootstrap (``n_boot`` replicates, ``confidence``
  level, the empirical quantile with no interpolation). Rows are resampled
  within the finest intersection of all groups, so every cell keeps its
  size. An interval is NaN when the measure is undefined in more than half
  of the replicates (for example TPR in a cell with one or two dropouts).
  When a student has several ``as_of`` snapshots (a repeated index in
  ``features``), whole students are resampled instead of rows.
* **Disparity ratios.** Each cell's measure divided by its reference cell's,
  for ``metrics`` (default flag rate, TPR, FPR and precision). The reference
  is, by default, the largest published cell of the same grouping
  (``reference="largest"``); ``"overall"`` compares with everyone; a mapping
  ``{grouping: group}`` names it. The ratio's interval is the percentile
  interval of the ratio computed within each replicate (paired).
* **Findings.** A ratio whose point estimate lies outside ``[0.8, 1.25]``
  is a finding (docs/architecture.md, "Trust").
  ``excludes_parity`` says whether its interval excludes 1; a finding whose
  interval includes 1 may be noise.
* **Small cells.** See :mod:`dropoutrisk.fairness._suppress`: cells with
  fewer than ``min_cell`` students, and the complementary cells that would
  let them be recovered, have every measure, interval and ratio set to NaN
  and ``n`` shown as ``"<10"`` (or ``"suppressed"``). The exact counts are
  dropped when the audit is built; no output can contain them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import AlignmentError, MissingColumnError, ParameterError
from dropoutrisk.fairness._audit_result import MIN_EVENTS, Audit
from dropoutrisk.fairness._cells import BAND, DISPARITY_METRICS
from dropoutrisk.fairness._suppress import MIN_CELL
from dropoutrisk.models._operating_point import OperatingPoint, index_rank

__all__ = ["BAND", "DISPARITY_METRICS", "MIN_EVENTS", "Audit", "OperatingPoint", "audit"]


# ----------------------------------------------------------------------------- audit()
def _model_input(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    names = getattr(model, "feature_names_in_", None)
    if names is not None and not hasattr(model, "transform_input"):
        missing = [c for c in names if c not in features.columns]
        if missing:
            raise MissingColumnError(
                table="features", column=str(missing[0]),
                problem=f"{len(missing)} model features are missing: {list(missing)[:10]}",
                fix="Pass the feature frame the model was fitted on.",
            )
        return features[list(names)]
    return features


def _align_labels(labels: Any, features: pd.DataFrame | None) -> Any:
    if not isinstance(labels, pd.Series) or features is None:
        return labels
    if labels.index.equals(features.index):
        return labels
    if labels.index.is_unique and features.index.is_unique:
        return labels.reindex(features.index)
    raise AlignmentError(
        table="labels", problem="an index that does not match the features",
        allowed="the same index in the same order, or unique indexes on both",
        fix="Build labels and features for the same snapshots (build_labels with the same "
        "as_of), or pass labels as an array in feature-row order.",
    )


def audit(
    model: Any = None,
    features: pd.DataFrame | None = None,
    labels: Any = None,
    *,
    groups: Sequence[str] | pd.DataFrame,
    intersections: bool | int = True,
    operating_point: float | Mapping[str, Any] | OperatingPoint | None = None,
    scores: Any = None,
    flags: Any = None,
    reference: str | Mapping[str, str] = "largest",
    metrics: Sequence[str] = DISPARITY_METRICS,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | None = None,
    min_cell: int = MIN_CELL,
    n_bins: int = 10,
    min_events: int = MIN_EVENTS,
    suppress_empty: bool = False,
) -> Audit:
    """Audit a model's flags and calibration by group and intersection.

    Parameters
    ----------
    model : estimator or ModelBundle, optional
        Anything with ``predict_proba`` (a :class:`~dropoutrisk.models.RiskModel`,
        a scikit-learn classifier), or a loaded
        :class:`~dropoutrisk.models.ModelBundle`, whose recorded ``predict``
        operating point is then the default
        (:attr:`~dropoutrisk.models.ModelBundle.predict_settings`). Not
        needed when ``scores`` are given.
    features : DataFrame, optional
        The feature frame (for example from ``build_features``): model input,
        and the source of ``groups`` and of ``operating_point["by"]`` when
        those name columns.
    labels : Series or array-like
        1 for dropout, 0 otherwise, missing for censored rows (dropped).
        A Series is aligned with ``features`` by index.
    groups : list of str or DataFrame
        Columns of ``features`` to audit by (``["gender", "newly_arrived",
        "special_support"]``), or a frame of group labels aligned with the rows.
    intersections : bool or int, default=True
        Also audit every combination of 2..k groupings (k = all, or the int).
    operating_point : float, mapping or OperatingPoint, optional
        A :class:`~dropoutrisk.models.OperatingPoint`, a threshold (``0.3``),
        ``{"flag_rate": 0.1}``, or ``{"capacity": 40, "by": "school_id"}``.
        Threshold, capacity and cost are delegated to ``model.flag`` when the
        model has one. Without it (and without ``flags``): the operating point
        a bundle records for ``predict``, else the model's default flag.
        ``params["operating_point_source"]`` says which.
    scores : array-like, optional
        Precomputed probabilities, instead of ``model.predict_proba``.
    flags : array-like of bool, optional
        Precomputed flags; then ``operating_point`` is ignored.
    reference, metrics, n_boot, confidence, random_state, min_cell, n_bins, min_events,
    suppress_empty
        See :class:`Audit`.

    Returns
    -------
    Audit

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"gender": rng.choice(["F", "M"], 300),
    ...                   "newly_arrived": rng.choice([0, 1], 300, p=[0.9, 0.1])})
    >>> y = pd.Series(rng.random(300) < 0.2, index=X.index)
    >>> p = np.clip(0.2 + 0.4 * (y - 0.2) + rng.normal(0, 0.1, 300), 0, 1)
    >>> a = audit(features=X, labels=y, scores=p, groups=["gender", "newly_arrived"],
    ...           operating_point={"flag_rate": 0.2}, n_boot=100, random_state=0)
    >>> a.by_intersection["grouping"].unique().tolist()
    ['gender × newly_arrived']
    >>> float(a.overall["flag_rate"])
    0.2
    """
    if labels is None:
        raise ParameterError(parameter="labels", message=
            "labels are required: 1 for dropout, 0 otherwise, one per row.")
    source = "given"
    if hasattr(model, "predict_settings") and hasattr(model, "manifest"):  # a ModelBundle
        settings = model.predict_settings
        model = model.model
        if operating_point is None and flags is None:
            operating_point = settings.operating_point
            source = settings.note
    if operating_point is None and flags is None and source == "given":
        source = "the model's default flags: no operating point was given"
    if model is None and scores is None:
        raise ParameterError(parameter="model", message=
            "Pass a model (with predict_proba) or precomputed scores=.")
    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, pd.Series):
        groups = groups.to_frame()
    if not isinstance(groups, pd.DataFrame):
        cols = list(groups)
        if features is None:
            raise ParameterError(parameter="features", message=
                "groups names columns, so features= is needed (or pass a frame).")
        missing = [c for c in cols if c not in features.columns]
        if missing:
            raise MissingColumnError(
                table="features", column=str(missing[0]),
                problem=f"the audit group column is missing (missing: {missing})",
                allowed=f"columns of the feature frame, e.g. {list(features.columns)[:8]}",
                fix="Build features with the background columns, or pass groups as a frame.",
            )
        groups = features[cols]
    x_model = _model_input(model, features) if (model is not None and features is not None) else None
    if scores is None:
        if x_model is None:
            raise ParameterError(parameter="features", message=
                "features= is needed to score with the model.")
        proba = np.asarray(model.predict_proba(x_model))
        scores = proba[:, 1] if proba.ndim == 2 else proba
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = _align_labels(labels, features)
    clusters = None
    if features is not None and not features.index.is_unique:
        clusters = features.index.to_numpy()

    if flags is not None:
        description, source = "precomputed flags", "given"
    else:
        from dropoutrisk.models._flagging import flag_scores
        from dropoutrisk.models._operating_point import flags_at

        op = None if operating_point is None else OperatingPoint.coerce(operating_point)
        index = features.index if features is not None else pd.RangeIndex(scores.size)
        by = None
        if op is not None and op.by is not None:
            if features is None or op.by not in features.columns:
                raise MissingColumnError(
                    table="features", column=op.by,
                    problem="the capacity column is missing",
                    fix="Pass features with that column, or capacity without by.",
                )
            by = features[op.by].to_numpy()
        if op is None:
            if model is None or not hasattr(model, "flag") or x_model is None:
                raise ParameterError(parameter="operating_point", message=
                    "Pass operating_point= (threshold, flag_rate or capacity) or flags=; "
                    "without a model that can flag there is no default."
                )
            flags = np.asarray(model.flag(x_model), dtype=bool)
            description = "model default"
        elif op.flag_rate is not None:
            # the audit's own share: ranked on the probabilities, ties by index value
            flags = flags_at(op, scores, scores, tie=index_rank(index))
            description = op.describe()
        elif model is not None and hasattr(model, "flag") and x_model is not None:
            point = {"threshold": op.threshold, "capacity": op.capacity, "by": by,
                     "cost": op.cost}
            flags = np.asarray(
                model.flag(x_model, **{k: v for k, v in point.items() if v is not None}),
                dtype=bool,
            )
            description = op.describe()
        else:
            flags = flag_scores(scores, scores, index, groups=by, operating_point=op).to_numpy()
            description = op.describe()
    return Audit(
        y_true=labels,
        y_score=scores,
        flags=flags,
        groups=groups,
        intersections=intersections,
        reference=reference,
        metrics=metrics,
        n_boot=n_boot,
        confidence=confidence,
        random_state=random_state,
        min_cell=min_cell,
        n_bins=n_bins,
        operating_point=description,
        operating_point_source=source,
        clusters=clusters,
        min_events=min_events,
        suppress_empty=suppress_empty,
    )
