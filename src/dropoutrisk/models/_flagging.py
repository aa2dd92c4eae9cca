"""Turning probabilities into flags and support tiers.

The operating point (:class:`~dropoutrisk.models.OperatingPoint`) says where;
one at a time:

* **threshold**: flag where the probability is at or above ``threshold``.
* **capacity**: flag the ``capacity`` highest-ranked rows, per group when
  ``by`` names a column of ``X`` ("our coach can take 40 students per
  school"). Rows are ranked by the estimator's ranking score (the margin for
  :class:`~dropoutrisk.models.RiskModel`); ties are broken by the row's
  index value, then by its position, so the same input gives the same flags.
* **flag_rate**: flag that share of the rows (``round(flag_rate * n)``, halves
  up), ranked and tie-broken as for capacity.
* **cost**: expected-cost minimisation. With the cost of a missed dropout
  ``fn`` and of an unneeded flag ``fp``, flagging costs ``(1 - p) * fp`` in
  expectation and not flagging costs ``p * fn``; flag where
  ``p * fn > (1 - p) * fp``, that is ``p > fp / (fn + fp)``. This assumes
  calibrated probabilities.

Tiers reuse the Plug In project's three support levels as labels:
``universal`` (everyone), ``targeted`` and ``intensive``. They are labels
for the level of follow-up a probability suggests, not prescriptions.
The default cut points are in :data:`DEFAULT_TIER_CUTS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import OperatingPointError, ParameterError
from dropoutrisk.models._operating_point import OperatingPoint, flags_at, index_rank

__all__ = ["DEFAULT_TIER_CUTS", "TIER_LABELS", "flag_scores", "tier_scores"]

#: Support-level labels, lowest first.
TIER_LABELS: tuple[str, str, str] = ("universal", "targeted", "intensive")

#: Default probability cut points: ``targeted`` from 0.20, ``intensive`` from 0.50.
#: 0.50 is where dropout is more likely than not; 0.20 is about twice the
#: one-year dropout rate of a typical cohort. Set them from local capacity.
DEFAULT_TIER_CUTS: tuple[float, float] = (0.20, 0.50)


def _index_of(X: Any, n: int) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame | pd.Series) else pd.RangeIndex(n)


def flag_scores(
    proba: np.ndarray,
    rank_score: np.ndarray,
    index: pd.Index,
    *,
    threshold: float | None = None,
    capacity: int | None = None,
    groups: np.ndarray | None = None,
    cost: Sequence[float] | Mapping[str, float] | None = None,
    default_threshold: float = DEFAULT_TIER_CUTS[0],
    operating_point: OperatingPoint | None = None,
) -> pd.Series:
    """Flag rows at an operating point: threshold, capacity (per group), flag rate or cost.

    Parameters
    ----------
    proba : ndarray of shape (n,)
        Calibrated probability of dropout.
    rank_score : ndarray of shape (n,)
        Score used to rank rows for capacity and flag rate (higher is riskier).
    index : pandas.Index
        Index of the returned Series; its values break ties, then positions.
    threshold, capacity, cost
        Conveniences for ``operating_point`` (see :class:`OperatingPoint`).
    groups : ndarray of shape (n,), optional
        Group labels for a capacity per group (the operating point's ``by``).
    default_threshold : float
        The threshold used when no operating point is given.
    operating_point : OperatingPoint, optional

    Returns
    -------
    pandas.Series of bool, named ``"flag"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> p = np.array([0.9, 0.1, 0.5, 0.5])
    >>> flag_scores(p, p, pd.Index(list("abcd")), capacity=2).tolist()
    [True, False, True, False]
    >>> flag_scores(p, p, pd.Index(list("abcd")), cost=(4, 1)).tolist()
    [True, False, True, True]
    """
    labels = None if groups is None else "group labels"
    if operating_point is None:
        point = OperatingPoint.from_options(threshold=threshold, capacity=capacity, cost=cost,
                                            by=labels)
    else:
        point = OperatingPoint.from_options(operating_point, threshold=threshold,
                                            capacity=capacity, cost=cost)
        if labels is not None and point.by is None:
            point = OperatingPoint(**{**point.to_dict(), "by": labels})  # by needs capacity
    if point is None:
        if labels is not None:
            OperatingPoint(threshold=default_threshold, by=labels)  # raises: by needs capacity
        point = OperatingPoint(threshold=default_threshold)
    tie = index_rank(index) if point.kind in ("capacity", "flag_rate") else None
    flags = flags_at(point, proba, rank_score, tie=tie, groups=groups)
    return pd.Series(flags, index=index, name="flag", dtype=bool)


def tier_scores(
    proba: np.ndarray, index: pd.Index, *, cuts: Sequence[float] | None = None,
    flags: np.ndarray | None = None,
) -> pd.Series:
    """Label each row ``universal``, ``targeted`` or ``intensive``, in agreement with its flag.

    A row that is not flagged is ``universal``; a flagged row is
    ``intensive`` from the intensive cut and ``targeted`` below it. So a
    flagged student is never shown as ``universal``, whatever the operating
    point (threshold, capacity or cost). Without ``flags`` the rows are
    flagged at the targeted cut, the models' default operating point, which
    gives the plain probability bands.

    Parameters
    ----------
    proba : ndarray of shape (n,)
    index : pandas.Index
    cuts : (float, float), optional
        Probabilities where ``targeted`` and ``intensive`` start (inclusive).
        Default :data:`DEFAULT_TIER_CUTS`.
    flags : ndarray of bool (n,), optional
        The flags of the operating point in use.

    Returns
    -------
    pandas.Series of ordered categorical dtype, named ``"tier"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> p = np.array([0.05, 0.2, 0.7])
    >>> tier_scores(p, pd.RangeIndex(3)).tolist()
    ['universal', 'targeted', 'intensive']
    >>> tier_scores(p, pd.RangeIndex(3), flags=np.array([True, False, True])).tolist()
    ['targeted', 'universal', 'intensive']
    """
    lo, hi = DEFAULT_TIER_CUTS if cuts is None else (float(c) for c in cuts)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ParameterError(parameter="cuts", message=
            f"cuts={cuts!r} must be two probabilities with 0 <= targeted <= intensive <= 1.")
    proba = np.asarray(proba, dtype=np.float64)
    flagged = proba >= lo if flags is None else np.asarray(flags, dtype=bool)
    if flagged.shape != proba.shape:
        raise ParameterError(parameter="flags", message=
            f"flags has {flagged.size} values but there are {proba.size} probabilities.")
    codes = np.where(flagged, 1 + (proba >= hi), 0).astype(np.int8)
    dtype = pd.CategoricalDtype(list(TIER_LABELS), ordered=True)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=index, name="tier")


class FlagTierMixin:
    """``flag``, ``tier``, ``rank_score`` and ``default_flags`` for any estimator with ``predict_proba``.

    Subclasses may override :meth:`rank_score` (default: the positive-class
    probability) and :meth:`default_flags` (default: probability at or above
    the ``targeted`` cut).
    """

    def rank_score(self, X: Any) -> np.ndarray:
        """The score that orders rows for capacity and flag-rate flags (higher is riskier).

        Here the probability of dropout; ``RiskModel`` ranks on its margin
        (no ties where isotonic calibration has them) and ``ABCRule`` on its
        indicator count. ``evaluate`` and ``compare_models`` rank on it too.

        Parameters
        ----------
        X : DataFrame or array-like
            Feature rows, as for ``predict_proba``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.asarray(self.predict_proba(X)[:, 1], dtype=np.float64)  # type: ignore[attr-defined]

    def default_flags(self, X: Any, proba: np.ndarray | None = None) -> np.ndarray:
        """The flags without an operating point: probability at or above the ``targeted`` cut.

        Parameters
        ----------
        X : DataFrame or array-like
            Feature rows, as for ``predict_proba``.
        proba : ndarray of shape (n_samples,), optional
            The rows' probabilities when already computed.

        Returns
        -------
        ndarray of bool, shape (n_samples,)
        """
        if proba is None:
            proba = self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        return np.asarray(proba, dtype=np.float64) >= DEFAULT_TIER_CUTS[0]

    def flag(
        self,
        X: Any,
        operating_point: OperatingPoint | Mapping[str, Any] | float | None = None,
        *,
        threshold: float | None = None,
        capacity: int | None = None,
        by: str | Sequence[Any] | None = None,
        flag_rate: float | None = None,
        cost: Sequence[float] | Mapping[str, float] | None = None,
    ) -> pd.Series:
        """Flag rows of ``X`` for follow-up.

        Parameters
        ----------
        X : DataFrame or array-like
            Feature rows, as for ``predict_proba``.
        operating_point : OperatingPoint, mapping or float, optional
            Where to flag; see :class:`~dropoutrisk.models.OperatingPoint`.
            The keywords below are the same thing spelt separately.
        threshold : float, optional
            Flag where the probability is at or above it.
        capacity : int, optional
            Flag the ``capacity`` highest-ranked rows (by :meth:`rank_score`,
            per group with ``by``). Ties are broken by index value, then by
            row position.
        by : str or array-like, optional
            A column of ``X`` (e.g. ``"school_id"``), or group labels aligned
            with ``X``, for a capacity per group.
        flag_rate : float, optional
            Flag this share of the rows, highest-ranked first.
        cost : (fn, fp) or {"fn": ..., "fp": ...}, optional
            Costs of a missed dropout and of an unneeded flag; flag where
            ``p * fn > (1 - p) * fp``.

        Without an operating point, :meth:`default_flags` applies.

        Returns
        -------
        pandas.Series of bool named ``"flag"``, indexed like ``X``.
        """
        proba = self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        index = _index_of(X, proba.size)
        labels = by is not None and not isinstance(by, str)
        point = OperatingPoint.from_options(
            operating_point, threshold=threshold, capacity=capacity,
            by="group labels" if labels else by, flag_rate=flag_rate, cost=cost)
        if point is None:
            return pd.Series(self.default_flags(X, proba), index=index, name="flag", dtype=bool)
        groups = None
        if labels:
            groups = np.asarray(by)
            if groups.shape[0] != proba.size:
                raise OperatingPointError(
                    parameter="by", value=f"{groups.shape[0]} group labels",
                    problem=f"X has {proba.size} rows", allowed="one group label per row of X")
        elif point.by is not None:
            if not isinstance(X, pd.DataFrame) or point.by not in X.columns:
                raise OperatingPointError(
                    parameter="by", value=point.by, problem="not a column of X",
                    allowed="a column of X, e.g. 'school_id'",
                    fix="Keep that column in the feature rows, or pass the group labels")
            groups = X[point.by].to_numpy()
        rank = self.rank_score(X) if point.kind in ("capacity", "flag_rate") else proba
        return flag_scores(proba, rank, index, groups=groups, operating_point=point)

    def tier(
        self,
        X: Any,
        operating_point: OperatingPoint | Mapping[str, Any] | float | None = None,
        *,
        cuts: Sequence[float] | None = None,
        threshold: float | None = None,
        capacity: int | None = None,
        by: str | Sequence[Any] | None = None,
        flag_rate: float | None = None,
        cost: Sequence[float] | Mapping[str, float] | None = None,
    ) -> pd.Series:
        """Support tier of each row: ``universal``, ``targeted`` or ``intensive``.

        Tiers agree with the flags of the operating point given (as for
        :meth:`flag`; default the estimator's default flag): rows that are
        not flagged are ``universal``, flagged rows ``targeted``, or
        ``intensive`` from the intensive cut. These are support-level labels,
        not prescriptions.

        Parameters
        ----------
        X : DataFrame or array-like
        operating_point, threshold, capacity, by, flag_rate, cost : optional
            The operating point, as for :meth:`flag`.
        cuts : (float, float), optional
            Probabilities where ``targeted`` and ``intensive`` start; default
            :data:`~dropoutrisk.models.DEFAULT_TIER_CUTS` = (0.20, 0.50).

        Returns
        -------
        pandas.Series, ordered categorical, named ``"tier"``, indexed like ``X``.
        """
        proba = self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        point = {"threshold": threshold, "capacity": capacity, "by": by,
                 "flag_rate": flag_rate, "cost": cost}
        if cuts is not None and operating_point is None and all(
                v is None for v in point.values()):
            # the default operating point flags at the targeted cut given
            flags = proba >= float(tuple(cuts)[0])
        else:
            flags = self.flag(X, operating_point, **point).to_numpy(dtype=bool)
        return tier_scores(proba, _index_of(X, proba.size), cuts=cuts, flags=flags)
