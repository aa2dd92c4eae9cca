"""Table sources, the as_of windows and the roster, shared by both engines.

A table source is a pandas DataFrame or a path to a Parquet or CSV file (or a
folder of Parquet files). Student-level work (the roster, static and
background features) is always done in pandas; only the event tables go to an
engine.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    DataError,
    MissingColumnError,
    MissingTableError,
    TableTypeError,
)
from dropoutrisk.schema import (
    parse_as_of,
    programme_starts,
    school_year_of,
    school_year_start,
    table_file,
)

TableSource = Union[pd.DataFrame, str, "os.PathLike[str]"]

#: Event tables the engines read, with the columns they need (required, optional).
EVENT_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "attendance": (
        ("student_id", "date", "scheduled_minutes", "absent_minutes"),
        ("excused", "late_minutes"),
    ),
    "grades": (("student_id", "date", "course", "grade"), ()),
    "assessments": (("student_id", "date", "item", "value"), ()),
    "concerns": (("student_id", "date"), ("category",)),
    "activity": (("student_id", "date", "count"), ("kind",)),
}


def _days_before(days: int) -> property:
    """A property of :class:`Windows`: the day ``days`` days before ``as_of``."""
    return property(lambda self: self.as_of - dt.timedelta(days=days),
                    doc=f"The start of the {days}-day window that ends at ``as_of``.")


@dataclass(frozen=True)
class Windows:
    """The dates every window is measured from, for one ``as_of``.

    All intervals are half-open ``[start, end)`` and end at ``as_of`` at the
    latest, so nothing dated on or after ``as_of`` can enter a feature.
    """

    as_of: dt.date
    year_start: dt.date
    school_year: int

    d2w = _days_before(14)
    d4w = _days_before(28)
    d8w = _days_before(56)
    d30 = _days_before(30)
    d90 = _days_before(90)

    @property
    def baseline_end(self) -> dt.date:
        return self.year_start + dt.timedelta(days=14)

    @property
    def attendance_start(self) -> dt.date:
        """The earliest day any attendance window reaches back to."""
        return min(self.year_start, self.d8w)

    @property
    def baseline_ok(self) -> bool:
        """The recent 4 weeks lie wholly after the 2-week baseline."""
        return self.d4w >= self.baseline_end


def to_date(as_of: Any) -> dt.date:
    """Return ``as_of`` as a calendar date (see :func:`~dropoutrisk.schema.parse_as_of`)."""
    return parse_as_of(as_of).date()


def windows_for(as_of: Any) -> Windows:
    d = to_date(as_of)
    year = school_year_of(d)
    return Windows(as_of=d, year_start=school_year_start(year), school_year=year)


def is_path(source: Any) -> bool:
    return isinstance(source, str | os.PathLike)


_CANONICAL = (
    "students", "attendance", "grades", "assessments", "concerns", "activity", "outcomes"
)


def tables_in_folder(folder: Path) -> dict[str, TableSource]:
    """Map each canonical table found in ``folder`` to its file (or Parquet folder).

    A table is ``<name>.parquet``, ``<name>.csv`` or a folder ``<name>/`` of
    Parquet files. Attendance in another layout (``attendance_<layout>.*``) needs
    harmonising first: read the folder with ``dropoutrisk.io.read_tables``.
    """
    found: dict[str, TableSource] = {}
    for name in _CANONICAL:
        path = table_file(folder, name, parquet_folder=True)
        if path is not None:
            found[name] = path
    layouts = sorted(p.name for p in folder.glob("attendance_*"))
    if layouts:
        raise DataError(
            table="attendance", problem=f"the folder has attendance in other layouts ({', '.join(layouts)})",
            fix="Read the folder with dropoutrisk.io.read_tables, which harmonises them, and pass "
                "the tables it returns.",
        )
    return found


def check_tables(tables: Any) -> Mapping[str, TableSource]:
    if is_path(tables) and Path(tables).is_dir():
        tables = tables_in_folder(Path(tables))
    if not isinstance(tables, Mapping):
        raise TableTypeError(
            table="tables",
            problem=f"expected a mapping of table name to DataFrame or path, got {type(tables).__name__}",
            fix="Pass a dict such as {'students': students_df, 'attendance': 'attendance.parquet'}, "
                "or the path of a folder of canonical tables.",
        )
    if "students" not in tables or tables["students"] is None:
        raise MissingTableError(
            table="students",
            fix="Add the students table (one row per student: student_id, cohort, school_id).",
        )
    for name, src in tables.items():
        if src is not None and not isinstance(src, pd.DataFrame) and not is_path(src):
            raise TableTypeError(
                table=str(name),
                problem=f"expected a DataFrame or a file path, got {type(src).__name__}",
                fix="Pass a pandas DataFrame or the path of a Parquet or CSV file.",
            )
    return tables


def parquet_glob(path: Path) -> str:
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def read_source(name: str, source: TableSource) -> pd.DataFrame:
    """Read a table source into pandas (a path is read whole)."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.exists():
        raise MissingTableError(table=name, problem=f"the file {str(path)!r} does not exist",
                                fix="Check the path.")
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt", ".gz"):
        return pd.read_csv(path, dtype={"student_id": str, "school_id": str})
    raise DataError(table=name, problem=f"cannot read {str(path)!r}",
                    allowed="Parquet (.parquet) or CSV (.csv) files",
                    fix="Convert the file, or pass a DataFrame.")


def _as_str(s: pd.Series) -> pd.Series:
    out = s.astype(object)
    mask = out.notna()
    out[mask] = out[mask].astype(str)
    return out


