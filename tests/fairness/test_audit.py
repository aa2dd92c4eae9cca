"""The audit: measures, intervals, disparities, findings, operating points, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from dropoutrisk.errors import AlignmentError, DataQualityWarning, MissingColumnError
from dropoutrisk.fairness import Audit, OperatingPoint, audit

GROUPS = ["gender", "newly_arrived", "special_support"]


@pytest.fixture(scope="module")
def result(frame):
    X, y, p = frame
    return audit(features=X, labels=y, scores=p, groups=GROUPS, operating_point=0.3,
                 n_boot=200, random_state=0)


def test_every_group_and_intersection_is_listed(result):
    assert result.by_group["grouping"].unique().tolist() == GROUPS
    assert set(result.by_intersection["grouping"]) == {
        "gender × newly_arrived", "gender × special_support",
        "newly_arrived × special_support", "gender × newly_arrived × special_support"}
    assert len(result.by_intersection) == 4 * 3 + 8


def test_intersection_point_estimates_match_metricframe(result, frame):
    X, y, p = frame
    f = p >= 0.3
    mf = MetricFrame(
        metrics={"tpr": recall_score,
                 "precision": lambda a, b: precision_score(a, b, zero_division=np.nan)},
        y_true=y, y_pred=f, sensitive_features=X[GROUPS])
    auc = MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=p,
                      sensitive_features=X[GROUPS]).by_group
    cells = result.by_intersection
    three = cells[cells["grouping"] == "gender × newly_arrived × special_support"]
    judged = 0
    for row in three[~three["suppressed"]].itertuples():
        g, na, ss = row.group.split(" × ")
        key = (g, int(na), ss == "True")
        if row.dropouts < 10:  # a rate needs 10 dropouts to be judged
            assert np.isnan(row.tpr) and np.isnan(row.roc_auc)
            assert "too few dropouts to judge (tpr, ece, roc_auc)" in row.note
            continue
        judged += 1
        assert row.tpr == pytest.approx(mf.by_group.loc[key, "tpr"])
        assert row.precision == pytest.approx(mf.by_group.loc[key, "precision"])
        assert row.roc_auc == pytest.approx(auc.loc[key])
    assert judged >= 3


def test_group_sizes_are_exact_and_intervals_bracket_estimates(result, frame):
    X, _, _ = frame
    counts = X["gender"].value_counts()
    rows = result.by_group.set_index(["grouping", "group"])
    assert rows.loc[("gender", "F"), "n"] == counts["F"]
    for m in ("flag_rate", "tpr", "fpr", "ece"):
        assert (rows[f"{m}_lo"] <= rows[m] + 1e-12).all()
        assert (rows[f"{m}_hi"] >= rows[m] - 1e-12).all()
        assert (rows[f"{m}_hi"] > rows[f"{m}_lo"]).all()


def test_overall_flag_rate_is_the_share_above_threshold(result, frame):
    _, _, p = frame
    assert result.overall["flag_rate"] == pytest.approx((p >= 0.3).mean())
    assert result.overall["n"] == len(p)


def test_default_reference_is_the_largest_group(result, frame):
    X, _, _ = frame
    d = result.disparities
    largest = str(X["newly_arrived"].value_counts().idxmax())
    assert set(d.loc[d["grouping"] == "newly_arrived", "reference"]) == {largest}
    assert largest not in set(d.loc[d["grouping"] == "newly_arrived", "group"])


def test_ratio_is_group_over_reference(result):
    rows = result.by_group.set_index(["grouping", "group"])
    d = result.disparities.set_index(["grouping", "group", "metric"])
    ref = d.loc[("gender", slice(None), "fpr"), "reference"].iloc[0]
    other = "F" if ref == "M" else "M"
    expected = rows.loc[("gender", other), "fpr"] / rows.loc[("gender", ref), "fpr"]
    assert d.loc[("gender", other, "fpr"), "ratio"] == pytest.approx(expected)


def test_reference_can_be_named_or_overall(frame):
    X, y, p = frame
    a = audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3,
              reference={"gender": "F"}, n_boot=0)
    assert a.disparities["group"].tolist() == ["M"] * 4
    b = audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3,
              reference="overall", n_boot=0)
    assert set(b.disparities["reference"]) == {"overall"}
    assert len(b.disparities) == 2 * 4
    with pytest.raises(ValueError, match="is not a group of 'gender'"):
        audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3,
              reference={"gender": "X"}, n_boot=0)


def test_finding_rule_band_and_parity():
    # Group B is flagged three times as often as A, on 300 students each.
    n = 600
    g = pd.DataFrame({"site": ["A"] * 300 + ["B"] * 300})
    y = np.tile([1, 0, 0, 0, 0], n // 5)
    flags = np.r_[np.arange(300) % 10 == 0, np.arange(300) % 10 < 3]
    a = Audit(y_true=y, y_score=np.full(n, 0.2), flags=flags, groups=g, n_boot=200,
              random_state=1)
    f = a.findings.set_index("metric")
    assert f.loc["flag_rate", "ratio"] == pytest.approx(3.0)
    assert bool(f.loc["flag_rate", "excludes_parity"])
    assert f.loc["flag_rate", "ratio_lo"] > 1.25
    d = a.disparities
    assert (d["outside_band"] == (d["judged"] & ~d["ratio"].between(0.8, 1.25))).all()
    assert (d["finding"] == (d["outside_band"] & d["excludes_parity"])).all()
    assert f.loc["flag_rate", "kind"] == "disparity"


def test_bootstrap_is_reproducible_and_seed_dependent(frame):
    X, y, p = frame
    kw = dict(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3, n_boot=100)
    a, b, c = audit(**kw, random_state=3), audit(**kw, random_state=3), audit(**kw, random_state=4)
    pd.testing.assert_frame_equal(a.by_group, b.by_group)
    assert not a.by_group["tpr_lo"].equals(c.by_group["tpr_lo"])


def test_audit_is_immutable_and_returns_copies(result):
    with pytest.raises(AttributeError, match="immutable"):
        result.foo = 1
    table = result.by_group
    table.loc[0, "tpr"] = -1.0
    assert result.by_group.loc[0, "tpr"] != -1.0


class _Model:
    """A model with predict_proba and flag, recording how it was asked to flag."""

    def __init__(self, p):
        self.p = p
        self.calls = []

    def predict_proba(self, X):
        return np.column_stack([1 - self.p, self.p])

    def flag(self, X, *, threshold=None, capacity=None, by=None):
        self.calls.append({"threshold": threshold, "capacity": capacity, "by": by})
        if capacity is not None:
            order = np.argsort(-self.p, kind="stable")
            out = np.zeros(self.p.size, dtype=bool)
            out[order[:capacity]] = True
            return pd.Series(out, index=X.index)
        return pd.Series(self.p >= (0.2 if threshold is None else threshold), index=X.index)


def test_operating_points_delegate_to_the_model(frame):
    X, y, p = frame
    X = X.assign(school_id=np.where(np.arange(len(X)) % 2, "A", "B"))
    model = _Model(p)
    a = audit(model, X, y, groups=["gender"], operating_point={"capacity": 50, "by": "school_id"},
              n_boot=0)
    assert model.calls[-1]["capacity"] == 50
    assert list(model.calls[-1]["by"][:2]) == ["B", "A"]
    assert a.params["operating_point"] == "capacity 50 per school_id"
    audit(model, X, y, groups=["gender"], operating_point=0.4, n_boot=0)
    assert model.calls[-1]["threshold"] == 0.4
    d = audit(model, X, y, groups=["gender"], n_boot=0)
    assert d.params["operating_point"] == "model default"
    assert d.overall["flag_rate"] == pytest.approx((p >= 0.2).mean())


def test_capacity_per_school_without_a_model(frame):
    X, y, p = frame
    X = X.assign(school_id=np.where(np.arange(len(X)) % 3, "A", "B"))
    a = audit(features=X, labels=y, scores=p, groups=["gender"],
              operating_point=OperatingPoint(capacity=30, by="school_id"), n_boot=0)
    assert a.overall["flag_rate"] == pytest.approx(60 / len(X))
    r = audit(features=X, labels=y, scores=p, groups=["gender"],
              operating_point={"flag_rate": 0.1}, n_boot=0)
    assert r.overall["flag_rate"] == pytest.approx(0.1)


def test_precomputed_flags_win(frame):
    X, y, p = frame
    flags = np.zeros(len(p), dtype=bool)
    flags[:100] = True
    a = audit(features=X, labels=y, scores=p, flags=flags, groups=["gender"], n_boot=0)
    assert a.overall["flag_rate"] == pytest.approx(100 / len(p))
    assert a.params["operating_point"] == "precomputed flags"


def test_censored_rows_are_dropped_with_a_warning(frame):
    X, y, p = frame
    y = y.astype(float)
    y.iloc[:7] = np.nan
    with pytest.warns(DataQualityWarning, match="7 rows without an outcome"):
        a = audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3,
                  n_boot=0)
    assert a.overall["n"] == len(X) - 7


def test_labels_are_aligned_by_index(frame):
    X, y, p = frame
    shuffled = y.sample(frac=1.0, random_state=0)
    a = audit(features=X, labels=shuffled, scores=p, groups=["gender"], operating_point=0.3,
              n_boot=0)
    assert a.overall["base_rate"] == pytest.approx(y.mean())
    assert a.overall["tpr"] == pytest.approx(((p >= 0.3) & (y == 1)).sum() / y.sum())


def test_misaligned_labels_raise(frame):
    X, y, p = frame
    Xd = pd.concat([X, X])
    yd = pd.concat([y, y]).iloc[::-1]
    with pytest.raises(AlignmentError, match="labels"):
        audit(features=Xd, labels=yd, scores=np.r_[p, p], groups=["gender"],
              operating_point=0.3, n_boot=0)


def test_missing_group_column_names_it(frame):
    X, y, p = frame
    with pytest.raises(MissingColumnError, match="column 'in_care'"):
        audit(features=X, labels=y, scores=p, groups=["gender", "in_care"], operating_point=0.3)


@pytest.mark.parametrize("op, message", [
    ({"threshold": 0.2, "capacity": 3}, "exactly one of threshold, capacity, flag_rate and cost"),
    (1.5, "not a probability"),
    ({"capacity": 10, "size": 3}, "unknown keys"),
    ({"flag_rate": 0.1, "by": "school_id"}, "by only applies with capacity"),
])
def test_bad_operating_points(frame, op, message):
    X, y, p = frame
    with pytest.raises(ValueError, match=message):
        audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=op)


def test_no_operating_point_without_a_model_raises(frame):
    X, y, p = frame
    with pytest.raises(ValueError, match="Pass operating_point="):
        audit(features=X, labels=y, scores=p, groups=["gender"])


def test_intersections_can_be_limited(frame):
    X, y, p = frame
    a = audit(features=X, labels=y, scores=p, groups=GROUPS, intersections=False,
              operating_point=0.3, n_boot=0)
    assert a.by_intersection.empty
    b = audit(features=X, labels=y, scores=p, groups=GROUPS, intersections=2,
              operating_point=0.3, n_boot=0)
    assert set(b.by_intersection["level"]) == {2}


def test_missing_group_values_form_their_own_group(frame):
    X, y, p = frame
    X = X.assign(gender=X["gender"].where(np.arange(len(X)) % 20 != 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = audit(features=X, labels=y, scores=p, groups=["gender"], operating_point=0.3,
                  n_boot=0)
    assert a.by_group["group"].tolist() == ["F", "M", "missing"]


def test_repeated_students_are_resampled_together(frame):
    X, y, p = frame
    X2, y2, p2 = pd.concat([X, X]), pd.concat([y, y]), np.r_[p, p]  # two snapshots each
    kw = dict(labels=y2, scores=p2, operating_point=0.3, n_boot=200, random_state=0)
    by_student = audit(features=X2, groups=["gender"], **kw)
    by_row = audit(groups=X2[["gender"]].reset_index(drop=True), **kw)
    assert by_student.params["bootstrap_unit"] == "cluster"
    assert by_row.params["bootstrap_unit"] == "row"
    width = lambda a: (a.overall["tpr_hi"] - a.overall["tpr_lo"])  # noqa: E731
    # Duplicated rows are not new information: resampling students widens the interval
    # by about sqrt(2) over treating each snapshot as independent.
    assert width(by_student) > 1.2 * width(by_row)


def test_row_order_does_not_matter(frame):
    X, y, p = frame
    perm = np.random.default_rng(5).permutation(len(X))
    kw = dict(groups=GROUPS, operating_point=0.3, n_boot=0)
    a = audit(features=X, labels=y, scores=p, **kw)
    b = audit(features=X.iloc[perm], labels=y.iloc[perm], scores=p[perm], **kw)
    pd.testing.assert_frame_equal(a.by_intersection, b.by_intersection)
    pd.testing.assert_frame_equal(a.disparities, b.disparities)


def _planted(seed=0, n=2000):
    """Group B's risk is under-predicted: its scores are halved."""
    rng = np.random.default_rng(seed)
    g = pd.DataFrame({"site": rng.choice(["A", "B"], n, p=[0.7, 0.3]),
                      "tiny": np.where(np.arange(n) < 25, "few", "many")})
    truth = np.clip(rng.beta(2, 8, n), 0.001, 0.999)
    y = (rng.random(n) < truth).astype(int)
    y[:25], y[:3] = 0, 1  # the "few" group: 3 dropouts
    score = np.where(g["site"] == "B", truth * 0.5, truth)
    return g, y, score


