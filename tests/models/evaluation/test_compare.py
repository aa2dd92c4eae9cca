"""compare_models() and ModelComparison: point estimates, paired cluster bootstrap, errors."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dropoutrisk.errors import AlignmentError
from dropoutrisk.models import (
    ABCRule,
    LogisticBaseline,
    ModelComparison,
    compare_models,
    evaluate,
)
from dropoutrisk.models.evaluation._bootstrap import _Kernel, _Ranking


def _synthetic(n_students=600, snapshots=1, seed=0):
    """Students with a latent risk; one row per student and snapshot, and three score vectors."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n_students)
    ids = np.repeat([f"s{i:05d}" for i in range(n_students)], snapshots)
    lat = np.repeat(latent, snapshots)
    y = (rng.random(lat.size) < 1 / (1 + np.exp(-(-2.0 + 1.5 * lat)))).astype(float)
    as_of = np.tile(pd.date_range("2024-09-30", periods=snapshots, freq="28D"), n_students)
    X = pd.DataFrame({"as_of": as_of}, index=pd.Index(ids, name="student_id"))

    def proba(noise):
        return 1 / (1 + np.exp(-(-2.0 + 1.5 * lat + rng.normal(0, noise, lat.size))))

    return X, y, {"weak": proba(2.5), "strong": proba(0.3)}


@pytest.fixture(scope="module")
def trio(frame, fitted_model):
    X, y = frame
    return {"model": fitted_model, "abc": ABCRule().fit(X, y),
            "logistic": LogisticBaseline().fit(X, y)}


@pytest.fixture(scope="module")
def comparison(frame, trio):
    X, y = frame
    return compare_models(trio, X, y, reference="logistic", n_boot=300, random_state=0)


# ---- point estimates ------------------------------------------------------------------


def test_point_estimates_equal_evaluate(frame, trio):
    X, y = frame
    y = y.copy()
    y.iloc[::25] = np.nan  # unlabelled rows are left out by both
    cmp = compare_models(trio, X, y, n_boot=0)
    ev = evaluate(models=trio, X=X, y=y)
    assert cmp.settings["n_unlabelled_dropped"] == ev.settings["n_unlabelled_dropped"] > 0
    got = cmp.metrics
    assert list(got.index) == ["model", "abc", "logistic"]
    assert list(got.columns) == ["roc_auc", "pr_auc", "brier", "log_loss",
                                 "precision_at_5pct", "recall_at_5pct",
                                 "precision_at_10pct", "recall_at_10pct",
                                 "precision_at_20pct", "recall_at_20pct"]
    want = ev.metrics.loc[got.index, got.columns]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-10, atol=1e-12)


def test_point_estimates_do_not_depend_on_row_order():
    X, y, scores = _synthetic(300, snapshots=2)
    order = np.random.default_rng(1).permutation(len(y))
    a = compare_models(scores, X, y, n_boot=0)
    b = compare_models({k: v[order] for k, v in scores.items()}, X.iloc[order], y[order],
                       n_boot=0)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, rtol=1e-12)


def test_rank_only_scores_have_no_calibration_metrics():
    X, y, scores = _synthetic(200)
    logits = {"weak": np.log(scores["weak"] / (1 - scores["weak"])), "strong": scores["strong"]}
    cmp = compare_models(logits, X, y, n_boot=20, random_state=0)
    assert np.isnan(cmp.metrics.loc["weak", "brier"]) and cmp.metrics.loc["strong", "brier"] > 0
    assert cmp.metrics.loc["weak", "roc_auc"] == pytest.approx(
        evaluate(y, scores["weak"]).metrics.loc["model", "roc_auc"])
    assert "strong vs weak: brier n/a" in cmp.summary().splitlines()


def test_flag_rate_is_always_compared_and_metrics_selects():
    X, y, scores = _synthetic(200)
    cmp = compare_models(scores, X, y, flag_rate=0.15, k_rates=(0.05,),
                         metrics=["recall_at_15pct", "roc_auc"], n_boot=10, random_state=0)
    assert list(cmp.metrics.columns) == ["recall_at_15pct", "roc_auc"]
    assert cmp.settings["k_rates"] == [0.05, 0.15]
    assert set(cmp.differences["metric"]) == {"recall_at_15pct", "roc_auc"}
    assert cmp.summary("roc_auc").startswith("strong vs weak: roc_auc +")


