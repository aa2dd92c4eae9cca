"""Side-by-side audits without and with background features."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dropoutrisk.fairness import BackgroundComparison, compare_background


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 1500
    X = pd.DataFrame({"attendance": rng.uniform(0.5, 1, n),
                      "newly_arrived": rng.choice([0, 1], n, p=[0.7, 0.3])})
    risk = 1.2 - X["attendance"] + 0.25 * X["newly_arrived"]
    y = pd.Series((rng.random(n) < risk.clip(0, 1)).astype(int))
    return X, y


def test_side_by_side_shows_what_background_changes(data):
    X, y = data
    m0 = LogisticRegression().fit(X[["attendance"]], y)
    m1 = LogisticRegression().fit(X, y)
    cmp = compare_background(m0, m1, X, y, groups=["newly_arrived"],
                             operating_point={"flag_rate": 0.3}, n_boot=100, random_state=0)
    assert isinstance(cmp, BackgroundComparison)
    perf = cmp.performance.set_index("measure")
    # With the background feature the model sees the risk it adds: AUC rises.
    assert perf.loc["roc_auc", "with"] > perf.loc["roc_auc", "without"]
    assert perf.loc["roc_auc", "change"] == pytest.approx(
        perf.loc["roc_auc", "with"] - perf.loc["roc_auc", "without"])
    d = cmp.disparities.set_index(["grouping", "group", "metric"])
    fr = d.loc[("newly_arrived", "1", "flag_rate")]
    # ... and flags newly arrived students more often than without it.
    assert fr["ratio_with"] > fr["ratio_without"]
    g = cmp.by_group
    assert {"flag_rate_without", "flag_rate_with", "flag_rate_change"} <= set(g.columns)
    doc = json.loads(cmp.to_json())
    assert doc["without"]["params"]["operating_point"] == "flag rate 0.3"
    assert len(doc["performance"]) == 8


def test_needs_both_models_or_training_data(data):
    X, y = data
    m0 = LogisticRegression().fit(X[["attendance"]], y)
    with pytest.raises(ValueError, match="Pass both"):
        compare_background(m0, None, X, y, groups=["newly_arrived"])
    with pytest.raises(ValueError, match="train_features"):
        compare_background(None, None, X, y, groups=["newly_arrived"])
