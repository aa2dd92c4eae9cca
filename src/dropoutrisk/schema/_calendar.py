"""The school calendar shared by the generator, the features and the labels.

A Swedish upper-secondary school year starts in mid-August. dropoutrisk
fixes it to the Monday on or after 15 August so that week numbers
("week 6 of the school year") mean the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = [
    "programme_starts", "school_year_start", "school_year_of", "snapshot_date", "snapshot_dates",
]

#: Snapshot weeks used by the synthetic truth and the benchmarks.
DEFAULT_SNAPSHOT_WEEKS: tuple[int, ...] = (6, 10, 20)


def school_year_start(year: int) -> dt.date:
    """Return the first day of the school year starting in ``year``.

    Examples
    --------
    >>> school_year_start(2024)
    datetime.date(2024, 8, 19)
    >>> school_year_start(2022)
    datetime.date(2022, 8, 15)
    """
    aug15 = dt.date(int(year), 8, 15)
    return aug15 + dt.timedelta(days=(7 - aug15.weekday()) % 7)


def school_year_of(day: dt.date | str | pd.Timestamp) -> int:
    """Return the start year of the school year that ``day`` falls in.

    Examples
    --------
    >>> school_year_of("2025-03-01")
    2024
    >>> school_year_of("2024-08-19")
    2024
    >>> school_year_of("2024-08-18")
    2023
    """
    d = pd.Timestamp(day).date()
    return d.year if d >= school_year_start(d.year) else d.year - 1


def snapshot_date(year: int, week: int) -> dt.date:
    """Return the ``as_of`` date ``week`` weeks after the start of school year ``year``.

    Examples
    --------
    >>> snapshot_date(2024, 6)
    datetime.date(2024, 9, 30)
    """
    return school_year_start(year) + dt.timedelta(weeks=int(week))


def programme_starts(students: pd.DataFrame) -> pd.Series:
    """Each student's programme start: ``start_date``, else the school-year start of ``cohort``.

    Parameters
    ----------
    students : DataFrame
        With ``cohort`` and optionally ``start_date`` (missing values fall back).

    Returns
    -------
    Series
        datetime64[ns], aligned with ``students``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"cohort": [2024, 2024], "start_date": [None, "2025-01-13"]})
    >>> programme_starts(s).dt.strftime("%Y-%m-%d").tolist()
    ['2024-08-19', '2025-01-13']
    """
    years = pd.to_numeric(students["cohort"]).astype("int64")
    default = years.map({int(c): pd.Timestamp(school_year_start(int(c))) for c in years.unique()})
    default = default.astype("datetime64[ns]")
    if "start_date" not in students.columns:
        return default
    given = pd.to_datetime(students["start_date"]).astype("datetime64[ns]").dt.normalize()
    return given.fillna(default)


def snapshot_dates(
    years: Iterable[int],
    weeks: Iterable[int] | None = None,
    *,
    days: Iterable[int] | None = None,
    students: pd.DataFrame | None = None,
) -> list[dt.date] | pd.DataFrame:
    """Return the snapshot dates: weeks after each school-year start, or days after each start.

    Parameters
    ----------
    years : iterable of int
        School years (with ``weeks``) or cohorts (with ``days``).
    weeks : iterable of int, optional
        Weeks after the school-year start; default (6, 10, 20) when ``days`` is not given.
    days : iterable of int, optional
        Days after each student's own start (``start_date``, else the school-year start
        of the cohort). Needs ``students``; the snapshots are per student.
    students : DataFrame, optional
        The students table (``student_id``, ``cohort``, optional ``start_date``), for ``days``.

    Returns
    -------
    list of date, or DataFrame
        With ``weeks``: the dates, sorted. With ``days``: one row per student of a cohort in
        ``years`` and day, columns ``student_id`` and ``as_of`` (datetime64[ns]), sorted by
        ``as_of`` then ``student_id``; pass it to ``build_training_frame`` as ``as_of_dates``.

    Examples
    --------
    >>> [d.isoformat() for d in snapshot_dates([2024], weeks=(6, 10))]
    ['2024-09-30', '2024-10-28']
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a", "b"], "cohort": [2024, 2024],
    ...                          "start_date": [None, "2025-01-13"]})
    >>> snaps = snapshot_dates([2024], days=(30,), students=students)
    >>> snaps["as_of"].dt.strftime("%Y-%m-%d").tolist()
    ['2024-09-18', '2025-02-12']
    """
    years = [int(y) for y in years]
    if days is None:
        weeks = list(DEFAULT_SNAPSHOT_WEEKS if weeks is None else weeks)
        if any(int(w) < 0 for w in weeks):
            raise ParameterError(parameter="weeks", message=f"weeks must be 0 or more weeks "
                                 f"after the school-year start, got {weeks!r}.")
        return sorted(snapshot_date(y, w) for y in years for w in weeks)
    if weeks is not None:
        raise ParameterError(parameter="days", message="Give snapshots as weeks after the "
                             "school-year start or as days after each student's start, not both.")
    days = [int(d) for d in days]
    if not days or any(d < 0 for d in days):
        raise ParameterError(parameter="days", message=f"days must be one or more whole days "
                             f"after the start (0 or more), got {days!r}.")
    if students is None or "student_id" not in students.columns or "cohort" not in students:
        raise ParameterError(parameter="students", message="days= needs students=, the students "
                             "table with student_id and cohort (and start_date where students "
                             "start on another day).")
    chosen = students.loc[pd.to_numeric(students["cohort"]).isin(years)]
    starts = programme_starts(chosen)
    ids = chosen["student_id"].astype(str).to_numpy()
    frames = [pd.DataFrame({"student_id": ids,
                            "as_of": (starts + pd.Timedelta(days=d)).to_numpy()}) for d in days]
    out = pd.concat(frames, ignore_index=True)
    out = out.drop_duplicates().sort_values(["as_of", "student_id"], kind="mergesort")
    return out.reset_index(drop=True)
