"""backtest(): rolling origins, ageing under a planted concept drift, and none without one."""

import json

import numpy as np
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.features import default_catalogue
from dropoutrisk.models import Backtest, RiskModel, backtest, evaluate
from dropoutrisk.models._train import cohort_frame
from dropoutrisk.schema import validate_tables
from dropoutrisk.synthetic import make_cohorts, plant_concept_drift

COHORTS = list(range(2019, 2024))
FAST = {"baseline_check": False}
pytestmark = pytest.mark.filterwarnings("ignore::dropoutrisk.errors.OptionalDataWarning")


@pytest.fixture(scope="module")
def synthetic():
    return make_cohorts(4000, COHORTS, n_schools=4, random_state=0)


@pytest.fixture(scope="module")
def drifted(synthetic):
    return validate_tables(plant_concept_drift(synthetic, from_cohort=2021, step=0.5))


@pytest.fixture(scope="module")
def steady(synthetic):
    return validate_tables({k: v for k, v in synthetic.items() if k != "truth"})


@pytest.fixture(scope="module")
def aged(drifted):
    return backtest(drifted, cohorts=COHORTS, weeks=[10], min_train_cohorts=2, n_boot=200,
                    model_params=FAST)


def test_origins_tests_and_ages_roll_forward(aged):
    assert aged.origins["origin"].tolist() == [2020, 2021, 2022]
    assert aged.origins["train_cohorts"].tolist() == [[2019, 2020], [2019, 2020, 2021],
                                                     [2019, 2020, 2021, 2022]]
    auc = aged.scores[aged.scores["metric"] == "roc_auc"]
    pairs = sorted(zip(auc["origin"], auc["test_cohort"], auc["age"], strict=True))
    assert pairs == [(2020, 2021, 1), (2020, 2022, 2), (2020, 2023, 3), (2021, 2022, 1),
                     (2021, 2023, 2), (2022, 2023, 1)]
    assert (auc["ci_low"] <= auc["estimate"]).all() and (auc["estimate"] <= auc["ci_high"]).all()
    assert set(aged.scores["metric"]) == {"roc_auc", "pr_auc", "brier", "recall_at_10pct"}


def test_a_planted_concept_drift_makes_older_models_worse_beyond_noise(aged):
    decay = aged.decay[aged.decay["metric"] == "roc_auc"].set_index(["test_cohort", "origin"])
    assert (decay["ci_high"] < 0).all()  # every older model is worse than the freshest one
    assert decay.loc[(2023, 2020), "difference"] < decay.loc[(2023, 2021), "difference"]
    by_age = aged.by_age("roc_auc").set_index("age")
    assert by_age.loc[3, "mean_difference"] < by_age.loc[2, "mean_difference"] < 0
    assert by_age["n_pairs"].tolist() == [3, 2, 1]


def test_without_drift_the_age_effect_is_within_noise(steady):
    bt = backtest(steady, cohorts=COHORTS, weeks=[10], min_train_cohorts=2, n_boot=200,
                  model_params=FAST, metrics=["roc_auc"])
    decay = bt.decay
    assert ((decay["ci_low"] < 0) & (decay["ci_high"] > 0)).all()
    assert decay["difference"].abs().max() < 0.06


def test_a_score_is_what_train_and_evaluate_give_for_that_origin_and_cohort(drifted, aged):
    cat = default_catalogue()
    X, y = cohort_frame(drifted, [2019, 2020, 2021], [10], horizon_days=365, catalogue=cat,
                        what="training")
    X_test, y_test = cohort_frame(drifted, [2023], [10], horizon_days=365, catalogue=cat,
                                  what="test")
    model = RiskModel(random_state=0, catalogue=cat, **FAST).fit(X, y)
    direct = evaluate(y_test, models={"model": model}, X=X_test).metrics.loc["model"]
    s = aged.scores.set_index(["origin", "test_cohort", "metric"])
    assert s.loc[(2021, 2023, "roc_auc"), "estimate"] == pytest.approx(direct["roc_auc"])
    assert s.loc[(2021, 2023, "brier"), "estimate"] == pytest.approx(direct["brier"])
    assert s.loc[(2021, 2023, "roc_auc"), "n_rows"] == len(X_test)


def test_window_and_max_age_limit_the_training_cohorts_and_the_tests(drifted):
    bt = backtest(drifted, cohorts=COHORTS[:4], weeks=[10], window=1, max_age=1, n_boot=0,
                  model_params={**FAST, "n_estimators": 20}, metrics=["roc_auc"])
    assert bt.origins["train_cohorts"].tolist() == [[2019], [2020], [2021]]
    assert set(bt.scores["age"]) == {1}
    assert bt.decay.empty  # one model per test cohort: nothing to compare with
    assert bt.scores["ci_low"].isna().all()  # n_boot=0
    assert bt.settings["training"] == "sliding, 1 cohorts"


def test_result_is_immutable_has_tables_plots_and_no_student_id(aged, drifted, tmp_path):
    assert isinstance(aged, Backtest)
    with pytest.raises(AttributeError, match="immutable"):
        aged.settings = {}
    copy = aged.scores
    copy.loc[0, "estimate"] = -1.0
    assert aged.scores.loc[0, "estimate"] != -1.0
    table = aged.table("roc_auc")
    assert table.loc[2020, 2023].startswith("0.") and "[" in table.loc[2020, 2023]
    assert table.loc[2022, 2021] == ""
    text = aged.to_json()
    json.loads(text)
    ids = drifted["students"]["student_id"]
    assert not any(sid in text for sid in ids.iloc[::50])
    aged.plot("roc_auc").figure.savefig(tmp_path / "bt.png")
    assert (tmp_path / "bt.png").stat().st_size > 10_000
    assert "Backtest(cohorts=[2019" in repr(aged)


def test_bad_settings_are_refused_by_name(steady, aged):
    with pytest.raises(ParameterError, match="at least two cohorts"):
        backtest(steady, cohorts=[2020])
    with pytest.raises(ParameterError, match="min_train_cohorts.*no origin"):
        backtest(steady, cohorts=[2020, 2021], min_train_cohorts=2)
    with pytest.raises(ParameterError, match="window"):
        backtest(steady, cohorts=[2020, 2021], window=0)
    with pytest.raises(ParameterError, match="was not computed"):
        aged.by_age("log_loss")
    assert np.isfinite(aged.by_age("brier")["mean"]).all()
