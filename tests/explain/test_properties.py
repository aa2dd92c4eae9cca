"""Properties: row order and count are kept; a student's attribution ignores other students."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dropoutrisk.explain import explain_students


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_order_count_and_independence(platt_model, frame, explained, data):
    X, _ = frame
    n = data.draw(st.integers(1, 25))
    pos = data.draw(st.lists(st.integers(0, len(X) - 1), min_size=n, max_size=n, unique=True))
    ids = X.index[pos]
    # explain only these students, with only these rows (and every row for the references)
    sub = explain_students(platt_model, X.iloc[pos], reference_frame=X)
    assert sub.probability.index.tolist() == ids.tolist()
    assert len(sub.contributions) == n
    pd.testing.assert_frame_equal(sub.contributions, explained.contributions.iloc[pos],
                                  atol=1e-12, rtol=0)
    np.testing.assert_allclose(sub.probability, explained.probability.iloc[pos], atol=1e-12)
    # with the same references, reasons come from the student's own contributions alone
    full = explained.reasons[explained.reasons["student_id"].isin(ids)]
    assert (sub.reasons.groupby("student_id")["feature"].apply(list).to_dict()
            == full.groupby("student_id")["feature"].apply(list).to_dict())
