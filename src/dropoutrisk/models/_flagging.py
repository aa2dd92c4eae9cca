"""Turning probabilities into flags and support tiers.

Three ways to flag, one at a time:

* **threshold**: flag where the probability is at or above ``threshold``.
* **capacity**: flag the ``capacity`` highest-ranked rows, per group when
  ``by`` names a column of ``X`` ("our coach can take 40 students per
  school"). Rows are ranked by the estimator's ranking score (the margin for
  :class:`~dropoutrisk.models.RiskModel`); ties are broken by the row's
  index value, then by its position, so the same input gives the same flags.
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

__all__ = ["DEFAULT_TIER_CUTS", "TIER_LABELS", "flag_scores", "tier_scores"]

#: Support-level labels, lowest first.
TIER_LABELS: tuple[str, str, str] = ("universal", "targeted", "intensive")

#: Default probability cut points: ``targeted`` from 0.20, ``intensive`` from 0.50.
#: 0.50 is where dropout is more likely than not; 0.20 is about twice the
#: one-year dropout rate of a typical cohort. Set them from local capacity.
DEFAULT_TIER_CUTS: tuple[float, float] = (0.20, 0.50)


def _index_of(X: Any, n: int) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame | pd.Series) else pd.RangeIndex(n)


def _tie_break_order(score: np.ndarray, index: pd.Index) -> np.ndarray:
    """Row order by descending score, then index value, then position."""
    position = np.arange(score.size)
    try:
        index_rank = np.argsort(np.argsort(index.to_numpy(), kind="stable"), kind="stable")
    except TypeError:  # mixed, unorderable index values: fall back to position
        index_rank = position
    return np.lexsort((position, index_rank, -score))


def _cost_threshold(cost: Sequence[float] | Mapping[str, float]) -> float:
    if isinstance(cost, Mapping):
        unknown = set(cost) - {"fn", "fp"}
        if unknown or len(cost) != 2:
            raise ValueError(
                f"cost={dict(cost)!r} must have exactly the keys 'fn' (cost of a missed "
                "dropout) and 'fp' (cost of an unneeded flag)."
            )
        fn, fp = float(cost["fn"]), float(cost["fp"])
    else:
        fn, fp = (float(c) for c in cost)
    if fn < 0 or fp < 0 or fn + fp == 0:
        raise ValueError(f"cost=(fn={fn}, fp={fp}) must be >= 0 and not both 0.")
    return fp / (fn + fp)


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
) -> pd.Series:
    """Flag rows by threshold, capacity (per group) or cost.

    Parameters
    ----------
    proba : ndarray of shape (n,)
        Calibrated probability of dropout.
    rank_score : ndarray of shape (n,)
        Score used to rank rows for ``capacity`` (higher is riskier).
    index : pandas.Index
        Index of the returned Series.
    threshold, capacity, groups, cost
        See the module docstring; at most one of threshold, capacity and cost.
    default_threshold : float
        The threshold used when none of them is given.

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
    chosen = [name for name, v in [("threshold", threshold), ("capacity", capacity),
                                   ("cost", cost)] if v is not None]
    if len(chosen) > 1:
        raise ValueError(
            f"Pass only one of threshold, capacity and cost; got {', '.join(chosen)}."
        )
    proba = np.asarray(proba, dtype=np.float64)
    if groups is not None and capacity is None:
        raise ValueError("by= only applies to capacity=: pass capacity=K with by=COLUMN.")
    if capacity is not None:
        if isinstance(capacity, bool) or not float(capacity).is_integer() or capacity < 0:
            raise ValueError(f"capacity={capacity!r} must be a whole number of students >= 0.")
        order = _tie_break_order(np.asarray(rank_score, dtype=np.float64), index)
        if groups is None:
            rank_in_group = np.empty(order.size, dtype=np.int64)
            rank_in_group[order] = np.arange(order.size)
        else:
            g = pd.Series(np.asarray(groups, dtype=object)[order])
            rank_in_group = np.empty(order.size, dtype=np.int64)
            rank_in_group[order] = g.groupby(g, sort=False, dropna=False).cumcount().to_numpy()
        flags = rank_in_group < int(capacity)
    elif cost is not None:
        flags = proba > _cost_threshold(cost)
    else:
        t = default_threshold if threshold is None else float(threshold)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold={threshold!r} must be a probability in [0, 1].")
        flags = proba >= t
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
        raise ValueError(f"cuts={cuts!r} must be two probabilities with 0 <= targeted <= intensive <= 1.")
    proba = np.asarray(proba, dtype=np.float64)
    flagged = proba >= lo if flags is None else np.asarray(flags, dtype=bool)
    if flagged.shape != proba.shape:
        raise ValueError(f"flags has {flagged.size} values but there are {proba.size} probabilities.")
    codes = np.where(flagged, 1 + (proba >= hi), 0).astype(np.int8)
    dtype = pd.CategoricalDtype(list(TIER_LABELS), ordered=True)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=index, name="tier")


