"""``follow_up``: the students flagged in earlier runs, what the school did, and how they are doing.

Plug In's third step, "koll och uppföljning": every flagged student is followed
up, and staff check whether the support helped. The list is student-level and
for staff only; the summary per school carries no id and suppresses small cells;
the record carries counts only (docs/follow-up.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk._json import to_jsonable
from dropoutrisk._provenance import package_versions
from dropoutrisk._result import Result, copied
from dropoutrisk.errors import MissingColumnError, ParameterError, UnknownStudentError
from dropoutrisk.followup._progress import (
    GRADE_WINDOW_DAYS,
    INTERVENTION_COLUMNS,
    attendance_progress,
    concern_progress,
    grade_progress,
    intervention_summary,
    interventions_since,
)
from dropoutrisk.followup._since_flag import SinceFlag
from dropoutrisk.followup._summary import PROGRESS, school_summary
from dropoutrisk.schema import CENSORING_EVENTS, parse_as_of, validate_tables
from dropoutrisk.schema._coerce import raise_rows

__all__ = ["FollowUp", "follow_up", "FOLLOW_UP_COLUMNS"]

#: Columns of :attr:`FollowUp.students`, in order.
FOLLOW_UP_COLUMNS: tuple[str, ...] = (
    "student_id", "school_id", "first_flagged", "last_flagged", "times_flagged",
    "last_probability", "first_intervention", "n_interventions", "intervention_kinds",
    "supported_before_flag", "days_since_flag", "days_without_intervention",
    "followed_up_in_time", "attendance_before", "attendance_since", "attendance_change",
    "grade_points_before", "grade_points_since", "failed_before", "failed_since",
    "concerns_before", "concerns_since", "left", "progress",
)
_RUN_COLUMNS = ("student_id", "school_id", "flag", "as_of")


class FollowUp(Result):
    """The follow-up at one ``as_of``: build it with :func:`follow_up`.

    Attributes
    ----------
    students : DataFrame
        One row per flagged student (:data:`FOLLOW_UP_COLUMNS`): student-level,
        for staff. Never put it in a log, a run record or MLflow.
    summary : DataFrame
        One row per school, no id; counts of fewer than ``MIN_CELL`` students
        (and the cells that would give them back by subtraction) are ``<NA>``,
        and ``suppressed`` says which and why.
    record : dict
        Counts, parameters and the runs read: what the run record holds.
    interventions : DataFrame
        The interventions behind the list (:data:`INTERVENTION_COLUMNS`): each
        one dated from a listed student's first flag to ``as_of``, by student
        and date. Student-level, like ``students``.
    """

    __slots__ = ("_students", "_summary", "_record", "_interventions")
    _remedy = "call follow_up again."

    def __init__(self, students: pd.DataFrame, summary: pd.DataFrame, record: dict,
                 interventions: pd.DataFrame | None = None) -> None:
        if interventions is None:
            interventions = pd.DataFrame({c: pd.Series(dtype=object) for c in INTERVENTION_COLUMNS})
        self._set(students=students, summary=summary, record=record,
                  interventions=interventions)

    @property
    def students(self) -> pd.DataFrame:
        return copied(self._students)

    @property
    def summary(self) -> pd.DataFrame:
        return copied(self._summary)

    @property
    def record(self) -> dict[str, Any]:
        return copied(self._record)

    @property
    def interventions(self) -> pd.DataFrame:
        return copied(self._interventions)

    def student(self, student_id: Any) -> SinceFlag | None:
        """One student's progress since the first flag, or None if no earlier run flagged them.

        What the student report shows "since the flag": the student's row of
        :attr:`students` and the interventions recorded since the flag.

        See the example of :func:`follow_up`.
        """
        sid = str(student_id)
        rows = self._students[self._students["student_id"].astype(str) == sid]
        if rows.empty:
            return None
        mine = self._interventions[self._interventions["student_id"].astype(str) == sid]
        params = self._record["parameters"]
        return SinceFlag(rows.iloc[0], mine, {"window_days": params["window_days"],
                                              "grade_window_days": GRADE_WINDOW_DAYS})

    def to_dict(self) -> dict[str, Any]:
        """The record and the per-school summary: aggregates only, never a student row."""
        return to_jsonable({**self._record, "summary": self._summary.to_dict("records")})

    def __len__(self) -> int:
        return len(self._students)

    def __repr__(self) -> str:
        return f"FollowUp(as_of={self._record['as_of']!r}, flagged={len(self)})"


def follow_up(
    runs: Iterable[pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    *,
    follow_up_days: int = 14,
    window_days: int = 28,
    min_days: int = 14,
    change: float = 0.05,
) -> FollowUp:
    """List the students flagged in earlier runs with what was done and how they are doing.

    Parameters
    ----------
    runs : iterable of DataFrame
        The prediction tables of earlier weekly runs (``dropoutrisk predict``
        output or :attr:`ScoreResult.predictions`): ``student_id``, ``school_id``,
        ``flag`` and ``as_of``; ``probability`` is used when present. Runs dated
        on or after ``as_of`` are left out (the record counts them).
    tables : mapping of str to DataFrame
        The canonical tables at ``as_of``: ``students`` and any of
        ``attendance``, ``grades``, ``concerns``, ``interventions`` and ``outcomes``.
        They are validated; only what is dated before ``as_of`` counts.
    as_of : date-like
        The day of the follow-up.
    follow_up_days : int, default 14
        An intervention within this many days of the first flag is "in time".
    window_days : int, default 28
        Attendance and concerns "before" are the ``window_days`` before the first
        flag; "since" runs from the flag to ``as_of``.
    min_days : int, default 14
        Fewer days since the flag than this is ``too_early`` to judge progress.
    change : float, default 0.05
        Attendance up (down) by at least this share since the flag is
        ``improving`` (``worsening``); attendance is the earliest signal.

    Returns
    -------
    FollowUp

    Raises
    ------
    MissingColumnError
        A run lacks one of ``student_id, school_id, flag, as_of``.
    UnknownStudentError
        A flagged student is not in ``students`` (pseudonymised predictions
        cannot be followed up against the school's own tables).

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a", "b"], "cohort": [2024, 2024],
    ...                          "school_id": ["S1", "S1"]})
    >>> run = pd.DataFrame({"student_id": ["a", "b"], "school_id": ["S1", "S1"],
    ...                     "flag": [True, False], "as_of": ["2024-10-07", "2024-10-07"]})
    >>> support = pd.DataFrame({"student_id": ["a"], "date": ["2024-10-10"], "kind": ["mentor_talk"],
    ...                         "role": ["mentor"]})
    >>> result = follow_up([run], {"students": students, "interventions": support}, "2024-11-04")
    >>> row = result.students.iloc[0]
    >>> row["student_id"], int(row["days_since_flag"]), int(row["days_without_intervention"])
    ('a', 28, 3)
    >>> result.record["counts"]["followed_up_in_time"]
    1

    One student's follow-up, as their report shows it "since the flag":

    >>> a = result.student("a")
    >>> a.days_since_flag, a.interventions[["kind", "role"]].values.tolist()
    (28, [['mentor_talk', 'mentor']])
    >>> result.student("b") is None  # never flagged
    True
    """
    day = parse_as_of(as_of)
    for name, value, low in (("follow_up_days", follow_up_days, 0), ("window_days", window_days, 1),
                             ("min_days", min_days, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ParameterError(parameter=name, message=(
                f"{name} must be a whole number of days >= {low}, got {value!r}."))
    if not 0 < float(change) < 1:
        raise ParameterError(parameter="change", message=(
            f"change must be a share of attendance in (0, 1), got {change!r}; 0.05 is 5 points."))
    flags, used, later = _flags(runs, day)
    checked = validate_tables(dict(tables), as_of=day)
    _check_known(flags, checked["students"])

    since = flags.rename(columns={"first_flagged": "since"})[["since"]]
    iv = checked.get("interventions")
    recorded, earlier = interventions_since(iv[iv["date"] < day] if iv is not None else None,
                                            since, day)
    parts = [
        intervention_summary(recorded, earlier, since),
        attendance_progress(checked.get("attendance"), since, day, window_days),
        grade_progress(checked.get("grades"), since, day),
        concern_progress(checked.get("concerns"), since, day, window_days),
    ]
    out = pd.concat([flags, *parts], axis=1)
    out["days_since_flag"] = (day - out["first_flagged"]).dt.days.astype("int64")
    waited = (out["first_intervention"] - out["first_flagged"]).dt.days
    out["days_without_intervention"] = waited.fillna(out["days_since_flag"]).astype("int64")
    out["followed_up_in_time"] = waited.le(follow_up_days).fillna(False).astype(bool)
    out["left"] = _left(checked.get("outcomes"), out, day)
    out["progress"] = _progress(out, min_days, change)
    out = out.reset_index().rename(columns={"index": "student_id"})
    out = out.sort_values(["school_id", "n_interventions", "days_without_intervention",
                           "student_id"], ascending=[True, True, False, True], kind="stable")
    students = out[list(FOLLOW_UP_COLUMNS)].reset_index(drop=True)
    summary = school_summary(students, follow_up_days)
    record = _record(students, used, later, day, follow_up_days, window_days, min_days, change)
    return FollowUp(students, summary, record, recorded)


def _flags(runs: Iterable[pd.DataFrame], day: pd.Timestamp) -> tuple[pd.DataFrame, list, int]:
    if isinstance(runs, pd.DataFrame):
        runs = [runs]
    frames, used, later = [], [], 0
    for i, run in enumerate(runs):
        if not isinstance(run, pd.DataFrame):
            raise ParameterError(parameter="runs", message=(
                f"runs[{i}] is a {type(run).__name__}; pass prediction tables as DataFrames."))
        for column in _RUN_COLUMNS:
            if column not in run.columns:
                raise MissingColumnError(
                    table=f"runs[{i}]", column=column,
                    allowed="the prediction columns of dropoutrisk predict: "
                    + ", ".join(_RUN_COLUMNS),
                    fix="Pass the predictions file of a weekly run as it was written")
        dates = pd.to_datetime(run["as_of"].astype(str)).dt.normalize()
        if len(run) and dates.nunique() != 1:
            raise ParameterError(parameter="runs", message=(
                f"runs[{i}] holds {dates.nunique()} as_of dates; pass one table per weekly run."))
        if len(run) == 0:
            continue
        run_day = dates.iloc[0]
        if run_day >= day:
            later += 1
            continue
        flagged = run[run["flag"].astype(bool).to_numpy()]
        used.append({"as_of": run_day.date().isoformat(), "rows": len(run),
                     "flagged": len(flagged),
                     "model_id": str(run["model_id"].iloc[0]) if "model_id" in run else None})
        frames.append(pd.DataFrame({
            "student_id": flagged["student_id"].astype(str).to_numpy(),
            "school_id": flagged["school_id"].astype(str).to_numpy(),
            "as_of": run_day,
            "probability": (flagged["probability"].to_numpy(dtype=float)
                            if "probability" in flagged else np.nan),
        }))
    used.sort(key=lambda r: r["as_of"])
    columns = ["school_id", "first_flagged", "last_flagged", "times_flagged", "last_probability"]
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, (object, "datetime64[ns]", "datetime64[ns]", "int64", float), strict=True)})
        empty.index = pd.Index([], dtype=object)
        return empty, used, later
    rows = pd.concat(frames, ignore_index=True).sort_values(["student_id", "as_of"], kind="stable")
    grouped = rows.groupby("student_id", sort=True)
    last = grouped.last()
    flags = pd.DataFrame({
        "school_id": last["school_id"],
        "first_flagged": grouped["as_of"].min().astype("datetime64[ns]"),
        "last_flagged": last["as_of"].astype("datetime64[ns]"),
        "times_flagged": grouped.size().astype("int64"),
        "last_probability": last["probability"],
    })
    flags.index = flags.index.astype(object)
    return flags, used, later


def _check_known(flags: pd.DataFrame, students: pd.DataFrame) -> None:
    ids = flags.index.to_numpy(dtype=object)
    bad = ~pd.Index(ids).isin(students["student_id"])
    if bad.any():
        raise_rows(UnknownStudentError, "runs", "student_id", bad, ids,
                   allowed="students flagged in the runs who are in the students table",
                   fix="Follow up against the same school's tables; predictions written with "
                   "--pseudonymise hold keyed hashes, not the school's ids")


def _left(outcomes: pd.DataFrame | None, out: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    if outcomes is None:
        return pd.Series("", index=out.index)
    known = outcomes[outcomes["date"] < day].drop_duplicates("student_id").set_index("student_id")
    left = known["event"].reindex(out.index)
    # completion is not leaving; censoring (moved, transferred) and dropout are
    keep = left.isin(("dropout", "no_diploma", *CENSORING_EVENTS))
    return left.where(keep, "").fillna("")


def _progress(out: pd.DataFrame, min_days: int, change: float) -> pd.Series:
    delta = out["attendance_change"]
    status = np.select(
        [out["left"] != "", out["days_since_flag"] < min_days, delta.isna(),
         delta >= change, delta <= -change],
        ["left", "too_early", "no_data", "improving", "worsening"],
        default="no_clear_change",
    )
    assert set(status) <= set(PROGRESS)
    return pd.Series(status, index=out.index)


def _record(students: pd.DataFrame, used: list, later: int, day: pd.Timestamp,
            follow_up_days: int, window_days: int, min_days: int, change: float) -> dict:
    with_support = students["n_interventions"] > 0
    counts = {
        "flagged": len(students),
        "schools": int(students["school_id"].nunique()),
        "followed_up": int(with_support.sum()),
        "followed_up_in_time": int(students["followed_up_in_time"].sum()),
        "without_intervention": int((~with_support).sum()),
        "supported_before_flag": int(students["supported_before_flag"].sum()),
        "progress": {p: int((students["progress"] == p).sum()) for p in PROGRESS},
    }
    return {
        "format": "dropoutrisk-follow-up",
        "as_of": day.date().isoformat(),
        "parameters": {"follow_up_days": follow_up_days, "window_days": window_days,
                       "min_days": min_days, "change": float(change), "min_cell": MIN_CELL},
        "runs": used,
        "runs_after_as_of": later,
        "counts": counts,
        "versions": package_versions(),
    }
