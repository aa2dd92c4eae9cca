"""RiskModel: training, calibration, reproducibility, the sklearn contract."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from dropoutrisk.errors import (
    BaselineWarning,
    ExtremeMarginWarning,
    MissingColumnError,
    MissingLabelWarning,
)
from dropoutrisk.models import RiskModel
from dropoutrisk.models._calibration import MARGIN_CLIP, PlattCalibrator

SMALL = {"n_estimators": 10, "min_child_samples": 2, "random_state": 0, "n_jobs": 1}

# A failure that has to be accepted goes here with its reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}
EXPECTED_FAILED_WITH_EARLY_STOPPING: dict[str, str] = {
    "check_classifiers_classes": "on 30 noisy rows the held-out log loss is lowest after one "
    "round, and one round predicts a single class, which this check does not allow",
}


@parametrize_with_checks(
    [
        RiskModel(**SMALL, early_stopping=False),
        RiskModel(**SMALL, calibration="isotonic", calibration_cv=0.3),
        RiskModel(**SMALL),
    ],
    expected_failed_checks=lambda est: (EXPECTED_FAILED_WITH_EARLY_STOPPING
                                        if est.get_params() == RiskModel(**SMALL).get_params()
                                        else EXPECTED_FAILED_CHECKS),
)
def test_sklearn_contract(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtremeMarginWarning)
        warnings.simplefilter("ignore", BaselineWarning)
        check(estimator)


def test_context_columns_are_not_model_inputs(fitted_model):
    names = list(fitted_model.feature_names_in_)
    assert names[0] == "attendance_rate"
    assert not {"as_of", "school_id", "cohort"} & set(names)
    assert fitted_model.n_features_in_ == len(names)


def test_model_input_is_what_the_booster_sees(fitted_model, frame):
    X, _ = frame
    Xm = fitted_model._model_input(X.iloc[::-1])
    assert list(Xm.columns) == list(fitted_model.feature_names_in_)
    assert isinstance(Xm["programme_type"].dtype, pd.CategoricalDtype)
    contrib = fitted_model.booster_.predict(Xm, pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), fitted_model.decision_function(X.iloc[::-1]),
                               atol=1e-9)


def test_platt_log_odds_are_affine_in_the_margin(fitted_model, frame):
    X, _ = frame
    cal = fitted_model.calibrator_
    p = fitted_model.predict_proba(X)[:, 1]
    expected = 1 / (1 + np.exp(-(cal.slope_ * fitted_model.decision_function(X) + cal.intercept_)))
    np.testing.assert_allclose(p, np.clip(expected, 1e-4, 1 - 1e-4), rtol=1e-12)
    assert cal.method == "platt"


def test_probabilities_are_clipped_and_sum_to_one(fitted_model, frame):
    X, _ = frame
    proba = fitted_model.predict_proba(X)
    assert proba.min() >= 1e-4 and proba.max() <= 1 - 1e-4
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_same_seed_same_predictions(frame):
    X, y = frame
    a = RiskModel(n_estimators=20, subsample=0.8, colsample_bytree=0.8, random_state=3).fit(X, y)
    b = RiskModel(n_estimators=20, subsample=0.8, colsample_bytree=0.8, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = RiskModel(n_estimators=20, subsample=0.8, colsample_bytree=0.8, random_state=4).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_calibration_set_trains_booster_on_all_rows(frame):
    X, y = frame
    half = X.index.isin(X.index.unique()[:150])
    m = RiskModel(n_estimators=20, random_state=0).fit(X[half], y[half], X_calib=X[~half],
                                                      y_calib=y[~half])
    assert m.calibration_info_ == {"strategy": "calibration_set", "n_calibration": int((~half).sum()),
                                   "n_train": int(half.sum()), "n_folds": None}


def test_holdout_keeps_a_students_snapshots_together(frame, monkeypatch):
    X, y = frame
    seen = {}
    original = RiskModel._holdout_split

    def spy(y01, groups, fraction, seed):
        train, calib = original(y01, groups, fraction, seed)
        seen["overlap"] = set(groups[train]) & set(groups[calib])
        return train, calib

    monkeypatch.setattr(RiskModel, "_holdout_split", staticmethod(spy))
    m = RiskModel(n_estimators=10, calibration_cv=0.25, random_state=0).fit(X, y)
    assert seen["overlap"] == set()
    assert m.calibration_info_["strategy"] == "holdout"
    assert m.calibration_info_["n_train"] + m.calibration_info_["n_calibration"] == len(y)


def test_auto_uses_out_of_fold_below_the_row_limit(fitted_model):
    assert fitted_model.calibration_info_["strategy"] == "out_of_fold"
    assert fitted_model.calibration_info_["n_folds"] == 5


def test_isotonic_exposes_its_map_and_clips(frame):
    X, y = frame
    m = RiskModel(n_estimators=20, calibration="isotonic", random_state=0).fit(X, y)
    cal = m.calibrator_
    assert cal.method == "isotonic"
    assert np.all(np.diff(cal.x_thresholds_) >= 0) and np.all(np.diff(cal.y_thresholds_) >= 0)
    p = m.predict_proba(X)[:, 1]
    assert p.min() >= 1e-4 and p.max() <= 1 - 1e-4


def test_nan_labels_are_dropped_with_a_warning(frame):
    X, y = frame
    y = y.copy()
    y.iloc[:7] = np.nan
    with pytest.warns(MissingLabelWarning, match="7 of"):
        m = RiskModel(n_estimators=5, random_state=0).fit(X, y)
    assert m.calibration_info_["n_train"] == len(y) - 7


def test_missing_feature_column_names_it(fitted_model, frame):
    X, _ = frame
    with pytest.raises(MissingColumnError, match="failed_courses"):
        fitted_model.predict_proba(X.drop(columns="failed_courses"))


def test_unseen_category_does_not_break_scoring(fitted_model, frame):
    X, _ = frame
    X2 = X.head(5).copy()
    X2["programme_type"] = pd.Categorical(["other"] * 5)
    assert fitted_model.predict_proba(X2).shape == (5, 2)


def test_background_columns_need_opt_in(frame):
    X, y = frame
    cat = _Catalogue()
    X2 = X.assign(mother_education=1.0)
    m = RiskModel(n_estimators=5, catalogue=cat, random_state=0).fit(X2, y)
    assert "mother_education" not in m.feature_names_in_
    m = RiskModel(n_estimators=5, catalogue=cat, include_background=True, random_state=0).fit(X2, y)
    assert "mother_education" in m.feature_names_in_


class _Catalogue:
    def model_features(self, include_background=False):
        base = ["attendance_rate", "failed_courses"]
        return base + (["mother_education"] if include_background else [])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"reg_lambda": 0}, "reg_lambda=0 must be > 0"),
        ({"calibration": "beta"}, "calibration='beta' is not supported"),
        ({"calibration_cv": 1}, "calibration_cv=1 is not supported"),
    ],
)
def test_bad_parameters_are_named(frame, params, match):
    X, y = frame
    with pytest.raises(ValueError, match=match):
        RiskModel(**params).fit(X, y)


def test_unfitted_model_says_so(frame):
    with pytest.raises(NotFittedError):
        RiskModel().predict_proba(frame[0])


def test_platt_clips_extreme_margins_and_warns():
    rng = np.random.default_rng(0)
    margin = np.concatenate([rng.normal(size=900), np.full(100, -1.7e5)])
    y = np.concatenate([rng.random(900) < 0.5, np.zeros(100, bool)])
    with pytest.warns(ExtremeMarginWarning, match="100 of 1000"):
        cal = PlattCalibrator().fit(margin, y)
    assert np.isfinite(cal.slope_) and np.isfinite(cal.intercept_)
    assert cal.predict(np.array([-1.7e5]))[0] == pytest.approx(
        cal.predict(np.array([-MARGIN_CLIP]))[0])


def test_platt_matches_sklearn_sigmoid_calibration():
    from sklearn.calibration import _sigmoid_calibration

    rng = np.random.default_rng(1)
    margin = rng.normal(0, 2, size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(0.7 * margin + 0.4)))).astype(float)
    cal = PlattCalibrator().fit(margin, y)
    a, b = _sigmoid_calibration(margin, y)  # sklearn: p = 1 / (1 + exp(a * f + b))
    assert cal.slope_ == pytest.approx(-a, rel=1e-4)
    assert cal.intercept_ == pytest.approx(-b, rel=1e-4, abs=1e-5)


def test_without_catalogue_background_columns_of_the_default_catalogue_are_left_out(frame):
    X, y = frame
    X2 = X.assign(mother_education=pd.Categorical(["primary"] * len(X)), school_moves=0.0)
    m = RiskModel(n_estimators=5, random_state=0).fit(X2, y)
    assert not {"mother_education", "school_moves"} & set(m.feature_names_in_)
    m = RiskModel(n_estimators=5, include_background=True, random_state=0).fit(X2, y)
    assert {"mother_education", "school_moves"} <= set(m.feature_names_in_)


def test_student_ids_become_integer_group_codes(frame):
    from dropoutrisk.models._risk_model import _resolve_groups

    X, _ = frame
    codes = _resolve_groups(X, None, len(X))
    assert codes.dtype.kind == "i"  # object ids made GroupKFold quadratic in the rows
    assert len(np.unique(codes)) == X.index.nunique()
    assert _resolve_groups(X.reset_index(drop=True), None, len(X)) is None


def test_categorical_features_are_public(fitted_model):
    assert "programme_type" in fitted_model.categorical_features_
    assert "attendance_rate" not in fitted_model.categorical_features_
    with pytest.raises(NotFittedError):
        RiskModel().categorical_features_  # noqa: B018


# ---- rounds chosen on held-out students -----------------------------------------------
def _wavy(n, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(0, 1, (n, 4)), columns=[f"x{i}" for i in range(4)],
                     index=pd.Index([f"s{i:05d}" for i in range(n)], name="student_id"))
    logit = -1 + 2.5 * np.sin(6 * X["x0"]) + 2 * ((X["x1"] > 0.5) & (X["x2"] > 0.5))
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_more_students_keep_more_rounds():
    few = RiskModel(learning_rate=0.1, baseline_check=False, random_state=0, n_jobs=1)
    few.fit(*_wavy(200))
    many = RiskModel(learning_rate=0.1, baseline_check=False, random_state=0, n_jobs=1)
    many.fit(*_wavy(20_000))
    assert few.n_estimators_ < many.n_estimators_ < 300
    assert many.n_estimators_ >= 2 * few.n_estimators_
    for model in (few, many):
        s = model.round_selection_
        assert s["strategy"] == "held_out_students" and s["chosen"] == model.n_estimators_
        assert model.booster_.num_trees() == model.n_estimators_
        assert s["held_out_logloss"] <= s["held_out_logloss_last"]


def test_rounds_are_capped_by_n_estimators(frame):
    X, y = frame
    m = RiskModel(n_estimators=5, learning_rate=0.01, baseline_check=False, random_state=0,
                  n_jobs=1).fit(X, y)
    assert m.n_estimators_ == 5 and m.round_selection_["max_rounds"] == 5


def test_early_stopping_off_keeps_n_estimators(frame):
    X, y = frame
    m = RiskModel(n_estimators=17, early_stopping=False, baseline_check=False, random_state=0,
                  n_jobs=1).fit(X, y)
    assert m.n_estimators_ == 17 and m.round_selection_["strategy"] == "fixed"


def test_auto_turns_early_stopping_off_at_the_row_limit(frame, monkeypatch):
    import dropoutrisk.models._risk_model as rm

    X, y = frame
    monkeypatch.setattr(rm, "AUTO_HOLDOUT_ROWS", 100)
    m = RiskModel(n_estimators=12, random_state=0, n_jobs=1).fit(X, y)
    assert m.round_selection_["strategy"] == "fixed" and m.n_estimators_ == 12
    assert m.baseline_comparison_ is None and m.calibration_info_["strategy"] == "holdout"


@pytest.mark.parametrize("calib", [False, True])
def test_selection_folds_keep_a_students_snapshots_together(frame, monkeypatch, calib):
    X, y = frame
    seen = []
    original = RiskModel._folds

    def spy(y01, groups, k, seed):
        folds = original(y01, groups, k, seed)
        seen.append(folds)
        return folds

    monkeypatch.setattr(RiskModel, "_folds", staticmethod(spy))
    half = X.index.isin(X.index.unique()[:200])
    kw = {"X_calib": X[~half], "y_calib": y[~half]} if calib else {}
    Xt, yt = (X[half], y[half]) if calib else (X, y)
    RiskModel(n_estimators=20, random_state=0, n_jobs=1).fit(Xt, yt, **kw)
    (folds,) = seen
    ids = Xt.index.to_numpy()[np.flatnonzero(yt.notna().to_numpy())]
    fold_of = {}
    for f, (_, test_idx) in enumerate(folds):
        for sid in ids[test_idx]:
            assert fold_of.setdefault(sid, f) == f, sid
    assert len(fold_of) == len(set(ids))  # every student held out once


def test_early_stopping_gives_the_same_model_twice(frame):
    X, y = frame
    a = RiskModel(random_state=5, n_jobs=1).fit(X, y)
    b = RiskModel(random_state=5, n_jobs=1).fit(X, y)
    assert a.n_estimators_ == b.n_estimators_
    assert a.booster_.model_to_string() == b.booster_.model_to_string()
    assert a.baseline_comparison_ == b.baseline_comparison_
