"""Reference values: the medians a reason sentence compares a student with.

A reason prints the student's value beside a reference. References come in
levels, tried in order until one has at least :data:`MIN_REFERENCE_COUNT`
students with a value (small cells are never shown):

1. ``school``: the median of the student's school at the same ``as_of``;
2. ``year_group``: the median of the same year of study (``grade_year``)
   across all schools at the same ``as_of``;
3. ``all``: the median of every student scored at the same ``as_of``;
4. ``training``: the median of the rows the model was trained on, which is
   what the SHAP contributions are measured against. It is used when the
   levels above give no reference, or give one that points the other way
   from the contribution (see :func:`dropoutrisk.explain._narration.narration_plan`).

Numeric features take the median, binary ones the majority value and
categorical ones the most common category. Everything is computed per group
(a sort per school and ``as_of``), never per student.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL

__all__ = [
    "LEVELS",
    "MIN_REFERENCE_COUNT",
    "ReferenceTable",
    "Referenced",
    "group_references",
    "school_references",
]

#: Reference levels, in the order they are tried.
LEVELS: tuple[str, ...] = ("school", "year_group", "all", "training")
SCHOOL, YEAR_GROUP, ALL, TRAINING = range(len(LEVELS))
_LEVEL_KEYS: tuple[tuple[str, ...], ...] = (("school_id", "as_of"), ("grade_year", "as_of"),
                                             ("as_of",))

#: A school median over fewer students than this is withheld (NaN), so a
#: reference never reveals a handful of other students' values (the small-cell rule).
MIN_REFERENCE_COUNT = MIN_CELL


def school_references(
    frame: pd.DataFrame,
    names: list[str],
    kinds: list[str],
    *,
    min_count: int = MIN_REFERENCE_COUNT,
    keys: tuple[str, ...] = ("school_id", "as_of"),
) -> pd.DataFrame:
    """The school's median of every feature at the same ``as_of``, aligned with ``frame``.

    Numeric features take the median; binary ones the lower median (the
    majority value, "no" on a tie); categorical ones the most common
    category. Rows are grouped by ``keys`` (default ``school_id`` and
    ``as_of``), those of them that the frame has; missing values are ignored. A group with fewer than
    ``min_count`` non-missing values gets no reference (NaN): small cells are
    suppressed, as in the fairness audit.

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["a", "a", "a", "b"], "x": [0.5, 0.7, 0.9, 0.1]})
    >>> school_references(f, ["x"], ["numeric"], min_count=1)["x"].tolist()
    [0.7, 0.7, 0.7, 0.1]
    >>> school_references(f, ["x"], ["numeric"], min_count=2)["x"].tolist()
    [0.7, 0.7, 0.7, nan]
    """
    codes, table = group_references(frame, names, kinds, min_count=min_count, keys=keys)
    return pd.DataFrame({n: table[n][codes] for n in names}, index=frame.index, columns=names)


def group_references(
    frame: pd.DataFrame,
    names: list[str],
    kinds: list[str],
    *,
    min_count: int = MIN_REFERENCE_COUNT,
    keys: tuple[str, ...] = ("school_id", "as_of"),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The references of :func:`school_references`, one value per group.

    Returns the group of every row of ``frame`` and, per feature, an array
    with one reference per group: ``table[name][codes]`` is the column of
    :func:`school_references`. Taking only the explained rows' groups saves
    building a reference for every row of a large frame.
    """
    codes, n_groups = _groups(frame, keys)
    return codes, _group_table(frame, names, kinds, codes, n_groups, min_count)


def _group_table(frame: pd.DataFrame, names: list[str], kinds: list[str], codes: np.ndarray,
                 n_groups: int, min_count: int) -> dict[str, np.ndarray]:
    """Per feature, one reference per group of ``codes`` (see :func:`group_references`)."""
    out = {}
    numeric = [n for n, k in zip(names, kinds, strict=True) if k != "categorical"]
    if numeric:
        # one row per feature: each feature's values are contiguous
        values = np.empty((len(numeric), len(frame)))
        for j, n in enumerate(numeric):
            column = frame[n]
            values[j] = (column.to_numpy() if column.dtype == np.float64
                         else column.to_numpy(dtype=np.float64, na_value=np.nan))
        binary = np.array([k == "binary" for k in kinds if k != "categorical"])
        table = _medians(values, codes, n_groups, min_count, binary)
        for j, n in enumerate(numeric):
            out[n] = table[j]
    for n, k in zip(names, kinds, strict=True):
        if k == "categorical":
            out[n] = _most_common(frame[n], codes, n_groups, min_count)
    return {n: out[n] for n in names}


