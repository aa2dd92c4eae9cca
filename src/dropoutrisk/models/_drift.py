"""Input drift against the training profile stored in a model bundle.

At training time :meth:`TrainingProfile.from_features` summarises the
feature rows the model was trained on, without keeping any row:

* per numeric feature, decile bin edges and the share of rows in each bin;
* per feature, the share of missing values;
* per categorical feature, the categories seen and their shares;
* the share of students with no attendance rows (``attendance_rate`` missing).

At prediction time :func:`check_drift` compares new feature rows with it.
Rows can be fed in chunks (:meth:`TrainingProfile.accumulator`), so the check
streams with the scoring. Thresholds (module constants, documented in
``docs/batch-scoring.md``):

=============================  ==========  ==========
check                          watch       drift
=============================  ==========  ==========
PSI per feature                >= 0.10     >= 0.25
missing share, absolute shift  >= 0.05     >= 0.10
unseen categories, row share   > 0         >= 0.01
no-attendance share, shift     >= 0.05     >= 0.10
=============================  ==========  ==========

PSI (population stability index) is ``sum((a - e) * ln(a / e))`` over the
training bins, with shares floored at ``1e-4``; it is computed on the
non-missing values (missingness has its own check). PSI is noisy on small
batches: a few hundred students can read "watch" without any real change.

**Like for like.** Training rows are snapshots at several weeks of several
school years, and many features follow the calendar (attendance over the last
two weeks is missing early in the year, lateness and concern counts grow
through the year). So, with ``by_week=True``, a profile is also stored per
snapshot week, keyed by the week of the school year of each row's ``as_of``
(:func:`school_week`), next to the pooled profile. A check at a date uses the
profile of the stored week **nearest** to that date's week of the school year
(on a tie, the earlier week); the chosen week is recorded in the report
(:attr:`DriftReport.reference`). Without per-week profiles (older bundles, or
no date given) the pooled profile is used, as before.

Features in :data:`CALENDAR_FEATURES` (``grade_year``) are fixed by the
cohort and the date: a different mix of year groups on a scoring date is not
drift of the model's inputs, so their PSI is reported but never judged; their
missingness is still checked.

**Sampling noise.** PSI over ``B`` bins of ``n`` values drawn from the training
distribution is about ``chi2(B - 1) / n``, so on a sparse feature (say 80
students with a concern report) PSI exceeds 0.25 by chance alone. A PSI
threshold is only applied when ``n`` values make crossing it by chance unlikely
(chi-square tail probability below :data:`PSI_CHANCE`, 0.001): with 10 bins,
"drift" needs at least 112 non-missing values and "watch" 279. Below that the
PSI is reported with ``psi_judged`` false.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Result, copied
from dropoutrisk.errors import ModelError
from dropoutrisk.schema import school_year_of, school_year_start

__all__ = [
    "CALENDAR_FEATURES",
    "DRIFT_THRESHOLDS",
    "DriftAccumulator",
    "DriftReport",
    "TrainingProfile",
    "check_drift",
    "drift_report",
    "school_week",
]

#: (watch, drift) thresholds of each check.
DRIFT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "psi": (0.10, 0.25),
    "missing_shift": (0.05, 0.10),
    "unseen_share": (1e-12, 0.01),
    "no_attendance_shift": (0.05, 0.10),
}
_CONTEXT = ("student_id", "as_of", "school_id", "cohort")
_FLOOR = 1e-4
_PROFILE_FORMAT = "dropoutrisk-training-profile"
#: 1: pooled only (no ``version`` key); 2: adds ``weeks`` and ``calendar_features``.
_PROFILE_VERSION = 2
#: A PSI threshold is applied only where crossing it by chance has a lower probability.
PSI_CHANCE = 1e-3
#: Features fixed by cohort and date: PSI reported, not judged (see the module docs).
CALENDAR_FEATURES: tuple[str, ...] = ("grade_year",)
_STATUS_ORDER = {"ok": 0, "watch": 1, "drift": 2}
#: A scoring week this many weeks or more from the nearest stored week gets a note.
_WEEKS_APART_NOTE = 2


def _status(value: float | None, check: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "ok"
    watch, drift = DRIFT_THRESHOLDS[check]
    return "drift" if value >= drift else "watch" if value >= watch else "ok"


def school_week(day: Any) -> int:
    """Whole weeks from the start of the school year that ``day`` falls in.

    Examples
    --------
    >>> school_week("2024-10-28"), school_week("2024-08-19"), school_week("2025-08-10")
    (10, 0, 50)
    """
    d = pd.Timestamp(day).date()
    return (d - school_year_start(school_year_of(d))).days // 7


def _row_weeks(as_of: pd.Series) -> np.ndarray:
    """:func:`school_week` of each date (computed once per distinct date)."""
    days = pd.to_datetime(as_of)
    if days.isna().any():
        raise ValueError("Cannot profile by week: some rows have no as_of date.")
    codes, uniques = pd.factorize(days)
    return np.array([school_week(u) for u in uniques], dtype=np.int64)[codes]


def _level_keys(col: pd.Series) -> np.ndarray:
    """Stratum keys as text (``2.0`` -> ``"2"``); ``None`` where the value is missing."""
    codes, uniques = pd.factorize(col, sort=False)
    names = np.array([_level_key(u) for u in uniques] + [None], dtype=object)
    return names[codes]  # code -1 (missing) picks the trailing None


def _level_key(value: Any) -> str:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def _is_categorical(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or (
        pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_numeric_dtype(col.dtype)
    )


def _psi_levels_judged(n_values: int, n_bins: int) -> tuple[bool, bool]:
    """Whether (watch, drift) PSI thresholds can be told from chance with ``n_values`` values."""
    from scipy.stats import chi2

    df = max(n_bins - 1, 1)
    return tuple(bool(chi2.sf(n_values * t, df) < PSI_CHANCE)  # type: ignore[return-value]
                 for t in DRIFT_THRESHOLDS["psi"])


def _psi(expected: np.ndarray, actual_counts: np.ndarray) -> float | None:
    total = actual_counts.sum()
    if total == 0:
        return None
    e = np.maximum(np.asarray(expected, dtype=np.float64), _FLOOR)
    a = np.maximum(actual_counts / total, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


class TrainingProfile:
    """Summary of the training feature rows, for drift checks. No row is kept.

    Build it with :meth:`from_features`; store it with :meth:`to_dict` (JSON)
    and read it back with :meth:`from_dict`.

    Parameters
    ----------
    numeric : dict
        ``{feature: {"edges": [...], "shares": [...], "missing": share}}``.
    categorical : dict
        ``{feature: {"shares": {category: share}, "missing": share}}``.
    n_rows : int
    no_attendance_share : float or None
    weeks : dict, optional
        ``{week of the school year: TrainingProfile}`` (see ``by_week``).
    strata : dict, optional
        Missing shares and bin shares within each level of a calendar
        feature (see ``stratify``).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"attendance_rate": [0.9, 0.8, None, 0.95] * 25,
    ...                   "programme_type": pd.Categorical(["national"] * 100)})
    >>> profile = TrainingProfile.from_features(X)
    >>> profile.no_attendance_share, sorted(profile.categorical)
    (0.25, ['programme_type'])
    >>> TrainingProfile.from_dict(profile.to_dict()).to_dict() == profile.to_dict()
    True

    Per snapshot week, and the week a scoring date is compared with:

    >>> X["as_of"] = pd.to_datetime(["2023-10-02", "2023-10-30"] * 50)  # weeks 6 and 10
    >>> weekly = TrainingProfile.from_features(X, by_week=True)
    >>> sorted(weekly.weeks), weekly.weeks[6].n_rows
    ([6, 10], 50)
    >>> weekly.reference("2024-10-21")["week"], weekly.reference("2024-09-16")["week"]
    (10, 6)
    """

    def __init__(
        self,
        *,
        numeric: Mapping[str, Any],
        categorical: Mapping[str, Any],
        n_rows: int,
        no_attendance_share: float | None,
        weeks: Mapping[int, TrainingProfile] | None = None,
        strata: Mapping[str, Any] | None = None,
    ) -> None:
        self.numeric = dict(numeric)
        self.categorical = dict(categorical)
        self.n_rows = int(n_rows)
        self.no_attendance_share = no_attendance_share
        #: ``{week of the school year: TrainingProfile}``; empty for a pooled-only profile.
        self.weeks = {int(k): v for k, v in sorted((weeks or {}).items())}
        #: ``{"feature": name, "levels": {level: {"share", "missing", "bins",
        #: "no_attendance_share"}}}``, or ``None``: the profile within each year group.
        self.strata = dict(strata) if strata else None

    @classmethod
    def from_features(
        cls,
        X: pd.DataFrame,
        *,
        features: Iterable[str] | None = None,
        n_bins: int = 10,
        by_week: bool = False,
        stratify: str | None = "grade_year",
    ) -> TrainingProfile:
        """Profile the feature rows ``X``.

        Parameters
        ----------
        X : DataFrame
            Feature rows (context columns ``as_of``, ``school_id``, ``cohort``
            are skipped).
        features : iterable of str, optional
            The columns to profile; default every non-context column.
        n_bins : int, default 10
            Quantile bins per numeric feature (deciles).
        by_week : bool, default False
            Also profile the rows of each snapshot week separately, keyed by
            :func:`school_week` of their ``as_of`` (a column, or an index level).
        stratify : str or None, default "grade_year"
            A calendar feature (when it is a column of ``X``) whose levels are
            profiled separately, on the same bin edges: a check then compares
            with the training profile re-weighted to the checked rows' mix of
            levels (year groups), so that a different mix is not read as drift.

        Returns
        -------
        TrainingProfile
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}.")
        if len(X) == 0:
            raise ValueError("Cannot profile an empty feature frame.")
        names = [c for c in X.columns if c not in _CONTEXT] if features is None else list(features)
        weeks: dict[int, TrainingProfile] = {}
        if by_week:
            if "as_of" in X.columns:
                as_of = X["as_of"]
            elif "as_of" in (X.index.names or []):
                as_of = X.index.get_level_values("as_of").to_series()
            else:
                raise ValueError("by_week=True needs the rows' as_of dates (a column or an "
                                 "index level).")
            row_weeks = _row_weeks(as_of)
            for week in np.unique(row_weeks):
                weeks[int(week)] = cls.from_features(X[row_weeks == week], features=names,
                                                     n_bins=n_bins, stratify=stratify)
        numeric: dict[str, Any] = {}
        categorical: dict[str, Any] = {}
        n = len(X)
        for name in names:
            col = X[name]
            missing = float(col.isna().mean())
            if _is_categorical(col):
                shares = col.dropna().astype(str).value_counts(normalize=True, sort=False)
                categorical[str(name)] = {
                    "shares": {str(k): float(v) for k, v in sorted(shares.items())},
                    "missing": missing,
                }
                continue
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            if values.size:
                qs = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
                edges = np.unique(qs)
                counts = np.bincount(np.searchsorted(edges, values, side="left"),
                                     minlength=edges.size + 1)
                shares_n = (counts / values.size).tolist()
            else:
                edges, shares_n = np.array([]), [1.0]
            numeric[str(name)] = {"edges": [float(e) for e in edges], "shares": shares_n,
                                  "missing": missing}
        no_att = float(X["attendance_rate"].isna().mean()) if "attendance_rate" in X else None
        strata = None
        if stratify is not None and stratify in X.columns:
            strata = {"feature": stratify,
                      "levels": _strata_levels(X, _level_keys(X[stratify]), numeric, categorical)}
        return cls(numeric=numeric, categorical=categorical, n_rows=n, no_attendance_share=no_att,
                   weeks=weeks, strata=strata)

    def _summary(self) -> dict[str, Any]:
        out = {"n_rows": self.n_rows, "no_attendance_share": self.no_attendance_share,
               "numeric": self.numeric, "categorical": self.categorical}
        if self.strata is not None:
            out["strata"] = self.strata
        return out

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON types (format version 2).

        The top level is the pooled profile, as in version 1; ``weeks`` maps
        each snapshot week (as text) to that week's profile.
        """
        return {
            "format": _PROFILE_FORMAT,
            "version": _PROFILE_VERSION,
            **self._summary(),
            "weeks": {str(w): p._summary() for w, p in self.weeks.items()},
            "week_basis": "whole weeks from dropoutrisk.schema.school_year_start of the "
                          "school year of each row's as_of",
            "calendar_features": list(CALENDAR_FEATURES),
            "thresholds": {k: list(v) for k, v in DRIFT_THRESHOLDS.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainingProfile:
        """Read a profile written by :meth:`to_dict` (version 2, or the pooled-only version 1)."""
        if not isinstance(doc, Mapping) or doc.get("format") != _PROFILE_FORMAT:
            raise ValueError("Not a dropoutrisk training profile (missing 'format').")
        version = doc.get("version", 1)
        if not isinstance(version, int) or not 1 <= version <= _PROFILE_VERSION:
            raise ValueError(f"Training profile version {version!r} is not supported (this "
                             f"dropoutrisk reads versions 1 to {_PROFILE_VERSION}).")
        def one(v: Mapping[str, Any], weeks: Any = None) -> TrainingProfile:
            return cls(numeric=v["numeric"], categorical=v["categorical"], n_rows=v["n_rows"],
                       no_attendance_share=v.get("no_attendance_share"), weeks=weeks,
                       strata=v.get("strata") if version >= 2 else None)

        weeks = {int(k): one(v) for k, v in (doc.get("weeks") or {}).items()} \
            if version >= 2 else {}
        return one(doc, weeks)

    def reference(self, as_of: Any = None) -> dict[str, Any]:
        """Which profile a check at ``as_of`` compares with, as a JSON-ready dict.

        The stored snapshot week nearest to :func:`school_week` of ``as_of``
        (the earlier one on a tie); the pooled profile when no date is given
        or no per-week profile is stored.
        """
        if as_of is None or not self.weeks:
            return {"basis": "pooled", "n_rows": self.n_rows,
                    "reason": "no scoring date given" if self.weeks else
                    "the profile has no per-week profiles (a model trained before they were "
                    "stored): all training snapshot weeks pooled"}
        now = school_week(as_of)
        week = min(self.weeks, key=lambda w: (abs(w - now), w))
        return {"basis": "snapshot_week", "week": week, "scoring_week": now,
                "weeks_apart": abs(week - now), "weeks_available": list(self.weeks),
                "n_rows": self.weeks[week].n_rows}

    def accumulator(self, as_of: Any = None) -> DriftAccumulator:
        """A fresh :class:`DriftAccumulator` for feeding rows in chunks.

        With ``as_of``, rows are compared with the profile of the nearest
        stored snapshot week (:meth:`reference`).
        """
        ref = self.reference(as_of)
        chosen = self.weeks[ref["week"]] if ref["basis"] == "snapshot_week" else self
        return DriftAccumulator(chosen, reference=ref)


def _nearest_level(key: str, levels: Iterable[str]) -> str | None:
    """The numerically nearest known level (the lower one on a tie), or ``None``."""
    try:
        value = float(key)
        known = [(float(k), k) for k in levels]
    except ValueError:
        return None
    if not known or math.isnan(value):
        return None
    return min(known, key=lambda t: (abs(t[0] - value), t[0]))[1]


def _strata_levels(X: pd.DataFrame, keys: np.ndarray, numeric: Mapping[str, Any],
                   categorical: Mapping[str, Any]) -> dict[str, Any]:
    """Per level: its share of rows, missing shares, bin shares on the common edges."""
    levels: dict[str, Any] = {}
    n = len(X)
    for key in sorted({k for k in keys if k is not None}):
        rows = X[keys == key]
        missing, bins = {}, {}
        for name in [*numeric, *categorical]:
            missing[name] = float(rows[name].isna().mean())
        for name, spec in numeric.items():
            values = pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            edges = np.asarray(spec["edges"], dtype=np.float64)
            counts = np.bincount(np.searchsorted(edges, values, side="left"),
                                 minlength=edges.size + 1)
            bins[name] = (counts / values.size).tolist() if values.size else None
        na = float(rows["attendance_rate"].isna().mean()) if "attendance_rate" in rows else None
        levels[key] = {"share": len(rows) / n, "missing": missing, "bins": bins,
                       "no_attendance_share": na}
    return levels


class DriftAccumulator:
    """Counts what :func:`check_drift` needs, chunk by chunk (see :meth:`update`)."""

    def __init__(self, profile: TrainingProfile, *, reference: Mapping[str, Any] | None = None
                 ) -> None:
        self.profile = profile
        self.reference = dict(reference) if reference is not None else {
            "basis": "pooled", "n_rows": profile.n_rows}
        self.n = 0
        self._bins = {k: np.zeros(len(v["edges"]) + 1, dtype=np.int64)
                      for k, v in profile.numeric.items()}
        self._missing = dict.fromkeys([*profile.numeric, *profile.categorical], 0)
        self._unseen: dict[str, dict[str, int]] = {k: {} for k in profile.categorical}
        self._no_attendance = 0
        self._absent: set[str] = set()
        self._levels: dict[str, int] = {}  # rows per level of the strata feature

    def update(self, X: pd.DataFrame) -> DriftAccumulator:
        """Add the rows of ``X``; returns ``self``."""
        self.n += len(X)
        for name, spec in self.profile.numeric.items():
            if name not in X.columns:
                self._absent.add(name)
                continue
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
            nan = np.isnan(values)
            self._missing[name] += int(nan.sum())
            idx = np.searchsorted(np.asarray(spec["edges"], dtype=np.float64), values[~nan],
                                  side="left")
            self._bins[name] += np.bincount(idx, minlength=self._bins[name].size)
        for name, spec in self.profile.categorical.items():
            if name not in X.columns:
                self._absent.add(name)
                continue
            col = X[name]
            self._missing[name] += int(col.isna().sum())
            seen = set(spec["shares"])
            # count before turning values into text: a chunk has few distinct values
            counts = col.value_counts(sort=False, dropna=True)
            for value, count in counts.items():
                value = str(value)
                if value not in seen and count:
                    self._unseen[name][value] = self._unseen[name].get(value, 0) + int(count)
        if "attendance_rate" in X.columns:
            self._no_attendance += int(X["attendance_rate"].isna().sum())
        strata = self.profile.strata
        if strata is not None and strata["feature"] in X.columns:
            for value, count in X[strata["feature"]].value_counts(sort=False).items():
                if not count:
                    continue
                key = _level_key(value)
                self._levels[key] = self._levels.get(key, 0) + int(count)
        return self

    def _expected(self) -> tuple[dict[str, Any], dict[str, float], float | None, int, list]:
        """Training bin shares, missing shares and no-attendance share, re-weighted to the
        mix of strata levels seen so far; plus rows and examples of unseen levels."""
        p = self.profile
        shares = {k: v["shares"] for k, v in p.numeric.items()}
        missing = {k: v["missing"] for k, v in [*p.numeric.items(), *p.categorical.items()]}
        na = p.no_attendance_share
        if p.strata is None or self.n == 0:
            return shares, missing, na, 0, []
        levels = p.strata["levels"]
        weights = {k: c / self.n for k, c in self._levels.items() if k in levels}
        unseen = {k: c for k, c in self._levels.items() if k not in levels}
        for key, count in unseen.items():  # e.g. a 4th year group: like the nearest one seen
            near = _nearest_level(key, levels)
            if near is not None:
                weights[near] = weights.get(near, 0.0) + count / self.n
        rest = max(0.0, 1.0 - sum(weights.values()))  # missing or non-numeric: unstratified
        for name, base in list(shares.items()):
            mix = rest * (1 - missing[name]) * np.asarray(base, dtype=np.float64)
            for key, w in weights.items():
                lvl = levels[key]
                if lvl["bins"].get(name) is not None:
                    mix = mix + w * (1 - lvl["missing"][name]) * np.asarray(lvl["bins"][name])
            total = mix.sum()
            shares[name] = (mix / total).tolist() if total > 0 else base
        for name, base in list(missing.items()):
            missing[name] = rest * base + sum(w * levels[k]["missing"][name]
                                              for k, w in weights.items())
        if na is not None:
            na = rest * na + sum(w * (levels[k]["no_attendance_share"] or 0.0)
                                 for k, w in weights.items())
        examples = sorted(unseen, key=lambda v: (-unseen[v], v))[:5]
        return shares, missing, na, sum(unseen.values()), examples

    def report(self) -> DriftReport:
        """The :class:`DriftReport` of every row added so far."""
        rows = []
        n = self.n
        shares, missing, train_na, n_unseen_levels, unseen_levels = self._expected()
        strata = self.profile.strata
        for name in self.profile.numeric:
            absent = name in self._absent
            level_rows = strata is not None and name == strata["feature"]
            # the strata feature itself: PSI against the unweighted mix (reported, not judged)
            expected = self.profile.numeric[name]["shares"] if level_rows else shares[name]
            psi = None if absent else _psi(np.asarray(expected), self._bins[name])
            now = None if absent or n == 0 else self._missing[name] / n
            rows.append(self._row(name, "numeric", psi, missing[name], now,
                                  n_unseen_levels if level_rows else 0,
                                  unseen_levels if level_rows else [],
                                  psi_basis=None if absent else (int(self._bins[name].sum()),
                                                                 len(expected))))
        for name in self.profile.categorical:
            absent = name in self._absent
            now = None if absent or n == 0 else self._missing[name] / n
            unseen = self._unseen[name]
            examples = sorted(unseen, key=lambda v: (-unseen[v], v))[:5]
            rows.append(self._row(name, "categorical", None, missing[name], now,
                                  sum(unseen.values()), examples))
        table = pd.DataFrame(rows, columns=_REPORT_COLUMNS)
        now_na = self._no_attendance / n if n and train_na is not None else None
        reference = dict(self.reference)
        if strata is not None:
            reference["stratified_by"] = strata["feature"]
            reference["level_shares"] = {
                "training": {k: v["share"] for k, v in strata["levels"].items()},
                "now": {k: c / n for k, c in sorted(self._levels.items())} if n else {}}
        return DriftReport(table=table, n_rows=n, no_attendance_train=train_na,
                           no_attendance_now=now_na, reference=reference)

    def _row(self, name, kind, psi, missing_train, missing_now, n_unseen, examples,
             psi_basis=None):
        shift = None if missing_now is None else abs(missing_now - missing_train)
        unseen_share = n_unseen / self.n if self.n else 0.0
        judged = name not in CALENDAR_FEATURES
        psi_status = _status(psi if judged else None, "psi")
        if psi_status != "ok" and psi_basis is not None:
            # too few values to tell a PSI this high from chance: fall back a level
            watch_ok, drift_ok = _psi_levels_judged(*psi_basis)
            if psi_status == "drift" and not drift_ok:
                psi_status = "watch"
            if psi_status == "watch" and not watch_ok:
                psi_status, judged = "ok", False
        unseen_status = _status(unseen_share if n_unseen else None, "unseen_share")
        if name in CALENDAR_FEATURES and unseen_status == "drift":
            # a year group outside the training window (e.g. a 4th year): the model has not
            # seen it, worth a look, but a consequence of the calendar, not of the export
            unseen_status = "watch"
        statuses = [psi_status, _status(shift, "missing_shift"), unseen_status]
        status = max(statuses, key=_STATUS_ORDER.__getitem__)
        return {"feature": name, "kind": kind, "psi": psi, "psi_judged": judged and psi is not None,
                "missing_train": missing_train,
                "missing_now": missing_now, "n_unseen": int(n_unseen),
                "unseen_examples": examples, "status": status}


_REPORT_COLUMNS = ["feature", "kind", "psi", "psi_judged", "missing_train", "missing_now", "n_unseen",
                   "unseen_examples", "status"]


class DriftReport(Result):
    """The result of :func:`check_drift`; immutable.

    Attributes are read through properties: :attr:`table` (one row per
    feature: ``psi``, ``missing_train``, ``missing_now``, ``n_unseen``,
    ``unseen_examples``, ``status`` in ``ok``/``watch``/``drift``),
    :attr:`warnings` (one sentence per finding), :attr:`drifted`,
    :attr:`reference` (the training profile compared with: a snapshot week, or pooled).
    ``psi_judged`` is false where PSI is only reported (:data:`CALENDAR_FEATURES`).
    With a stratified profile, ``missing_train`` and the PSI's expected shares
    are the training ones re-weighted to the checked rows' mix of year groups.
    """

    _remedy = "call check_drift() again."

    def __init__(self, *, table: pd.DataFrame, n_rows: int, no_attendance_train: float | None,
                 no_attendance_now: float | None,
                 reference: Mapping[str, Any] | None = None) -> None:
        self._set(reference=copied(dict(reference or {"basis": "pooled"})), table=table,
                  n=int(n_rows), na=(no_attendance_train, no_attendance_now))

    @property
    def table(self) -> pd.DataFrame:
        """One row per profiled feature (a copy)."""
        return copied(self._table)

    @property
    def reference(self) -> dict[str, Any]:
        """The training profile compared with (a copy): ``basis`` is ``snapshot_week``
        (with ``week``, ``scoring_week``, ``weeks_available``) or ``pooled``."""
        return copied(self._reference)

    @property
    def n_rows(self) -> int:
        """Rows checked."""
        return self._n

    @property
    def no_attendance_status(self) -> str:
        """``ok``, ``watch`` or ``drift`` for the share of students without attendance rows."""
        train, now = self._na
        return _status(None if train is None or now is None else abs(now - train),
                       "no_attendance_shift")

    @property
    def drifted(self) -> bool:
        """Whether any check reached its ``drift`` threshold."""
        return bool((self._table["status"] == "drift").any()) or self.no_attendance_status == "drift"

    @property
    def warnings(self) -> list[str]:
        """One sentence per check at ``watch`` or ``drift``, worst first."""
        out: list[tuple[int, str]] = []
        for r in self._table.itertuples(index=False):
            if r.status == "ok":
                continue
            parts = []
            if r.psi_judged and _status(r.psi, "psi") != "ok":
                parts.append(f"PSI {r.psi:.3f}")
            if r.missing_now is not None and _status(
                    abs(r.missing_now - r.missing_train), "missing_shift") != "ok":
                parts.append(f"missing {r.missing_train:.1%} in training, {r.missing_now:.1%} now")
            if r.n_unseen and r.feature in CALENDAR_FEATURES:
                parts.append(f"{r.n_unseen} rows with values not seen in training "
                             f"({', '.join(map(repr, r.unseen_examples))}), compared with the "
                             "nearest value seen")
            elif r.n_unseen:
                parts.append(f"{r.n_unseen} rows with categories not seen in training "
                             f"({', '.join(map(repr, r.unseen_examples))})")
            out.append((_STATUS_ORDER[r.status],
                        f"{r.status}: feature '{r.feature}': {'; '.join(parts)}"))
        ref = self._reference
        if ref.get("basis") == "snapshot_week" and ref.get("weeks_apart", 0) >= _WEEKS_APART_NOTE:
            out.append((_STATUS_ORDER["watch"],
                        f"watch: the nearest training snapshot week ({ref['week']}) is "
                        f"{ref['weeks_apart']} weeks from this date's week of the school year "
                        f"({ref['scoring_week']}): features that follow the calendar may differ "
                        "for that reason alone; train with --weeks including "
                        f"{ref['scoring_week']} to compare like with like"))
        train, now = self._na
        status = self.no_attendance_status
        if status != "ok":
            out.append((_STATUS_ORDER[status],
                        f"{status}: share of students with no attendance rows "
                        f"{train:.1%} in training, {now:.1%} now"))
        return [text for _, text in sorted(out, key=lambda t: -t[0])]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: thresholds, per-feature rows, warnings."""
        train, now = self._na
        return to_jsonable({
            "n_rows": self._n,
            "drifted": self.drifted,
            "reference": self.reference,
            "thresholds": {k: {"watch": w, "drift": d} for k, (w, d) in DRIFT_THRESHOLDS.items()},
            "no_attendance_share": {"training": train, "now": now,
                                    "status": self.no_attendance_status},
            "features": self._table,
            "warnings": self.warnings,
        })

    def __repr__(self) -> str:
        counts = self._table["status"].value_counts()
        return (f"DriftReport(n_rows={self._n}, drift={int(counts.get('drift', 0))}, "
                f"watch={int(counts.get('watch', 0))}, "
                f"no_attendance={self.no_attendance_status!r})")