class FlagTierMixin:
    """``flag`` and ``tier`` for any estimator with ``predict_proba``.

    Subclasses may override ``_rank_score`` (default: the positive-class
    probability) and ``_default_flags`` (default: probability at or above the
    ``targeted`` cut).
    """

    def _rank_score(self, X: Any) -> np.ndarray:
        return self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]

    def _default_flags(self, X: Any, proba: np.ndarray) -> np.ndarray | None:
        return None

    def flag(
        self,
        X: Any,
        *,
        threshold: float | None = None,
        capacity: int | None = None,
        by: str | Sequence[Any] | None = None,
        cost: Sequence[float] | Mapping[str, float] | None = None,
    ) -> pd.Series:
        """Flag rows of ``X`` for follow-up.

        Parameters
        ----------
        X : DataFrame or array-like
            Feature rows, as for ``predict_proba``.
        threshold : float, optional
            Flag where the probability is at or above it.
        capacity : int, optional
            Flag the ``capacity`` highest-ranked rows (per group with ``by``).
            Ties are broken by index value, then by row position.
        by : str or array-like, optional
            A column of ``X`` (e.g. ``"school_id"``), or group labels aligned
            with ``X``, for a capacity per group.
        cost : (fn, fp) or {"fn": ..., "fp": ...}, optional
            Costs of a missed dropout and of an unneeded flag; flag where
            ``p * fn > (1 - p) * fp``.

        With none of threshold, capacity and cost, the estimator's default
        flag applies (see the class docstring).

        Returns
        -------
        pandas.Series of bool named ``"flag"``, indexed like ``X``.
        """
        proba = self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        index = _index_of(X, proba.size)
        groups = None
        if by is not None:
            if isinstance(by, str):
                if not isinstance(X, pd.DataFrame) or by not in X.columns:
                    raise ValueError(
                        f"by={by!r} must be a column of X; X has no column {by!r}."
                    )
                groups = X[by].to_numpy()
            else:
                groups = np.asarray(by)
                if groups.shape[0] != proba.size:
                    raise ValueError(
                        f"by has {groups.shape[0]} labels but X has {proba.size} rows."
                    )
        rank = self._rank_score(X) if capacity is not None else proba
        if threshold is None and capacity is None and cost is None:
            default = self._default_flags(X, proba)
            if default is not None:
                if by is not None:
                    raise ValueError("by= only applies to capacity=: pass capacity=K with by=COLUMN.")
                return pd.Series(default, index=index, name="flag", dtype=bool)
        return flag_scores(
            proba, rank, index, threshold=threshold, capacity=capacity, groups=groups, cost=cost
        )

    def tier(
        self,
        X: Any,
        *,
        cuts: Sequence[float] | None = None,
        threshold: float | None = None,
        capacity: int | None = None,
        by: str | Sequence[Any] | None = None,
        cost: Sequence[float] | Mapping[str, float] | None = None,
    ) -> pd.Series:
        """Support tier of each row: ``universal``, ``targeted`` or ``intensive``.

        Tiers agree with the flags of the operating point given (the same
        ``threshold``, ``capacity``/``by`` or ``cost`` as :meth:`flag`, default
        the estimator's default flag): rows that are not flagged are
        ``universal``, flagged rows ``targeted``, or ``intensive`` from the
        intensive cut. These are support-level labels, not prescriptions.

        Parameters
        ----------
        X : DataFrame or array-like
        cuts : (float, float), optional
            Probabilities where ``targeted`` and ``intensive`` start; default
            :data:`~dropoutrisk.models.DEFAULT_TIER_CUTS` = (0.20, 0.50).
        threshold, capacity, by, cost : optional
            The operating point, as for :meth:`flag`.

        Returns
        -------
        pandas.Series, ordered categorical, named ``"tier"``, indexed like ``X``.
        """
        proba = self.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        point = {"threshold": threshold, "capacity": capacity, "by": by, "cost": cost}
        if cuts is not None and all(v is None for v in point.values()):
            # the default operating point flags at the targeted cut given
            flags = proba >= float(tuple(cuts)[0])
        else:
            flags = self.flag(X, **point).to_numpy(dtype=bool)
        return tier_scores(proba, _index_of(X, proba.size), cuts=cuts, flags=flags)
