"""Vectorised validation of the canonical tables.

The checks are derived from the row models through :func:`table_spec`, so
the pydantic models stay the single source of truth; nothing is validated
row by row (column coercion lives in :mod:`._coerce`). Table-level checks
(columns, keys, known students, ``as_of``) are whole-column operations, so
tens of millions of attendance rows stay tractable.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    AttendanceFormatError,
    DateParseError,
    DuplicateColumnError,
    DuplicateKeyError,
    EmptyTableError,
    EventsAfterAsOfWarning,
    InvalidCategoryError,
    MissingColumnError,
    MissingTableError,
    OutOfRangeError,
    TableTypeError,
    UnknownStudentError,
    UnknownTableError,
)
from dropoutrisk.schema._attendance import detect_attendance_layout, harmonise_attendance
from dropoutrisk.schema._coerce import ALLOWED, MAX_ROWS_KEPT, coerce_column, plain, raise_rows
from dropoutrisk.schema._tables import TABLES, TableSpec, table_spec

__all__ = ["validate_tables", "parse_as_of", "AS_OF_TABLES"]

#: Tables whose rows are dropped when dated on or after ``as_of``. Outcomes
#: are kept: they are the label, which by definition lies after ``as_of``,
#: and no feature reads them.
AS_OF_TABLES: tuple[str, ...] = ("attendance", "grades", "assessments", "concerns", "activity")


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    as_of: str | dt.date | pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """Check canonical tables and return them coerced to their canonical dtypes.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Any subset of ``students``, ``attendance``, ``grades``,
        ``assessments``, ``concerns``, ``activity``, ``interventions`` and
        ``outcomes``. ``students`` is
        required as soon as an event table is given. Attendance may also come
        as ``attendance_<anything>`` tables in another layout (see
        :func:`harmonise_attendance`); they are harmonised, validated one by
        one (messages name them) and stacked into ``attendance``.
    as_of : date-like, optional
        When given, rows of ``attendance``, ``grades``, ``assessments`` and
        ``concerns`` dated on or after ``as_of`` are dropped with an
        :class:`~dropoutrisk.errors.EventsAfterAsOfWarning` that counts them
        per table. ``outcomes`` are kept: they are the label; so are
        ``interventions``: no feature reads them, and training's handling of
        supported students needs the support given inside the label window.

    Returns
    -------
    dict of str to DataFrame
        The same tables in the same order, each a new frame with the
        caller's rows (same order and index, minus rows dropped for
        ``as_of``) and columns. Several attendance tables become one
        ``attendance`` with a fresh index, in the order given. Canonical columns are coerced: ids and text
        to stripped ``str`` (object dtype), whole numbers to ``int64``
        (nullable ``Int64`` for optional columns), numbers to ``float64``,
        flags to nullable ``boolean`` and dates to ``datetime64[ns]``.
        Extra columns are kept untouched; absent optional columns stay absent.

    Raises
    ------
    DataError
        A subclass naming the table, the column and the first offending rows
        (0-based positions): :class:`~dropoutrisk.errors.MissingTableError`,
        :class:`~dropoutrisk.errors.UnknownTableError`,
        :class:`~dropoutrisk.errors.TableTypeError`,
        :class:`~dropoutrisk.errors.EmptyTableError`,
        :class:`~dropoutrisk.errors.MissingColumnError`,
        :class:`~dropoutrisk.errors.DuplicateColumnError`,
        :class:`~dropoutrisk.errors.MissingValueError`,
        :class:`~dropoutrisk.errors.ColumnTypeError`,
        :class:`~dropoutrisk.errors.DateParseError`,
        :class:`~dropoutrisk.errors.OutOfRangeError`,
        :class:`~dropoutrisk.errors.InvalidCategoryError`,
        :class:`~dropoutrisk.errors.DuplicateKeyError` or
        :class:`~dropoutrisk.errors.UnknownStudentError`.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": [1001, 1002], "cohort": ["2024", "2024"],
    ...                          "school_id": [" S1", "S1"]})
    >>> attendance = pd.DataFrame({"student_id": ["1001", "1002"],
    ...                            "date": ["2024-09-02", "2024-09-03"],
    ...                            "scheduled_minutes": [60, 60], "absent_minutes": [0, 60]})
    >>> out = validate_tables({"students": students, "attendance": attendance})
    >>> out["students"]["student_id"].tolist(), out["students"]["school_id"].tolist()
    (['1001', '1002'], ['S1', 'S1'])
    >>> out["attendance"].dtypes["date"]
    dtype('<M8[ns]')
    >>> bad = attendance.assign(absent_minutes=[0, 90])
    >>> validate_tables({"students": students, "attendance": bad})
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.OutOfRangeError: Table 'attendance', column 'absent_minutes': 1 row has
    absent minutes greater than scheduled minutes (row 1 (90.0)). Allowed: absent_minutes <=
    scheduled_minutes. Fix: ...
    """
    if not isinstance(tables, Mapping):
        raise TableTypeError(
            table="tables",
            problem=f"expected a mapping of table name to DataFrame, got {type(tables).__name__}",
            allowed="a dict such as {'students': students_frame, 'attendance': attendance_frame}",
            fix="Pass the tables as a dict keyed by table name",
        )
    cutoff = parse_as_of(as_of) if as_of is not None else None
    for name, frame in tables.items():
        _check_table_name(name)
        if not isinstance(frame, pd.DataFrame):
            raise TableTypeError(
                table=str(name),
                problem=f"the table is a {type(frame).__name__}, not a pandas DataFrame",
                allowed="a pandas DataFrame",
                fix="Convert it first, for example with pd.DataFrame(...) or .to_pandas()",
            )
    events = [n for n in tables if n != "students"]
    if events and "students" not in tables:
        raise MissingTableError(
            table="students",
            problem=f"the table is missing but the event tables {', '.join(events)} refer to it",
            allowed="event tables together with the students table they refer to",
            fix="Pass the students table as well",
        )

    coerced: dict[str, pd.DataFrame] = {}
    # students first: event tables are checked against its ids
    for name in sorted(tables, key=lambda n: TABLES.index(_base(n))):
        frame = tables[name]
        if _base(name) == "attendance":
            frame = _harmonised(frame, name)
        coerced[name] = _validate_frame(frame, table_spec(_base(name)), name)
    if "students" in coerced:
        known = pd.Index(coerced["students"]["student_id"].to_numpy())
        for name in events:
            _check_known_students(coerced[name], name, known)

    out: dict[str, pd.DataFrame] = {}
    for name in tables:
        base = _base(name)
        if base == "attendance" and base not in out:
            parts = [coerced[n] for n in tables if _base(n) == "attendance"]
            out[base] = parts[0] if len(parts) == 1 else _combine_attendance(parts)
        elif base != "attendance":
            out[name] = coerced[name]
    if cutoff is not None:
        out = _drop_after_as_of(out, cutoff)
    return out


def parse_as_of(as_of: Any) -> pd.Timestamp:
    """Return ``as_of`` as a midnight :class:`pandas.Timestamp`: the one ``as_of`` parser.

    Accepts a ``YYYY-MM-DD`` string, a date, a datetime or a timestamp. A
    time-zone-aware value keeps its own calendar date (the zone is dropped,
    not converted), so ``2024-10-01T23:30+02:00`` is 1 October everywhere.

    Examples
    --------
    >>> parse_as_of("2024-10-01")
    Timestamp('2024-10-01 00:00:00')
    >>> parse_as_of("first of October")
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.DateParseError: Table 'as_of': the as_of date 'first of October' cannot be
    parsed. Allowed: a date written YYYY-MM-DD. Fix: Pass a date such as 2024-10-01.
    """
    if as_of is None:
        raise DateParseError(
            table="as_of",
            problem="as_of is required: the date features are computed at",
            allowed=ALLOWED["date"],
            fix="Pass a date such as 2024-10-01",
        )
    stamp: Any = pd.NaT
    if isinstance(as_of, str | dt.date | np.datetime64):
        try:
            stamp = pd.Timestamp(as_of.strip() if isinstance(as_of, str) else as_of)
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
    if stamp is pd.NaT or pd.isna(stamp):
        raise DateParseError(
            table="as_of",
            problem=f"the as_of date {as_of!r} cannot be parsed",
            allowed=ALLOWED["date"],
            fix="Pass a date such as 2024-10-01",
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


# --------------------------------------------------------------------------- tables


def _base(name: str) -> str:
    """Return the canonical table of a name: 'attendance_daily' -> 'attendance'."""
    return "attendance" if name.startswith("attendance_") else name


def _harmonised(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if name == "attendance":
        # canonical rows pass untouched; anything else that fits no layout is
        # left for the column checks, which name the missing column
        if "absent_minutes" in frame.columns:
            return frame
        try:
            detect_attendance_layout(frame, table=name)
        except AttendanceFormatError:
            return frame
    return harmonise_attendance(frame, table=name)


def _combine_attendance(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack validated attendance from several layouts; check the key across them."""
    spec = table_spec("attendance")
    present = [c.name for c in spec.columns if any(c.name in p.columns for p in parts)]
    filled = []
    for part in parts:
        add = {}
        for name in present:
            if name not in part.columns:
                add[name] = _empty_column(spec.column(name).kind, len(part))
        filled.append(part.assign(**add) if add else part)
    combined = pd.concat(filled, ignore_index=True)
    _check_key(combined, spec, "attendance")
    return combined


