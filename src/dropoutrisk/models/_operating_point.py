"""The operating point: where flags are raised, in one spelling, checked in one place.

An :class:`OperatingPoint` is one of

* ``threshold``: flag where the probability is at or above it;
* ``capacity`` (optionally ``by`` a column): flag the ``capacity`` highest-ranked
  students, per group of ``by`` ("our coach can take 40 students per school");
* ``flag_rate``: flag this share of the students, highest-ranked first;
* ``cost``: ``(fn, fp)``, the cost of a missed dropout and of an unneeded flag;
  flag where ``p * fn > (1 - p) * fp`` (this assumes calibrated probabilities).

``score``, ``evaluate``, ``compare_models``, ``audit``, ``RiskModel.flag`` and
every command take it; their ``threshold=``/``capacity=``/``by=``/``flag_rate=``
keywords (and the command-line options of the same names) are conveniences
that build one with :meth:`OperatingPoint.from_options`.

Top-k within a group is implemented once, in :func:`group_ranks`: rows are
ordered by descending ranking score, ties broken by a tie key (the student id
or the row's index value) and then by position, so the same input always
gives the same flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import OperatingPointError

__all__ = ["OperatingPoint", "flags_at", "group_ranks", "index_rank", "top_share_flags"]

_KINDS = ("threshold", "capacity", "flag_rate", "cost")
_EXAMPLE = "e.g. OperatingPoint(capacity=40, by='school_id') or OperatingPoint(threshold=0.3)"


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)


@dataclass(frozen=True, kw_only=True)
class OperatingPoint:
    """Where flags are raised: a threshold, a capacity (per group), a flag rate or a cost.

    Give exactly one of ``threshold``, ``capacity``, ``flag_rate`` and
    ``cost``; ``by`` goes with ``capacity``. The values are checked here, and
    only here, with :class:`~dropoutrisk.errors.OperatingPointError` (a
    ``ValueError``, exit code 2 on the command line) naming the parameter and
    saying how to fix it. Instances are immutable and hashable.

    Parameters
    ----------
    threshold : float, optional
        Flag where the probability is at or above it; in [0, 1].
    capacity : int, optional
        Flag this many students, highest-ranked first (per ``by`` group); a
        whole number >= 1. Ties are broken by student id (or index value).
    by : str, optional
        A column of the feature rows (e.g. ``"school_id"``) for a capacity per group.
    flag_rate : float, optional
        Flag this share of the students (``round(flag_rate * n)``, halves up),
        highest-ranked first; in (0, 1]. ``evaluate`` applies it per snapshot.
    cost : (fn, fp) or {"fn": ..., "fp": ...}, optional
        Costs of a missed dropout and of an unneeded flag, >= 0 and not both 0.

    Examples
    --------
    >>> OperatingPoint(capacity=40, by="school_id").describe()
    'capacity 40 per school_id'
    >>> OperatingPoint.coerce(0.3)
    OperatingPoint(threshold=0.3, capacity=None, by=None, flag_rate=None, cost=None)
    >>> OperatingPoint.from_options(threshold=None, capacity=None) is None
    True
    >>> OperatingPoint(capacity=0)
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.OperatingPointError: Parameter 'capacity' = 0: ...
    """

    threshold: float | None = None
    capacity: int | None = None
    by: str | None = None
    flag_rate: float | None = None
    cost: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        chosen = [k for k in _KINDS if getattr(self, k) is not None]
        if self.by is not None and self.capacity is None and len(chosen) <= 1:
            raise OperatingPointError(
                parameter="by", value=self.by,
                problem="by only applies with capacity"
                + (f", not with {chosen[0]}" if chosen else ""),
                allowed="by together with capacity",
                fix="Give capacity (students per group) with by, or leave by out")
        if len(chosen) != 1:
            raise OperatingPointError(
                conflicts=chosen if len(chosen) > 1 else (),
                parameter=chosen[1] if len(chosen) > 1 else "threshold",
                value=getattr(self, chosen[1]) if len(chosen) > 1 else None,
                problem=("an operating point is one of threshold, capacity, flag_rate and "
                         f"cost; got {' and '.join(chosen) if chosen else 'none of them'}"),
                allowed="exactly one of threshold, capacity, flag_rate and cost",
                fix="Give only one of them")
        set_ = object.__setattr__
        if self.threshold is not None:
            t = self.threshold
            if not _is_real(t) or not 0.0 <= float(t) <= 1.0:
                raise OperatingPointError(
                    parameter="threshold", value=t, problem="not a probability",
                    allowed="a number from 0 to 1", fix="Give the probability to flag at, e.g. 0.3")
            set_(self, "threshold", float(t))
        if self.capacity is not None:
            c = self.capacity
            if not _is_real(c) or not float(c).is_integer() or c < 1:
                raise OperatingPointError(
                    parameter="capacity", value=c, problem="not a number of students to flag",
                    allowed="a whole number >= 1",
                    fix="Give how many students can be followed up (per group with by), e.g. 40")
            set_(self, "capacity", int(c))
        if self.flag_rate is not None:
            r = self.flag_rate
            if not _is_real(r) or not 0.0 < float(r) <= 1.0:
                raise OperatingPointError(
                    parameter="flag_rate", value=r, problem="not a share of the students",
                    allowed="a number above 0 and at most 1",
                    fix="Give the share to flag, e.g. 0.1 for the top 10%")
            set_(self, "flag_rate", float(r))
        if self.cost is not None:
            set_(self, "cost", _cost_pair(self.cost))
        if self.by is not None:
            if not isinstance(self.by, str) or not self.by:
                raise OperatingPointError(
                    parameter="by", value=self.by, problem="not a column name",
                    allowed="the name of a column of the feature rows, e.g. 'school_id'")

    @classmethod
    def from_options(
        cls,
        operating_point: Any = None,
        *,
        threshold: float | None = None,
        capacity: int | None = None,
        by: str | None = None,
        flag_rate: float | None = None,
        cost: Sequence[float] | Mapping[str, float] | None = None,
    ) -> OperatingPoint | None:
        """The operating point of a call's keywords; ``None`` when none is given.

        ``operating_point`` (anything :meth:`coerce` takes) and the separate
        keywords are two spellings of the same thing: give one of them.

        Examples
        --------
        >>> OperatingPoint.from_options(capacity=40, by="school_id")
        OperatingPoint(threshold=None, capacity=40, by='school_id', flag_rate=None, cost=None)
        """
        given = {k: v for k, v in (("threshold", threshold), ("capacity", capacity), ("by", by),
                                   ("flag_rate", flag_rate), ("cost", cost)) if v is not None}
        if operating_point is not None:
            if given:
                name = next(iter(given))
                raise OperatingPointError(
                    parameter=name, value=given[name],
                    problem="given together with operating_point",
                    allowed="operating_point or the separate keywords, not both",
                    fix="Put it in the OperatingPoint, or leave operating_point out")
            return cls.coerce(operating_point)
        return cls(**given) if given else None

    @classmethod
    def coerce(cls, value: Any) -> OperatingPoint:
        """An ``OperatingPoint`` from itself, a threshold (a number) or a mapping of its fields."""
        if isinstance(value, OperatingPoint):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"threshold", "capacity", "by", "flag_rate", "cost"})
            if unknown:
                raise OperatingPointError(
                    parameter="operating_point", value=dict(value),
                    problem=f"unknown keys {unknown}",
                    allowed="the keys 'threshold', 'capacity', 'by', 'flag_rate' and 'cost'",
                    fix="Spell it as e.g. {'capacity': 40, 'by': 'school_id'}")
            return cls(**{k: v for k, v in value.items() if v is not None})
        if _is_real(value):
            return cls(threshold=value)
        raise OperatingPointError(
            parameter="operating_point", value=value, problem="not an operating point",
            allowed="an OperatingPoint, a threshold (a number) or a mapping such as "
            "{'capacity': 40, 'by': 'school_id'}", fix=f"Pass {_EXAMPLE}")

    @property
    def kind(self) -> str:
        """``"threshold"``, ``"capacity"``, ``"flag_rate"`` or ``"cost"``."""
        return next(k for k in _KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        """A short readable description.

        Examples
        --------
        >>> OperatingPoint(flag_rate=0.1).describe()
        'flag rate 0.1'
        """
        if self.threshold is not None:
            return f"threshold {self.threshold:g}"
        if self.flag_rate is not None:
            return f"flag rate {self.flag_rate:g}"
        if self.cost is not None:
            return f"cost fn={self.cost[0]:g}, fp={self.cost[1]:g}"
        return f"capacity {self.capacity}" + (f" per {self.by}" if self.by else "")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON types (``cost`` as a list)."""
        return {"threshold": self.threshold, "capacity": self.capacity, "by": self.by,
                "flag_rate": self.flag_rate,
                "cost": None if self.cost is None else list(self.cost)}

    @property
    def cost_threshold(self) -> float | None:
        """``fp / (fn + fp)``: the probability above which a flag costs less; ``None`` without cost."""
        if self.cost is None:
            return None
        fn, fp = self.cost
        return fp / (fn + fp)