def check_drift(profile: TrainingProfile, X: pd.DataFrame, *, as_of: Any = None) -> DriftReport:
    """Compare feature rows ``X`` with the training ``profile``.

    Parameters
    ----------
    profile : TrainingProfile
    X : DataFrame
        Feature rows at prediction time.
    as_of : date-like, optional
        The scoring date: compare with the profile of the nearest stored
        snapshot week (see :meth:`TrainingProfile.reference`); by default, or
        when the profile has no per-week profiles, the pooled one.

    Returns
    -------
    DriftReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"attendance_rate": rng.uniform(0.7, 1.0, 2000)})
    >>> profile = TrainingProfile.from_features(train)
    >>> check_drift(profile, train.sample(500, random_state=1)).drifted
    False
    >>> report = check_drift(profile, train - 0.2)
    >>> report.drifted, report.table.loc[0, "status"]
    (True, 'drift')
    """
    if not isinstance(profile, TrainingProfile):
        raise TypeError(f"profile must be a TrainingProfile, got {type(profile).__name__}.")
    return profile.accumulator(as_of).update(X).report()


_ACCEPTED_REFERENCES = ("a feature DataFrame (e.g. last year's cohort), a TrainingProfile, its "
                        "to_dict() document, or a ModelBundle from "
                        "dropoutrisk.models.load_bundle that stores one")


