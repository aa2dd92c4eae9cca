"""explain_students: additivity to the reported probability, immutability, export, plots."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import UnknownStudentError
from dropoutrisk.explain import DIMENSIONS, explain_students, reasons_frame


@pytest.mark.parametrize("which", ["platt_model", "isotonic_model", "background_model"])
def test_base_plus_contributions_is_the_reported_probability(which, request, frame):
    model = request.getfixturevalue(which)
    X, _ = frame
    ex = explain_students(model, X)
    reported = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(ex.probability.to_numpy(), reported, atol=1e-10, rtol=0)
    total = ex.base_value + ex.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, reported, atol=1e-6, rtol=0)
    dims = ex.base_value + ex.dimension_totals.sum(axis=1).to_numpy()
    np.testing.assert_allclose(dims, reported, atol=1e-6, rtol=0)
    assert ex.calibration == model.calibrator_.method


def test_platt_is_exact_in_calibrated_log_odds(platt_model, frame):
    X, _ = frame
    ex = explain_students(platt_model, X)
    cal = platt_model.calibrator_
    Xm = platt_model.transform_input(X)
    contrib = platt_model.booster_.predict(Xm, pred_contrib=True)
    np.testing.assert_allclose(ex.contributions_log_odds.to_numpy(), cal.slope_ * contrib[:, :-1],
                               atol=1e-12)
    assert ex.base_value_log_odds == pytest.approx(cal.slope_ * contrib[0, -1] + cal.intercept_)
    log_odds = ex.base_value_log_odds + ex.contributions_log_odds.sum(axis=1)
    np.testing.assert_allclose(log_odds, cal.log_odds(platt_model.decision_function(X)), atol=1e-9)
    # the probability contributions keep the sign of the log-odds ones
    lo, pr = ex.contributions_log_odds.to_numpy(), ex.contributions.to_numpy()
    assert np.array_equal(np.sign(lo), np.sign(pr))


def test_isotonic_log_odds_add_up_to_the_logit_of_the_probability(isotonic_model, frame):
    X, _ = frame
    ex = explain_students(isotonic_model, X)
    p = ex.probability.to_numpy()
    lo = ex.base_value_log_odds + ex.contributions_log_odds.sum(axis=1).to_numpy()
    np.testing.assert_allclose(lo, np.log(p / (1 - p)), atol=1e-6)
    assert ex.base_value == pytest.approx(
        float(isotonic_model.calibrator_.predict(np.array([_base_margin(isotonic_model, X)]))[0]))


def _base_margin(model, X):
    return model.booster_.predict(model.transform_input(X.iloc[:1]), pred_contrib=True)[0, -1]


def test_subset_matches_the_full_batch(platt_model, frame, explained):
    X, _ = frame
    ids = ["st0007", "st0003", "st0100"]
    sub = explain_students(platt_model, X, ids)
    assert sub.probability.index.tolist() == ids
    pd.testing.assert_frame_equal(sub.contributions, explained.contributions.loc[ids], atol=1e-12)
    full = explained.reasons.set_index(["student_id", "rank"]).loc[ids]
    part = sub.reasons.set_index(["student_id", "rank"]).loc[ids]
    assert part["sentence"].tolist() == full["sentence"].tolist()


def test_single_id_and_unknown_id(platt_model, frame):
    X, _ = frame
    assert len(explain_students(platt_model, X, "st0001")) == 1
    with pytest.raises(UnknownStudentError, match="nobody"):
        explain_students(platt_model, X, ["st0001", "nobody"])


def test_bad_arguments(platt_model, frame):
    X, _ = frame
    with pytest.raises(ValueError, match="lang='de' is not supported"):
        explain_students(platt_model, X, lang="de")
    with pytest.raises(ValueError, match="top_n"):
        explain_students(platt_model, X, top_n=-1)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        explain_students(platt_model, X.to_numpy())


def test_unfitted_model_is_a_model_error(frame):
    from dropoutrisk.errors import ModelError

    with pytest.raises(ModelError, match="Call 'fit' first"):
        explain_students(object(), frame[0])


def test_explanations_are_immutable(explained):
    with pytest.raises(AttributeError, match="immutable"):
        explained.top_n = 3
    c = explained.contributions
    c.iloc[0, 0] = 99.0
    assert explained.contributions.iloc[0, 0] != 99.0
    r = explained.reasons
    r.loc[:, "sentence"] = "x"
    assert (explained.reasons["sentence"] != "x").all()


def test_dimension_totals_have_all_six_dimensions(explained):
    totals = explained.dimension_totals
    assert tuple(totals.columns) == DIMENSIONS
    assert (totals["background"] == 0).all()  # background is off in this model
    meta = explained.features
    beh = meta.index[meta["dimension"] == "behavioural"]
    np.testing.assert_allclose(totals["behavioural"], explained.contributions[beh].sum(axis=1))


def test_to_json_round_trips_one_student(explained):
    doc = json.loads(explained.to_json("st0002"))
    assert [s["student_id"] for s in doc["students"]] == ["st0002"]
    s = doc["students"][0]
    assert s["as_of"] == "2024-10-07" and s["school_id"] in {"A", "B", "C"}
    assert s["probability"] == pytest.approx(explained.probability["st0002"])
    assert sum(s["contributions"].values()) + doc["base_value"] == pytest.approx(s["probability"],
                                                                               abs=1e-9)
    assert [r["code"] for r in s["reasons"]] == explained.reasons.query(
        "student_id == 'st0002'")["code"].tolist()
    assert "not causes" in doc["note"]
    text = explained.to_json()
    assert "NaN" not in text  # missing values are null
    assert len(json.loads(text)["students"]) == len(explained)


def test_reasons_frame_is_wide_and_matches_reasons(explained):
    wide = reasons_frame(explained, 2, lang="en")
    assert wide.columns.tolist() == ["reason_1_code", "reason_1_sentence",
                                     "reason_2_code", "reason_2_sentence"]
    assert wide.index.equals(explained.probability.index)
    first = explained.reasons.query("rank == 1").set_index("student_id")
    assert wide.loc[first.index, "reason_1_sentence"].tolist() == first["sentence_en"].tolist()
    with pytest.raises(ValueError, match="top_n=5"):
        reasons_frame(explained, 5)


def test_plots(explained):
    pytest.importorskip("matplotlib")
    ax = explained.plot_waterfall("st0005", max_display=6)
    assert len(ax.patches) == 6
    widths = sum(p.get_width() for p in ax.patches)
    assert widths == pytest.approx(explained.probability["st0005"] - explained.base_value, abs=1e-9)
    ax = explained.plot_dimension_importance()
    assert len(ax.patches) == len(DIMENSIONS)
    ax = explained.plot_dimension_importance("st0005", lang="en")
    assert ax.get_yticklabels()[0].get_text() == "Behavioural"
    ax = explained.plot_beeswarm(max_display=5)
    assert len(ax.collections) >= 4
    with pytest.raises(KeyError, match="nobody"):
        explained.plot_waterfall("nobody")