# ---- the kernel against scikit-learn --------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_fast_auc_and_ap_equal_weighted_sklearn(ties):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    n, n_clusters = 700, 240
    clusters = rng.integers(0, n_clusters, n)
    y = (rng.random(n) < 0.15).astype(int)
    score = y + rng.normal(0, 1, n)
    if ties:
        score = np.round(score)  # a handful of distinct values: large tie groups
        assert np.unique(score).size < 10
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), size=25)
    auc, ap = _Ranking(score, y, clusters).measures(weights.astype(float))
    for b, w in enumerate(weights):
        rows = w[clusters]
        assert auc[b] == pytest.approx(roc_auc_score(y, score, sample_weight=rows), abs=1e-10)
        assert ap[b] == pytest.approx(average_precision_score(y, score, sample_weight=rows),
                                      abs=1e-10)


@given(st.lists(st.tuples(st.integers(0, 4), st.booleans(), st.integers(0, 3)),
                min_size=2, max_size=40))
def test_fast_auc_and_ap_equal_sklearn_property(rows):
    from sklearn.metrics import average_precision_score, roc_auc_score

    score = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[1] for r in rows], dtype=int)
    w = np.array([r[2] for r in rows], dtype=float)
    if (w * y).sum() == 0 or (w * (1 - y)).sum() == 0:
        return  # undefined with a single weighted class
    auc, ap = _Ranking(score, y, np.arange(y.size)).measures(w[None, :])
    assert auc[0] == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-10)
    assert ap[0] == pytest.approx(average_precision_score(y, score, sample_weight=w), abs=1e-10)


def test_weighted_brier_log_loss_precision_and_recall_by_hand():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(4)
    n, n_clusters = 300, 100
    clusters = rng.integers(0, n_clusters, n)
    y = (rng.random(n) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.1, n), 0.01, 0.99)
    flags = p >= np.quantile(p, 0.9)
    kernel = _Kernel(y, clusters, n_clusters, {"m": (p, p)}, {"m": {0.1: flags}}, [0.1])
    w = rng.integers(0, 4, n_clusters).astype(float)
    out = dict(zip(kernel.metric_names, kernel(w[None, :])[0, 0], strict=True))
    rw = w[clusters]
    assert out["brier"] == pytest.approx(np.average((p - y) ** 2, weights=rw), rel=1e-12)
    assert out["log_loss"] == pytest.approx(log_loss(y, p, sample_weight=rw), rel=1e-12)
    assert out["recall_at_10pct"] == pytest.approx((rw * flags * y).sum() / (rw * y).sum())
    assert out["precision_at_10pct"] == pytest.approx((rw * flags * y).sum() / (rw * flags).sum())


# ---- intervals ------------------------------------------------------------------------


def test_intervals_contain_the_estimate(comparison):
    iv = comparison.intervals
    assert list(iv.columns) == ["model", "metric", "estimate", "ci_low", "ci_high"]
    assert len(iv) == 3 * 10
    assert (iv["ci_low"] <= iv["estimate"]).all() and (iv["estimate"] <= iv["ci_high"]).all()
    assert (iv["ci_high"] - iv["ci_low"] > 0).all()
    d = comparison.differences
    assert (d["ci_low"] <= d["difference"]).all() and (d["difference"] <= d["ci_high"]).all()
    assert set(d["model"]) == {"model", "abc"} and set(d["reference"]) == {"logistic"}


def test_differences_and_ratios_follow_the_point_estimates(comparison):
    m = comparison.metrics
    d = comparison.differences.set_index(["model", "metric"])
    row = d.loc[("abc", "recall_at_10pct")]
    assert row["difference"] == pytest.approx(m.loc["abc", "recall_at_10pct"]
                                              - m.loc["logistic", "recall_at_10pct"])
    assert row["ratio"] == pytest.approx(m.loc["abc", "recall_at_10pct"]
                                         / m.loc["logistic", "recall_at_10pct"])
    assert row["ratio_ci_low"] <= row["ratio"] <= row["ratio_ci_high"]
    assert 0.0 <= row["p_not_better"] <= 1.0


def test_a_model_against_itself_differs_by_exactly_zero():
    X, y, scores = _synthetic(300, snapshots=2)
    cmp = compare_models({"a": scores["weak"], "b": scores["weak"].copy()}, X, y, n_boot=100,
                         random_state=0)
    d = cmp.differences
    assert (d[["difference", "ci_low", "ci_high"]] == 0).all().all()
    assert (d[["ratio", "ratio_ci_low", "ratio_ci_high"]] == 1).all().all()
    assert (d["p_not_better"] == 1.0).all()  # a tie is not better