def _cost_pair(cost: Any) -> tuple[float, float]:
    if isinstance(cost, Mapping):
        if set(cost) != {"fn", "fp"}:
            raise OperatingPointError(
                parameter="cost", value=dict(cost), problem="not the two costs",
                allowed="exactly the keys 'fn' (cost of a missed dropout) and 'fp' (cost of "
                "an unneeded flag)", fix="Spell it as {'fn': 4, 'fp': 1} or (4, 1)")
        pair = (cost["fn"], cost["fp"])
    else:
        try:
            pair = tuple(cost)
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(_is_real(v) and math.isfinite(float(v)) for v in pair):
        raise OperatingPointError(
            parameter="cost", value=cost, problem="not two costs",
            allowed="(fn, fp): the cost of a missed dropout and of an unneeded flag",
            fix="Spell it as (4, 1) or {'fn': 4, 'fp': 1}")
    fn, fp = (float(v) for v in pair)
    if fn < 0 or fp < 0 or fn + fp == 0:
        raise OperatingPointError(
            parameter="cost", value=cost, problem="costs must be >= 0 and not both 0",
            allowed="two numbers >= 0, not both 0", fix="Give e.g. (4, 1)")
    return fn, fp


# ----------------------------------------------------------------------------- top-k


def index_rank(index: pd.Index) -> np.ndarray:
    """Each row's position in the sorted ``index`` (a tie key); positions for unorderable values."""
    try:
        return np.argsort(np.argsort(index.to_numpy(), kind="stable"), kind="stable")
    except TypeError:  # mixed, unorderable index values: fall back to position
        return np.arange(len(index))