def _empty_column(kind: str, n: int) -> Any:
    if kind == "bool":
        return pd.array([pd.NA] * n, dtype="boolean")
    if kind == "float":
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


def _check_table_name(name: Any) -> None:
    if isinstance(name, str) and (name in TABLES or name.startswith("attendance_")):
        return
    close = difflib.get_close_matches(str(name), TABLES, n=1)
    fix = f"Did you mean '{close[0]}'? Rename the table" if close else "Rename or remove the table"
    raise UnknownTableError(
        table=str(name),
        allowed="the canonical tables " + ", ".join(TABLES)
        + ", and attendance in another layout as attendance_<name>",
        fix=fix,
    )


def _validate_frame(frame: pd.DataFrame, spec: TableSpec, table: str) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        raise TableTypeError(
            table=table,
            problem="the table has multi-level column names",
            allowed="one level of column names",
            fix="Flatten the columns, for example with frame.columns = ['_'.join(c) for c in frame.columns]",
        )
    if table == "students" and len(frame) == 0:
        raise EmptyTableError(
            table=table,
            allowed="at least one student",
            fix="Check that the export is not empty and that the right file was read",
        )
    _check_columns(frame, spec, table)

    arrays: dict[Any, Any] = {}
    for column in spec.columns:
        if column.name in frame.columns:
            arrays[column.name] = coerce_column(frame[column.name], column, table)
    if spec.name == "attendance":
        _check_minutes(arrays, table)
    elif spec.name == "interventions":
        _check_interventions(arrays, table)

    # keyed by position: extra columns may repeat a name, and arrays never align on an index
    data = {
        i: arrays[col] if isinstance(col, str) and col in arrays else frame.iloc[:, i].array
        for i, col in enumerate(frame.columns)
    }
    out = pd.DataFrame(data, index=frame.index, copy=False)
    out.columns = frame.columns
    _check_key(out, spec, table)
    return out


