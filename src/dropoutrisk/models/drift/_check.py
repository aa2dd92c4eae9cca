"""Checking rows against a profile: the streaming accumulator, check_drift() and drift_report()."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import ModelError
from dropoutrisk.models.drift._profile import (
    _STATUS_ORDER,
    CALENDAR_FEATURES,
    TrainingProfile,
    _level_key,
    _psi,
    _psi_levels_judged,
    _status,
    expected_for_mix,
)
from dropoutrisk.models.drift._report import _REPORT_COLUMNS, DriftReport
from dropoutrisk.models.drift._schools import SchoolTally


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
        self._schools = SchoolTally(profile)

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
        self._schools.update(X)
        return self

    def merge(self, other: DriftAccumulator) -> DriftAccumulator:
        """Add the counts of ``other``, fed from the same profile; returns ``self``.

        Every count is a sum, so rows counted apart (the partitions of a Spark
        job) merge into the report that counting them together gives.
        """
        if other.profile is not self.profile and other.profile.to_dict() != self.profile.to_dict():
            raise ValueError("Only accumulators of the same training profile merge.")
        self.n += other.n
        for name, bins in other._bins.items():
            self._bins[name] += bins
        for name, count in other._missing.items():
            self._missing[name] += count
        for name, seen in other._unseen.items():
            for value, count in seen.items():
                self._unseen[name][value] = self._unseen[name].get(value, 0) + count
        self._no_attendance += other._no_attendance
        self._absent |= other._absent
        for key, count in other._levels.items():
            self._levels[key] = self._levels.get(key, 0) + count
        self._schools.merge(other._schools)
        return self

    def _expected(self) -> tuple[dict[str, Any], dict[str, float], float | None, int, list]:
        """Training bin shares, missing shares and no-attendance share, re-weighted to the
        mix of strata levels seen so far; plus rows and examples of unseen levels."""
        return expected_for_mix(self.profile, self._levels, self.n)

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
        schools, schools_info = self._schools.report(self._absent)
        return DriftReport(table=table, n_rows=n, no_attendance_train=train_na,
                           no_attendance_now=now_na, reference=reference, schools=schools,
                           schools_info=schools_info)

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
    from dropoutrisk.models.bundle import ModelBundle

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
    DataError
        ``current`` shares no feature with the reference
        (``MissingColumnError``), or holds text in a numeric feature
        (``ColumnTypeError``, naming the column and rows).

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
    _check_current(profile, current)
    return check_drift(profile, current, as_of=as_of)


def _check_current(profile: TrainingProfile, current: pd.DataFrame) -> None:
    """The rows share features with the reference, and its numeric features hold numbers."""
    from dropoutrisk.errors import MissingColumnError
    from dropoutrisk.models._input import check_numeric

    known = [*profile.numeric, *profile.categorical]
    if known and not any(name in current.columns for name in known):
        raise MissingColumnError(
            table="current", column=known[0],
            problem="none of the reference's feature columns is in the current rows "
                    f"(reference: {', '.join(known[:5])}{', ...' if len(known) > 5 else ''})",
            fix="Compare feature rows built the same way (build_features with the same "
                "catalogue), or canonical tables of the same export")
    check_numeric(current, profile.numeric, set(), 0, table="current",
                  fix="Correct the values (the reference holds numbers there), or rebuild the "
                      "feature rows with build_features")