def _group_codes(groups: Any, n: int) -> np.ndarray:
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    values = np.asarray(groups)
    if values.ndim != 1 or values.size != n:
        raise OperatingPointError(
            parameter="by", value=f"{values.size} group labels", problem=f"there are {n} rows",
            allowed="one group label per row")
    if values.dtype.kind in "iub":
        codes = pd.factorize(values, sort=False)[0]
    else:
        codes = pd.factorize(pd.Series(values, dtype=object), sort=False)[0]
    return codes.astype(np.int64) + 1  # every missing label is one group (code 0)


def group_ranks(score: Any, *, tie: Any = None, groups: Any = None) -> np.ndarray:
    """0-based rank of each row within its group: highest ``score`` first.

    Ties are broken by ``tie`` (ascending; e.g. :func:`index_rank` of the
    student ids), then by position. This is the one top-k implementation:
    ``group_ranks(...) < k`` flags the top ``k`` of each group.

    Examples
    --------
    >>> group_ranks([0.9, 0.1, 0.5, 0.5]).tolist()
    [0, 3, 1, 2]
    >>> group_ranks([0.9, 0.1, 0.5, 0.5], tie=[0, 1, 3, 2], groups=["a", "a", "b", "b"]).tolist()
    [0, 1, 1, 0]
    """
    s = np.asarray(score, dtype=np.float64).ravel()
    n = s.size
    codes = _group_codes(groups, n)
    keys = [np.arange(n)] + ([] if tie is None else [np.asarray(tie)]) + [-s, codes]
    order = np.lexsort(keys)
    sorted_codes = codes[order]
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]] if n else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else starts
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    return rank


def top_share_flags(score: Any, share: float, *, tie: Any = None, groups: Any = None
                    ) -> np.ndarray:
    """Flag the top ``share`` of each group: ``round(share * n_group)`` rows, halves rounded up."""
    s = np.asarray(score, dtype=np.float64).ravel()
    codes = _group_codes(groups, s.size)
    counts = np.bincount(codes, minlength=1)
    k = np.floor(share * counts + 0.5).astype(np.int64)
    return group_ranks(s, tie=tie, groups=codes) < k[codes]


def flags_at(point: OperatingPoint, proba: Any, rank_score: Any = None, *, tie: Any = None,
             groups: Any = None, snapshots: Any = None) -> np.ndarray:
    """The flags of ``point`` for rows with probabilities ``proba``.

    Parameters
    ----------
    point : OperatingPoint
    proba : array-like of shape (n,)
        Calibrated probabilities (threshold and cost).
    rank_score : array-like of shape (n,), optional
        The estimator's ranking score for capacity and flag rate (higher is
        riskier); default ``proba``.
    tie : array-like of shape (n,), optional
        Tie key for capacity and flag rate (ascending), then position.
    groups : array-like of shape (n,), optional
        The values of the ``by`` column, for a capacity per group.
    snapshots : array-like of shape (n,), optional
        Snapshot of each row: capacity and flag rate apply per snapshot.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> p = [0.9, 0.1, 0.5, 0.5]
    >>> flags_at(OperatingPoint(capacity=2), p).tolist()
    [True, False, True, False]
    >>> flags_at(OperatingPoint(cost=(4, 1)), p).tolist()
    [True, False, True, True]
    """
    p = np.asarray(proba, dtype=np.float64).ravel()
    if point.threshold is not None:
        return p >= point.threshold
    if point.cost is not None:
        return p > point.cost_threshold
    rank = p if rank_score is None else np.asarray(rank_score, dtype=np.float64).ravel()
    within = _combined(snapshots, groups if point.capacity is not None else None, p.size)
    if point.flag_rate is not None:
        return top_share_flags(rank, point.flag_rate, tie=tie, groups=within)
    return group_ranks(rank, tie=tie, groups=within) < point.capacity


def _combined(snapshots: Any, groups: Any, n: int) -> np.ndarray | None:
    if snapshots is None and groups is None:
        return None
    if snapshots is None or groups is None:
        return _group_codes(snapshots if groups is None else groups, n)
    a, b = _group_codes(snapshots, n), _group_codes(groups, n)
    return a * (int(b.max(initial=0)) + 1) + b
