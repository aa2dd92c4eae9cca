"""evaluate() and Evaluation: metrics, operating point, lead time, oracle, plots."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models import ABCRule, Evaluation, evaluate, out_of_time_split
from dropoutrisk.models.evaluation._metrics import (
    calibration_table,
    expected_calibration_error,
    top_fraction_flags,
)


@pytest.fixture(scope="module")
def evaluation(frame, fitted_model):
    X, y = frame
    abc = ABCRule().fit(X, y)
    ids = X.index.unique()
    dates = pd.Series(pd.Timestamp("2025-03-01"), index=ids[:200])
    truth = pd.DataFrame({"student_id": X.index, "as_of": X["as_of"],
                          "true_risk": np.linspace(0.01, 0.99, len(X))})
    return evaluate(models={"model": fitted_model, "abc": abc}, X=X, y=y, truth=truth,
                    dropout_dates=dates)


def test_side_by_side_rows_and_columns(evaluation):
    m = evaluation.metrics
    assert m.index.tolist() == ["model", "abc", "oracle"]
    for col in ["roc_auc", "pr_auc", "brier", "log_loss", "ece_equal_width", "ece_equal_mass",
                "precision_at_5pct", "recall_at_10pct", "recall_at_20pct",
                "lead_time_median_weeks", "roc_auc_oracle_ratio"]:
        assert col in m.columns
    assert m.loc["oracle", "roc_auc_oracle_ratio"] == 1.0
    assert m.loc["model", "roc_auc_oracle_ratio"] == pytest.approx(
        m.loc["model", "roc_auc"] / m.loc["oracle", "roc_auc"])


def test_metrics_match_sklearn(frame, fitted_model, evaluation):
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    X, y = frame
    p = fitted_model.predict_proba(X)[:, 1]
    m = evaluation.metrics.loc["model"]
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, p))


def test_operating_point_flags_ten_percent_per_snapshot(evaluation, frame):
    X, y = frame
    op = evaluation.operating_point.loc["model"]
    assert op["n_flagged"] == 2 * 30  # 10% of 300 students at each of two snapshots
    assert op["tp"] + op["fn"] == int(y.sum())
    assert op["precision"] == pytest.approx(op["tp"] / op["n_flagged"])
    assert op["specificity"] == pytest.approx(op["tn"] / (op["tn"] + op["fp"]))


def test_lead_time_counts_weeks_from_the_first_flag(evaluation, frame):
    X, y = frame
    lead = evaluation.lead_times
    lead = lead[lead["model"] == "model"]
    assert set(lead["student_id"]) <= set(X.index.unique()[:200])
    first_week = pd.Timestamp("2024-08-19") + pd.Timedelta(weeks=6)
    expected = (pd.Timestamp("2025-03-01") - lead["first_flag_as_of"]).dt.days / 7
    np.testing.assert_allclose(lead["weeks"], expected)
    assert (lead["first_flag_as_of"] >= first_week).all()
    assert evaluation.metrics.loc["model", "lead_time_median_weeks"] == pytest.approx(
        lead["weeks"].median())


def test_immutable_and_json_has_no_student_rows(evaluation):
    with pytest.raises(AttributeError, match="immutable"):
        evaluation.foo = 1
    copy = evaluation.metrics
    copy.loc["model", "roc_auc"] = -1
    assert evaluation.metrics.loc["model", "roc_auc"] > 0
    d = json.loads(evaluation.to_json())
    assert set(d) == {"settings", "metrics", "operating_point", "calibration_curve"}
    assert "s00000" not in evaluation.to_json()
    assert d["metrics"]["abc"]["roc_auc"] == pytest.approx(evaluation.metrics.loc["abc", "roc_auc"])


def test_mutating_what_a_property_returns_changes_nothing(evaluation):
    settings = evaluation.settings
    settings["k_rates"].append(0.99)
    settings["n"] = -1
    assert 0.99 not in evaluation.settings["k_rates"] and evaluation.settings["n"] > 0
    assert 0.99 not in evaluation.to_dict()["settings"]["k_rates"]
    curve = evaluation.calibration_curve
    curve.loc[curve.index[0], "observed_rate"] = -5.0
    assert (evaluation.calibration_curve["observed_rate"].dropna() >= 0).all()


def test_single_score_vector_and_nan_labels():
    y = np.array([0, 1, np.nan, 1, 0, 0])
    ev = evaluate(y, np.array([0.1, 0.9, 0.5, 0.8, 0.2, 0.3]), flag_rate=0.4)
    assert isinstance(ev, Evaluation)
    assert ev.models == ["model"] and ev.settings["n_unlabelled_dropped"] == 1
    assert ev.metrics.loc["model", "roc_auc"] == 1.0


def test_input_errors_are_explained():
    with pytest.raises(ValueError, match="needs the labels"):
        evaluate(scores_or_model=np.ones(3))
    with pytest.raises(ValueError, match="'oracle' is reserved"):
        evaluate(np.array([0, 1]), {"oracle": np.array([0.1, 0.9])})
    with pytest.raises(ValueError, match="both classes"):
        evaluate(np.array([0, 0]), np.array([0.1, 0.9]))


def test_plots_render(evaluation, tmp_path):
    ax = evaluation.plot_roc()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "published flags (Bowers et al. 2013)" in labels and "model" in labels
    ax.figure.savefig(tmp_path / "roc.png")
    ax = evaluation.plot_calibration(strategy="equal_width")
    ax.figure.savefig(tmp_path / "cal.png")
    assert (tmp_path / "roc.png").stat().st_size > 1000


def test_ece_by_hand():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.15, 0.2, 0.85, 0.9, 0.95])
    # equal mass, 2 bins: [0.1,0.15,0.2] mean .15 vs 1/3; [.85,.9,.95] mean .9 vs 2/3
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(
        0.5 * abs(0.15 - 1 / 3) + 0.5 * abs(0.9 - 2 / 3))
    t = calibration_table(y, p, n_bins=10, strategy="equal_width")
    assert t["bin"].tolist() == [1, 2, 8, 9] and t["n"].sum() == 6


def test_top_fraction_is_per_group_and_deterministic():
    score = np.array([5, 5, 1, 9, 0, 0])
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    assert top_fraction_flags(score, 1 / 3, groups).tolist() == [True, False, False, True,
                                                                 False, False]


def test_out_of_time_split_refuses_the_past(frame):
    X, y = frame
    X = X.assign(cohort=np.where(np.arange(len(X)) % 3 == 0, 2022, 2024))
    split = out_of_time_split(X, y, train_cohorts=[2022], test_cohort=2024, test_weeks=[6])
    assert (split.X_test["as_of"] == pd.Timestamp("2024-09-30")).all()
    assert split.y_train.index.equals(split.X_train.index)
    with pytest.raises(ValueError, match="Not out of time"):
        out_of_time_split(X, y, train_cohorts=[2024], test_cohort=2022)


def test_small_calibration_bins_are_suppressed_everywhere():
    import json

    import numpy as np

    from dropoutrisk.models import evaluate

    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0.0, 0.1, 500), [0.95, 0.96, 0.97]])  # 3 rows in the top bin
    y = (rng.uniform(size=p.size) < p).astype(float)
    ev = evaluate(y, p, n_bins=10)
    curve = ev.calibration_curve
    top = curve[(curve["strategy"] == "equal_width") & (curve["bin"] == 9)]
    assert len(top) == 1 and bool(top["suppressed"].iloc[0])
    assert top[["n", "mean_predicted", "observed_rate"]].isna().all(axis=None)
    text = json.dumps(ev.to_dict())
    assert '"n": 3' not in text and '"n": 3.0' not in text
    assert not curve.loc[~curve["suppressed"], "n"].lt(10).any()


def test_ranking_follows_the_probabilities_when_the_platt_slope_is_negative(frame):
    """A model calibrated on reversed labels ranks backwards; evaluate must follow predict_proba."""
    from sklearn.metrics import roc_auc_score

    from dropoutrisk.models import RiskModel

    X, y = frame
    keep = y.notna().to_numpy()
    X, y = X[keep], y[keep].astype(int)
    half = np.arange(len(X)) % 2 == 0
    model = RiskModel(n_estimators=20, random_state=0, n_jobs=1).fit(
        X[half], y[half], X_calib=X[~half], y_calib=1 - y[~half])
    assert model.calibrator_.slope_ < 0
    p = model.predict_proba(X[~half])[:, 1]
    m = evaluate(models={"model": model}, X=X[~half], y=y[~half]).metrics
    assert m.loc["model", "roc_auc"] == pytest.approx(roc_auc_score(y[~half], p))
    assert m.loc["model", "roc_auc"] < 0.5
