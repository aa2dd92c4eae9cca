"""Drift per school: the per-school training counts, their tally at prediction time, the tests.

A fault in one school's export (an item scored 0-100 instead of 1-5, a school
that stopped sending grades) moves that school's rows a long way but the
pooled rows only a little. So each school with at least ``MIN_CELL`` students
is also compared with its own training rows.

Both sides are samples. A school's training profile holds a few hundred
students, not a population, so the chance level of a difference comes from a
**two-sample** test on the two sets of counts (Pearson's chi-square test of
homogeneity; its scale is the effective size ``1 / (1/n_train + 1/n_now)``),
with adjacent bins merged until every expected count is at least
:data:`_MIN_EXPECTED`, so that the chi-square law holds on small schools.
Across all schools and features the p-values are adjusted together
(Benjamini-Hochberg, false discovery rate :data:`SCHOOL_FDR`). A finding needs
both: an adjusted p-value below the rate, and a PSI (or a shift of the
missing share) past the pooled check's watch or drift threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.models.drift._profile import (
    _STATUS_ORDER,
    CALENDAR_FEATURES,
    _level_keys,
    _psi,
    _status,
    expected_for_mix,
)

if TYPE_CHECKING:  # pragma: no cover
    from dropoutrisk.models.drift._profile import TrainingProfile

#: Benjamini-Hochberg false discovery rate across every school x feature test of one check.
SCHOOL_FDR = 0.01
#: A school is profiled, checked and named only with at least this many students.
MIN_SCHOOL_STUDENTS = MIN_CELL
#: Adjacent bins are merged until each expected count (in the smaller sample) reaches this.
_MIN_EXPECTED = 2.5
SCHOOL_COLUMNS = ["school_id", "feature", "kind", "reference", "n_train", "n_now", "psi",
                  "psi_p_adjusted", "missing_train", "missing_now", "missing_p_adjusted",
                  "n_unseen", "status"]
SUMMARY_COLUMNS = ["school_id", "n_rows", "reference", "status", "drift_features",
                   "watch_features"]


def _keys(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Row codes (-1 where missing) and the school ids as text."""
    codes, uniques = pd.factorize(col, sort=False)
    return codes, [str(u) for u in uniques]


