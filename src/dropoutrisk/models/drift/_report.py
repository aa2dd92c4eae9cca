"""DriftReport: what a drift check found, per feature, with its warnings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied
from dropoutrisk.models.drift._profile import (
    _STATUS_ORDER,
    _WEEKS_APART_NOTE,
    CALENDAR_FEATURES,
    DRIFT_THRESHOLDS,
    _status,
)
from dropoutrisk.models.drift._schools import SCHOOL_COLUMNS, school_summary

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

    Per school: :attr:`schools` (one row per school with at least 10 students
    now: its status and the features at drift or watch), :attr:`school_table`
    (one row per school and feature) and :attr:`schools_info` (what the
    per-school check covered; why not, when it did not run).
    :attr:`drifted_schools` names the schools with a feature at drift.
    """

    _remedy = "call check_drift() again."

    def __init__(self, *, table: pd.DataFrame, n_rows: int, no_attendance_train: float | None,
                 no_attendance_now: float | None,
                 reference: Mapping[str, Any] | None = None,
                 schools: pd.DataFrame | None = None,
                 schools_info: Mapping[str, Any] | None = None) -> None:
        school_table = schools if schools is not None else pd.DataFrame(columns=SCHOOL_COLUMNS)
        info = dict(schools_info) if schools_info is not None else {
            "checked": False, "note": "no per-school check was made"}
        self._set(reference=copied(dict(reference or {"basis": "pooled"})), table=table,
                  n=int(n_rows), na=(no_attendance_train, no_attendance_now),
                  school_table=school_table, summary=school_summary(school_table),
                  schools_info=info)

    table = Part[pd.DataFrame]("One row per profiled feature (a copy).")

    reference = Part[dict[str, Any]](
        """The training profile compared with (a copy): ``basis`` is ``snapshot_week``
        (with ``week``, ``scoring_week``, ``weeks_available``) or ``pooled``.""")

    school_table = Part[pd.DataFrame](
        """One row per school and feature (a copy): the school's reference (``school``, its
        own training rows, or ``pooled`` for a school the training rows did not have), the
        counts compared (``n_train`` students, ``n_now`` rows), PSI, missing shares, unseen
        categories, the Benjamini-Hochberg adjusted p-values and the ``status``.""")

    schools = Part[pd.DataFrame](
        "One row per school checked (a copy): ``status`` and the features at drift and watch.",
        attr="_summary")

    schools_info = Part[dict[str, Any]](
        """What the per-school check covered (a copy): whether it ran (with a ``note`` when
        not), the false discovery rate, the smallest school named, and the schools and rows
        not named.""")

    @property
    def drifted_schools(self) -> list[str]:
        """The schools with at least one feature at ``drift``, sorted."""
        s = self._summary
        return s.loc[s["status"] == "drift", "school_id"].tolist()

    n_rows = Part[int]("Rows checked.", attr="_n", convert=None)

    @property
    def no_attendance_status(self) -> str:
        """``ok``, ``watch`` or ``drift`` for the share of students without attendance rows."""
        train, now = self._na
        return _status(None if train is None or now is None else abs(now - train),
                       "no_attendance_shift")

    @property
    def drifted(self) -> bool:
        """Whether any check reached its ``drift`` threshold, pooled or at a school."""
        return (bool((self._table["status"] == "drift").any())
                or self.no_attendance_status == "drift" or bool(self.drifted_schools))

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
        out += self._school_warnings()
        train, now = self._na
        status = self.no_attendance_status
        if status != "ok":
            out.append((_STATUS_ORDER[status],
                        f"{status}: share of students with no attendance rows "
                        f"{train:.1%} in training, {now:.1%} now"))
        return [text for _, text in sorted(out, key=lambda t: -t[0])]

    def _school_warnings(self) -> list[tuple[int, str]]:
        out = []
        detail = self._school_table
        for s in self._summary.itertuples(index=False):
            if s.status == "ok":
                continue
            rows = detail[(detail["school_id"] == s.school_id) & (detail["status"] != "ok")]
            parts = []
            for r in rows.sort_values("status", key=lambda c: -c.map(_STATUS_ORDER),
                                      kind="mergesort").itertuples(index=False):
                bits = []
                if r.psi_p_adjusted is not None and r.psi_p_adjusted < self._fdr() and \
                        _status(r.psi, "psi") != "ok":
                    bits.append(f"PSI {r.psi:.3f}")
                if r.missing_p_adjusted is not None and r.missing_p_adjusted < self._fdr() and \
                        _status(abs(r.missing_now - r.missing_train), "missing_shift") != "ok":
                    bits.append(f"missing {r.missing_train:.1%} expected, {r.missing_now:.1%} now")
                if r.n_unseen:
                    bits.append(f"{r.n_unseen} rows with categories not seen in training")
                parts.append(f"'{r.feature}' {r.status} ({', '.join(bits)})")
            against = ("its own training rows" if s.reference == "school" else
                       "all training schools pooled (the school is not in the training profile)")
            out.append((_STATUS_ORDER[s.status],
                        f"{s.status}: school '{s.school_id}' ({s.n_rows} students, compared with "
                        f"{against}): {'; '.join(parts)}"))
        return out

    def _fdr(self) -> float:
        return float(self._schools_info.get("fdr", 0.0))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: thresholds, per-feature rows, per-school findings, warnings.

        ``schools`` holds what the per-school check covered, one row per school
        checked, and the school x feature rows that are not ``ok`` (the full
        table is :attr:`school_table`).
        """
        train, now = self._na
        return to_jsonable({
            "n_rows": self._n,
            "drifted": self.drifted,
            "reference": self.reference,
            "thresholds": {k: {"watch": w, "drift": d} for k, (w, d) in DRIFT_THRESHOLDS.items()},
            "no_attendance_share": {"training": train, "now": now,
                                    "status": self.no_attendance_status},
            "features": self._table,
            "schools": {**self._schools_info,
                        "drifted_schools": self.drifted_schools,
                        "schools": self._summary,
                        "findings": self._school_table[self._school_table["status"] != "ok"]},
            "warnings": self.warnings,
        })

    def __repr__(self) -> str:
        counts = self._table["status"].value_counts()
        return (f"DriftReport(n_rows={self._n}, drift={int(counts.get('drift', 0))}, "
                f"watch={int(counts.get('watch', 0))}, "
                f"no_attendance={self.no_attendance_status!r}, "
                f"drifted_schools={self.drifted_schools!r})")
