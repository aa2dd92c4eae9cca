"""Property tests: row order does not matter, and students do not affect each other."""

import datetime as dt
import functools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dropoutrisk.features import build_features

from .feature_tables import AS_OF, assert_same_features, hand_tables

BASE = hand_tables()


@functools.cache
def _expected() -> pd.DataFrame:
    return build_features(BASE, AS_OF, engine="pandas")


def _shuffle(tables, seed):
    rng = np.random.default_rng(seed)
    return {name: t.iloc[rng.permutation(len(t))] for name, t in tables.items()}


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffling_rows_changes_nothing(seed):
    expected = _expected()
    got = build_features(_shuffle(BASE, seed), AS_OF, engine="pandas")
    pd.testing.assert_frame_equal(got, expected)


_other_rows = st.lists(
    st.tuples(
        st.integers(0, 120),  # days before as_of
        st.floats(0, 480),  # scheduled minutes
        st.floats(0, 1),  # absent share
        st.booleans(),
        st.sampled_from(["F", "A", "-", "C"]),
        st.floats(1, 5),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=8, deadline=None)
@given(rows=_other_rows)
def test_a_students_features_ignore_other_students(rows):
    """Adding arbitrary events for a new student leaves everyone else's row unchanged."""
    expected = _expected()
    tabs = {k: v.copy() for k, v in BASE.items()}
    new = pd.DataFrame({"student_id": ["zz"], "cohort": [2024], "school_id": ["A"]})
    tabs["students"] = pd.concat([tabs["students"], new], ignore_index=True)
    dates = [pd.Timestamp(AS_OF - dt.timedelta(days=r[0] + 1)) for r in rows]
    att = pd.DataFrame({
        "student_id": "zz", "date": dates,
        "scheduled_minutes": [r[1] for r in rows],
        "absent_minutes": [r[1] * r[2] for r in rows],
        "excused": [r[3] for r in rows], "late_minutes": 0.0,
    }).drop_duplicates(["student_id", "date"])
    grades = pd.DataFrame({"student_id": "zz", "date": dates, "course": "MATMAT01a",
                           "grade": [r[4] for r in rows]}).drop_duplicates(["date"])
    assess = pd.DataFrame({"student_id": "zz", "date": dates, "item": "cog_a",
                           "value": [r[5] for r in rows]}).drop_duplicates(["date"])
    tabs["attendance"] = pd.concat([tabs["attendance"], att], ignore_index=True)
    tabs["grades"] = pd.concat([tabs["grades"], grades], ignore_index=True)
    tabs["assessments"] = pd.concat([tabs["assessments"], assess], ignore_index=True)
    got = build_features(tabs, AS_OF, engine="pandas")
    assert "zz" in got.index
    pd.testing.assert_frame_equal(got.drop(index="zz"), expected)


@settings(max_examples=5, deadline=None)
@given(keep=st.sets(st.sampled_from(["s1", "s2", "s5"]), min_size=1))
def test_removing_other_students_keeps_each_row(keep):
    expected = _expected()
    sub = {k: v.loc[v["student_id"].isin(keep)] for k, v in BASE.items()}
    got = build_features(sub, AS_OF, engine="pandas")
    pd.testing.assert_frame_equal(got, expected.loc[sorted(keep)])


_lessons = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 100),  # days before as_of
        st.sampled_from([0.0, 45.0, 60.0, 300.0]),  # scheduled minutes
        st.sampled_from([0.0, 0.5, 1.0]),  # absent share
        st.sampled_from([True, False, None]),
        st.sampled_from([0.0, 5.0, None]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=8, deadline=None)
@given(rows=_lessons)
def test_engines_agree_on_random_lesson_logs(rows):
    """Lesson rows with missing flags, unscheduled rows and holidays: both engines agree."""
    att = pd.DataFrame({
        "student_id": [r[0] for r in rows],
        "date": [pd.Timestamp(AS_OF - dt.timedelta(days=r[1] + 1)) for r in rows],
        "lesson": [f"L{i}" for i in range(len(rows))],
        "scheduled_minutes": [r[2] for r in rows],
        "absent_minutes": [r[2] * r[3] for r in rows],
        "excused": pd.array([r[4] for r in rows], dtype="boolean"),
        "late_minutes": [np.nan if r[5] is None else min(r[5], r[2]) for r in rows],
    })
    students = pd.DataFrame({"student_id": ["a", "b", "c"], "cohort": 2024, "school_id": "A"})
    tabs = {"students": students, "attendance": att}
    assert_same_features(build_features(tabs, AS_OF, engine="pandas"),
                         build_features(tabs, AS_OF, engine="duckdb"))