_FLAGS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
          "1.0": True, "0.0": False}


def _as_flag(s: pd.Series) -> pd.Series:
    if s.dtype == object:  # e.g. read from CSV: 'True' / 'False'
        s = s.map(lambda v: _FLAGS.get(str(v).strip().lower(), v), na_action="ignore")
    return s.astype("boolean")


def _as_day(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).astype("datetime64[ns]").dt.normalize()


def prepare_events(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the columns an engine needs from an event table, with canonical dtypes."""
    required, optional = EVENT_COLUMNS[name]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            table=name, column=missing[0],
            fix=f"The {name} table needs the columns {', '.join(required)}.",
        )
    out = pd.DataFrame(index=range(len(frame)))
    for col in required + optional:
        if col not in frame.columns:
            out[col] = pd.Series(np.nan if col == "late_minutes" else pd.NA, index=out.index,
                                 dtype="float64" if col == "late_minutes" else "boolean")
            continue
        values = frame[col].to_numpy()
        if col in ("student_id", "course", "grade", "item", "kind", "category"):
            out[col] = _as_str(pd.Series(values))
        elif col == "date":
            out[col] = _as_day(pd.Series(values))
        elif col == "excused":
            out[col] = _as_flag(pd.Series(values))
        else:
            out[col] = pd.to_numeric(pd.Series(values)).astype("float64")
    return out


def prepare_students(frame: pd.DataFrame) -> pd.DataFrame:
    for col in ("student_id", "cohort", "school_id"):
        if col not in frame.columns:
            raise MissingColumnError(
                table="students", column=col,
                fix="The students table needs student_id, cohort and school_id.",
            )
    out = frame.reset_index(drop=True).copy()
    out["student_id"] = _as_str(out["student_id"])
    out["school_id"] = _as_str(out["school_id"])
    out["cohort"] = pd.to_numeric(out["cohort"]).astype("int64")
    if "start_date" in out.columns:
        out["start_date"] = _as_day(out["start_date"])
    return out


def start_years(starts: pd.Series) -> pd.Series:
    """The school year (its start year) each date falls in, as int64."""
    years = starts.dt.year.astype("int64")
    firsts = years.map({int(y): pd.Timestamp(school_year_start(int(y))) for y in years.unique()})
    return years.where(starts >= firsts.astype("datetime64[ns]"), years - 1).astype("int64")


def enrolment(ros: pd.DataFrame, w: Windows) -> pd.DataFrame:
    """Per enrolled student, the day "since the start" windows count from at ``as_of``.

    ``start`` is the later of the current school year's start and the student's
    own programme start, so a student who started in January has a year that
    begins in January; the 2-week baseline is the first 14 days from ``start``
    (``baseline_ok`` says whether the last 4 weeks lie wholly after it), and
    ``days_since_start`` counts the days from ``start`` to ``as_of``.

    Returns
    -------
    DataFrame
        Columns ``student_id`` (str), ``start``, ``baseline_end`` (datetime64[ns]),
        ``baseline_ok`` and ``days_since_start`` (int64), one row per student of ``ros``.
    """
    year_start = pd.Timestamp(w.year_start)
    start = ros["programme_start"].where(ros["programme_start"] > year_start, year_start)
    start = start.astype("datetime64[ns]")
    end = start + pd.Timedelta(days=14)
    return pd.DataFrame({
        "student_id": ros.index.to_numpy(dtype=object),
        "start": start.to_numpy(),
        "baseline_end": end.to_numpy(),
        "baseline_ok": (end <= pd.Timestamp(w.d4w)).astype("int64").to_numpy(),
        "days_since_start": (pd.Timestamp(w.as_of) - start).dt.days.astype("int64").to_numpy(),
    })


def feature_group(frame: pd.DataFrame) -> pd.DataFrame:
    """One engine query's result as a feature group: indexed by student_id, float64 columns."""
    frame["student_id"] = frame["student_id"].astype(object)
    frame = frame.set_index("student_id")
    return frame.drop(columns=["no_feature"], errors="ignore").astype("float64")


def prepare_outcomes(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({"student_id": pd.Series(dtype=object),
                             "event": pd.Series(dtype=object),
                             "date": pd.Series(dtype="datetime64[ns]")})
    for col in ("student_id", "event", "date"):
        if col not in frame.columns:
            raise MissingColumnError(table="outcomes", column=col,
                                     fix="The outcomes table needs student_id, event and date.")
    return pd.DataFrame({
        "student_id": _as_str(frame["student_id"].reset_index(drop=True)),
        "event": _as_str(frame["event"].reset_index(drop=True)),
        "date": _as_day(frame["date"].reset_index(drop=True)),
    })


def roster(students: pd.DataFrame, outcomes: pd.DataFrame, w: Windows) -> pd.DataFrame:
    """Students enrolled at ``as_of``, sorted by student_id.

    Enrolled means the student's programme started (``start_date``, else the
    school-year start of the cohort) on or before ``as_of`` and no outcome
    event is dated before ``as_of``. The column ``programme_start`` holds the start.
    """
    as_of = pd.Timestamp(w.as_of)
    starts = programme_starts(students)
    left = set(outcomes.loc[outcomes["date"] < as_of, "student_id"])
    keep = (starts <= as_of) & ~students["student_id"].isin(left)
    out = students.assign(programme_start=starts).loc[keep]
    out = out.sort_values("student_id", kind="mergesort")
    return out.drop_duplicates("student_id").set_index("student_id")
