"""A student's weekly attendance beside the school median, from the attendance table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL

__all__ = ["MIN_SCHOOL_STUDENTS", "weekly_attendance"]

#: A week's school median over fewer students than this is withheld (the small-cell rule).
MIN_SCHOOL_STUDENTS = MIN_CELL


def weekly_attendance(
    attendance: pd.DataFrame,
    students: pd.DataFrame,
    student_id: Any,
    as_of: Any,
    *,
    since: Any = None,
    min_students: int = MIN_SCHOOL_STUDENTS,
) -> pd.DataFrame:
    """Week-by-week attendance of one student and the median of their school.

    Only events dated before ``as_of`` count (the knowledge date). A week
    runs Monday to Sunday; attendance is ``1 - absent / scheduled`` minutes.
    The school median is over the students of the same school (``students``
    table) with lessons that week; it is withheld (NaN) when fewer than
    ``min_students`` had lessons, so it never reveals a few other students.

    Parameters
    ----------
    attendance : DataFrame
        Canonical ``attendance`` table.
    students : DataFrame
        Canonical ``students`` table (``student_id``, ``school_id``).
    student_id : str
    as_of : date-like
    since : date-like, optional
        First day to include; default the start of the school year of ``as_of``.
    min_students : int, default 10

    Returns
    -------
    DataFrame
        Columns ``week`` (Monday), ``student`` and ``school_median``
        (fractions), one row per week in which the school had lessons.

    Examples
    --------
    >>> import pandas as pd
    >>> att = pd.DataFrame({"student_id": ["a", "a", "b"],
    ...                     "date": pd.to_datetime(["2024-09-02", "2024-09-10", "2024-09-03"]),
    ...                     "scheduled_minutes": [60.0, 60.0, 60.0],
    ...                     "absent_minutes": [30.0, 0.0, 0.0]})
    >>> stu = pd.DataFrame({"student_id": ["a", "b"], "school_id": ["s", "s"]})
    >>> weekly_attendance(att, stu, "a", "2024-09-30", min_students=1)
             week  student  school_median
    0  2024-09-02      0.5           0.75
    1  2024-09-09      1.0           1.00
    """
    from dropoutrisk.schema import parse_as_of, school_year_of, school_year_start

    as_of_ts = parse_as_of(as_of)
    start = (pd.Timestamp(since) if since is not None
             else pd.Timestamp(school_year_start(school_year_of(as_of_ts))))
    sid = students["student_id"].astype(str)
    school = students.loc[sid == str(student_id), "school_id"]
    if school.empty:
        raise KeyError(f"Student {student_id!r} is not in the students table.")
    peers = set(sid[students["school_id"] == school.iloc[0]])
    ids = attendance["student_id"].astype(str)
    dates = pd.to_datetime(attendance["date"])
    keep = ids.isin(peers).to_numpy() & (dates >= start).to_numpy() & (dates < as_of_ts).to_numpy()
    rows = pd.DataFrame({
        "student_id": ids[keep].to_numpy(),
        "week": (dates[keep] - pd.to_timedelta(dates[keep].dt.weekday, unit="D")).dt.normalize().to_numpy(),
        "scheduled": attendance["scheduled_minutes"].to_numpy(dtype=np.float64)[keep],
        "absent": attendance["absent_minutes"].to_numpy(dtype=np.float64)[keep],
    })
    per = rows.groupby(["week", "student_id"], sort=True)[["scheduled", "absent"]].sum()
    per = per[per["scheduled"] > 0]
    rate = (1.0 - per["absent"] / per["scheduled"]).clip(0.0, 1.0)
    by_week = rate.groupby(level="week")
    median = by_week.median().where(by_week.size() >= min_students)
    own = rate[rate.index.get_level_values("student_id") == str(student_id)].droplevel("student_id")
    out = pd.DataFrame({"school_median": median})
    out["student"] = own.reindex(out.index)
    out = out.reset_index()[["week", "student", "school_median"]]
    out["week"] = out["week"].dt.date
    return out
