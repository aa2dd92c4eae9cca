"""Property tests: invariants that hold for any size, cohorts and seed."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dropoutrisk.synthetic import make_cohorts


@settings(max_examples=6, deadline=None)
@given(
    n=st.integers(1, 40),
    first=st.integers(2015, 2030),
    n_cohorts=st.integers(1, 2),
    seed=st.integers(0, 2**32),
)
def test_invariants(n, first, n_cohorts, seed):
    c = make_cohorts(n, range(first, first + n_cohorts), n_schools=4, random_state=seed)
    s, o, t = c["students"], c["outcomes"], c["truth"]
    assert len(s) == n and s["student_id"].is_unique
    assert (s.merge(o, on="student_id", validate="one_to_one").shape[0]) == n
    left = pd.Series(o["date"].to_numpy(), index=o["student_id"])
    for name, col in (
        ("attendance", "date"),
        ("attendance_daily", "date"),
        ("attendance_weekly", "week_start"),
    ):
        df = c[name]
        assert (df[col] <= df["student_id"].map(left)).all(), name
    # truth: enrolled at as_of, risk a probability, label consistent with outcomes
    assert (t["as_of"] <= t["student_id"].map(left)).all()
    assert t["true_risk"].between(0, 1).all()
    dropout = t["student_id"].map(o.set_index("student_id")["event"]) == "dropout"
    in_window = t["student_id"].map(left) < t["as_of"] + pd.Timedelta(days=365)
    np.testing.assert_array_equal(t["label"].eq(1).to_numpy(), (dropout & in_window).to_numpy())
