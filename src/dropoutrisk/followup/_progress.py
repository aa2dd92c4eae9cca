"""Indicators before and since a date, per student: attendance, grades, concerns, interventions.

Each function takes one validated table and a frame indexed by ``student_id``
with the column ``since`` (the first flag) and returns columns on that index.
Periods are half-open: "before" is ``[since - window, since)``, "since" is
``[since, as_of)``, so nothing dated on or after ``as_of`` is counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutrisk.schema import GRADE_POINTS

#: Grades that count as failed: F and "-" (no grade).
FAILED = ("F", "-")
#: Grades before the flag reach back this far (a school year).
GRADE_WINDOW_DAYS = 365


def _periods(events: pd.DataFrame, since: pd.DataFrame, as_of: pd.Timestamp,
             window_days: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Events of the students in ``since``, with masks for "before" and "since"."""
    rows = events[events["student_id"].isin(since.index)]
    start = rows["student_id"].map(since["since"]).to_numpy(dtype="datetime64[ns]")
    date = rows["date"].to_numpy(dtype="datetime64[ns]")
    before = (date < start) & (date >= start - np.timedelta64(window_days, "D"))
    after = (date >= start) & (date < as_of.to_datetime64())
    return rows, before, after


def _sum_by(rows: pd.DataFrame, mask: np.ndarray, column: str | None, index: pd.Index) -> pd.Series:
    picked = rows.loc[mask]
    values = picked[column] if column is not None else pd.Series(1.0, index=picked.index)
    return values.groupby(picked["student_id"]).sum().reindex(index, fill_value=0.0).astype(float)


def attendance_progress(attendance: pd.DataFrame | None, since: pd.DataFrame, as_of: pd.Timestamp,
                        window_days: int) -> pd.DataFrame:
    """``attendance_before`` (the window before), ``attendance_since`` and their change."""
    index = since.index
    if attendance is None:
        empty = pd.Series(np.nan, index=index)
        return pd.DataFrame({"attendance_before": empty, "attendance_since": empty,
                             "attendance_change": empty})
    rows, before, after = _periods(attendance, since, as_of, window_days)
    out = {}
    for name, mask in (("attendance_before", before), ("attendance_since", after)):
        scheduled = _sum_by(rows, mask, "scheduled_minutes", index)
        absent = _sum_by(rows, mask, "absent_minutes", index)
        out[name] = (1.0 - absent / scheduled).where(scheduled > 0)
    frame = pd.DataFrame(out)
    frame["attendance_change"] = frame["attendance_since"] - frame["attendance_before"]
    return frame


def grade_progress(grades: pd.DataFrame | None, since: pd.DataFrame,
                   as_of: pd.Timestamp) -> pd.DataFrame:
    """Mean grade points (F and "-" count 0) and failed grades, the year before vs since."""
    index = since.index
    if grades is None:
        nan = pd.Series(np.nan, index=index)
        return pd.DataFrame({"grade_points_before": nan, "grade_points_since": nan,
                             "failed_before": nan, "failed_since": nan})
    rows, before, after = _periods(grades, since, as_of, GRADE_WINDOW_DAYS)
    rows = rows.assign(_points=rows["grade"].map(GRADE_POINTS).fillna(0.0),
                       _failed=rows["grade"].isin(FAILED).astype(float))
    out = {}
    for suffix, mask in (("before", before), ("since", after)):
        n = _sum_by(rows, mask, None, index)
        out[f"grade_points_{suffix}"] = (_sum_by(rows, mask, "_points", index) / n).where(n > 0)
        out[f"failed_{suffix}"] = _sum_by(rows, mask, "_failed", index)
    return pd.DataFrame(out)


def concern_progress(concerns: pd.DataFrame | None, since: pd.DataFrame, as_of: pd.Timestamp,
                     window_days: int) -> pd.DataFrame:
    """Concern reports in the window before the flag and since it."""
    index = since.index
    if concerns is None:
        nan = pd.Series(np.nan, index=index)
        return pd.DataFrame({"concerns_before": nan, "concerns_since": nan})
    rows, before, after = _periods(concerns, since, as_of, window_days)
    return pd.DataFrame({"concerns_before": _sum_by(rows, before, None, index),
                         "concerns_since": _sum_by(rows, after, None, index)})


#: The columns of :func:`interventions_since`, in order.
INTERVENTION_COLUMNS = ("student_id", "date", "kind", "end_date", "role")


def interventions_since(interventions: pd.DataFrame | None, since: pd.DataFrame,
                        as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.Index]:
    """The interventions dated from each student's flag to ``as_of``, and who had one before.

    Returns the rows (:data:`INTERVENTION_COLUMNS`, ``end_date`` and ``role``
    empty where the table has none), by student and date, and the ids of the
    students with an intervention dated before their flag.
    """
    if interventions is None:
        interventions = pd.DataFrame({"student_id": pd.Series(dtype=object),
                                      "date": pd.Series(dtype="datetime64[ns]"),
                                      "kind": pd.Series(dtype=object)})
    rows, _, after = _periods(interventions, since, as_of, 0)
    start = rows["student_id"].map(since["since"]).to_numpy(dtype="datetime64[ns]")
    earlier = pd.Index(rows.loc[rows["date"].to_numpy(dtype="datetime64[ns]") < start,
                                "student_id"].unique())
    picked = rows.loc[after]
    out = pd.DataFrame({
        "student_id": picked["student_id"].to_numpy(dtype=object),
        "date": picked["date"].to_numpy(dtype="datetime64[ns]"),
        "kind": picked["kind"].astype(str).to_numpy(dtype=object),
        "end_date": (picked["end_date"].to_numpy(dtype="datetime64[ns]") if "end_date" in picked
                     else np.full(len(picked), np.datetime64("NaT"), dtype="datetime64[ns]")),
        "role": (picked["role"].to_numpy(dtype=object) if "role" in picked
                 else np.full(len(picked), None, dtype=object)),
    })
    out = out.sort_values(["student_id", "date", "kind"], kind="stable").reset_index(drop=True)
    return out, earlier


def intervention_summary(picked: pd.DataFrame, earlier: pd.Index,
                         since: pd.DataFrame) -> pd.DataFrame:
    """First intervention since the flag, how many, of which kinds; and any before the flag.

    ``picked`` and ``earlier`` are what :func:`interventions_since` returns.
    """
    index = since.index
    grouped = picked.groupby("student_id")
    kinds = grouped["kind"].agg(lambda k: "; ".join(sorted(set(k))))
    return pd.DataFrame({
        "first_intervention": grouped["date"].min().reindex(index),
        "n_interventions": grouped.size().reindex(index, fill_value=0).astype("int64"),
        "intervention_kinds": kinds.reindex(index).fillna(""),
        "supported_before_flag": pd.Series(index.isin(earlier), index=index),
    })
