"""OperatingPoint: one spelling, one set of rules; group_ranks: the one top-k."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import OperatingPointError, ParameterError
from dropoutrisk.models import OperatingPoint
from dropoutrisk.models._operating_point import flags_at, group_ranks, top_share_flags


@pytest.mark.parametrize("kwargs, parameter, words", [
    ({}, "threshold", "got none of them"),
    ({"threshold": 0.2, "capacity": 3}, "capacity", "got threshold and capacity"),
    ({"capacity": 3, "flag_rate": 0.1}, "flag_rate", "exactly one of"),
    ({"threshold": 1.5}, "threshold", "not a probability"),
    ({"threshold": True}, "threshold", "not a probability"),
    ({"threshold": "0.3"}, "threshold", "not a probability"),
    ({"capacity": 0}, "capacity", "a whole number >= 1"),
    ({"capacity": 2.5}, "capacity", "a whole number >= 1"),
    ({"capacity": True}, "capacity", "a whole number >= 1"),
    ({"flag_rate": 0}, "flag_rate", "above 0 and at most 1"),
    ({"flag_rate": 1.2}, "flag_rate", "above 0 and at most 1"),
    ({"by": "school_id"}, "by", "by only applies with capacity"),
    ({"threshold": 0.3, "by": "school_id"}, "by", "not with threshold"),
    ({"flag_rate": 0.1, "by": "school_id"}, "by", "not with flag_rate"),
    ({"capacity": 3, "by": ""}, "by", "not a column name"),
    ({"cost": (1,)}, "cost", "not two costs"),
    ({"cost": {"fn": 1}}, "cost", "exactly the keys 'fn'"),
    ({"cost": (0, 0)}, "cost", "not both 0"),
    ({"cost": (-1, 1)}, "cost", "not both 0"),
])
def test_invalid_points_name_the_parameter_and_the_fix(kwargs, parameter, words):
    with pytest.raises(OperatingPointError, match=words) as info:
        OperatingPoint(**kwargs)
    assert info.value.parameter == parameter
    assert isinstance(info.value, ParameterError) and isinstance(info.value, ValueError)
    assert info.value.exit_code == 2
    assert "Allowed:" in str(info.value)


def test_values_are_normalised_and_immutable():
    point = OperatingPoint(capacity=np.int64(40), by="school_id")
    assert type(point.capacity) is int and point.kind == "capacity"
    assert OperatingPoint(capacity=40.0).capacity == 40
    assert OperatingPoint(cost={"fn": 4, "fp": 1}).cost == (4.0, 1.0)
    assert OperatingPoint(cost=(4, 1)).cost_threshold == pytest.approx(0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.capacity = 3
    assert hash(point) == hash(OperatingPoint(capacity=40, by="school_id"))
    assert point.to_dict() == {"threshold": None, "capacity": 40, "by": "school_id",
                               "flag_rate": None, "cost": None}


def test_coerce_and_from_options():
    assert OperatingPoint.coerce(0.3) == OperatingPoint(threshold=0.3)
    assert OperatingPoint.coerce({"capacity": 5, "by": "school_id"}).describe() == \
        "capacity 5 per school_id"
    with pytest.raises(OperatingPointError, match="unknown keys"):
        OperatingPoint.coerce({"capacity": 5, "size": 3})
    with pytest.raises(OperatingPointError, match="not an operating point"):
        OperatingPoint.coerce("top 10")
    assert OperatingPoint.from_options() is None
    assert OperatingPoint.from_options(flag_rate=0.1) == OperatingPoint(flag_rate=0.1)
    with pytest.raises(OperatingPointError, match="together with operating_point") as info:
        OperatingPoint.from_options(OperatingPoint(threshold=0.3), capacity=3)
    assert info.value.parameter == "capacity"


def _brute_ranks(score, tie, groups):
    """Reference: sort each group's rows by (-score, tie, position)."""
    out = np.empty(len(score), dtype=np.int64)
    for g in set(groups):
        rows = [i for i in range(len(score)) if groups[i] == g]
        rows.sort(key=lambda i: (-score[i], tie[i], i))
        for r, i in enumerate(rows):
            out[i] = r
    return out


def test_group_ranks_match_a_brute_force_sort():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        score = np.round(rng.random(n), 1)  # many ties
        tie = rng.permutation(n)
        groups = rng.choice(["a", "b", "c"], n)
        got = group_ranks(score, tie=tie, groups=groups)
        np.testing.assert_array_equal(got, _brute_ranks(score, tie, list(groups)))
        np.testing.assert_array_equal(group_ranks(score), _brute_ranks(score, [0] * n, [0] * n))


def test_top_share_rounds_halves_up_per_group():
    score = np.arange(8, dtype=float)
    groups = np.array([0] * 5 + [1] * 3)
    flags = top_share_flags(score, 0.5, groups=groups)  # 2.5 -> 3 and 1.5 -> 2
    assert flags.tolist() == [False, False, True, True, True, False, True, True]


def test_flags_at_each_kind():
    p = np.array([0.9, 0.1, 0.5, 0.5, 0.3])
    snaps = np.array(["x", "x", "x", "y", "y"])
    assert flags_at(OperatingPoint(threshold=0.5), p).tolist() == [True, False, True, True, False]
    assert flags_at(OperatingPoint(cost=(1, 1)), p).tolist() == [True, False, False, False, False]
    # capacity per snapshot and per group; the tie key decides between equal scores
    assert flags_at(OperatingPoint(capacity=1), p, snapshots=snaps).tolist() == [
        True, False, False, True, False]
    groups = np.array(["a", "b", "b", "b", "a"])
    assert flags_at(OperatingPoint(capacity=1, by="g"), p, groups=groups,
                    tie=[0, 1, 3, 2, 4]).tolist() == [True, False, False, True, False]
    assert flags_at(OperatingPoint(flag_rate=0.4), p).tolist() == [True, False, True, False, False]


def test_estimators_flag_at_an_operating_point(fitted_model, frame):
    X, _ = frame
    point = OperatingPoint(capacity=5, by="school_id")
    by_point = fitted_model.flag(X, point)
    pd.testing.assert_series_equal(by_point, fitted_model.flag(X, capacity=5, by="school_id"))
    assert (by_point.groupby(X["school_id"]).sum() == 5).all()
    rank = fitted_model.rank_score(X)
    ordered = sorted(range(len(X)), key=lambda i: (-rank[i], X.index[i], i))  # ties: index value
    top = ordered[: int(np.floor(0.1 * len(X) + 0.5))]
    assert set(np.flatnonzero(fitted_model.flag(X, flag_rate=0.1))) == set(top)
    p = fitted_model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(fitted_model.default_flags(X), p >= 0.2)
    assert fitted_model.tier(X, OperatingPoint(threshold=0.0)).ne("universal").all()


def test_one_class_under_every_old_name():
    import dropoutrisk.fairness as fairness

    # audit's own class is gone: fairness re-exports the models layer's one
    assert fairness.OperatingPoint is OperatingPoint