def test_a_clearly_better_model_is_better_in_every_direction():
    X, y, scores = _synthetic(2000)
    cmp = compare_models(scores, X, y, n_boot=300, random_state=0)
    d = cmp.differences.set_index("metric")
    for metric in ("roc_auc", "pr_auc", "recall_at_5pct", "recall_at_10pct",
                   "precision_at_20pct"):
        assert d.loc[metric, "ci_low"] > 0, metric
        assert d.loc[metric, "p_not_better"] < 0.01, metric
    for metric in ("brier", "log_loss"):  # lower is better
        assert d.loc[metric, "ci_high"] < 0, metric
        assert d.loc[metric, "p_not_better"] < 0.01, metric
    reverse = compare_models(scores, X, y, reference="strong", n_boot=300, random_state=0)
    assert reverse.differences.set_index("metric").loc["roc_auc", "p_not_better"] > 0.99


def _width(cmp, metric="roc_auc", model="strong"):
    d = cmp.differences.set_index(["model", "metric"]).loc[(model, metric)]
    return d["ci_high"] - d["ci_low"]


def test_cluster_bootstrap_keeps_a_students_snapshots_together():
    X1, y1, s1 = _synthetic(500, snapshots=1, seed=5)
    # the same students, each seen at four identical snapshots
    X4 = pd.concat([X1.assign(as_of=X1["as_of"] + pd.Timedelta(weeks=4 * i)) for i in range(4)])
    y4, s4 = np.tile(y1, 4), {k: np.tile(v, 4) for k, v in s1.items()}
    once = compare_models(s1, X1, y1, n_boot=400, random_state=0)
    by_student = compare_models(s4, X4, y4, n_boot=400, random_state=0)
    by_row = compare_models(s4, X4, y4, groups=np.arange(y4.size), n_boot=400, random_state=0)
    assert by_student.n_clusters == 500 and by_student.settings["bootstrap_unit"] == "student_id"
    assert by_row.n_clusters == 2000 and by_row.settings["bootstrap_unit"] == "groups"
    pd.testing.assert_frame_equal(once.metrics, by_student.metrics, rtol=1e-10)
    for metric in ("roc_auc", "recall_at_10pct", "brier"):
        ratio_student = _width(by_student, metric) / _width(once, metric)
        ratio_row = _width(by_row, metric) / _width(once, metric)
        assert 0.8 < ratio_student < 1.25, (metric, ratio_student)
        assert ratio_row < 0.7, (metric, ratio_row)  # about 1/2: four times the "evidence"


def test_rows_are_the_cluster_without_a_student_id_index():
    X, y, scores = _synthetic(200, snapshots=2)
    cmp = compare_models(scores, X.reset_index(drop=True), y, n_boot=10, random_state=0)
    assert cmp.settings["bootstrap_unit"] == "row" and cmp.n_clusters == 400
    multi = X.set_index("as_of", append=True)
    cmp = compare_models(scores, multi, y, as_of=multi.index.get_level_values("as_of"),
                         n_boot=10, random_state=0)
    assert cmp.settings["bootstrap_unit"] == "student_id" and cmp.n_clusters == 200


def test_random_state_fixes_the_intervals():
    X, y, scores = _synthetic(300)
    a = compare_models(scores, X, y, n_boot=50, random_state=7)
    b = compare_models(scores, X, y, n_boot=50, random_state=7)
    c = compare_models(scores, X, y, n_boot=50, random_state=8)
    pd.testing.assert_frame_equal(a.differences, b.differences)
    pd.testing.assert_frame_equal(a.intervals, b.intervals)
    assert not np.allclose(a.differences["ci_low"], c.differences["ci_low"])
    pd.testing.assert_frame_equal(a.metrics, c.metrics)  # the point estimates do not move


def test_no_bootstrap_gives_point_estimates_only():
    X, y, scores = _synthetic(200)
    cmp = compare_models(scores, X, y, n_boot=0)
    assert cmp.n_boot == 0
    assert cmp.intervals[["ci_low", "ci_high"]].isna().all().all()
    assert cmp.differences[["ci_low", "ci_high", "p_not_better"]].isna().all().all()
    assert cmp.summary(metrics=["roc_auc"]).endswith("(no interval)")


