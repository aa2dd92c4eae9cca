"""Fixtures of the feature tests (helpers live in feature_tables.py)."""

import pytest

from .feature_tables import hand_tables


@pytest.fixture
def tables():
    return hand_tables()


@pytest.fixture(scope="session")
def synthetic_tables():
    from dropoutrisk.synthetic import make_cohorts

    tabs = make_cohorts(240, [2022, 2023], n_schools=4, random_state=11,
                        attendance_formats="canonical")
    return {k: tabs[k] for k in ("students", "attendance", "grades", "assessments",
                                 "concerns", "outcomes")}
