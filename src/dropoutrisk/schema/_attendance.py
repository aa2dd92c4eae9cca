"""Attendance harmonisation: three real export layouts into canonical rows.

Schools record absence differently (Plug In asked for uniform definitions
for exactly this reason). The three layouts below cover the exports seen in
practice; each converts row for row, so a row number in an error is the row
number in the school's own file.

``lesson``
    ``student_id, date, [lesson], scheduled_minutes, absent_minutes,
    [excused], [late_minutes]``: already canonical. A presence variant with
    ``attended_minutes`` instead of ``absent_minutes`` is converted with
    ``absent = scheduled - attended``.
``daily``
    ``student_id, date, attendance_pct, [scheduled_minutes], [excused],
    [late_minutes]``: the share of the day the student was *present*, 0-100.
    ``absent = (1 - attendance_pct / 100) * scheduled``, where ``scheduled``
    is ``scheduled_minutes`` or, when the column is absent,
    ``school_day_minutes``. Also accepted: ``absence_pct``
    (``absent = absence_pct / 100 * scheduled``) and the fractions
    ``attendance_fraction`` / ``absence_fraction`` (0-1; ``_share`` is a
    synonym).
``weekly``
    ``student_id, week_start, scheduled_hours, absent_hours,
    [excused_hours], [late_minutes]``: one row per student and week.
    It becomes one canonical row dated on that week's **Friday**:
    ``scheduled_minutes = 60 * scheduled_hours``,
    ``absent_minutes = 60 * absent_hours``, ``excused`` is true when at
    least half of the absent hours were excused and the exact figure is kept
    in an extra column ``excused_minutes = 60 * excused_hours``.
    A week's total is only known once the week is over; dating it on the
    Monday would let the rest of the week leak into features computed for an
    ``as_of`` in the middle of that week.

Units are checked: a ``_pct`` column whose values all lie in [0, 1] with some
strictly inside is read as a fraction, and a ``_fraction``/``_share`` column
with values above 1 (up to 100) as a percentage. Either is converted with a
:class:`~dropoutrisk.errors.UnitMismatchWarning` naming the column and count.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    AttendanceFormatError,
    DuplicateColumnError,
    MissingColumnError,
    OutOfRangeError,
    TableTypeError,
    UnitMismatchWarning,
)
from dropoutrisk.schema._coerce import coerce_column, raise_rows
from dropoutrisk.schema._tables import ColumnSpec

__all__ = ["DEFAULT_SCHOOL_DAY_MINUTES", "LAYOUTS", "detect_attendance_layout", "harmonise_attendance"]

#: Minutes in a school day when a daily export gives no ``scheduled_minutes``:
#: six hours of lessons, a typical Swedish upper-secondary day.
DEFAULT_SCHOOL_DAY_MINUTES: float = 360.0

#: The columns that identify each layout (alternatives separated by ``|``).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "lesson": ("student_id", "date", "scheduled_minutes", "absent_minutes|attended_minutes"),
    "daily": (
        "student_id",
        "date",
        "attendance_pct|absence_pct|attendance_fraction|absence_fraction"
        "|attendance_share|absence_share",
    ),
    "weekly": ("student_id", "week_start", "scheduled_hours", "absent_hours"),
}

_CANONICAL = ("student_id", "date", "lesson", "scheduled_minutes", "absent_minutes",
              "excused", "late_minutes")
_DAILY_COLUMNS = LAYOUTS["daily"][2].split("|")


def detect_attendance_layout(frame: pd.DataFrame, *, table: str = "attendance") -> str:
    """Return the layout of an attendance export from its columns.

    Parameters
    ----------
    frame : DataFrame
        The export.
    table : str, default "attendance"
        The name used in error messages (a file name, for example).

    Returns
    -------
    {"lesson", "daily", "weekly"}

    Raises
    ------
    AttendanceFormatError
        When the columns fit no layout; the message lists each layout's columns.

    Examples
    --------
    >>> import pandas as pd
    >>> detect_attendance_layout(pd.DataFrame(columns=["student_id", "date", "attendance_pct"]))
    'daily'
    >>> detect_attendance_layout(pd.DataFrame(columns=["student_id", "week_start",
    ...                                                "scheduled_hours", "absent_hours"]))
    'weekly'
    """
    columns = {c for c in frame.columns if isinstance(c, str)}
    for layout, needed in LAYOUTS.items():
        if all(any(alt in columns for alt in need.split("|")) for need in needed):
            return layout
    shown = ", ".join(repr(c) for c in list(frame.columns)[:12]) or "none"
    raise AttendanceFormatError(
        table=table,
        problem=f"the columns ({shown}) match no known attendance layout",
        allowed=_layouts_text(),
        fix="Rename the columns to one of these layouts, or convert the export first",
    )


def harmonise_attendance(
    frame: pd.DataFrame,
    layout: Literal["auto", "lesson", "daily", "weekly"] = "auto",
    *,
    school_day_minutes: float = DEFAULT_SCHOOL_DAY_MINUTES,
    table: str = "attendance",
) -> pd.DataFrame:
    """Convert an attendance export to canonical attendance rows.

    Parameters
    ----------
    frame : DataFrame
        The export, in one of the layouts of :data:`LAYOUTS`.
    layout : {"auto", "lesson", "daily", "weekly"}, default "auto"
        ``"auto"`` detects the layout from the columns.
    school_day_minutes : float, default 360
        Scheduled minutes of a day in the ``daily`` layout when the export
        has no ``scheduled_minutes`` column.
    table : str, default "attendance"
        The name used in messages (for example ``"attendance_daily"``).

    Returns
    -------
    DataFrame
        One canonical row per input row, in the same order and with the same
        index: ``student_id, date, [lesson], scheduled_minutes,
        absent_minutes, [excused], [late_minutes]`` followed by the columns
        the conversion did not consume. Values are converted, not validated:
        pass the result to :func:`validate_tables`.

    Raises
    ------
    AttendanceFormatError
        The layout cannot be detected, or ``layout`` is not a known layout.
    MissingColumnError, ColumnTypeError, OutOfRangeError
        A column the conversion needs is absent, not numeric or out of range.

    Warns
    -----
    UnitMismatchWarning
        A percentage column holding fractions or a fraction column holding
        percentages; the values are converted.

    Examples
    --------
    >>> import pandas as pd
    >>> daily = pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-09-02", "2024-09-02"],
    ...                       "attendance_pct": [75.0, 100.0]})
    >>> harmonise_attendance(daily)[["scheduled_minutes", "absent_minutes"]]
       scheduled_minutes  absent_minutes
    0              360.0            90.0
    1              360.0             0.0
    >>> weekly = pd.DataFrame({"student_id": ["s1"], "week_start": ["2024-09-02"],
    ...                        "scheduled_hours": [30.0], "absent_hours": [4.5],
    ...                        "excused_hours": [3.0]})
    >>> harmonise_attendance(weekly).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'student_id': 's1', 'date': Timestamp('2024-09-06 00:00:00'), 'scheduled_minutes': 1800.0,
     'absent_minutes': 270.0, 'excused': True, 'excused_minutes': 180.0}
    """
    if not isinstance(frame, pd.DataFrame):
        raise TableTypeError(
            table=table,
            problem=f"the table is a {type(frame).__name__}, not a pandas DataFrame",
            allowed="a pandas DataFrame",
            fix="Convert it first, for example with pd.DataFrame(...)",
        )
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise DuplicateColumnError(
            table=table,
            column=repeated[0],
            allowed="each column once",
            fix="Drop or rename the repeated columns",
        )
    if layout == "auto":
        layout = detect_attendance_layout(frame, table=table)  # type: ignore[assignment]
    if layout not in LAYOUTS:
        raise AttendanceFormatError(
            table=table,
            problem=f"the layout {layout!r} is unknown",
            allowed="'auto', " + ", ".join(repr(name) for name in LAYOUTS),
            fix="Pass layout='auto' or one of the layouts",
        )
    if not np.isfinite(school_day_minutes) or not 0 < school_day_minutes <= 24 * 60:
        raise OutOfRangeError(
            table=table,
            column="scheduled_minutes",
            problem=f"school_day_minutes={school_day_minutes!r} is not a length of day",
            allowed="minutes from 1 to 1440",
            fix="Pass the scheduled minutes of a school day",
        )
    _require(frame, LAYOUTS[layout], table, layout)
    convert = {"lesson": _from_lesson, "daily": _from_daily, "weekly": _from_weekly}[layout]
    canonical, consumed = convert(frame, table, float(school_day_minutes))
    return _assemble(frame, canonical, consumed)


# --------------------------------------------------------------------------- layouts


def _from_lesson(frame: pd.DataFrame, table: str, _day: float) -> tuple[dict[str, Any], set]:
    if "absent_minutes" in frame.columns:
        return {}, set()
    scheduled = _number(frame, "scheduled_minutes", table)
    attended = _number(frame, "attended_minutes", table)
    over = attended > scheduled
    if over.any():
        raise_rows(
            OutOfRangeError, table, "attended_minutes", over, attended,
            problem="attended minutes greater than scheduled minutes",
            allowed="attended_minutes <= scheduled_minutes",
            fix="Check that both columns count minutes of the same lesson or day",
        )
    return {"absent_minutes": _tidy(scheduled - attended)}, {"attended_minutes"}


def _from_daily(frame: pd.DataFrame, table: str, day: float) -> tuple[dict[str, Any], set]:
    column = next(c for c in _DAILY_COLUMNS if c in frame.columns)
    share = _share(frame, column, table)  # 0-1
    if "scheduled_minutes" in frame.columns:
        scheduled = _number(frame, "scheduled_minutes", table)
    else:
        scheduled = np.full(len(frame), day)
    absent_share = 1.0 - share if column.startswith("attendance") else share
    out = {"scheduled_minutes": scheduled, "absent_minutes": _tidy(absent_share * scheduled)}
    return out, {column}


def _from_weekly(frame: pd.DataFrame, table: str, _day: float) -> tuple[dict[str, Any], set]:
    week_start = coerce_column(
        frame["week_start"], ColumnSpec("week_start", "date", required=True), table
    )
    not_monday = pd.DatetimeIndex(week_start).dayofweek != 0
    if not_monday.any():
        raise_rows(
            OutOfRangeError, table, "week_start", np.asarray(not_monday),
            np.asarray(week_start),
            problem="a week_start that is not a Monday",
            allowed="the Monday that starts each week",
            fix="Give the Monday of each week (ISO weeks start on Monday)",
        )
    scheduled = _number(frame, "scheduled_hours", table) * 60.0
    absent = _number(frame, "absent_hours", table) * 60.0
    out: dict[str, Any] = {
        # Friday: the day the week's total becomes known
        "date": week_start + np.timedelta64(4, "D"),
        "scheduled_minutes": _tidy(scheduled),
        "absent_minutes": _tidy(absent),
    }
    consumed = {"week_start", "scheduled_hours", "absent_hours"}
    if "excused_hours" in frame.columns:
        excused = _number(frame, "excused_hours", table, required=False) * 60.0
        with np.errstate(invalid="ignore"):
            over = excused > absent + 1e-9
        if over.any():
            raise_rows(
                OutOfRangeError, table, "excused_hours", over, excused / 60.0,
                problem="excused hours greater than absent hours",
                allowed="excused_hours <= absent_hours",
                fix="Check that excused_hours counts only hours the student was absent",
            )
        known = ~np.isnan(excused)
        with np.errstate(invalid="ignore"):
            flag = (absent > 0) & (2 * excused >= absent)
        out["excused"] = pd.arrays.BooleanArray(flag & known, ~known)
        out["excused_minutes"] = _tidy(excused)
        consumed.add("excused_hours")
    return out, consumed


# --------------------------------------------------------------------------- helpers


def _require(frame: pd.DataFrame, needed: tuple[str, ...], table: str, layout: str) -> None:
    for need in needed:
        options = need.split("|")
        if not any(alt in frame.columns for alt in options):
            raise MissingColumnError(
                table=table,
                column=options[0],
                problem=(
                    f"the column needed by the {layout!r} layout is missing"
                    + (f" (or one of {', '.join(options[1:])})" if len(options) > 1 else "")
                ),
                allowed=_layouts_text(),
                fix="Add the column, or pick the layout that matches the export",
            )


def _number(frame: pd.DataFrame, column: str, table: str, *, required: bool = True) -> np.ndarray:
    spec = ColumnSpec(column, "float", required=required, ge=0)
    return np.asarray(coerce_column(frame[column], spec, table), dtype="float64")


def _share(frame: pd.DataFrame, column: str, table: str) -> np.ndarray:
    """Return the column as a share in [0, 1], fixing percent/fraction mix-ups."""
    values = _number(frame, column, table)
    is_pct = column.endswith("_pct")
    if len(values):
        inside = (values > 0) & (values < 1)
        if is_pct and values.max() <= 1 and inside.any():
            _warn_units(table, column, len(values),
                        "look like fractions (all values are at most 1), not percentages",
                        "multiplied by 100", "export percentages from 0 to 100, or name the "
                        "column '" + column.replace("_pct", "_fraction") + "'")
            values = values * 100.0
        elif not is_pct and values.max() > 1 and values.max() <= 100:
            n_above = int((values > 1).sum())
            _warn_units(table, column, len(values),
                        f"look like percentages ({n_above} values are above 1), not fractions",
                        "divided by 100", "export fractions from 0 to 1, or name the column '"
                        + column.rsplit("_", 1)[0] + "_pct'")
            values = values / 100.0
    top = 100.0 if is_pct else 1.0
    over = values > top
    if over.any():
        raise_rows(
            OutOfRangeError, table, column, over, values,
            allowed=f"a value from 0 to {top:g}",
            fix="Correct the values in the export or drop the rows",
        )
    return values / 100.0 if is_pct else values


def _warn_units(table: str, column: str, n: int, what: str, done: str, fix: str) -> None:
    warnings.warn(
        UnitMismatchWarning(
            f"Table '{table}', column '{column}': the {n} values {what}; all {n} were {done}. "
            f"Fix: {fix}."
        ),
        stacklevel=4,
    )


def _tidy(minutes: np.ndarray) -> np.ndarray:
    # percent and hour conversions leave float noise such as 45.00000000000001
    return np.round(minutes, 6)


def _assemble(frame: pd.DataFrame, canonical: dict[str, Any], consumed: set) -> pd.DataFrame:
    if not canonical and not consumed:
        return frame.copy(deep=False)
    data: dict[Any, Any] = {}
    for name in _CANONICAL:
        if name in canonical:
            data[name] = canonical[name]
        elif name in frame.columns:
            data[name] = frame[name].array
    for name in canonical:
        if name not in data:
            data[name] = canonical[name]
    for i, name in enumerate(frame.columns):
        if name not in data and name not in consumed:
            data[name] = frame.iloc[:, i].array
    return pd.DataFrame(data, index=frame.index, copy=False)


def _layouts_text() -> str:
    return "; ".join(
        f"{name}: " + ", ".join(need.replace("|", " or ") for need in needed)
        for name, needed in LAYOUTS.items()
    )