def _check_columns(frame: pd.DataFrame, spec: TableSpec, table: str) -> None:
    counts = pd.Series(frame.columns).value_counts()
    canonical = {c.name for c in spec.columns}
    for col, n in counts.items():
        if n > 1 and col in canonical:
            raise DuplicateColumnError(
                table=table,
                column=str(col),
                problem=f"the column name appears {n} times",
                allowed="each column once",
                fix="Drop or rename the repeated columns",
            )
    present = {c for c in frame.columns if isinstance(c, str)}
    for name in spec.required:
        if name in present:
            continue
        lookalike = [c for c in present if c.strip().lower() == name]
        if lookalike:
            fix = f"Rename column '{lookalike[0]}' to '{name}'"
        else:
            shown = ", ".join(repr(c) for c in list(frame.columns)[:10])
            more = " ..." if len(frame.columns) > 10 else ""
            fix = f"Add the column to the export (found columns: {shown or 'none'}{more})"
        raise MissingColumnError(
            table=table,
            column=name,
            allowed=f"the {table} table needs the columns {', '.join(spec.required)}",
            fix=fix,
        )


def _check_key(frame: pd.DataFrame, spec: TableSpec, table: str) -> None:
    key = [c for c in spec.key if c in frame.columns]
    if not key or len(frame) == 0:
        return
    dup = frame.duplicated(subset=key, keep="first").to_numpy()
    if not dup.any():
        return
    rows = np.flatnonzero(dup)
    sub = frame.iloc[rows[:5]][key]
    if len(key) == 1:
        values = [plain(v) for v in sub.iloc[:, 0]]
    else:
        values = [tuple(plain(v) for v in row) for row in sub.itertuples(index=False)]
    raise DuplicateKeyError(
        table=table,
        column=", ".join(key),
        rows=rows[:MAX_ROWS_KEPT],
        values=values,
        n_bad=len(rows),
        problem="a key that an earlier row already has",
        allowed=f"one row per ({', '.join(key)})",
        fix=(
            "Remove the repeated rows, or add a 'lesson' column when a day has several lessons"
            if spec.name == "attendance"
            else "Remove the repeated rows or correct their keys"
        ),
    )


