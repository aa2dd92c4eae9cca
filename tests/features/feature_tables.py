"""Shared helpers of the feature tests: hand-made tables with one hand-worked student, ``s1``.

School year 2024 starts Monday 2024-08-19; ``as_of`` is Monday 2024-11-04,
eleven school weeks later. ``s1`` has lessons every weekday (300 minutes).
Counting weeks forward over the last eight (x = 0..7) the full days absent
are 0, 0, 1, 1, 2, 2, 3, 3; the first three weeks are fully present. The
absences of the last two weeks are Wed-Fri then Mon-Wed: six school days in
a row. The last two weeks' absences are unexcused, the rest excused.
"""

import datetime as dt

import numpy as np
import pandas as pd

AS_OF = dt.date(2024, 11, 4)
YEAR_START = dt.date(2024, 8, 19)
ABSENT_DAYS_PER_WEEK = (0, 0, 1, 1, 2, 2, 3, 3)  # x = 0 (oldest) .. 7 (last week)


def _s1_attendance() -> pd.DataFrame:
    rows = []
    for week in range(11):  # school weeks 0..10 of the year
        monday = YEAR_START + dt.timedelta(weeks=week)
        x = week - 3  # week 3 of the year is x = 0 of the last eight
        n_absent = ABSENT_DAYS_PER_WEEK[x] if x >= 0 else 0
        # the second-to-last week puts its absences at the end (Wed-Fri)
        absent_days = range(5 - n_absent, 5) if x == 6 else range(n_absent)
        for d in range(5):
            day = monday + dt.timedelta(days=d)
            absent = d in absent_days
            rows.append({
                "student_id": "s1",
                "date": pd.Timestamp(day),
                "scheduled_minutes": 300.0,
                "absent_minutes": 300.0 if absent else 0.0,
                "excused": (x < 6) if absent else False,
                "late_minutes": 10.0 if day in (dt.date(2024, 9, 3), dt.date(2024, 9, 4)) else 0.0,
            })
    return pd.DataFrame(rows)


def hand_tables() -> dict[str, pd.DataFrame]:
    students = pd.DataFrame({
        "student_id": ["s1", "s2", "s3", "s4", "s5"],
        "cohort": [2024, 2023, 2025, 2023, 2022],
        "school_id": ["A", "A", "A", "B", "B"],
        "programme_type": ["national", "introductory", "national", "national", "national"],
        "gender": ["female", "male", "female", None, "other"],
        "newly_arrived": [True, False, False, None, False],
        "merit_value": [210.0, 150.0, 300.0, None, 180.0],
        "parental_education": ["compulsory", "unknown", "post_secondary", None, "upper_secondary"],
    })
    s1 = _s1_attendance()
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2024-08-19", "2024-11-01")
    s2 = pd.DataFrame({
        "student_id": "s2", "date": days, "scheduled_minutes": 240.0,
        "absent_minutes": rng.choice([0.0, 60.0, 240.0], len(days)),
        "excused": rng.random(len(days)) < 0.5, "late_minutes": rng.choice([0.0, 5.0], len(days)),
    })
    attendance = pd.concat([s1, s2], ignore_index=True)
    grades = pd.DataFrame({
        "student_id": ["s1"] * 5 + ["s2"],
        "date": pd.to_datetime(["2023-12-20", "2024-01-15", "2024-06-10", "2024-06-10",
                                "2024-06-10", "2024-06-10"]),
        "course": ["SVESVE01", "ENGENG05", "ENGENG05", "MATMAT01a", "HISHIS01a", "MATMAT01a"],
        "grade": ["A", "E", "C", "F", "-", "C"],
    })
    assessments = pd.DataFrame({
        "student_id": ["s1"] * 5 + ["s2"],
        "date": pd.to_datetime(["2024-09-10", "2024-10-01", "2024-10-01", "2024-10-01",
                                "2024-10-01", "2024-10-01"]),
        "item": ["cog_a", "cog_a", "cog_b", "soc_x", "beh_participation", "psy_y"],
        "value": [2.0, 4.0, 3.0, 5.0, 2.0, 4.0],
    })
    concerns = pd.DataFrame({
        "student_id": ["s1", "s1", "s2"],
        "date": pd.to_datetime(["2024-10-20", "2024-08-01", "2024-06-01"]),
        "category": ["absence", "wellbeing", "absence"],
    })
    outcomes = pd.DataFrame({
        "student_id": ["s4", "s5", "s2"],
        "event": ["dropout", "completed", "moved"],
        "date": pd.to_datetime(["2024-10-01", "2025-06-10", "2025-02-01"]),
    })
    return {"students": students, "attendance": attendance, "grades": grades,
            "assessments": assessments, "concerns": concerns, "activity": s1_activity(),
            "outcomes": outcomes}


def s1_activity() -> pd.DataFrame:
    """``s1``'s activity log (nobody else has any).

    10 clicks every Monday from the start (2024-08-19) to 2024-10-28, 3 + 2 on
    Friday 2024-11-01 (two rows, summed), a zero-count row on 2024-10-30 (not
    an active day), 5 clicks 14 days before the start, 100 clicks 49 days
    before it (outside the 4 weeks before the start) and 1000 on ``as_of``
    (too late).
    """
    mondays = pd.date_range("2024-08-19", "2024-10-28", freq="7D")
    dates = list(mondays) + pd.to_datetime(
        ["2024-11-01", "2024-11-01", "2024-10-30", "2024-08-05", "2024-07-01", "2024-11-04"]
    ).tolist()
    counts = [10.0] * len(mondays) + [3.0, 2.0, 0.0, 5.0, 100.0, 1000.0]
    return pd.DataFrame({"student_id": "s1", "date": dates, "kind": "vle_click",
                         "count": counts})


def assert_same_features(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-12) -> None:
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    for col in a.columns:
        x, y = a[col], b[col]
        assert x.dtype == y.dtype, col
        if x.dtype == "float64":
            assert x.isna().equals(y.isna()), col
            np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=0, atol=tol,
                                       equal_nan=True, err_msg=col)
        else:
            assert x.equals(y), col


def enrolled_at(tables, w):
    """The ``enrolment`` frame the engines get for ``tables`` at the windows ``w``."""
    from dropoutrisk.features._inputs import enrolment, prepare_outcomes, prepare_students, roster

    students = prepare_students(tables["students"])
    return enrolment(roster(students, prepare_outcomes(tables.get("outcomes")), w), w)
