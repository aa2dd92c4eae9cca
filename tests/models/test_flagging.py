"""flag() and tier(): threshold, capacity per group, cost, tiers."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models import DEFAULT_TIER_CUTS, TIER_LABELS
from dropoutrisk.models._flagging import flag_scores, tier_scores


def test_capacity_per_school_flags_top_k_in_each(fitted_model, frame):
    X, _ = frame
    snap = X[X["as_of"] == X["as_of"].min()]
    flags = fitted_model.flag(snap, capacity=5, by="school_id")
    assert flags.index.equals(snap.index) and flags.dtype == bool
    assert flags.groupby(snap["school_id"]).sum().tolist() == [5, 5, 5]
    margin = pd.Series(fitted_model.decision_function(snap), index=snap.index)
    for _school, part in margin.groupby(snap["school_id"]):
        flagged = part[flags.loc[part.index].to_numpy()]
        unflagged = part[~flags.loc[part.index].to_numpy()]
        assert flagged.min() >= unflagged.max()


def test_capacity_ties_are_broken_by_index_then_position():
    p = np.full(4, 0.5)
    flags = flag_scores(p, p, pd.Index(["d", "b", "a", "c"]), capacity=2)
    assert flags.tolist() == [False, True, True, False]
    shuffled = flag_scores(p, p, pd.Index(["a", "c", "d", "b"]), capacity=2)
    assert shuffled[["a", "b"]].all() and not shuffled[["c", "d"]].any()


def test_cost_flags_where_expected_cost_is_lower():
    p = np.array([0.05, 0.19, 0.21, 0.9])
    # fn=4, fp=1: flag where p > 1/5
    assert flag_scores(p, p, pd.RangeIndex(4), cost=(4, 1)).tolist() == [False, False, True, True]
    assert flag_scores(p, p, pd.RangeIndex(4), cost={"fn": 4, "fp": 1}).tolist() == [
        False, False, True, True]
    with pytest.raises(ValueError, match="exactly the keys 'fn'"):
        flag_scores(p, p, pd.RangeIndex(4), cost={"fn": 1})


def test_threshold_and_default(fitted_model, frame):
    X, _ = frame
    p = fitted_model.predict_proba(X)[:, 1]
    assert fitted_model.flag(X, threshold=0.3).to_numpy().tolist() == (p >= 0.3).tolist()
    assert fitted_model.flag(X).to_numpy().tolist() == (p >= DEFAULT_TIER_CUTS[0]).tolist()


def test_only_one_rule_at_a_time(fitted_model, frame):
    X, _ = frame
    with pytest.raises(ValueError, match="exactly one of threshold, capacity, flag_rate and cost"):
        fitted_model.flag(X, threshold=0.5, capacity=3)
    with pytest.raises(ValueError, match="'nope': not a column of X"):
        fitted_model.flag(X, capacity=3, by="nope")
    with pytest.raises(ValueError, match="by only applies with capacity"):
        fitted_model.flag(X, threshold=0.5, by="school_id")


def test_tiers_follow_the_cut_points(fitted_model, frame):
    X, _ = frame
    p = fitted_model.predict_proba(X)[:, 1]
    tiers = fitted_model.tier(X, cuts=(0.1, 0.4))
    assert list(tiers.cat.categories) == list(TIER_LABELS) and tiers.cat.ordered
    expected = np.where(p >= 0.4, "intensive", np.where(p >= 0.1, "targeted", "universal"))
    assert tiers.astype(str).tolist() == expected.tolist()


def test_bad_tier_cuts_are_rejected():
    with pytest.raises(ValueError, match="0 <= targeted <= intensive <= 1"):
        tier_scores(np.array([0.5]), pd.RangeIndex(1), cuts=(0.6, 0.3))


def test_capacity_follows_probabilities_when_the_platt_slope_is_negative():
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from dropoutrisk.models import RiskModel

    model = RiskModel()
    margins = np.array([2.0, -1.0, 0.5, -3.0])
    model.decision_function = lambda X: margins  # type: ignore[method-assign]
    model.calibrator_ = SimpleNamespace(slope_=-0.5, intercept_=0.0)
    X = pd.DataFrame(index=pd.Index(list("abcd"), name="student_id"))
    # probabilities fall as the margin rises, so the two lowest margins are the riskiest
    assert set(X.index[np.argsort(-model.rank_score(X))[:2]]) == {"d", "b"}