def test_planted_under_prediction_is_a_calibration_finding():
    g, y, score = _planted()
    a = Audit(y_true=y, y_score=score, flags=score >= 0.3, groups=g[["site"]], n_boot=300,
              random_state=0)
    cal = a.calibration.set_index("group")
    assert cal.loc["B", "ratio"] == pytest.approx(
        y[g["site"] == "B"].mean() / score[g["site"] == "B"].mean())
    assert cal.loc["B", "ratio_lo"] > 1.25 and cal.loc["B", "finding"]
    assert not cal.loc["A", "finding"]  # A is calibrated
    f = a.findings
    row = f[(f["kind"] == "calibration") & (f["group"] == "B")]
    assert len(row) == 1 and row.iloc[0]["metric"] == "calibration"
    assert row.iloc[0]["reference"] == "predicted"


def test_no_finding_and_no_calibration_finding_without_a_planted_gap():
    g, y, _ = _planted()
    rng = np.random.default_rng(1)
    truth = np.clip(rng.beta(2, 8, len(y)), 0.001, 0.999)
    y = (rng.random(len(y)) < truth).astype(int)
    a = Audit(y_true=y, y_score=truth, flags=truth >= 0.3, groups=g[["site"]], n_boot=300,
              random_state=0)
    assert not a.calibration["finding"].any()