def test_undefined_replicates_warn():
    y = np.zeros(40)
    y[0] = 1
    scores = {"a": np.linspace(0.9, 0.1, 40), "b": np.linspace(0.1, 0.9, 40)}
    with pytest.warns(UserWarning, match="replicates left a metric undefined"):
        cmp = compare_models(scores, y=y, n_boot=200, random_state=0)
    assert np.isfinite(cmp.intervals["ci_low"]).any()


# ---- the result object ----------------------------------------------------------------


def test_summary_has_one_line_per_model_and_metric(comparison):
    lines = comparison.summary().splitlines()
    assert len(lines) == 2 * 10
    pattern = re.compile(r"^(model|abc) vs logistic: \w+ [+-]\d\.\d{4} "
                         r"\[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]$")
    assert all(pattern.match(line) for line in lines), lines
    d = comparison.differences.set_index(["model", "metric"]).loc[("model", "recall_at_10pct")]
    assert (f"model vs logistic: recall_at_10pct {d['difference']:+.4f} "
            f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]") in lines
    with pytest.raises(ValueError, match=r"unknown metrics \['auc'\]"):
        comparison.summary(metrics=["auc"])


def test_properties_and_repr(comparison):
    assert isinstance(comparison, ModelComparison)
    assert comparison.reference == "logistic"
    assert comparison.models == ["model", "abc", "logistic"]
    assert comparison.n_boot == 300 and comparison.confidence == 0.95
    assert comparison.n_clusters == 300  # students, not their 600 snapshot rows
    assert comparison.settings["per_snapshot"] and comparison.settings["n_snapshots"] == 2
    assert repr(comparison) == (
        "ModelComparison(reference='logistic', models=['model', 'abc'], n_rows=600, "
        "n_clusters=300 (student_id), n_boot=300, confidence=0.95)")


def test_immutable_and_copies(comparison):
    with pytest.raises(AttributeError, match="immutable"):
        comparison.n_boot = 5
    with pytest.raises(AttributeError, match="immutable"):
        comparison._metrics = None
    for name in ("metrics", "intervals", "differences"):
        copy = getattr(comparison, name)
        copy.iloc[0, -1] = -99
        assert not getattr(comparison, name).equals(copy)
    settings = comparison.settings
    settings["reference"] = "x"
    assert comparison.reference == "logistic"


def test_to_dict_holds_aggregates_only(comparison, frame):
    X, _ = frame
    text = comparison.to_json()
    d = json.loads(text)
    assert set(d) == {"settings", "metrics", "intervals", "differences", "flag_changes",
                      "reason_stability"}
    assert not any(sid in text for sid in X.index.unique()[:50])
    assert d["metrics"]["abc"]["roc_auc"] == pytest.approx(comparison.metrics.loc["abc", "roc_auc"])
    assert len(d["differences"]) == len(comparison.differences)
    assert d["settings"]["n_clusters"] == 300 and d["settings"]["random_state"] == 0


def test_to_dict_turns_nan_into_none():
    X, y, scores = _synthetic(200)
    cmp = compare_models(scores, X, y, n_boot=0)
    d = cmp.to_dict()
    assert d["differences"][0]["ci_low"] is None
    json.dumps(d, allow_nan=False)


def test_plot_differences_renders(comparison, tmp_path):
    ax = comparison.plot_differences(["roc_auc", "recall_at_10pct"])
    assert len(ax.get_yticklabels()) == 4
    ax.figure.savefig(tmp_path / "diff.png")
    assert (tmp_path / "diff.png").stat().st_size > 1000


# ---- errors ---------------------------------------------------------------------------


def test_one_model_is_refused():
    with pytest.raises(ValueError, match=r"needs at least 2 models, got 1 \(\['m'\]\); add"):
        compare_models({"m": np.array([0.1, 0.9])}, y=np.array([0, 1]))


def test_models_must_be_a_mapping():
    with pytest.raises(TypeError, match="models must be a mapping name -> fitted model"):
        compare_models([np.array([0.1, 0.9]), np.array([0.2, 0.8])], y=np.array([0, 1]))


