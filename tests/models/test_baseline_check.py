"""RiskModel against its baselines on held-out training students: BaselineWarning."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import BaselineWarning
from dropoutrisk.models import RiskModel


def _ids(n):
    return pd.Index([f"s{i:05d}" for i in range(n)], name="student_id")


def linear_frame(n, seed=0, k=12):
    """A purely linear signal spread over many features: logistic regression's home ground."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"z{i}" for i in range(k)], index=_ids(n))
    logit = -1 + 0.6 * X.sum(axis=1)
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def wavy_frame(n, seed=0):
    """A risk that goes up and down in one feature and needs two others at once."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(0, 1, (n, 4)), columns=[f"x{i}" for i in range(4)],
                     index=_ids(n))
    logit = -1 + 2.5 * np.sin(6 * X["x0"]) + 2 * ((X["x1"] > 0.5) & (X["x2"] > 0.5))
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def _fit(X, y, fit_kw=None, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = RiskModel(random_state=0, n_jobs=1, **kw).fit(X, y, **(fit_kw or {}))
    return model, [w for w in caught if issubclass(w.category, BaselineWarning)]


def test_linear_signal_on_few_rows_warns_that_logistic_is_ahead():
    X, y = linear_frame(600)
    model, caught = _fit(X, y)
    assert model.baseline_comparison_["ahead"] == ["logistic"]
    assert "roc_auc" in model.baseline_comparison_["ahead_on"]["logistic"]
    d = model.baseline_comparison_["differences"]["logistic"]["roc_auc"]
    assert d["ci_high"] < 0 and d["ci_low"] <= d["difference"] <= d["ci_high"]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "logistic baseline" in message and "600 held-out students" in message
    assert f"roc_auc model - logistic {d['difference']:+.4f}" in message


def test_recall_at_the_operating_point_alone_is_enough_to_warn():
    from dropoutrisk.models._baseline_check import warn_if_beaten

    within = {"difference": -0.01, "ci_low": -0.03, "ci_high": 0.01}
    below = {"difference": -0.06, "ci_low": -0.10, "ci_high": -0.03}
    comparison = {"held_out_students": 900, "ahead": ["logistic"],
                  "ahead_on": {"logistic": ["recall_at_10pct"]},
                  "differences": {"logistic": {"roc_auc": within, "recall_at_10pct": below}}}
    with pytest.warns(BaselineWarning, match=r"recall_at_10pct model - logistic -0\.0600 "
                                             r"\[-0\.1000, -0\.0300\] \(95% intervals"):
        warn_if_beaten(comparison)


def test_no_warning_where_the_trees_win():
    X, y = wavy_frame(1000)
    model, caught = _fit(X, y)
    assert caught == []
    assert model.baseline_comparison_["ahead"] == [] and model.baseline_comparison_["ahead_on"] == {}
    assert model.baseline_comparison_["differences"]["logistic"]["roc_auc"]["ci_low"] > 0


def test_the_same_held_out_rows_as_the_calibration_set_path():
    X, y = linear_frame(600)
    half = np.arange(len(X)) < 450
    model, caught = _fit(X[half], y[half], {"X_calib": X[~half], "y_calib": y[~half]})
    comparison = model.baseline_comparison_
    assert comparison["held_out_rows"] == 450  # the five selection folds cover every row once
    assert len(caught) == len(comparison["ahead"])


def test_abc_rule_is_compared_when_its_columns_are_there(frame):
    X, y = frame
    model, _ = _fit(X, y, n_estimators=30, min_child_samples=10)
    comparison = model.baseline_comparison_
    assert set(comparison["differences"]) == {"logistic", "abc"}
    assert set(comparison["metrics"]) == {"model", "logistic", "abc"}
    assert comparison["held_out_students"] == X.index.nunique()
    assert comparison["held_out_rows"] == int(pd.Series(y).notna().sum())


def test_abc_rule_left_out_with_a_reason_without_its_columns():
    X, y = wavy_frame(300)
    model, _ = _fit(X, y)
    assert "abc" in model.baseline_comparison_["not_compared"]
    assert "attendance_rate" in model.baseline_comparison_["not_compared"]["abc"]


def test_comparison_holds_aggregates_only(frame):
    X, y = frame
    model, _ = _fit(X, y, n_estimators=30, min_child_samples=10)
    text = json.dumps(model.baseline_comparison_)
    assert not any(sid in text for sid in X.index.unique()[:50])


def test_baseline_check_off_records_none():
    X, y = linear_frame(300)
    model, caught = _fit(X, y, baseline_check=False)
    assert model.baseline_comparison_ is None and caught == []


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_switch_is_named(value):
    X, y = linear_frame(100)
    with pytest.raises(ValueError, match=r"baseline_check=.* is not supported"):
        RiskModel(baseline_check=value).fit(X, y)


def test_too_few_dropouts_for_the_folds_skips_the_check_with_a_reason():
    X, _ = linear_frame(200)
    y = np.zeros(len(X), dtype=int)
    y[0] = 1  # one dropout: the fold that holds it out trains on non-dropouts only
    model, caught = _fit(X, y)
    comparison = model.baseline_comparison_
    assert caught == [] and comparison["ahead"] == []
    assert "one class" in comparison["not_compared"]["logistic"]
