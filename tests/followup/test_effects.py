"""support_effects and cutoff_effect: descriptive estimates against planted effects."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import MissingColumnError, ParameterError
from dropoutrisk.followup import cutoff_effect, support_effects
from dropoutrisk.followup._effects import CUTOFF_CAVEATS, MATCHED_STATEMENT
from dropoutrisk.synthetic import SupportPlan, make_cohorts


def _ranked(ratio, seed, n=40_000):
    plan = SupportPlan(capacity=0.15, uptake=0.8, hazard_ratio=ratio)
    c = make_cohorts(n, [2021, 2022, 2023], n_schools=8, random_state=seed,
                     include_events=False, support=plan)
    st = c["support_truth"].merge(c["outcomes"], on="student_id")
    window = (st["date"] >= st["as_of"]) & (st["date"] < st["as_of"] + pd.Timedelta(days=365))
    censored = window & st["event"].isin(["moved", "transferred"])
    st["dropout"] = np.where(censored, np.nan, (window & (st["event"] == "dropout")).astype(float))
    st["school_id"] = st["school_id"] + "/" + st["cohort"].astype(str)
    return st.rename(columns={"rank": "rank_in_school"})


def _planted(st, h):
    r = st["rank_in_school"] - st["capacity"] - 0.5
    near = (r.abs() < h) & st["dropout"].notna()
    k = 1 - r[near].abs() / h
    return float((k * (st["risk_with_support"] - st["risk_without_support"])[near]).sum() / k.sum())


def test_the_cut_off_recovers_a_planted_effect_and_excludes_zero():
    st = _ranked(0.3, seed=3)
    est = cutoff_effect(st, n_boot=300)
    e, planted = est["supported"], _planted(st, est["bandwidth"])
    assert planted < -0.03
    assert e["low"] <= planted <= e["high"]
    assert e["high"] < 0
    assert est["support_share"]["estimate"] == pytest.approx(0.8, abs=0.05)
    assert est["flagged"]["estimate"] == pytest.approx(e["estimate"] * est["support_share"]["estimate"])
    assert est.to_dict()["caveats"] == list(CUTOFF_CAVEATS)


def test_the_cut_off_covers_zero_without_an_effect():
    st = _ranked(1.0, seed=3)
    e = cutoff_effect(st, n_boot=300)["supported"]
    assert e["low"] < 0 < e["high"]
    assert e["width"] < 0.12  # not merely wide


def test_matching_removes_confounding_by_school_and_risk():
    rng = np.random.default_rng(2)
    n = 4000
    school = rng.choice(["A", "B"], n)
    p = np.where(school == "A", rng.uniform(0.3, 0.5, n), rng.uniform(0.05, 0.15, n))
    supported = rng.random(n) < np.where(school == "A", 0.8, 0.2)  # support goes to school A
    y = (rng.random(n) < p).astype(float)  # support does nothing
    f = pd.DataFrame({"school_id": school, "probability": p, "supported": supported,
                      "kind": "student_coach", "dropout": y, "attendance_change": rng.normal(0, .1, n)})
    raw = y[supported].mean() - y[~supported].mean()
    row = support_effects(f, extra=("attendance_change",), n_boot=300).table.loc["all"]
    assert raw > 0.1
    assert abs(row["dropout_difference"]) < raw / 3  # support does nothing: about 0 (SE 0.02)
    assert abs(row["attendance_change_difference"]) < 0.02  # noise; its SE is about 0.004
    assert row["n_supported"] == supported.sum() and row["n_controls"] == (~supported).sum()


def test_small_kinds_are_not_estimated():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"school_id": "A", "probability": rng.uniform(0, 1, 200),
                      "supported": [True] * 5 + [False] * 195,
                      "kind": ["special_support"] * 5 + [None] * 195,
                      "dropout": rng.integers(0, 2, 200).astype(float)})
    result = support_effects(f, n_boot=100)
    row = result.table.loc["special_support"]
    assert np.isnan(row["dropout_difference"]) and "fewer than 10" in row["note"]
    assert result.to_dict()["statement"] == MATCHED_STATEMENT


def test_bad_input_is_named():
    f = pd.DataFrame({"rank_in_school": [1, 2], "capacity": [1, 1], "dropout": [0.0, 1.0]})
    with pytest.raises(MissingColumnError, match="'supported'"):
        cutoff_effect(f)
    with pytest.raises(ParameterError, match="each side needs 10"):
        cutoff_effect(f, supported=None, bandwidth=5)
    with pytest.raises(ParameterError, match="n_boot"):
        support_effects(f, n_boot=3)
