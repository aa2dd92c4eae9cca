"""Generated once per test module: small cohorts with every table, and a larger student-level set."""

import pytest

from dropoutrisk.synthetic import make_cohorts


@pytest.fixture(scope="session")
def cohorts():
    """3,000 students over four cohorts with all event tables (mixed attendance formats)."""
    return make_cohorts(3000, range(2020, 2024), n_schools=12, random_state=7)


@pytest.fixture(scope="session")
def outcome_cohorts():
    """16,000 students; only the student-level tables and grades are built (event tables are lazy)."""
    return make_cohorts(16_000, range(2019, 2023), random_state=11)