def _groups(frame: pd.DataFrame, keys: tuple[str, ...]) -> tuple[np.ndarray, int]:
    """Group of each row by the ``keys`` it has, numbered in order of first appearance.

    The same groups and numbers as ``groupby(keys, sort=False, dropna=False).ngroup()``
    (missing keys form their own group), without the groupby machinery.
    """
    codes = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        if key in frame.columns:
            part, uniques = pd.factorize(frame[key], use_na_sentinel=False)
            codes = codes * max(len(uniques), 1) + part
    codes, uniques = pd.factorize(codes)
    return codes.astype(np.int64, copy=False), len(uniques)


def _medians(values: np.ndarray, codes: np.ndarray, n_groups: int, min_count: int,
             binary: np.ndarray) -> np.ndarray:
    """Median of each feature (row of ``values``) per group, ignoring NaN.

    Returns (n_features, n_groups), NaN below ``min_count`` values. Binary
    features take the majority value instead (share above one half). A median
    is the middle value, or the mean ``(a + b) / 2`` of the two middle ones, as
    pandas computes it.
    """
    n_rows = values.shape[0]
    if n_groups == 0:
        return np.full((n_rows, 0), np.nan)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    block = values[:, order]  # groups side by side, in frame order within one
    count = np.empty((n_rows, n_groups), dtype=np.int64)
    for g in range(n_groups):  # per school and as_of, never per student
        part = block[:, starts[g]:ends[g]]
        part.sort(axis=1)  # NaN sort last
        count[:, g] = sizes[g] - np.count_nonzero(np.isnan(part), axis=1)
    rows = np.arange(n_rows)[:, None]
    low = block[rows, starts + np.maximum(count - 1, 0) // 2]
    high = block[rows, starts + count // 2]
    table = np.where(count % 2 == 1, high, (low + high) / 2)
    # -0.0 equals 0.0 (and numpy's sort may return it as 0.0): a zero median of a group
    # holding -0.0 takes the sign that pandas' selection picks
    negative_zero = values.view(np.uint64) == np.uint64(1 << 63)
    if negative_zero.any():
        held = np.zeros(table.shape, dtype=bool)
        for j in np.flatnonzero(negative_zero.any(axis=1)):
            held[j] = np.bincount(codes[negative_zero[j]], minlength=n_groups) > 0
        signed = np.argwhere((table == 0) & held)
        if signed.size:
            pieces = [values[j, order[starts[g]:ends[g]]] for j, g in signed.tolist()]
            which = np.repeat(np.arange(len(pieces)), sizes[signed[:, 1]])
            medians = pd.Series(np.concatenate(pieces)).groupby(which).median()
            table[signed[:, 0], signed[:, 1]] = medians.to_numpy()
    table[count < max(min_count, 1)] = np.nan
    if binary.any():
        table[binary] = np.where(np.isnan(table[binary]), np.nan,
                                 _majority(values[binary], codes, n_groups, count[binary]))
    return table


def _majority(values: np.ndarray, codes: np.ndarray, n_groups: int, count: np.ndarray) -> np.ndarray:
    """1.0 where more than half of a group's non-missing values are 1, else 0.0 (rows: features)."""
    present = ~np.isnan(values)
    if np.isin(values[present], (0.0, 1.0)).all():
        # counting is exact: ones / count > 0.5 exactly when 2 * ones > count
        ones = np.stack([np.bincount(codes, weights=row == 1.0, minlength=n_groups)
                         for row in values])
        return (2 * ones > count).astype(np.float64)
    # not 0/1: the mean as pandas sums it, so that a share at one half compares the same
    share = pd.DataFrame(values.T, index=codes).groupby(level=0, sort=True).mean()
    return (share.reindex(np.arange(n_groups)).to_numpy().T > 0.5).astype(np.float64)


def _most_common(column: pd.Series, codes: np.ndarray, n_groups: int, min_count: int) -> np.ndarray:
    """Most common category per group (object array, NaN below ``min_count`` values).

    Ties go as ``DataFrame.value_counts`` orders them: the (group, category)
    counts in sorted order, then ``Series.sort_values(ascending=False)``.
    """
    values = column.astype(object).to_numpy()
    category, uniques = pd.factorize(values, sort=True)  # missing -> -1, dropped
    present = category >= 0
    n_cat = max(len(uniques), 1)
    counts = np.bincount(codes[present] * n_cat + category[present], minlength=n_groups * n_cat)
    pairs = np.flatnonzero(counts)
    ranked = pairs[pd.Series(counts[pairs]).sort_values(ascending=False).index.to_numpy()]
    groups, first = np.unique(ranked // n_cat, return_index=True)
    size = np.bincount(codes[present], minlength=n_groups)
    keep = size[groups] >= min_count
    top = pd.Series(pd.Index(uniques).take(ranked[first] % n_cat), index=groups)[keep]
    return top.reindex(np.arange(n_groups)).to_numpy()


class Referenced(NamedTuple):
    """The references of some rows at every level, aligned with the rows."""

    #: (n_levels, n_rows, n_features) float; NaN where a level has no reference, below
    #: the first level that has one, and for categorical features.
    values: np.ndarray
    #: categorical feature -> (n_levels, n_rows) objects; None where there is none.
    objects: dict[int, np.ndarray]
    #: (n_rows,) the year of study of each row (``grade_year``), NaN without one.
    year: np.ndarray


class _Level:
    """One level's groups over the frame, with its medians computed per feature on demand.

    Nothing is computed until a lookup needs the level: the school level always, the
    fallback levels only where a school has too few students.
    """

    def __init__(self, frame: pd.DataFrame, keys: tuple[str, ...], names: list[str],
                 kinds: list[str], min_count: int) -> None:
        self.frame, self.keys, self.names, self.kinds = frame, keys, names, kinds
        self.min_count = min_count
        self.ready = False

    def _prepare(self) -> None:
        # one integer key per row; groups are numbered in order of first appearance
        self.uniques = tuple(pd.Index(pd.unique(self.frame[k])) for k in self.keys)
        combined = ReferenceTable._combine(self.frame, self.keys, self.uniques)
        self.codes, groups = pd.factorize(combined)
        self.groups = pd.Index(groups)
        self.numeric = np.full((len(groups), len(self.names)), np.nan)
        self.objects: dict[int, np.ndarray] = {}
        self.done = np.zeros(len(self.names), dtype=bool)
        self.ready = True

    def compute(self, features: list[int]) -> None:
        """The medians of these features (those not computed yet), per group."""
        if not self.ready:
            self._prepare()
        todo = [j for j in features if not self.done[j]]
        if not todo:
            return
        names = [self.names[j] for j in todo]
        kinds = [self.kinds[j] for j in todo]
        table = _group_table(self.frame, names, kinds, self.codes, len(self.groups),
                             self.min_count)
        for j, name, kind in zip(todo, names, kinds, strict=True):
            if kind == "categorical":
                self.objects[j] = np.asarray(table[name], dtype=object)
            else:
                self.numeric[:, j] = table[name]
        self.done[todo] = True


class ReferenceTable:
    """The references of every level over a frame, ready to look up for any of its rows.

    The school medians are computed for every feature at once; a fallback level
    (year group, all students) only for the features that some looked-up row
    needs it for, once, then kept.

    Parameters
    ----------
    frame : DataFrame
        The students whose medians are the references: every student scored
        at the date (pass the whole frame even when explaining a few).
    names, kinds : list of str
        Model features and their kinds (``numeric``, ``binary``, ``categorical``).
    training : mapping, optional
        Feature -> training median (a model's ``reference_values_``).
    min_count : int, default :data:`MIN_REFERENCE_COUNT`

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["a"] * 12 + ["b"] * 3,
    ...                   "x": [0.5] * 12 + [0.9] * 3})
    >>> table = ReferenceTable(f, ["x"], ["numeric"], training={"x": 0.7})
    >>> ref = table.lookup(f.iloc[[0, 13]])
    >>> ref.values[:, :, 0].tolist()  # school, year group, all, training
    [[0.5, nan], [nan, nan], [nan, 0.5], [0.7, 0.7]]

    A level below the first one with a reference is not looked up (NaN above).
    """

    def __init__(self, frame: pd.DataFrame, names: list[str], kinds: list[str], *,
                 training: Any = None, min_count: int = MIN_REFERENCE_COUNT) -> None:
        self.names = list(names)
        self.kinds = list(kinds)
        self.levels: list[_Level | None] = []
        for keys in _LEVEL_KEYS:
            present = tuple(k for k in keys if k in frame.columns)
            if keys[0] != "as_of" and keys[0] not in present:
                self.levels.append(None)  # no school_id or no grade_year: no such level
                continue
            self.levels.append(_Level(frame, present, self.names, self.kinds, min_count))
        self.training = training

    @classmethod
    def for_model(cls, model: Any, frame: pd.DataFrame) -> ReferenceTable:
        """The references of a fitted model's features over ``frame`` (with its training medians)."""
        from dropoutrisk.explain._codes import feature_table
        from dropoutrisk.explain._explanations import _catalogue_of

        names = [str(c) for c in model.feature_names_in_]
        kinds = feature_table(_catalogue_of(model), names)["kind"].tolist()
        return cls(frame, names, kinds, training=getattr(model, "reference_values_", None))

    def detached(self) -> ReferenceTable:
        """This table with every level computed for every feature, and no frame.

        The result is small (one row per school, year group and date) and looks up
        rows exactly as this table does: it is what a distributed job ships to its
        workers, which see only some of the students.

        Examples
        --------
        >>> f = pd.DataFrame({"school_id": ["a"] * 12, "x": [0.5] * 12})
        >>> table = ReferenceTable(f, ["x"], ["numeric"]).detached()
        >>> table.lookup(f.iloc[[0]]).values[0, 0, 0]
        np.float64(0.5)
        """
        every = list(range(len(self.names)))
        out = copy.copy(self)
        out.levels = []
        for level in self.levels:
            if level is None:
                out.levels.append(None)
                continue
            level.compute(every)
            small = copy.copy(level)
            small.frame = small.codes = None
            out.levels.append(small)
        return out

    @staticmethod
    def _combine(rows: pd.DataFrame, keys: tuple[str, ...],
                 uniques: tuple[pd.Index, ...]) -> np.ndarray:
        """One integer per row for its key values (-1 where a value is not among ``uniques``)."""
        code = np.zeros(len(rows), dtype=np.int64)
        bad = np.zeros(len(rows), dtype=bool)
        for key, values in zip(keys, uniques, strict=True):
            part = values.get_indexer(pd.Index(rows[key]))
            bad |= part < 0
            code = code * (len(values) + 1) + part
        return np.where(bad, -1, code)

    def lookup(self, rows: pd.DataFrame) -> Referenced:
        """The references of ``rows`` (rows of the frame, or rows with the same key columns).

        A level is filled only where every level above it has no reference:
        what the first level with one says is all that the reasons use.
        """
        n, f = len(rows), len(self.names)
        values = np.full((len(LEVELS), n, f), np.nan)
        categorical = [j for j, k in enumerate(self.kinds) if k == "categorical"]
        objects = {j: np.full((len(LEVELS), n), None, dtype=object) for j in categorical}
        open_ = np.ones((n, f), dtype=bool)  # no reference found yet
        for at, level in enumerate(self.levels):
            if level is None or not all(k in rows.columns for k in level.keys):
                continue
            needed = np.flatnonzero(open_.any(axis=0)).tolist()
            if not needed:
                break
            level.compute(needed)
            if rows is level.frame:  # explaining the whole frame: its groups are known
                group = level.codes
            else:
                group = level.groups.get_indexer(self._combine(rows, level.keys, level.uniques))
            found = group >= 0
            block = np.full((n, f), np.nan)
            block[found] = level.numeric[group[found]]
            block[~open_] = np.nan  # a level above has a reference there
            values[at] = block
            for j in categorical:
                if j in level.objects:
                    column = np.full(n, None, dtype=object)
                    column[found] = level.objects[j][group[found]]
                    column[~open_[:, j]] = None
                    objects[j][at] = column
            got = ~np.isnan(block)
            for j in categorical:
                got[:, j] = ~pd.isna(objects[j][at])
            open_ &= ~got
        if self.training is not None:
            for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
                ref = self.training.get(name)
                if kind == "categorical":
                    objects[j][TRAINING] = ref
                elif ref is not None:
                    values[TRAINING, :, j] = float(ref)
        for j in categorical:  # NaN categories count as none
            objects[j][pd.isna(objects[j])] = None
        year = (rows["grade_year"].to_numpy(dtype=np.float64, na_value=np.nan)
                if "grade_year" in rows.columns else np.full(n, np.nan))
        return Referenced(values, objects, year)
