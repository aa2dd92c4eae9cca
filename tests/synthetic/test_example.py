"""make_features: the ready-made feature table of the examples."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.synthetic import make_features


def test_same_seed_same_table_other_seed_other_table():
    X1, y1 = make_features(500, random_state=3)
    X2, y2 = make_features(500, random_state=3)
    X3, _ = make_features(500, random_state=4)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    assert not X1["attendance_rate_4w"].equals(X3["attendance_rate_4w"])


def test_shape_index_and_schools():
    X, y = make_features(7, n_schools=3)
    assert X.index.name == "student_id" and X.index.tolist()[:2] == ["id0", "id1"]
    assert X["school_id"].tolist() == ["s1", "s2", "s3", "s1", "s2", "s3", "s1"]
    assert y.index.equals(X.index) and y.name == "dropout"
    assert set(np.unique(y)) <= {0, 1}
    assert X["attendance_rate_4w"].between(0.4, 1.0).all()


def test_risk_steps_down_at_80_percent_attendance():
    X, y = make_features(20_000, random_state=0)
    low = X["attendance_rate_4w"] < 0.8
    # log-odds -3.0 + 3.2 below 80%: about 0.55 against 0.05 (plus failed courses)
    assert y[low].mean() > 0.45 and y[~low].mean() < 0.10
    failed = X["failed_courses"] >= 2
    assert y[~low & failed].mean() > y[~low & ~failed].mean() + 0.05


@pytest.mark.parametrize("kwargs, name", [
    ({"n_students": 0}, "n_students"),
    ({"n_students": 2.5}, "n_students"),
    ({"n_students": True}, "n_students"),
    ({"n_students": 5, "n_schools": 6}, "n_schools"),
    ({"n_students": 5, "n_schools": 0}, "n_schools"),
])
def test_bad_sizes_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name) as err:
        make_features(**kwargs)
    assert err.value.exit_code == 2
