"""The immutable :class:`Explanations` that :func:`~dropoutrisk.explain.explain_students` returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import dumps, to_jsonable
from dropoutrisk._result import Part, Result

__all__ = ["Explanations"]


class Explanations(Result):
    """Exact SHAP explanations of calibrated risk for a batch of students.

    Built by :func:`explain_students`; immutable. Every property returns a
    fresh copy.

    Contributions come in two scales. ``contributions`` is in probability:
    ``base_value + contributions.sum(axis=1) == probability`` to 1e-6
    (floating-point rounding in practice). ``contributions_log_odds`` is in
    calibrated log-odds. See ``docs/explanations.md`` for how the values are
    carried through the calibrator.
    """

    __slots__ = (
        "_base", "_base_log_odds", "_calibration", "_contrib", "_contrib_lo", "_context",
        "_dim", "_dim_lo", "_flag", "_lang", "_meta", "_proba", "_protective", "_reasons",
        "_tier", "_top_n", "_values", "_references", "_reference_levels",
    )
    _remedy = "call explain_students again."

    def __init__(self, **parts: Any) -> None:
        self._set(**parts)

    def __len__(self) -> int:
        return len(self._proba)

    def __repr__(self) -> str:
        return (f"Explanations(n_students={len(self)}, n_features={self._contrib.shape[1]}, "
                f"calibration={self._calibration!r}, top_n={self._top_n}, lang={self._lang!r})")

    # ---- properties -----------------------------------------------------------------
    lang = Part[str](
        'Language of the ``sentence`` columns (``"sv"`` or ``"en"``).', convert=None)

    top_n = Part[int](
        "How many risk-raising (and protective) reasons each student has at most.", convert=None)

    calibration = Part[str](
        "The calibration method the contributions were carried through.", convert=None)

    base_value = Part[float](
        "Calibrated probability at the model's expected margin (the waterfall's start).",
        attr="_base", convert=float)

    base_value_log_odds = Part[float](
        "The base value in calibrated log-odds.", attr="_base_log_odds", convert=float)

    probability = Part[pd.Series](
        "The calibrated probability reported to the user, one per student.", attr="_proba")

    flag = Part[pd.Series](
        "Whether each student is flagged at the operating point the explanations were made at.")

    tier = Part[pd.Series](
        "Support tier of each student: ``universal`` unless flagged, then targeted or intensive.")

    context = Part[pd.DataFrame]("``as_of`` and ``school_id`` of each explained row.")

    contributions = Part[pd.DataFrame](
        "Per-feature contributions in probability; rows sum to ``probability - base_value``.",
        attr="_contrib")

    contributions_log_odds = Part[pd.DataFrame](
        "Per-feature contributions in calibrated log-odds.", attr="_contrib_lo")

    feature_values = Part[pd.DataFrame](
        "The students' model input values, as the model saw them.", attr="_values")

    references = Part[pd.DataFrame](
        """The reference of every feature: the school median (the most common value for
        binary and categorical features) at the same ``as_of``, else the year group's across
        schools, else all students'; see :attr:`reference_levels`. A line printed against the
        training median instead says so in its ``reference_level``.""")

    reference_levels = Part[pd.DataFrame](
        """Which level each of :attr:`references` comes from (``school``, ``year_group``,
        ``all``), or None where no level has at least 10 students with a value.""")

    features = Part[pd.DataFrame](
        "Catalogue metadata of each model feature (dimension, actionable, code stem, ...).",
        attr="_meta")

    @property
    def reasons(self) -> pd.DataFrame:
        """Top risk-raising reasons, long format, actionable first.

        Background features are never reasons; they count only in
        :attr:`dimension_totals` (column ``background``).
        """
        return self._reasons.drop(columns="_row")

    @property
    def protective(self) -> pd.DataFrame:
        """Top protective factors (risk-lowering contributions), same columns as ``reasons``."""
        return self._protective.drop(columns="_row")

    dimension_totals = Part[pd.DataFrame](
        "Sum of contributions per dimension in probability (five dimensions plus background).",
        attr="_dim")

    dimension_totals_log_odds = Part[pd.DataFrame](
        "Sum of contributions per dimension in calibrated log-odds.", attr="_dim_lo")

    def _take(self, pos: np.ndarray) -> Explanations:
        """A new Explanations with only the rows at ``pos`` (used by per-student reports)."""
        pos = np.asarray(pos, dtype=np.int64)
        remap = np.full(len(self), -1, dtype=np.int64)
        remap[pos] = np.arange(pos.size)
        tables = {}
        for key in ("reasons", "protective"):
            t = getattr(self, "_" + key)
            t = t[np.isin(t["_row"].to_numpy(), pos)].copy()
            t["_row"] = remap[t["_row"].to_numpy()]
            tables[key] = t.sort_values(["_row", "rank"], kind="stable").reset_index(drop=True)
        return Explanations(
            base=self._base, base_log_odds=self._base_log_odds, calibration=self._calibration,
            contrib=self._contrib.iloc[pos].copy(), contrib_lo=self._contrib_lo.iloc[pos].copy(),
            context=self._context.iloc[pos].copy(), dim=self._dim.iloc[pos].copy(),
            dim_lo=self._dim_lo.iloc[pos].copy(), lang=self._lang, meta=self._meta,
            proba=self._proba.iloc[pos].copy(), protective=tables["protective"],
            reasons=tables["reasons"], tier=self._tier.iloc[pos].copy(), top_n=self._top_n,
            flag=self._flag.iloc[pos].copy(),
            values=self._values.iloc[pos].copy(), references=self._references.iloc[pos].copy(),
            reference_levels=self._reference_levels.iloc[pos].copy(),
        )

    def student(self, student_id: Any) -> Explanations:
        """The explanations of one student only (their last row if there are several).

        Examples
        --------
        >>> from dropoutrisk.explain import explain_students
        >>> from dropoutrisk.models import RiskModel
        >>> from dropoutrisk.synthetic import make_features
        >>> X, y = make_features(random_state=2)
        >>> one = explain_students(RiskModel(n_estimators=10).fit(X, y), X).student("id3")
        >>> len(one), one.probability.index.tolist()
        (1, ['id3'])
        """
        return self._take(self._rows_of(student_id)[-1:])

    # ---- export ---------------------------------------------------------------------
    def _rows_of(self, student_id: Any) -> np.ndarray:
        pos = np.flatnonzero(self._proba.index == student_id)
        if pos.size == 0:
            raise KeyError(f"Student {student_id!r} is not in these explanations.")
        return pos

    def to_dict(self, student_id: Any = None, *, contributions: bool = True) -> dict[str, Any]:
        """Return the explanations as plain Python (JSON-ready) data.

        Parameters
        ----------
        student_id : optional
            Only this student's rows (as in a per-student report).
        contributions : bool, default True
            Include every feature's contribution, not only the reasons.
        """
        pos = np.arange(len(self)) if student_id is None else self._rows_of(student_id)
        wanted = set(pos.tolist())
        lists: dict[str, dict[int, list]] = {"reasons": {}, "protective": {}}
        for key, table in (("reasons", self._reasons), ("protective", self._protective)):
            sub = table[table["_row"].isin(wanted)]
            records = sub.drop(columns=["student_id", "as_of", "_row"]).to_dict("records")
            for row, record in zip(sub["_row"].tolist(), records, strict=True):
                lists[key].setdefault(row, []).append(record)
        names = [str(c) for c in self._contrib.columns]
        dims = list(self._dim.columns)
        arrays = {
            "contributions": self._contrib.to_numpy()[pos],
            "contributions_log_odds": self._contrib_lo.to_numpy()[pos],
            "dimension_totals": self._dim.to_numpy()[pos],
            "dimension_totals_log_odds": self._dim_lo.to_numpy()[pos],
        }
        ids = self._proba.index.to_numpy()[pos]
        as_of = self._context["as_of"].iloc[pos].tolist()  # Timestamps, not datetime64 ints
        school = self._context["school_id"].iloc[pos].tolist()
        proba = self._proba.to_numpy()[pos]
        tier = self._tier.astype(str).to_numpy()[pos]
        flag = self._flag.to_numpy(dtype=bool)[pos]
        students = []
        for k, i in enumerate(pos.tolist()):
            rec: dict[str, Any] = {
                "student_id": ids[k],
                "as_of": as_of[k],
                "school_id": school[k],
                "probability": proba[k],
                "flag": bool(flag[k]),
                "tier": tier[k],
                "reasons": lists["reasons"].get(i, []),
                "protective": lists["protective"].get(i, []),
                "dimension_totals": dict(zip(dims, arrays["dimension_totals"][k].tolist(), strict=True)),
                "dimension_totals_log_odds": dict(
                    zip(dims, arrays["dimension_totals_log_odds"][k].tolist(), strict=True)),
            }
            if contributions:
                for name in ("contributions", "contributions_log_odds"):
                    rec[name] = dict(zip(names, arrays[name][k].tolist(), strict=True))
            students.append(rec)
        return to_jsonable({
            "calibration": self._calibration,
            "base_value": self.base_value,
            "base_value_log_odds": self.base_value_log_odds,
            "lang": self._lang,
            "top_n": self._top_n,
            "note": _NOTE,
            "students": students,
        })

    def to_json(self, student_id: Any = None, *, indent: int | None = 2, **kwargs: Any) -> str:
        """Return :meth:`to_dict` as a JSON string (NaN becomes ``null``)."""
        return dumps(self.to_dict(student_id, **kwargs), indent=indent)

    def check_lines(self) -> pd.DataFrame:
        """Every narrated line, read from its printed texts: does it contradict or say nothing?

        See :func:`dropoutrisk.explain.check_lines`; on these explanations
        both columns should be all False.
        """
        from dropoutrisk.explain._checks import check_lines

        return check_lines(self)

    # ---- plots ----------------------------------------------------------------------
    def plot_waterfall(self, student_id: Any, *, max_display: int = 10, ax: Any = None,
                       lang: str | None = None) -> Any:
        """Waterfall of one student's contributions in probability, from base value to prediction.

        Returns the matplotlib ``Axes``. With several snapshots of the student,
        the last row is drawn.
        """
        from dropoutrisk.explain._plots import waterfall

        i = self._rows_of(student_id)[-1]
        return waterfall(self, i, max_display=max_display, ax=ax, lang=lang or self._lang)

    def plot_beeswarm(self, *, max_display: int = 12, ax: Any = None) -> Any:
        """Cohort beeswarm of contributions in calibrated log-odds (shap's plot)."""
        from dropoutrisk.explain._plots import beeswarm

        return beeswarm(self, max_display=max_display, ax=ax)

    def plot_dimension_importance(self, student_id: Any = None, *, ax: Any = None,
                                  lang: str | None = None) -> Any:
        """Bar chart per dimension: mean absolute total for the cohort, or one student's totals."""
        from dropoutrisk.explain._plots import dimension_bars

        i = None if student_id is None else self._rows_of(student_id)[-1]
        return dimension_bars(self, i, ax=ax, lang=lang or self._lang)


_NOTE = ("Contributions describe how the model arrived at its estimate; they are not causes. "
         "Bidragen beskriver hur modellen kom fram till sin bedömning; de är inte orsaker.")
