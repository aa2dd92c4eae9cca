"""Runs of fully absent school days: lessons, holidays and long breaks."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import build_features, default_catalogue

AS_OF = "2024-11-04"


def _rows(student, spec):
    """spec: list of (date, [(scheduled, absent), ...]) -> attendance rows."""
    out = []
    for day, lessons in spec:
        for i, (sched, absent) in enumerate(lessons):
            out.append({"student_id": student, "date": pd.Timestamp(day), "lesson": f"L{i}",
                        "scheduled_minutes": float(sched), "absent_minutes": float(absent)})
    return out


@pytest.fixture
def streak_tables():
    full, half, present = [(60, 60), (60, 60)], [(60, 60), (60, 0)], [(60, 0), (60, 0)]
    rows = []
    # Wed absent, Thu no lessons (holiday), Fri absent, Mon absent, Tue attended: 3 days
    rows += _rows("holiday", [("2024-09-04", full), ("2024-09-06", full), ("2024-09-09", full),
                              ("2024-09-10", present)])
    # a day with one attended lesson is not an absent day: runs of 1
    rows += _rows("lesson", [("2024-09-02", full), ("2024-09-03", half), ("2024-09-04", full)])
    # more than 21 days without any lessons ends a run: 1 then 2
    rows += _rows("gap", [("2024-09-11", full), ("2024-10-07", full), ("2024-10-08", full)])
    rows += _rows("present", [("2024-09-02", present), ("2024-09-03", present)])
    rows += _rows("unscheduled", [("2024-09-02", [(0, 0)])])
    ids = ["gap", "holiday", "lesson", "present", "unscheduled"]
    students = pd.DataFrame({"student_id": ids, "cohort": 2024, "school_id": "A"})
    return {"students": students, "attendance": pd.DataFrame(rows)}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_longest_absence_streak_rules(streak_tables, engine):
    cat = default_catalogue().subset(["longest_absence_streak_days", "attendance_rate"])
    X = build_features(streak_tables, AS_OF, catalogue=cat, engine=engine)
    streak = X["longest_absence_streak_days"]
    assert streak[["gap", "holiday", "lesson", "present"]].tolist() == [2.0, 3.0, 1.0, 0.0]
    assert np.isnan(streak["unscheduled"]) and np.isnan(X.loc["unscheduled", "attendance_rate"])
    assert X.loc["lesson", "attendance_rate"] == pytest.approx(1 - 300 / 360)
