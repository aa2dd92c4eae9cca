"""train_model(supported=...) and evaluate(interventions=...): students whose outcome the school changed."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError, SupportedOutcomeWarning
from dropoutrisk.models import evaluate, train_model
from dropoutrisk.models._supported import supported_rows
from dropoutrisk.schema import validate_tables
from dropoutrisk.synthetic import SupportPlan, make_cohorts

TRAIN = {"cohorts": [2021], "calib_cohort": 2022, "weeks": [6, 20],
         "model_params": {"n_estimators": 20}}


@pytest.fixture(scope="module")
def tables():
    c = make_cohorts(900, [2021, 2022], n_schools=3, random_state=4,
                     attendance_formats="canonical",
                     support=SupportPlan(capacity=0.2, hazard_ratio=0.5))
    return validate_tables({k: c[k] for k in c if k not in ("truth", "support_truth")})


def test_keep_warns_and_records_the_supported_rows(tables, tmp_path):
    with pytest.warns(SupportedOutcomeWarning, match="supported='exclude'"):
        result = train_model(tables, tmp_path / "m", **TRAIN)
    record = result.params["supported"]
    assert record["handling"] == "keep" and record["interventions_table"]
    assert record["training_rows_supported"] > 0 and record["training_rows_left_out"] == 0
    manifest = json.loads((result.bundle.path / "manifest.json").read_text())
    assert manifest["params"]["supported"] == record


def test_exclude_leaves_the_supported_rows_out(tables, tmp_path):
    keep = train_model(tables, tmp_path / "keep", **TRAIN).params
    with warnings.catch_warnings():
        warnings.simplefilter("error", SupportedOutcomeWarning)
        result = train_model(tables, tmp_path / "m", supported="exclude", **TRAIN)
    record = result.params["supported"]
    assert record["training_rows_left_out"] == record["training_rows_supported"] > 0
    assert record["calibration_rows_left_out"] == record["calibration_rows_supported"] > 0
    assert result.params["n_rows"] == keep["n_rows"] - record["training_rows_left_out"]
    assert result.evaluation.settings["n_supported"] == 0


def test_without_interventions_nothing_changes(tables, tmp_path):
    plain = {k: v for k, v in tables.items() if k != "interventions"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SupportedOutcomeWarning)
        result = train_model(plain, tmp_path / "m", supported="exclude", **TRAIN)
    assert result.params["supported"]["training_rows_supported"] == 0
    assert not result.params["supported"]["interventions_table"]


def test_a_bad_handling_is_a_parameter_error(tables, tmp_path):
    with pytest.raises(ParameterError, match="supported.*'exclude'"):
        train_model(tables, tmp_path / "m", supported="weight", **TRAIN)


def test_evaluate_reports_with_and_without_support(tables, tmp_path):
    with pytest.warns(SupportedOutcomeWarning):
        result = train_model(tables, tmp_path / "m", **TRAIN)
    ev = result.evaluation
    by = ev.by_support
    assert set(by.index.get_level_values("support")) == {"with", "without"}
    n_with = by.loc[("with", "model"), "n"]
    assert n_with == ev.settings["n_supported"] > 0
    assert n_with + by.loc[("without", "model"), "n"] == ev.metrics.loc["model", "n"]
    assert "by_support" in ev.to_dict()
    # the subsets are evaluated like the whole: the same metric from the same scores
    assert 0 <= by.loc[("without", "model"), "roc_auc"] <= 1


def test_evaluate_by_support_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    n = 400
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)
    day = pd.Timestamp("2024-10-01")
    y = rng.random(n) < 0.2
    p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.15, n), 0.01, 0.99)
    iv = pd.DataFrame({"student_id": ids[:100], "date": day + pd.Timedelta(days=30),
                       "kind": "mentor_talk"})
    ev = evaluate(y.astype(int), {"m": p}, as_of=np.full(n, day), student_ids=ids,
                  interventions=iv)
    from sklearn.metrics import roc_auc_score
    assert ev.by_support.loc[("with", "m"), "roc_auc"] == pytest.approx(
        roc_auc_score(y[:100], p[:100]))
    assert ev.by_support.loc[("without", "m"), "brier"] == pytest.approx(
        np.mean((p[100:] - y[100:]) ** 2))


def test_supported_rows_uses_the_end_of_the_label_window():
    iv = pd.DataFrame({"student_id": ["a", "b"], "date": pd.to_datetime(["2024-12-01",
                                                                          "2023-01-01"]),
                       "kind": ["x", "y"]})
    ids = ["a", "a", "b", "c"]
    as_of = pd.to_datetime(["2024-10-01", "2024-10-01", "2022-12-01", "2024-10-01"])
    assert supported_rows(iv, ids, as_of, 30).tolist() == [False, False, False, False]
    assert supported_rows(iv, ids, as_of, 90).tolist() == [True, True, True, False]
