"""Start dates: January starters and presentations that begin in February or October."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import build_features, build_training_frame
from dropoutrisk.schema import snapshot_dates

from .feature_tables import assert_same_features


def _daily_attendance(student: str, first: str, last: str, absent_from: str | None = None):
    days = pd.bdate_range(first, last)
    absent = np.zeros(len(days)) if absent_from is None else (days >= absent_from) * 300.0
    return pd.DataFrame({"student_id": student, "date": days, "scheduled_minutes": 300.0,
                         "absent_minutes": absent})


@pytest.fixture
def january():
    """``jan`` starts an introductory programme on 2025-01-13 (cohort 2024); ``aug`` in August.

    Both were at school in the autumn, ``jan`` elsewhere and always absent there, so an
    attendance rate counted from August would be far lower than one counted from January.
    """
    students = pd.DataFrame({
        "student_id": ["aug", "jan"], "cohort": [2024, 2024], "school_id": ["A", "A"],
        "programme_type": ["national", "introductory"],
        "start_date": [None, "2025-01-13"],
    })
    attendance = pd.concat([
        _daily_attendance("aug", "2024-08-19", "2025-03-28"),
        _daily_attendance("jan", "2024-11-04", "2025-01-10", absent_from="2024-11-04"),
        # present in the first two weeks, then absent on Fridays
        _daily_attendance("jan", "2025-01-13", "2025-03-28"),
    ], ignore_index=True)
    fridays = (attendance["student_id"] == "jan") & (attendance["date"] >= "2025-01-27") & (
        attendance["date"].dt.dayofweek == 4)
    attendance.loc[fridays, "absent_minutes"] = 300.0
    outcomes = pd.DataFrame({"student_id": ["jan"], "event": ["dropout"],
                             "date": pd.to_datetime(["2025-05-02"])})
    return {"students": students, "attendance": attendance, "outcomes": outcomes}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_january_starter_counts_from_january(january, engine):
    before = build_features(january, "2025-01-12", engine=engine)
    assert list(before.index) == ["aug"]  # not enrolled before the start day
    assert list(build_features(january, "2025-01-13", engine=engine).index) == ["aug", "jan"]
    X = build_features(january, "2025-03-03", engine=engine)
    jan = X.loc["jan"]
    # 35 school days from 2025-01-13 to 2025-02-28; absent on the 5 Fridays from 01-31
    assert jan["attendance_rate"] == pytest.approx(1 - 5 / 35, abs=1e-12)
    # the baseline is 2025-01-13 .. 01-26 (all present); the last 4 weeks miss 4 Fridays
    assert jan["attendance_change_baseline"] == pytest.approx((1 - 4 / 20) - 1.0, abs=1e-12)
    assert jan["grade_year"] == 1.0
    assert X.loc["aug", "attendance_rate"] == 1.0
    # before week 6 of the student's own start the baseline change is not defined yet
    early = build_features(january, "2025-02-10", engine=engine)
    assert np.isnan(early.loc["jan", "attendance_change_baseline"])
    assert early.loc["aug", "attendance_change_baseline"] == 0.0


def test_january_starter_engines_agree(january):
    for as_of in ("2025-02-10", "2025-03-03", "2025-03-31"):
        assert_same_features(build_features(january, as_of, engine="pandas"),
                             build_features(january, as_of, engine="duckdb"), tol=0.0)


def test_year_of_study_counts_from_the_start(january):
    # next school year: the January starter is in year 2, like the August starter
    del january["outcomes"]
    X = build_features(january, "2025-10-06")
    assert X["grade_year"].tolist() == [2.0, 2.0]


@pytest.fixture
def presentations():
    """Two course presentations, as in the Open University data: February and October 2013."""
    students = pd.DataFrame({
        "student_id": ["b1", "b2", "j1", "j2"], "cohort": [2013] * 4, "school_id": ["M"] * 4,
        "start_date": ["2013-02-01", "2013-02-01", "2013-10-01", "2013-10-01"],
    })
    rows = []
    for sid, start, every in (("b1", "2013-02-01", 1), ("b2", "2013-02-01", 3),
                              ("j1", "2013-10-01", 1), ("j2", "2013-10-01", 2)):
        first = pd.Timestamp(start) - pd.Timedelta(days=10)
        for k in range(0, 120, every):
            rows.append({"student_id": sid, "date": first + pd.Timedelta(days=k),
                         "kind": "vle", "count": 2.0})
    activity = pd.DataFrame(rows)
    outcomes = pd.DataFrame({
        "student_id": ["b2", "j2", "b1", "j1"],
        "event": ["dropout", "dropout", "completed", "completed"],
        "date": pd.to_datetime(["2013-03-10", "2013-10-20", "2013-06-28", "2014-06-20"]),
    })
    return {"students": students, "activity": activity, "outcomes": outcomes}


def test_snapshots_in_days_after_each_start(presentations):
    snaps = snapshot_dates([2013], days=(14, 30), students=presentations["students"])
    got = {(r.student_id, r.as_of.date().isoformat()) for r in snaps.itertuples()}
    assert got == {("b1", "2013-02-15"), ("b2", "2013-02-15"), ("b1", "2013-03-03"),
                   ("b2", "2013-03-03"), ("j1", "2013-10-15"), ("j2", "2013-10-15"),
                   ("j1", "2013-10-31"), ("j2", "2013-10-31")}
    with pytest.raises(ValueError, match="students="):
        snapshot_dates([2013], days=(14,))
    with pytest.raises(ValueError, match="not both"):
        snapshot_dates([2013], weeks=(6,), days=(14,), students=presentations["students"])


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_presentations_get_features_and_labels_at_their_own_dates(presentations, engine):
    snaps = snapshot_dates([2013], days=(14, 30), students=presentations["students"])
    X, y = build_training_frame(presentations, snaps, horizon_days=365, engine=engine)
    key = list(zip(X.index, X["as_of"].dt.strftime("%Y-%m-%d"), strict=True))
    # j2 left on 2013-10-20, before its day-30 snapshot: it is no longer enrolled then
    assert key == [("b1", "2013-02-15"), ("b2", "2013-02-15"), ("b1", "2013-03-03"),
                   ("b2", "2013-03-03"), ("j1", "2013-10-15"), ("j2", "2013-10-15"),
                   ("j1", "2013-10-31")]
    assert y.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    counts = dict(zip(key, X["activity_count"], strict=True))
    # daily clicks from the start: 14 days -> 28 clicks; every third day -> 4 days x 2
    assert counts[("b1", "2013-02-15")] == 28.0
    assert counts[("b2", "2013-02-15")] == 8.0  # 02-03, 02-06, 02-09, 02-12
    assert counts[("j1", "2013-10-31")] == 60.0
    before = dict(zip(key, X["activity_before_start"], strict=True))
    assert before[("b1", "2013-02-15")] == 20.0 and before[("j2", "2013-10-15")] == 10.0
    # the October presentation starts after the school-year start: days since the start count
    # from October, not August
    assert X.loc[X["as_of"] == pd.Timestamp("2013-10-15"), "days_since_activity"].max() <= 2.0


def test_a_frame_of_snapshots_is_checked(presentations):
    with pytest.raises(ValueError, match="student_id and as_of"):
        build_training_frame(presentations, pd.DataFrame({"as_of": [dt.date(2013, 3, 1)]}))