def _has_as_of(X: pd.DataFrame) -> bool:
    return "as_of" in X.columns or "as_of" in (X.index.names or [])


def _reference_profile(reference: Any, *, as_of: Any, features: Iterable[str] | None,
                       n_bins: int | None) -> TrainingProfile:
    """The training profile that ``reference`` stands for (see :func:`drift_report`)."""
    if isinstance(reference, pd.DataFrame):
        if as_of is not None and not _has_as_of(reference):
            raise ValueError(
                f"as_of={as_of!r} picks the reference rows' nearest snapshot week, but the "
                "reference frame has no 'as_of' column or index level; add it, or leave out "
                "as_of= to compare with all reference rows pooled.")
        return TrainingProfile.from_features(
            reference, features=features, n_bins=10 if n_bins is None else n_bins,
            by_week=as_of is not None)
    if features is not None or n_bins is not None:
        raise ValueError(
            "features= and n_bins= shape a profile built from a reference frame; a "
            f"{type(reference).__name__} already holds its profile. Leave them out, or pass "
            "the reference feature rows.")
    if isinstance(reference, TrainingProfile):
        return reference
    if isinstance(reference, Mapping):
        return TrainingProfile.from_dict(reference)
    from dropoutrisk.models._bundle import ModelBundle

    if isinstance(reference, ModelBundle):
        doc = reference.extra.get("profile")
        if doc is None:
            raise ModelError(
                f"The model bundle at {reference.path} stores no training profile (it was "
                "saved without extra={'profile': ...}). Train it with 'dropoutrisk train', "
                "which stores one, or pass the training feature rows as reference.",
                path=str(reference.path))
        try:
            return TrainingProfile.from_dict(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"The training profile in {reference.path} cannot be read ({exc}); train the "
                "model again, or pass the training feature rows as reference.",
                path=str(reference.path)) from exc
    if hasattr(reference, "predict_proba"):
        raise TypeError(
            f"reference is a fitted {type(reference).__name__}, which does not carry the "
            "profile of its training rows. Pass the ModelBundle it was saved in "
            "(dropoutrisk.models.load_bundle(path)) or the feature rows it was trained on.")
    raise TypeError(f"reference must be {_ACCEPTED_REFERENCES}; got {type(reference).__name__}.")