def _check_known_students(frame: pd.DataFrame, table: str, known: pd.Index) -> None:
    if len(frame) == 0:
        return
    ids = frame["student_id"]
    bad = ~ids.isin(known).to_numpy()
    if bad.any():
        raise_rows(
            UnknownStudentError,
            table,
            "student_id",
            bad,
            ids.to_numpy(),
            allowed="student ids that appear in the students table",
            fix="Add the students to the students table, or drop their rows from this table",
        )


def _drop_after_as_of(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    dropped: dict[str, int] = {}
    out = dict(tables)
    for name in AS_OF_TABLES:
        if name not in tables or len(tables[name]) == 0:
            continue
        late = (tables[name]["date"] >= cutoff).to_numpy()
        n = int(late.sum())
        if n:
            out[name] = tables[name].loc[~late]
            dropped[name] = n
    if dropped:
        counts = ", ".join(f"{name} {n} row{'s' if n != 1 else ''}" for name, n in dropped.items())
        warnings.warn(
            EventsAfterAsOfWarning(
                f"Dropped events dated on or after as_of {cutoff.date().isoformat()}: {counts}. "
                "Features may only use what was known before as_of."
            ),
            stacklevel=3,
        )
    return out


#: A capitalised given name and surname ("Anna Svensson", "Per-Olof Öberg"): a person, not a role.
_PERSON_NAME = re.compile(r"^[A-ZÅÄÖÉÜ][a-zåäöéü]+(?:-[A-ZÅÄÖÉÜ][a-zåäöéü]+)?(?:\s+[A-ZÅÄÖÉÜ][a-zåäöéü\-]+)+$")


def _check_interventions(arrays: dict[Any, Any], table: str) -> None:
    checks = []
    if "end_date" in arrays:
        start = np.asarray(arrays["date"], dtype="datetime64[ns]")
        end = np.asarray(arrays["end_date"], dtype="datetime64[ns]")
        checks.append((OutOfRangeError, "end_date", ~np.isnat(end) & (end < start),
                       end.astype("datetime64[D]").astype(str), {
            "problem": "an end date before the start date",
            "allowed": "end_date on or after date, or empty while the support goes on",
            "fix": "Check that date is the day the support started and end_date the day it ended",
        }))
    if "role" in arrays:
        roles = np.asarray(arrays["role"], dtype=object)
        named = [isinstance(r, str) and _PERSON_NAME.match(r) is not None for r in roles]
        checks.append((InvalidCategoryError, "role", np.array(named, dtype=bool), roles, {
            "problem": "values that look like a person's name",
            "allowed": "a staff role such as mentor, kurator, specialpedagog or elevcoach",
            "fix": "Export the role of the staff member, never the name (personal data)",
        }))
    for cls, column, bad, values, text in checks:
        if bad.any():
            raise_rows(cls, table, column, bad, values, **text)


def _check_minutes(arrays: dict[Any, Any], table: str) -> None:
    scheduled = np.asarray(arrays["scheduled_minutes"], dtype="float64")
    for column, what in (("absent_minutes", "absent"), ("late_minutes", "late")):
        if column not in arrays:
            continue
        values = np.asarray(arrays[column], dtype="float64")
        with np.errstate(invalid="ignore"):
            bad = values > scheduled
        if bad.any():
            raise_rows(
                OutOfRangeError, table, column, bad, values,
                problem=f"{what} minutes greater than scheduled minutes",
                allowed=f"{column} <= scheduled_minutes",
                fix="Check that both columns count minutes of the same lesson or day",
            )
