"""The school calendar shared by the generator, the features and the labels.

A Swedish upper-secondary school year starts in mid-August. dropoutrisk
fixes it to the Monday on or after 15 August so that week numbers
("week 6 of the school year") mean the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

__all__ = ["school_year_start", "school_year_of", "snapshot_date", "snapshot_dates"]

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


def snapshot_dates(
    years: Iterable[int], weeks: Iterable[int] = DEFAULT_SNAPSHOT_WEEKS
) -> list[dt.date]:
    """Return every snapshot date for the given school years and weeks, sorted.

    Examples
    --------
    >>> [d.isoformat() for d in snapshot_dates([2024], weeks=(6, 10))]
    ['2024-09-30', '2024-10-28']
    """
    weeks = list(weeks)
    return sorted(snapshot_date(y, w) for y in years for w in weeks)
