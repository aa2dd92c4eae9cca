"""Exact SHAP: native pred_contrib against shap.TreeExplainer and a brute-force Shapley sum."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.explain import calibrate_contributions, tree_shap


def test_native_equals_shap_tree_explainer(platt_model, frame):
    shap = pytest.importorskip("shap")
    X, _ = frame
    Xm = platt_model.transform_input(X.iloc[:200])
    assert Xm["attendance_rate_4w"].isna().any()
    assert isinstance(Xm["programme_type"].dtype, pd.CategoricalDtype)
    phi, base = tree_shap(platt_model.booster_, Xm)
    explainer = shap.TreeExplainer(platt_model.booster_, feature_perturbation="tree_path_dependent",
                                   model_output="raw")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap's note that binary LightGBM output changed shape
        ref = np.asarray(explainer.shap_values(Xm))
    ref = ref[1] if ref.ndim == 3 else ref
    np.testing.assert_allclose(phi, ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(base, explainer.expected_value, atol=1e-6, rtol=0)


# ---- an independent reference: Shapley values of the path-dependent value function ----------

def _goes_left(node, x):
    value = x[node["split_feature"]]
    missing = node["missing_type"]
    if node["decision_type"] == "==":
        if math.isnan(value):
            if missing == "NaN":
                return False
            value = 0.0
        if value < 0:
            return False
        return int(value) in {int(c) for c in str(node["threshold"]).split("||")}
    if math.isnan(value) and missing != "NaN":
        value = 0.0
    if (missing == "Zero" and abs(value) <= 1e-35) or (missing == "NaN" and math.isnan(value)):
        return bool(node["default_left"])
    return value <= node["threshold"]


def _count(node):
    return node["internal_count"] if "split_index" in node else node["leaf_count"]


def _expect(node, x, subset):
    if "split_index" not in node:
        return node["leaf_value"]
    left, right = node["left_child"], node["right_child"]
    if node["split_feature"] in subset:
        return _expect(left if _goes_left(node, x) else right, x, subset)
    return (_count(left) * _expect(left, x, subset)
            + _count(right) * _expect(right, x, subset)) / _count(node)


def _brute_force(booster, x):
    trees = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    m = len(x)

    def v(subset):
        return sum(_expect(t, x, subset) for t in trees)

    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for k in range(m):
            for s in itertools.combinations(others, k):
                w = math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
                phi[i] += w * (v(set(s) | {i}) - v(set(s)))
    return phi, v(set())


def test_native_equals_brute_force_shapley_with_nan_and_categories():
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.uniform(size=n),
        "c": pd.Categorical(rng.choice(["x", "y", "z", "w"], n)),
    })
    X.loc[rng.random(n) < 0.25, "a"] = np.nan
    X.loc[rng.random(n) < 0.1, "c"] = np.nan
    y = ((X["a"].fillna(1.0) + (X["c"] == "y") * 1.5 - X["b"] + rng.normal(size=n)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 6, "min_data_in_leaf": 10,
              "min_data_per_group": 5, "cat_smooth": 1.0, "max_cat_to_onehot": 2}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=6)
    decisions = {n["decision_type"] for n in _internal(booster)}
    assert decisions == {"<=", "=="}  # both numeric and categorical splits are exercised
    rows = X.iloc[:25]
    phi, base = tree_shap(booster, rows)
    coded = rows.assign(c=rows["c"].cat.codes.where(rows["c"].notna())).to_numpy(dtype=float)
    assert np.isnan(coded).any()
    for r in range(len(rows)):
        ref, ref_base = _brute_force(booster, coded[r])
        np.testing.assert_allclose(phi[r], ref, atol=1e-9)
        assert base[r] == pytest.approx(ref_base, abs=1e-9)


def _internal(booster):
    out = []
    stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            out.append(node)
            stack += [node["left_child"], node["right_child"]]
    return out


def test_tree_shap_is_one_batched_call(platt_model, frame, monkeypatch):
    X, _ = frame
    Xm = platt_model.transform_input(X)
    calls = []

    class Spy:
        def predict(self, data, **kw):
            calls.append(len(data))
            return platt_model.booster_.predict(data, **kw)

    phi, base = tree_shap(Spy(), Xm)
    assert calls == [len(X)]
    assert phi.shape == (len(X), Xm.shape[1])


def test_tree_shap_rejects_multiclass():
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300)})
    y = rng.integers(0, 3, 300)
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                        lgb.Dataset(X, y), 3)
    with pytest.raises(ValueError, match="binary booster with one model"):
        tree_shap(booster, X)


class _Platt:
    method = "platt"

    def __init__(self, slope, intercept):
        self.slope_, self.intercept_ = slope, intercept

    def predict(self, m):
        z = self.slope_ * np.asarray(m) + self.intercept_
        return np.clip(1 / (1 + np.exp(-z)), 1e-4, 1 - 1e-4)


def test_degenerate_row_uses_the_derivative():
    phi = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])
    out = calibrate_contributions(phi, np.array([0.3, 0.3]), _Platt(1.0, 0.0))
    p0 = 1 / (1 + np.exp(-0.3))
    assert np.all(np.isfinite(out["probability_contrib"]))
    np.testing.assert_allclose(out["probability_contrib"][0], [0.5, -0.5, 0.0] * np.array(p0 * (1 - p0)),
                               rtol=1e-6)
    np.testing.assert_allclose(out["probability_contrib"].sum(1), out["probability"] - p0, atol=1e-12)


def test_clipped_probability_stays_additive_and_keeps_signs():
    phi = np.array([[12.0, 3.0, -1.0], [-20.0, 1.0, 0.5]])
    out = calibrate_contributions(phi, np.array([0.0, 0.0]), _Platt(1.0, 0.0))
    np.testing.assert_allclose(out["probability"], [1 - 1e-4, 1e-4])
    total = out["base_probability"] + out["probability_contrib"].sum(1)
    np.testing.assert_allclose(total, out["probability"], atol=1e-12)
    assert np.array_equal(np.sign(out["probability_contrib"]), np.sign(phi))
    np.testing.assert_allclose(out["log_odds"], phi)  # Platt log-odds stay exact and unclipped
