"""The training profile: per-feature bins, shares and missingness, pooled and per week; the thresholds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dropoutrisk.schema import school_year_of, school_year_start

if TYPE_CHECKING:  # pragma: no cover
    from dropoutrisk.models.drift._check import DriftAccumulator


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
#: 1: pooled only (no ``version`` key); 2: adds ``weeks`` and ``calendar_features``;
#: 3: adds ``n_students`` and ``schools`` (binned counts per school, see ``_schools.py``).
_PROFILE_VERSION = 3
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


def _student_ids(X: pd.DataFrame) -> pd.Series | None:
    """The rows' student ids (a column or an index level), or ``None``."""
    if "student_id" in X.columns:
        return X["student_id"]
    if "student_id" in (X.index.names or []):
        return X.index.get_level_values("student_id").to_series(index=X.index)
    return None


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
    n_students : int, optional
        Distinct students among the rows (a student profiled at two dates
        is one sample, not two); default ``n_rows``.
    schools : dict, optional
        Binned counts per school (see ``by_school``).

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
        n_students: int | None = None,
        schools: Mapping[str, Any] | None = None,
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
        self.n_students = self.n_rows if n_students is None else int(n_students)
        #: ``{"column", "min_students", "profiles": {school: counts}}``, or ``None`` (a
        #: profile stored before per-school counts, or rows without schools).
        self.schools = dict(schools) if schools is not None else None

    @classmethod
    def from_features(
        cls,
        X: pd.DataFrame,
        *,
        features: Iterable[str] | None = None,
        n_bins: int = 10,
        by_week: bool = False,
        stratify: str | None = "grade_year",
        by_school: bool = True,
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
        by_school : bool, default True
            With a ``school_id`` column, also store binned counts per school
            (on the pooled bin edges), for the per-school check. Schools with
            fewer than ``MIN_CELL`` (10) students are neither named nor stored,
            and neither is a school whose counts would let them be recovered.

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
        row_weeks = None
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
                                                     n_bins=n_bins, stratify=stratify,
                                                     by_school=by_school)
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
        ids = _student_ids(X)
        n_students = n if ids is None else int(ids.nunique())
        schools = None
        if by_school and "school_id" in X.columns:
            from dropoutrisk.models.drift._schools import profile_schools

            schools = profile_schools(X, ids, numeric, categorical,
                                      strata["feature"] if strata else None,
                                      weeks=None if row_weeks is None else (row_weeks, weeks))
        return cls(numeric=numeric, categorical=categorical, n_rows=n, no_attendance_share=no_att,
                   weeks=weeks, strata=strata, n_students=n_students, schools=schools)

    def _summary(self) -> dict[str, Any]:
        out = {"n_rows": self.n_rows, "n_students": self.n_students,
               "no_attendance_share": self.no_attendance_share,
               "numeric": self.numeric, "categorical": self.categorical}
        if self.strata is not None:
            out["strata"] = self.strata
        if self.schools is not None:
            out["schools"] = self.schools
        return out

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON types (format version 3).

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
        """Read a profile written by :meth:`to_dict` (versions 1 to 3).

        Versions 1 and 2 have no per-school counts: :attr:`schools` is ``None``
        and a check compares the pooled rows only, and says so.
        """
        if not isinstance(doc, Mapping) or doc.get("format") != _PROFILE_FORMAT:
            raise ValueError("Not a dropoutrisk training profile (missing 'format').")
        version = doc.get("version", 1)
        if not isinstance(version, int) or not 1 <= version <= _PROFILE_VERSION:
            raise ValueError(f"Training profile version {version!r} is not supported (this "
                             f"dropoutrisk reads versions 1 to {_PROFILE_VERSION}).")
        def one(v: Mapping[str, Any], weeks: Any = None) -> TrainingProfile:
            return cls(numeric=v["numeric"], categorical=v["categorical"], n_rows=v["n_rows"],
                       no_attendance_share=v.get("no_attendance_share"), weeks=weeks,
                       strata=v.get("strata") if version >= 2 else None,
                       n_students=v.get("n_students"),
                       schools=v.get("schools") if version >= 3 else None)

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
        from dropoutrisk.models.drift._check import DriftAccumulator

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


def expected_for_mix(profile: TrainingProfile, levels_now: Mapping[str, int], n: int
                     ) -> tuple[dict[str, Any], dict[str, float], float | None, int, list]:
    """The training shares re-weighted to a mix of strata levels (year groups).

    ``levels_now`` counts rows per level of the profile's strata feature among
    ``n`` rows. Returns the numeric bin shares, the missing shares, the
    no-attendance share, and the rows and first examples of levels the
    training rows did not have (each weighted like the nearest level seen).
    """
    p = profile
    shares = {k: v["shares"] for k, v in p.numeric.items()}
    missing = {k: v["missing"] for k, v in [*p.numeric.items(), *p.categorical.items()]}
    na = p.no_attendance_share
    if p.strata is None or n == 0:
        return shares, missing, na, 0, []
    levels = p.strata["levels"]
    weights = {k: c / n for k, c in levels_now.items() if k in levels}
    unseen = {k: c for k, c in levels_now.items() if k not in levels}
    for key, count in unseen.items():  # e.g. a 4th year group: like the nearest one seen
        near = _nearest_level(key, levels)
        if near is not None:
            weights[near] = weights.get(near, 0.0) + count / n
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
