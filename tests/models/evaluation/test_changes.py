"""compare_models(): flags that changed, by school (small cells suppressed), and reason stability."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropoutrisk.errors import AlignmentError, ParameterError
from dropoutrisk.models import RiskModel, compare_models
from dropoutrisk.models.evaluation._changes import (
    ALL_SCHOOLS,
    CHANGE_COLUMNS,
    flag_changes,
    reason_agreement,
)
from dropoutrisk.models.evaluation._metrics import top_fraction_flags

# ---- flag_changes: counts and suppression ---------------------------------------------


def _raw_counts(ref, new, schools):
    frame = pd.DataFrame({"s": schools, "n_rows": 1, "still_flagged": ref & new,
                          "newly_flagged": new & ~ref, "no_longer_flagged": ref & ~new})
    return frame.groupby("s")[list(CHANGE_COLUMNS)].sum().astype(int)


def test_counts_by_school_equal_the_flags_when_nothing_is_small():
    rng = np.random.default_rng(0)
    schools = np.repeat(["a", "b", "c"], 400)
    ref = rng.random(1200) < 0.3
    new = np.where(rng.random(1200) < 0.8, ref, ~ref)
    table = flag_changes(ref, new, schools).set_index("school_id")
    expected = _raw_counts(ref, new, schools)
    assert (table.loc[["a", "b", "c"], list(CHANGE_COLUMNS)].astype(int) == expected).all().all()
    assert table.loc[ALL_SCHOOLS, "newly_flagged"] == int((new & ~ref).sum())
    assert table.loc[ALL_SCHOOLS, "no_longer_flagged"] == int((ref & ~new).sum())
    assert (table["suppressed"] == "").all()


def test_small_counts_and_small_schools_are_withheld_with_their_reason():
    ref = np.r_[np.ones(30, bool), np.zeros(30, bool), np.ones(14, bool), np.zeros(26, bool),
                np.ones(2, bool), np.zeros(6, bool)]
    new = np.r_[np.ones(26, bool), np.zeros(4, bool), np.ones(12, bool), np.zeros(18, bool),
                np.ones(14, bool), np.zeros(26, bool), np.zeros(8, bool)]
    schools = np.array(["a"] * 60 + ["b"] * 40 + ["c"] * 8)
    table = flag_changes(ref, new, schools).set_index("school_id")
    assert pd.isna(table.loc["a", "no_longer_flagged"])  # 4: a small cell
    assert table.loc["c", list(CHANGE_COLUMNS)].isna().all()  # 8 rows: the whole school
    assert "school under 10 rows" in table.loc["c", "suppressed"]
    assert table.loc["a", "suppressed"] == "no_longer_flagged: small cell"
    # b's counts would give c's back from the totals: withheld as complementary cells
    assert table.loc["b", "suppressed"].count("complementary") == 3
    assert table.loc["b", "no_longer_flagged"] == 0  # a zero describes nobody: shown
    assert pd.isna(table.loc[ALL_SCHOOLS, "no_longer_flagged"])  # total 6


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6), st.floats(0.02, 0.5))
def test_no_suppressed_count_can_be_recomputed_from_the_published_ones(seed, n_schools, churn):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 80, n_schools)
    schools = np.repeat([f"s{i}" for i in range(n_schools)], sizes)
    ref = rng.random(schools.size) < 0.25
    new = np.where(rng.random(schools.size) < churn, ~ref, ref)
    table = flag_changes(ref, new, schools)
    cells, total = table.iloc[:-1], table.iloc[-1]
    raw = _raw_counts(ref, new, schools)
    for column in CHANGE_COLUMNS:
        shown = cells[column].dropna().astype(int)
        # every published count is the true one, and none is from 1 to 9 students
        assert (shown == raw.loc[shown.index.map(cells["school_id"].get), column].to_numpy()
                ).all()
        assert not ((shown > 0) & (shown < 10)).any()
        hidden = cells[column].isna()
        if not pd.isna(total[column]):
            assert not 0 < total[column] < 10
            # a single withheld cell would be the total minus the published ones
            assert hidden.sum() != 1 or n_schools == 1
    assert (cells.loc[raw.reset_index()["n_rows"].to_numpy() < 10, "n_rows"].isna()).all()


def test_reason_agreement_distinguishes_set_order_and_first():
    a = np.array([["X", "Y", "Z"], ["X", "Y", "Z"], ["X", "Y", None], ["X", None, None],
                  [None, None, None]], dtype=object)
    b = np.array([["X", "Y", "Z"], ["Y", "X", "Z"], ["X", "Y", "Z"], [None, None, None],
                  [None, None, None]], dtype=object)
    has, same_set, same_order, same_first = reason_agreement(a, b)
    assert has.tolist() == [True, True, True, True, False]
    assert same_set.tolist() == [True, True, False, False, True]
    assert same_order.tolist() == [True, False, False, False, True]
    assert same_first.tolist() == [True, False, True, False, False]


# ---- compare_models with schools and reasons ------------------------------------------


@pytest.fixture(scope="module")
def two_models(frame):
    X, y = frame
    kwargs = dict(n_estimators=30, min_child_samples=10, n_jobs=1)
    return (RiskModel(random_state=0, **kwargs).fit(X, y),
            RiskModel(random_state=1, **{**kwargs, "n_estimators": 12}).fit(X, y))


def _codes(n, rng, pool=("A-LOW", "B-HIGH", "C-LOW", "D-HIGH", "E-LOW")):
    return np.array([rng.choice(pool, 3, replace=False) for _ in range(n)], dtype=object)


def test_changed_flags_follow_the_flags_at_the_comparisons_flag_rate(frame, two_models):
    X, y = frame
    old, new = two_models
    cmp = compare_models({"previous": old, "model": new}, X, y, n_boot=0, flag_rate=0.2)
    as_of = X["as_of"].to_numpy()
    f_old = top_fraction_flags(old.rank_score(X), 0.2, as_of)
    f_new = top_fraction_flags(new.rank_score(X), 0.2, as_of)
    table = cmp.flag_changes.set_index("school_id")
    raw = _raw_counts(f_old, f_new, X["school_id"].to_numpy())
    for school in raw.index:
        for column in CHANGE_COLUMNS:
            shown = table.loc[school, column]
            assert pd.isna(shown) or shown == raw.loc[school, column]
    assert table.loc[ALL_SCHOOLS, "n_rows"] == len(X)
    assert set(table["model"]) == {"model"} and set(table["reference"]) == {"previous"}
    assert cmp.settings["schools"] == 3


def test_a_model_against_itself_changes_no_flag_and_keeps_every_reason(frame, fitted_model):
    X, y = frame
    codes = _codes(len(X), np.random.default_rng(0))
    cmp = compare_models({"previous": fitted_model, "model": fitted_model}, X, y,
                         reasons={"previous": codes, "model": codes}, n_boot=100,
                         random_state=0)
    total = cmp.flag_changes.set_index("school_id").loc[ALL_SCHOOLS]
    assert total["newly_flagged"] == 0 and total["no_longer_flagged"] == 0
    row = cmp.reason_stability.iloc[0]
    assert row["n_flagged_both"] == total["still_flagged"] > 10
    assert row["same_set"] == row["same_order"] == row["same_first"] == 1.0
    assert row["same_set_ci_low"] == row["same_set_ci_high"] == 1.0


def test_reason_stability_is_the_share_with_the_same_set_among_rows_flagged_by_both(
        frame, two_models):
    X, y = frame
    old, new = two_models
    rng = np.random.default_rng(1)
    codes_old = _codes(len(X), rng)
    codes_new = codes_old.copy()
    shuffle = rng.random(len(X)) < 0.3  # the same reasons in another order
    codes_new[shuffle] = codes_new[shuffle][:, ::-1]
    other = rng.random(len(X)) < 0.25  # another third reason
    codes_new[other, 2] = "Z-NEW"
    cmp = compare_models({"previous": old, "model": new}, X, y, n_boot=300, random_state=0,
                         reasons={"previous": codes_old, "model": codes_new})
    as_of = X["as_of"].to_numpy()
    both = (top_fraction_flags(old.rank_score(X), 0.1, as_of)
            & top_fraction_flags(new.rank_score(X), 0.1, as_of))
    row = cmp.reason_stability.iloc[0]
    assert row["n_flagged_both"] == row["n_compared"] == both.sum()
    assert row["same_set"] == pytest.approx((~other[both]).mean())
    assert row["same_order"] == pytest.approx((~other[both] & ~shuffle[both]).mean())
    assert row["same_set_ci_low"] <= row["same_set"] <= row["same_set_ci_high"]
    assert row["same_set_ci_low"] < row["same_set_ci_high"]
    assert "reason stability" in cmp.changes_summary()


def test_reasons_and_schools_do_not_change_the_metric_intervals(frame, two_models):
    X, y = frame
    old, new = two_models
    codes = _codes(len(X), np.random.default_rng(2))
    plain = compare_models({"previous": old, "model": new}, X, y, n_boot=200, random_state=3)
    full = compare_models({"previous": old, "model": new}, X, y, n_boot=200, random_state=3,
                          reasons={"previous": codes, "model": codes},
                          schools=np.where(X["school_id"] == "A", "A", "other"))
    pd.testing.assert_frame_equal(plain.differences, full.differences)
    assert set(full.flag_changes["school_id"]) == {"A", "other", ALL_SCHOOLS}


@pytest.mark.filterwarnings("ignore:.*bootstrap replicates left a metric undefined")
def test_too_few_rows_flagged_by_both_gives_no_share(frame, fitted_model):
    X, y = frame
    rows = X.iloc[:60]
    codes = _codes(len(rows), np.random.default_rng(0))
    cmp = compare_models({"previous": fitted_model, "model": fitted_model}, rows,
                         y.iloc[:60], reasons={"previous": codes, "model": codes}, n_boot=50,
                         random_state=0)
    row = cmp.reason_stability.iloc[0]
    assert row["n_compared"] < 10 and np.isnan(row["same_set"])
    assert "not computed" in cmp.changes_summary()


def test_without_school_ids_only_the_totals_and_without_reasons_no_stability(frame,
                                                                           fitted_model):
    X, y = frame
    cmp = compare_models({"previous": fitted_model, "model": fitted_model},
                         X.drop(columns="school_id"), y, n_boot=0)
    assert cmp.flag_changes["school_id"].tolist() == [ALL_SCHOOLS]
    assert cmp.reason_stability.empty
    assert cmp.settings["schools"] is None


def test_the_json_holds_counts_and_shares_but_no_student_id(frame, two_models):
    X, y = frame
    old, new = two_models
    codes = _codes(len(X), np.random.default_rng(4))
    cmp = compare_models({"previous": old, "model": new}, X, y, n_boot=50, random_state=0,
                         reasons={"previous": codes, "model": codes})
    text = cmp.to_json()
    d = json.loads(text)
    assert {r["school_id"] for r in d["flag_changes"]} == {"A", "B", "C", ALL_SCHOOLS}
    assert d["reason_stability"][0]["same_set"] == 1.0
    assert not any(sid in text for sid in X.index.unique())
    json.dumps(d, allow_nan=False)
    copy = cmp.flag_changes
    copy.iloc[0, 3] = -1
    assert not cmp.flag_changes.equals(copy)


def test_bad_reasons_and_schools_are_refused_by_name(frame, fitted_model):
    X, y = frame
    models = {"previous": fitted_model, "model": fitted_model}
    codes = _codes(len(X), np.random.default_rng(0))
    with pytest.raises(ParameterError, match=r"reasons has codes for \['nope'\]"):
        compare_models(models, X, y, n_boot=0, reasons={"nope": codes})
    with pytest.raises(AlignmentError, match=r"reasons\['model'\].*10 rows of reason codes"):
        compare_models(models, X, y, n_boot=0, reasons={"model": codes[:10]})
    with pytest.raises(ParameterError, match="reason_1_code"):
        compare_models(models, X, y, n_boot=0, reasons={"model": pd.DataFrame({"x": codes[:, 0]})})
    with pytest.raises(TypeError, match="mapping model name"):
        compare_models(models, X, y, n_boot=0, reasons=[codes])
    with pytest.raises(AlignmentError, match="5 school ids"):
        compare_models(models, X, y, n_boot=0, schools=["a"] * 5)