def test_rates_need_enough_events_and_never_show_inf_or_zero_width():
    # 60 students in "few": 2 dropouts and no flag; the rest have plenty of both.
    n = 1000
    g = pd.DataFrame({"grp": np.where(np.arange(n) < 60, "few", "many")})
    y = np.zeros(n, dtype=int)
    y[[3, 7]] = 1
    y[60::8] = 1
    s = np.full(n, 0.1)
    flags = np.zeros(n, dtype=bool)
    flags[60::5] = True
    a = Audit(y_true=y, y_score=s, flags=flags, groups=g, n_boot=200, random_state=0)
    few = a.by_group.set_index("group").loc["few"]
    assert few["dropouts"] == 2 and few["flagged"] == 0
    assert np.isnan(few["tpr"]) and np.isnan(few["precision"])
    assert "too few dropouts to judge" in few["note"] and "too few flags to judge" in few["note"]
    assert few["flag_rate"] == 0 and np.isnan(few["flag_rate_lo"])  # no spread: no interval
    d = a.disparities.set_index("metric")
    assert d.loc["tpr", "note"] == "too few dropouts to judge"
    assert d.loc["precision", "note"] == "too few flags to judge"
    assert d.loc["flag_rate", "note"] == "too few events for an interval"
    assert not d["judged"].any() and (a.findings["kind"] != "disparity").all()
    doc = a.to_dict()
    text = a.to_json()
    assert "inf" not in text
    for row in doc["by_group"] + doc["disparities"] + doc["calibration"]:
        for key, lo in row.items():
            if key.endswith("_lo") and lo is not None:
                assert row[key[:-3] + "_hi"] > lo, (row, key)


def test_min_events_is_a_parameter():
    g, y, score = _planted()
    kw = dict(y_true=y, y_score=score, flags=score >= 0.3, groups=g[["tiny"]], n_boot=50,
              random_state=0)
    strict = Audit(**kw).by_group.set_index("group")
    loose = Audit(**kw, min_events=1).by_group.set_index("group")
    assert strict.loc["few", "dropouts"] < 10
    assert np.isnan(strict.loc["few", "tpr"]) and not np.isnan(loose.loc["few", "tpr"])
    with pytest.raises(ValueError, match="min_events"):
        Audit(**kw, min_events=0)
