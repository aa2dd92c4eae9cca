"""Small hand-made canonical tables, their features at one as_of and a fitted model.

Two schools of 70 students; every student has one row per school day from the
start of the 2023 school year (2023-08-21) to two weeks past ``as_of``, so the
tests can check that nothing on or after ``as_of`` reaches a report.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

AS_OF = "2023-10-30"


def make_tables(n_per_school: int = 70, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 2 * n_per_school
    ids = [f"R{i:05d}" for i in range(n)]
    students = pd.DataFrame({
        "student_id": ids,
        "cohort": 2023,
        "school_id": ["SCHA"] * n_per_school + ["SCHB"] * n_per_school,
        "programme_type": rng.choice(["national", "introductory"], n, p=[0.85, 0.15]),
        "gender": rng.choice(["female", "male"], n),
        "merit_value": rng.uniform(120, 320, n).round(1),
    })
    days = pd.bdate_range("2023-08-21", "2023-11-10")
    engagement = rng.beta(6, 1.5, n)  # each student's usual attendance
    drift = rng.normal(0, 0.004, n)  # some slide week by week
    week = ((days - days[0]).days // 7).to_numpy()
    p_absent = np.clip(1 - engagement[:, None] - drift[:, None] * week[None, :], 0.0, 1.0)
    absent = rng.random((n, len(days))) < p_absent
    attendance = pd.DataFrame({
        "student_id": np.repeat(ids, len(days)),
        "date": np.tile(days.to_numpy(), n),
        "scheduled_minutes": 300.0,
        "absent_minutes": np.where(absent.ravel(), 300.0, 0.0),
        "excused": rng.random(n * len(days)) < 0.5,
        "late_minutes": np.where(rng.random(n * len(days)) < 0.05, 10.0, 0.0),
    })
    courses = ["SVESVE01", "ENGENG05", "MATMAT01a", "HISHIS1a"]
    grades = pd.DataFrame({
        "student_id": np.repeat(ids, len(courses)),
        "date": pd.Timestamp("2023-10-13"),
        "course": courses * n,
        "grade": rng.choice(list("ABCDEF"), n * len(courses), p=[.1, .15, .25, .2, .2, .1]),
    })
    return {"students": students, "attendance": attendance, "grades": grades}


@pytest.fixture(scope="session")
def synth():
    from dropoutrisk.features import build_features
    from dropoutrisk.models import RiskModel

    tables = make_tables()
    X = build_features(tables, AS_OF)
    rng = np.random.default_rng(0)
    logit = (-1.0 + 8.0 * (0.85 - X["attendance_rate"].fillna(0.85))
             + 0.8 * X["failed_courses"].fillna(0))
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RiskModel(n_estimators=30, num_leaves=7, min_child_samples=10, random_state=0,
                          n_jobs=1).fit(X, y)
    return {"tables": tables, "X": X, "y": y, "model": model, "as_of": AS_OF}


@pytest.fixture(scope="session")
def explained_synth(synth):
    from dropoutrisk.explain import explain_students

    return explain_students(synth["model"], synth["X"], lang="sv")


@pytest.fixture(scope="session")
def flagged_id(explained_synth):
    """The highest-risk student with both risk-raising and protective reasons."""
    r = explained_synth.reasons
    p = explained_synth.protective
    both = sorted(set(r["student_id"]) & set(p["student_id"]))
    proba = explained_synth.probability[both]
    return str(proba.idxmax())