def test_single_class_labels_are_refused():
    with pytest.raises(ValueError, match=r"compare_models needs labelled rows of both classes"
                                         r".*0 dropouts and 3 non-dropouts"):
        compare_models({"a": np.array([.1, .2, .3]), "b": np.array([.3, .2, .1])},
                       y=np.array([0, 0, 0]))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"confidence": 1.5}, r"confidence=1\.5 must be strictly between 0 and 1"),
    ({"confidence": 0}, r"confidence=0 must be strictly between 0 and 1"),
    ({"n_boot": -1}, r"n_boot=-1 must be a whole number >= 0"),
    ({"n_boot": 2.5}, r"n_boot=2\.5 must be a whole number >= 0"),
    ({"flag_rate": 0}, r"'flag_rate' = 0: not a share of the students"),
    ({"k_rates": (0.1, 1.2)}, r"k_rates holds 1\.2"),
    ({"reference": "old"}, r"reference='old' is not one of the models \['a', 'b'\]"),
    ({"metrics": ["roc_auc", "auc"]}, r"unknown names \['auc'\]; choose from"),
    ({"metrics": []}, r"metrics=\[\] selects nothing"),
])
def test_bad_parameters_name_the_problem(kwargs, message):
    y = np.array([0, 1, 0, 1])
    scores = {"a": np.array([.1, .9, .2, .8]), "b": np.array([.2, .7, .3, .6])}
    with pytest.raises(ValueError, match=message):
        compare_models(scores, y=y, **kwargs)


def test_misaligned_groups_and_missing_scores_are_refused():
    y = np.array([0, 1, 0, 1])
    scores = {"a": np.array([.1, .9, .2, .8]), "b": np.array([.2, .7, .3, .6])}
    with pytest.raises(AlignmentError, match="3 cluster labels for 4 rows"):
        compare_models(scores, y=y, groups=["s1", "s1", "s2"])
    with pytest.raises(ValueError, match="needs the labels"):
        compare_models(scores)
    with pytest.raises(ValueError, match="'b' gives 1 missing or infinite scores"):
        compare_models({"a": scores["a"], "b": np.array([.2, np.nan, .3, .6])}, y=y)
    with pytest.raises(ValueError, match="Model 'b' gives 3 scores for 4 labels"):
        compare_models({"a": scores["a"], "b": np.array([.2, .7, .3])}, y=y)


@pytest.mark.parametrize("labels, shown", [((0, 2), "2"), (("dropout", "completed"), "dropout")])
def test_labels_other_than_0_1_are_refused_by_name(labels, shown):
    from dropoutrisk.models import evaluate

    rng = np.random.default_rng(0)
    y = np.where(rng.random(200) < 0.3, labels[0], labels[1]).astype(object)
    scores = {"a": rng.random(200), "b": rng.random(200)}
    for call in (lambda: compare_models(scores, y=y, n_boot=0),
                 lambda: evaluate(models=scores, y=y)):
        with pytest.raises(ValueError, match="0/1") as info:
            call()
        assert shown in str(info.value) and "row positions" in str(info.value)


def test_rows_without_as_of_are_named():
    rng = np.random.default_rng(0)
    y = (rng.random(100) < 0.3).astype(int)
    as_of = pd.Series(pd.Timestamp("2024-10-01"), index=range(100))
    as_of.iloc[[3, 7]] = pd.NaT
    with pytest.raises(ValueError, match=r"2 rows have no as_of date \(row positions \[3, 7\]\)"):
        compare_models({"a": rng.random(100), "b": rng.random(100)}, y=y, as_of=as_of, n_boot=0)


def test_settings_cannot_be_changed_through_a_copy():
    rng = np.random.default_rng(0)
    y = (rng.random(100) < 0.3).astype(int)
    c = compare_models({"a": rng.random(100), "b": rng.random(100)}, y=y, n_boot=0,
                       k_rates=(0.1, 0.1000000001))
    c.settings["k_rates"].append(5)
    assert 5 not in c.settings["k_rates"] and 5 not in c.to_dict()["settings"]["k_rates"]
    assert list(c.metrics.columns).count("recall_at_10pct") == 1


def test_every_kind_of_random_state_is_recorded_as_a_seed_that_repeats_the_run():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(int)
    scores = {"a": rng.random(300), "b": rng.random(300)}
    for state in (None, 7, np.random.default_rng(1), np.random.RandomState(2)):
        first = compare_models(scores, y=y, n_boot=50, random_state=state)
        seed = first.settings["random_state"]
        assert isinstance(seed, int)
        again = compare_models(scores, y=y, n_boot=50, random_state=seed)
        pd.testing.assert_frame_equal(first.intervals, again.intervals)
    with pytest.raises(ValueError, match="random_state"):
        compare_models(scores, y=y, n_boot=5, random_state="seven")
