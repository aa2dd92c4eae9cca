"""oracle_metrics: plain metric function on the truth table."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.synthetic import oracle_metrics


@pytest.fixture
def truth():
    return pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2024-09-30"] * 5 + ["2024-10-28"] * 5),
            "true_risk": [0.9, 0.1, 0.2, 0.8, 0.5, 0.3, 0.2, 0.9, 0.6, 0.1],
            "label": [1, 0, 0, 1, np.nan, 0, 1, 1, 0, 0],
        }
    )


def test_metrics_on_all_rows(truth):
    m = oracle_metrics(truth, k=(0.2,))
    assert m["n"] == 9 and m["n_positive"] == 4
    assert m["prevalence"] == pytest.approx(4 / 9)
    expected_brier = np.mean((truth["true_risk"] - truth["label"]).dropna() ** 2)
    assert m["brier"] == pytest.approx(expected_brier)
    assert m["precision_at_0.2"] == pytest.approx(1.0)  # top 2: 0.9 and 0.9


def test_as_of_filter(truth):
    m = oracle_metrics(truth, as_of="2024-09-30")
    assert m["n"] == 4 and m["roc_auc"] == 1.0
    m2 = oracle_metrics(truth, as_of=["2024-10-28"])
    assert m2["n"] == 5 and m2["roc_auc"] < 1.0


def test_no_rows_raises(truth):
    with pytest.raises(ValueError, match="No labelled truth rows"):
        oracle_metrics(truth, as_of="2030-01-01")