def _binned(values: np.ndarray, edges: np.ndarray, codes: np.ndarray, n_groups: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Bin counts (groups x bins) and missing counts per group of ``codes``."""
    nan = np.isnan(values)
    keep = (codes >= 0) & ~nan
    n_bins = edges.size + 1
    idx = np.searchsorted(edges, values[keep], side="left")
    counts = np.bincount(codes[keep] * n_bins + idx, minlength=n_groups * n_bins)
    missing = np.bincount(codes[(codes >= 0) & nan], minlength=n_groups)
    return counts.reshape(n_groups, n_bins), missing


def profile_schools(X: pd.DataFrame, ids: pd.Series | None, numeric: Mapping[str, Any],
                    categorical: Mapping[str, Any], strata: str | None, *,
                    weeks: tuple[np.ndarray, Mapping[int, TrainingProfile]] | None = None
                    ) -> dict[str, Any]:
    """Counts per school on the pooled bin edges: no row, no school under ``MIN_CELL``.

    A school below the threshold is left out, and so is the smallest school
    kept when the schools left out hold 1 to 9 students together (they
    could otherwise be recovered as the pooled counts minus the stored ones).
    With per-week profiles (``weeks``: each row's week and the profiles), a
    school is kept in this pooled profile only if every week it has rows in
    keeps it too, for the same reason.
    """
    codes, names = _keys(X["school_id"])
    n_groups = len(names)
    if ids is not None:
        students = pd.Series(ids.to_numpy()).groupby(codes).nunique()
    else:
        students = pd.Series(codes).value_counts()
    n_students = {names[int(c)]: int(v) for c, v in students.items() if c >= 0}
    keep = {s for s, v in n_students.items() if v >= MIN_SCHOOL_STUDENTS}
    withheld = sum(v for s, v in n_students.items() if s not in keep)
    if 0 < withheld < MIN_SCHOOL_STUDENTS and keep:
        keep.discard(min(keep, key=lambda s: (n_students[s], s)))
    if weeks is not None:
        row_weeks, profiles_by_week = weeks
        for w, week_profile in profiles_by_week.items():
            stored = set((week_profile.schools or {}).get("profiles") or {})
            present = {names[int(c)] for c in np.unique(codes[row_weeks == w]) if c >= 0}
            keep -= present - stored
    profiles: dict[str, Any] = {}
    bins = {}
    missing = {}
    for name, spec in numeric.items():
        values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
        bins[name], missing[name] = _binned(values, np.asarray(spec["edges"], dtype=np.float64),
                                            codes, n_groups)
    for name in categorical:
        na = X[name].isna().to_numpy()
        missing[name] = np.bincount(codes[(codes >= 0) & na], minlength=n_groups)
    level_counts: dict[int, dict[str, int]] = {}
    if strata is not None:
        frame = pd.DataFrame({"s": codes, "k": _level_keys(X[strata])})
        frame = frame[(frame["s"] >= 0) & frame["k"].notna()]
        for (s, k), v in frame.groupby(["s", "k"], sort=True).size().items():
            level_counts.setdefault(int(s), {})[str(k)] = int(v)
    rows = np.bincount(codes[codes >= 0], minlength=n_groups)
    for code, school in sorted(enumerate(names), key=lambda t: t[1]):
        if school not in keep:
            continue
        doc: dict[str, Any] = {
            "n_rows": int(rows[code]), "n_students": n_students[school],
            "bins": {k: v[code].astype(int).tolist() for k, v in bins.items()},
            "missing": {k: int(v[code]) for k, v in missing.items()},
        }
        if strata is not None:
            doc["levels"] = level_counts.get(code, {})
        profiles[school] = doc
    return {"column": "school_id", "min_students": MIN_SCHOOL_STUDENTS, "profiles": profiles}


class SchoolTally:
    """Counts per school of the rows checked, chunk by chunk (for :class:`DriftAccumulator`)."""

    def __init__(self, profile: TrainingProfile) -> None:
        self.profile = profile
        self.n: dict[str, int] = {}
        self.bins: dict[str, dict[str, np.ndarray]] = {}
        self.missing: dict[str, dict[str, int]] = {}
        self.unseen: dict[str, dict[str, int]] = {}
        self.levels: dict[str, dict[str, int]] = {}
        self.rows_without_school = 0

    def update(self, X: pd.DataFrame) -> None:
        if "school_id" not in X.columns:
            self.rows_without_school += len(X)
            return
        codes, names = _keys(X["school_id"])
        self.rows_without_school += int((codes < 0).sum())
        n_groups = len(names)
        p = self.profile
        for name, spec in p.numeric.items():
            if name not in X.columns:
                continue
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
            counts, missing = _binned(values, np.asarray(spec["edges"], dtype=np.float64),
                                      codes, n_groups)
            for i, school in enumerate(names):
                per = self.bins.setdefault(school, {})
                per[name] = per[name] + counts[i] if name in per else counts[i].copy()
                self._add(self.missing, school, name, int(missing[i]))
        for name, spec in p.categorical.items():
            if name not in X.columns:
                continue
            # one lookup per distinct value, not per row
            vcodes, values = pd.factorize(X[name], sort=False)
            seen = set(spec["shares"])
            na = vcodes < 0
            new = np.array([str(v) not in seen for v in values] + [False], dtype=bool)[vcodes]
            missing = np.bincount(codes[(codes >= 0) & na], minlength=n_groups)
            unseen = np.bincount(codes[(codes >= 0) & new], minlength=n_groups)
            for i, school in enumerate(names):
                self._add(self.missing, school, name, int(missing[i]))
                self._add(self.unseen, school, name, int(unseen[i]))
        rows = np.bincount(codes[codes >= 0], minlength=n_groups)
        for i, school in enumerate(names):
            self.n[school] = self.n.get(school, 0) + int(rows[i])
        if p.strata is not None and p.strata["feature"] in X.columns:
            frame = pd.DataFrame({"s": codes, "k": _level_keys(X[p.strata["feature"]])})
            frame = frame[(frame["s"] >= 0) & frame["k"].notna()]
            for (s, k), v in frame.groupby(["s", "k"], sort=False).size().items():
                self._add(self.levels, names[int(s)], str(k), int(v))

    def merge(self, other: SchoolTally) -> None:
        """Add the counts of ``other`` (rows counted apart: every count is a sum)."""
        for school, n in other.n.items():
            self.n[school] = self.n.get(school, 0) + n
        for school, per in other.bins.items():
            mine = self.bins.setdefault(school, {})
            for name, counts in per.items():
                mine[name] = mine[name] + counts if name in mine else counts.copy()
        for store, theirs in ((self.missing, other.missing), (self.unseen, other.unseen),
                              (self.levels, other.levels)):
            for school, per in theirs.items():
                for key, value in per.items():
                    self._add(store, school, key, value)
        self.rows_without_school += other.rows_without_school

    @staticmethod
    def _add(store: dict[str, dict[str, int]], school: str, key: str, value: int) -> None:
        per = store.setdefault(school, {})
        per[key] = per.get(key, 0) + value

    def report(self, absent: set[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The per-school rows (school x feature) and what the check covered."""
        p = self.profile
        stored = (p.schools or {}).get("profiles") or {}
        small = [s for s, n in self.n.items() if n < MIN_SCHOOL_STUDENTS]
        info = {"checked": p.schools is not None, "fdr": SCHOOL_FDR,
                "min_students": MIN_SCHOOL_STUDENTS, "column": "school_id",
                "schools_not_named": len(small),
                "rows_not_named": int(sum(self.n[s] for s in small)),
                "rows_without_school": self.rows_without_school}
        if p.schools is None:
            info["note"] = ("the training profile stores no per-school counts (the model was "
                            "trained before dropoutrisk stored them): only the pooled check "
                            "ran; train the model again to check each school")
            return pd.DataFrame(columns=SCHOOL_COLUMNS), info
        rows = []
        for school in sorted(s for s in self.n if s not in small):
            rows += self._school_rows(school, stored.get(school), absent)
        table = pd.DataFrame(rows, columns=SCHOOL_COLUMNS)
        _judge(table)
        info["schools_compared_with_pooled"] = int(
            table.loc[table["reference"] == "pooled", "school_id"].nunique()) if len(table) else 0
        return table, info

    def _school_rows(self, school: str, stored: Mapping[str, Any] | None,
                     absent: set[str]) -> list[dict[str, Any]]:
        p = self.profile
        n_now = self.n[school]
        levels = self.levels.get(school, {})
        shares_now, missing_now_mix, _, _, _ = expected_for_mix(p, levels, n_now)
        if stored is not None:
            ref, n_ref = "school", int(stored["n_students"])
            # the year-group adjustment of the pooled rows, applied to the school's own
            shares_then, missing_then_mix, _, _, _ = expected_for_mix(
                p, stored.get("levels") or {}, int(stored["n_rows"]))
        else:  # a school the training rows did not have (or too few students to store)
            ref, n_ref = "pooled", p.n_students
        out = []
        for name in [*p.numeric, *p.categorical]:
            if name in absent:
                continue
            numeric = name in p.numeric
            miss_now = self.missing.get(school, {}).get(name, 0)
            if stored is not None:
                miss_ref = stored["missing"][name] / max(int(stored["n_rows"]), 1)
                miss_ref = float(np.clip(miss_ref + missing_now_mix[name]
                                         - missing_then_mix[name], 0.0, 1.0))
            else:
                miss_ref = float(missing_now_mix[name])
            psi = p_psi = None
            if numeric:
                counts = self.bins.get(school, {}).get(name)
                if counts is None:
                    continue
                if stored is not None:
                    base = np.asarray(stored["bins"][name], dtype=np.float64)
                    expected = base / base.sum() if base.sum() else base
                    if name not in CALENDAR_FEATURES:
                        expected = _reweighted(expected, shares_now[name], shares_then[name])
                else:
                    expected = np.asarray(shares_now[name], dtype=np.float64)
                psi = _psi(expected, counts)
                if psi is not None and not np.isfinite(psi):
                    psi = None  # the school had no values of it in training
                if psi is not None and name not in CALENDAR_FEATURES:
                    p_psi = two_sample_p(expected * n_ref * (1.0 - miss_ref), counts)
            p_miss = two_sample_p(np.array([miss_ref, 1.0 - miss_ref]) * n_ref,
                                  np.array([miss_now, n_now - miss_now]))
            out.append({"school_id": school, "feature": name,
                        "kind": "numeric" if numeric else "categorical", "reference": ref,
                        "n_train": n_ref, "n_now": n_now, "psi": psi, "psi_p_adjusted": p_psi,
                        "missing_train": miss_ref, "missing_now": miss_now / n_now,
                        "missing_p_adjusted": p_miss,
                        "n_unseen": self.unseen.get(school, {}).get(name, 0), "status": "ok"})
        return out


def _reweighted(base: np.ndarray, now: Any, then: Any) -> np.ndarray:
    """``base`` times the pooled shares' ratio between two mixes of year groups."""
    now_a, then_a = np.asarray(now, dtype=np.float64), np.asarray(then, dtype=np.float64)
    ratio = np.divide(now_a, then_a, out=np.ones_like(now_a), where=then_a > 0)
    out = base * ratio
    total = out.sum()
    return out / total if total > 0 else base


def two_sample_p(reference: np.ndarray, now: np.ndarray) -> float | None:
    """P-value of Pearson's chi-square test that two sets of bin counts share one law.

    Adjacent bins are merged until each expected count in the smaller sample
    is at least :data:`_MIN_EXPECTED`; ``None`` when fewer than two bins remain
    (too few values to test).

    Examples
    --------
    >>> round(two_sample_p(np.array([50, 50]), np.array([50, 50])), 3)
    1.0
    >>> two_sample_p(np.array([500, 500]), np.array([90, 10])) < 1e-6
    True
    >>> two_sample_p(np.array([3.0, 4.0]), np.array([2, 1])) is None
    True
    """
    from scipy.stats import chi2

    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(now, dtype=np.float64)
    n1, n2 = r.sum(), c.sum()
    if n1 <= 0 or n2 <= 0:
        return None
    share = (r + c) / (n1 + n2)
    smaller = min(n1, n2)
    groups, start, acc = [], 0, 0.0
    for j, s in enumerate(share):
        acc += s
        if smaller * acc >= _MIN_EXPECTED:
            groups.append((start, j + 1))
            start, acc = j + 1, 0.0
    if start < share.size and groups:  # the remainder joins the last group
        groups[-1] = (groups[-1][0], share.size)
    if len(groups) < 2:
        return None
    R = np.array([r[a:b].sum() for a, b in groups])
    C = np.array([c[a:b].sum() for a, b in groups])
    P = (R + C) / (n1 + n2)
    stat = float(np.sum((R - n1 * P) ** 2 / (n1 * P) + (C - n2 * P) ** 2 / (n2 * P)))
    return float(chi2.sf(stat, len(groups) - 1))


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _judge(table: pd.DataFrame) -> None:
    """Adjust every p-value of the table together, then set each row's status (in place)."""
    if table.empty:
        return
    cols = ["psi_p_adjusted", "missing_p_adjusted"]
    raw = table[cols].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = ~np.isnan(raw)
    adjusted = np.full(raw.shape, np.nan)
    adjusted[ok] = _bh(raw[ok])
    for j, col in enumerate(cols):
        table[col] = pd.Series(adjusted[:, j], index=table.index).astype(object).where(
            ~np.isnan(adjusted[:, j]), None)
    statuses = []
    for r, (p_psi, p_miss) in zip(table.itertuples(index=False), adjusted, strict=True):
        psi = _status(r.psi, "psi") if p_psi < SCHOOL_FDR else "ok"
        shift = abs(r.missing_now - r.missing_train)
        miss = _status(shift, "missing_shift") if p_miss < SCHOOL_FDR else "ok"
        unseen = _status(r.n_unseen / r.n_now if r.n_unseen else None, "unseen_share")
        statuses.append(max((psi, miss, unseen), key=_STATUS_ORDER.__getitem__))
    table["status"] = statuses


def school_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per school checked: its status and the features at drift and at watch."""
    rows = []
    for school, part in table.groupby("school_id", sort=True):
        status = max(part["status"], key=_STATUS_ORDER.__getitem__)
        rows.append({"school_id": school, "n_rows": int(part["n_now"].iloc[0]),
                     "reference": part["reference"].iloc[0], "status": status,
                     "drift_features": part.loc[part["status"] == "drift", "feature"].tolist(),
                     "watch_features": part.loc[part["status"] == "watch", "feature"].tolist()})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