def drift_report(
    reference: Any,
    current: pd.DataFrame,
    *,
    as_of: Any = None,
    features: Iterable[str] | None = None,
    n_bins: int | None = None,
) -> DriftReport:
    """Input drift of ``current`` feature rows against a reference: another cohort or a model's.

    The researcher's entry to the checks that ``predict`` runs: PSI per
    numeric feature, shifts in missing shares, unseen categories and the
    share of students without attendance rows, judged against
    :data:`DRIFT_THRESHOLDS` (see the module documentation).

    Parameters
    ----------
    reference : DataFrame, TrainingProfile, mapping or ModelBundle
        What ``current`` is compared with: feature rows (e.g. last year's
        cohort; profiled with :meth:`TrainingProfile.from_features`), a
        :class:`TrainingProfile` or its :meth:`~TrainingProfile.to_dict`
        document, or a :class:`~dropoutrisk.models.ModelBundle` whose
        training profile was stored by ``dropoutrisk train``. A fitted
        model alone carries no profile: pass its bundle.
    current : DataFrame
        The feature rows to check (context columns such as ``as_of``,
        ``school_id`` and ``cohort`` are not features).
    as_of : date-like, optional
        The snapshot date of ``current``: compare with the reference's
        nearest snapshot week of the school year (like with like; a frame
        reference then needs an ``as_of`` column). By default every
        reference row is pooled.
    features : iterable of str, optional
        With a reference frame: the columns to compare; default every
        non-context column.
    n_bins : int, optional
        With a reference frame: quantile bins per numeric feature (default 10).

    Returns
    -------
    DriftReport
        The same report as :func:`check_drift`.

    Raises
    ------
    TypeError
        ``reference`` or ``current`` of a type not listed above.
    ModelError
        A bundle without a readable training profile.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> last_year = pd.DataFrame({"attendance_rate": rng.uniform(0.7, 1.0, 2000),
    ...                           "failed_courses": rng.poisson(0.5, 2000).astype(float)})
    >>> this_year = last_year.assign(attendance_rate=last_year["attendance_rate"] - 0.1)
    >>> report = drift_report(last_year, this_year)
    >>> report.drifted
    True
    >>> report.table.loc[report.table["status"] == "drift", "feature"].tolist()
    ['attendance_rate']
    >>> drift_report(last_year, last_year.sample(1000, random_state=0)).drifted
    False
    """
    if not isinstance(current, pd.DataFrame):
        raise TypeError(f"current must be a pandas DataFrame of feature rows, got "
                        f"{type(current).__name__}.")
    profile = _reference_profile(reference, as_of=as_of, features=features, n_bins=n_bins)
    return check_drift(profile, current, as_of=as_of)
