"""One flagged student's follow-up: what the student report shows "since the flag".

Built by :meth:`FollowUp.student` from the row of the follow-up list and the
interventions recorded since the flag, so the report and ``dropoutrisk
follow-up`` say the same thing from one computation.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied

__all__ = ["INDICATORS", "SinceFlag"]

#: The indicators compared before and since the flag: (name, column stem of the list).
INDICATORS: tuple[tuple[str, str], ...] = (
    ("attendance", "attendance"),
    ("grade_points", "grade_points"),
    ("failed_grades", "failed"),
    ("concerns", "concerns"),
)
_DATES = ("first_flagged", "last_flagged", "first_intervention")
_FIELDS = ("times_flagged", "days_since_flag", "days_without_intervention",
           "followed_up_in_time", "supported_before_flag", "n_interventions", "left", "progress")


class SinceFlag(Result):
    """One student's progress since the first flag; get it with :meth:`FollowUp.student`.

    Student-level, like the follow-up list: for that student's report and
    the staff who follow the student up, never for a log or a summary.

    Attributes
    ----------
    student_id : str
    first_flagged : Timestamp
        The ``as_of`` of the first earlier run that flagged the student.
    days_since_flag : int
        From ``first_flagged`` to the follow-up's ``as_of``.
    interventions : DataFrame
        ``date, kind, end_date, role`` of each intervention dated from the
        first flag to ``as_of``, by date (``role`` is a staff role, never a name).
    indicators : DataFrame
        Indexed by :data:`INDICATORS` (attendance share, mean grade points,
        failed grades, concern reports), with ``before``, ``since`` and
        ``change``; NaN where a table or a period has nothing.
    periods : mapping
        ``window_days`` (attendance and concerns "before") and
        ``grade_window_days`` (grades "before").
    status : mapping
        The rest of the list's row: ``last_flagged``, ``times_flagged``,
        ``first_intervention``, ``n_interventions``, ``days_without_intervention``,
        ``followed_up_in_time``, ``supported_before_flag``, ``left`` and
        ``progress`` (one of :data:`PROGRESS`).
    """

    __slots__ = ("_student_id", "_interventions", "_indicators", "_periods", "_status")
    _remedy = "call FollowUp.student again."

    def __init__(self, row: pd.Series, interventions: pd.DataFrame, periods: dict) -> None:
        indicators = pd.DataFrame(
            {"before": [row[f"{stem}_before"] for _, stem in INDICATORS],
             "since": [row[f"{stem}_since"] for _, stem in INDICATORS]},
            index=pd.Index([name for name, _ in INDICATORS], name="indicator"), dtype=float)
        indicators["change"] = indicators["since"] - indicators["before"]
        status = {k: _plain(row[k]) for k in (*_DATES, *_FIELDS)}
        cols = ["date", "kind", "end_date", "role"]
        self._set(student_id=str(row["student_id"]),
                  interventions=interventions[cols].reset_index(drop=True),
                  indicators=indicators, periods=dict(periods), status=status)

    student_id = Part[str]("The student's id.", convert=None)
    interventions = Part("Interventions since the first flag: date, kind, end_date, role.")
    indicators = Part("Indicators before and since the flag: before, since, change.")
    periods = Part("The lengths of the 'before' periods, in days.")
    status = Part("The follow-up list's row, without the indicators.")

    @property
    def first_flagged(self) -> pd.Timestamp:
        return self._status["first_flagged"]

    @property
    def days_since_flag(self) -> int:
        return int(self._status["days_since_flag"])

    def to_dict(self) -> dict[str, Any]:
        """Everything above as plain JSON types (student-level: this student's report only)."""
        return to_jsonable({
            "student_id": self._student_id,
            **{k: (v.date().isoformat() if isinstance(v, pd.Timestamp) else v)
               for k, v in self._status.items()},
            "periods": self._periods,
            "interventions": [
                {"date": r["date"].date().isoformat(), "kind": r["kind"],
                 "end_date": None if pd.isna(r["end_date"]) else r["end_date"].date().isoformat(),
                 "role": None if pd.isna(r["role"]) else str(r["role"])}
                for r in self._interventions.to_dict("records")],
            "indicators": {name: {k: _plain(v) for k, v in values.items()}
                           for name, values in self._indicators.to_dict("index").items()},
        })

    def __repr__(self) -> str:
        return (f"SinceFlag(student_id={self._student_id!r}, first_flagged="
                f"{self.first_flagged.date().isoformat()!r}, interventions="
                f"{len(self._interventions)})")


def _plain(value: Any) -> Any:
    """A cell of the list as a plain value: NaN and NaT as None, numpy scalars as Python's."""
    if isinstance(value, pd.Timestamp):
        return value
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return copied(value.item() if hasattr(value, "item") else value)
