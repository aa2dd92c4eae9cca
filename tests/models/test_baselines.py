"""ABCRule and LogisticBaseline: same interface as RiskModel."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from dropoutrisk.errors import MissingColumnError
from dropoutrisk.models import ABCRule, LogisticBaseline


@parametrize_with_checks([LogisticBaseline()])
def test_logistic_sklearn_contract(estimator, check):
    check(estimator)


def test_abc_counts_indicators_with_documented_defaults():
    X = pd.DataFrame({"attendance_rate": [0.95, 0.90, 0.80, 0.79, np.nan],
                      "failed_core_course": [0.0, 0.0, 1.0, 0.0, 1.0],
                      "concerns_90d": [0.0, 1.0, 0.0, 0.0, np.nan]})
    rule = ABCRule().fit(X, [0, 0, 1, 1, 0])
    # 0.90 and 0.80 are inclusive lines ("attendance <= 80%"); NaN raises nothing
    assert rule.indicator_counts(X).tolist() == [0, 2, 3, 2, 1]


def test_abc_ranks_by_count_then_absence():
    X = pd.DataFrame({"attendance_rate": [0.85, 0.60, 0.99, 0.70],
                      "failed_core_course": [1.0, 0.0, 1.0, 0.0],
                      "concerns_90d": [1.0, 0.0, 0.0, 0.0]})
    rule = ABCRule().fit(X, [1, 1, 0, 0])
    # counts: 3, 2, 1, 2 -> the two 2s are ordered by absence (0.40 before 0.30)
    order = np.argsort(-rule.decision_function(X), kind="stable")
    assert order.tolist() == [0, 1, 3, 2]
    assert rule.flag(X, capacity=2).tolist() == [True, True, False, False]


def test_abc_probability_is_the_training_rate_per_count(frame):
    X, y = frame
    rule = ABCRule().fit(X, y)
    counts = rule.indicator_counts(X)
    observed = y.groupby(counts.to_numpy()).agg(["sum", "count"])
    overall = y.mean()
    for count, row in observed.iterrows():
        expected = (row["sum"] + overall) / (row["count"] + 1)
        assert rule.rates_[count] == pytest.approx(expected)
    p = rule.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, rule.rates_[counts.to_numpy()])


def test_abc_thresholds_are_configurable_and_checked():
    X = pd.DataFrame({"attendance_rate": [0.93], "failed_core_course": [0.0],
                      "concerns_90d": [0.0]})
    assert ABCRule(attendance_threshold=0.95).fit(
        pd.concat([X, X]), [0, 1]).indicator_counts(X).tolist() == [1]
    with pytest.raises(ValueError, match="severe_attendance_threshold=0.9 must be <="):
        ABCRule(attendance_threshold=0.8, severe_attendance_threshold=0.9).fit(
            pd.concat([X, X]), [0, 1])


def test_abc_names_a_missing_column():
    X = pd.DataFrame({"attendance_rate": [0.9, 0.8]})
    with pytest.raises(MissingColumnError, match="failed_core_course"):
        ABCRule().fit(X, [0, 1])


def test_logistic_uses_the_model_features_with_imputation(frame):
    X, y = frame
    lr = LogisticBaseline().fit(X, y)
    assert "as_of" not in lr.feature_names_in_ and "programme_type" in lr.feature_names_in_
    X2 = X.head(20).copy()
    X2["attendance_rate"] = np.nan
    X2["programme_type"] = pd.Categorical(["unseen"] * 20)
    p = lr.predict_proba(X2)[:, 1]
    assert np.isfinite(p).all()
    assert lr.flag(X, capacity=10).sum() == 10
    assert lr.tier(X).index.equals(X.index)
