"""dropoutrisk.score: the library core of ``dropoutrisk predict``."""

import numpy as np
import pandas as pd
import pytest

import dropoutrisk
from dropoutrisk.errors import DataError, DriftError, DuplicateKeyError, MissingColumnError
from dropoutrisk.scoring import PREDICTION_COLUMNS, reason_columns, score

AS_OF = "2024-10-01"


@pytest.fixture(scope="module")
def setup():
    from dropoutrisk.features import build_features, build_training_frame, default_catalogue
    from dropoutrisk.models import RiskModel, TrainingProfile
    from dropoutrisk.schema import snapshot_dates
    from dropoutrisk.synthetic import make_cohorts

    # enough dropouts that the model ranks better than chance (a positive Platt slope)
    cohorts = make_cohorts(1200, [2022, 2023, 2024], 3, 11, attendance_formats="canonical")
    tables = {name: cohorts[name] for name in cohorts if name != "truth"}
    cat = default_catalogue()
    X, y = build_training_frame(tables, snapshot_dates([2022, 2023], [6, 20]), catalogue=cat)
    keep = y.notna().to_numpy()
    model = RiskModel(n_estimators=15, catalogue=cat, random_state=0, n_jobs=1)
    model.fit(X[keep], y[keep].astype(int))
    assert model.calibrator_.slope_ > 0
    features = build_features(tables, AS_OF, catalogue=cat)
    profile = TrainingProfile.from_features(X[keep], features=list(model.feature_names_in_))
    return {"tables": tables, "model": model, "features": features, "profile": profile,
            "train": X[keep], "profiled": list(model.feature_names_in_)}


def test_score_is_public():
    assert dropoutrisk.score is score
    assert "score" in dropoutrisk.__all__
    import dropoutrisk.report as report

    # the names batch scoring had under report stay importable from there
    assert report.score is score and report.PREDICTION_COLUMNS is PREDICTION_COLUMNS


def test_columns_order_and_types(setup):
    result = score(setup["model"], setup["features"], AS_OF, reasons=2)
    p = result.predictions
    extra = reason_columns(2)
    assert p.columns.tolist() == [*PREDICTION_COLUMNS[:6], *extra, *PREDICTION_COLUMNS[6:]]
    assert p["student_id"].tolist() == sorted(setup["features"].index)
    assert p["probability"].between(0, 1).all()
    assert set(p["tier"]) <= {"universal", "targeted", "intensive"}
    assert (p["model_id"] == "unsaved").all() and (p["as_of"] == AS_OF).all()
    assert len(result) == len(setup["features"])


def test_same_numbers_as_the_model(setup):
    model, X = setup["model"], setup["features"]
    p = score(model, X, AS_OF).predictions.set_index("student_id")
    np.testing.assert_array_equal(p["probability"], model.predict_proba(X.loc[p.index])[:, 1])
    np.testing.assert_array_equal(p["flag"], model.flag(X.loc[p.index]).to_numpy())
    assert (p["tier"] == model.tier(X.loc[p.index]).astype(str)).all()


def test_tables_and_features_give_the_same_predictions(setup):
    from_tables = score(setup["model"], setup["tables"], AS_OF, capacity=5, by="school_id")
    from_features = score(setup["model"], setup["features"], AS_OF, capacity=5, by="school_id")
    pd.testing.assert_frame_equal(from_tables.predictions, from_features.predictions)
    rows = from_tables.run_record["rows"]
    assert rows["in"] == len(setup["tables"]["students"])
    assert rows["scored"] == len(setup["features"])
    assert rows["dropped_total"] == rows["in"] - rows["scored"] > 0
    (reason,) = rows["dropped"]
    assert "not enrolled at as_of" in reason
    assert any("EventsAfterAsOfWarning" in w for w in from_tables.run_record["warnings"])


@pytest.mark.parametrize("chunk_size", [1, 7, 10_000])
def test_chunking_does_not_change_anything(setup, chunk_size):
    whole = score(setup["model"], setup["features"], AS_OF, capacity=4, by="school_id", reasons=1)
    chunked = score(setup["model"], setup["features"], AS_OF, capacity=4, by="school_id",
                    reasons=1, chunk_size=chunk_size)
    assert whole.to_arrow().equals(chunked.to_arrow())


def test_streamed_chunks_equal_one_frame(setup):
    X = setup["features"]
    parts = [X.iloc[i:i + 50].reset_index() for i in range(0, len(X), 50)]
    streamed = score(setup["model"], parts, AS_OF, threshold=0.1)
    assert streamed.to_arrow().equals(score(setup["model"], X, AS_OF, threshold=0.1).to_arrow())


def test_capacity_per_school_and_rank_in_school(setup):
    p = score(setup["model"], setup["features"], AS_OF, capacity=3, by="school_id").predictions
    assert (p.groupby("school_id")["flag"].sum() == 3).all()
    assert p.loc[p["flag"], "rank_in_school"].max() == 3
    for _, school in p.groupby("school_id"):
        ranked = school.sort_values("rank_in_school")
        assert ranked["rank_in_school"].tolist() == list(range(1, len(school) + 1))
        assert ranked["probability"].is_monotonic_decreasing


def test_threshold_flags(setup):
    p = score(setup["model"], setup["features"], AS_OF, threshold=0.1).predictions
    assert (p["flag"] == (p["probability"] >= 0.1)).all()


def test_reasons_for_flagged_only_by_default_and_all_on_request(setup):
    flagged = score(setup["model"], setup["features"], AS_OF, capacity=10, reasons=3)
    p = flagged.predictions
    # a flagged student can lack a line that agrees with the page, but most have one
    assert p.loc[p["flag"], "reason_1_code"].notna().mean() >= 0.7
    assert p.loc[~p["flag"], [c for c in p if c.startswith("reason_")]].isna().all().all()
    assert flagged.run_record["rows"]["explained"] == 10
    every = score(setup["model"], setup["features"], AS_OF, capacity=10, reasons=3,
                  reasons_for="all").predictions
    assert every["reason_1_code"].notna().sum() > 10
    # the flagged students' reasons are the same either way (school medians of the whole school)
    f = every[every["flag"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(f, p[p["flag"]].reset_index(drop=True))


def test_reasons_match_explain_students(setup):
    from dropoutrisk.explain import explain_students, reasons_frame

    model, X = setup["model"], setup["features"]
    p = score(model, X, AS_OF, capacity=5, reasons=2).predictions
    ids = p.loc[p["flag"], "student_id"].tolist()
    flags = model.flag(X, capacity=5)
    ex = explain_students(model, X, ids, top_n=2, lang="en", flags=flags.to_numpy())
    expected = reasons_frame(ex, 2, lang="en").astype(object).where(lambda f: f.notna(), None)
    got = p.set_index("student_id").loc[ids]
    assert got["reason_1_code"].tolist() == expected["reason_1_code"].tolist()
    assert got["reason_2_en"].tolist() == expected["reason_2_sentence"].tolist()
    assert got["reason_1_sv"].notna().tolist() == got["reason_1_code"].notna().tolist()
    # tiers follow the flags: no flagged student is universal
    assert got["tier"].astype(str).ne("universal").all()
    assert (got["tier"].astype(str).tolist() == ex.tier.astype(str).tolist())


def test_rows_without_schools_when_not_required(setup):
    from dropoutrisk.explain import explain_students, reasons_frame

    model, X = setup["model"], setup["features"].drop(columns="school_id")
    result = score(model, X, AS_OF, capacity=10, reasons=2, require_school=False)
    p = result.predictions.set_index("student_id")
    assert p["school_id"].isna().all()
    assert result.run_record["options"]["require_school"] is False
    np.testing.assert_array_equal(p["probability"], model.predict_proba(X.loc[p.index])[:, 1])
    # one group: rank_in_school is the rank among all rows (ties by student id)
    ranked = p.reset_index().sort_values(["probability", "student_id"], ascending=[False, True])
    assert ranked["rank_in_school"].tolist() == list(range(1, len(p) + 1))
    # references without a school: the year group's or everyone's median, as explain_students
    ids = p.index[p["flag"]].tolist()
    assert len(ids) == 10
    flags = model.flag(X, capacity=10).to_numpy()
    ex = explain_students(model, X, ids, top_n=2, lang="en", flags=flags)
    expected = reasons_frame(ex, 2, lang="en").astype(object).where(lambda f: f.notna(), None)
    assert p.loc[ids, "reason_1_en"].tolist() == expected["reason_1_sentence"].tolist()
    assert "school median" not in " ".join(p["reason_1_en"].dropna())


def test_run_record_has_no_student_rows(setup):
    record = score(setup["model"], setup["features"], AS_OF, reasons=1).run_record
    text = repr(record)
    assert not [s for s in setup["features"].index if s in text]
    assert record["versions"]["lightgbm"] and record["model"]["model_id"] == "unsaved"
    assert {"scoring", "total"} <= set(record["timings_s"])


def test_drift_fail_raises_before_returning(setup):
    drifted = setup["features"].assign(attendance_rate_4w=0.2)
    with pytest.raises(DriftError, match="attendance_rate_4w"):
        score(setup["model"], drifted, AS_OF, profile=setup["profile"], drift="fail")
    with pytest.warns(UserWarning, match="attendance_rate_4w"):
        result = score(setup["model"], drifted, AS_OF, profile=setup["profile"])
    assert result.drift.drifted and result.run_record["drift"]["drifted"]
    off = score(setup["model"], drifted, AS_OF, profile=setup["profile"], drift="off")
    assert off.drift is None and off.run_record["drift"] == {"checked": False, "reason": "off"}


def test_drift_compares_with_the_nearest_training_week(setup):
    from dropoutrisk.models import TrainingProfile

    weekly = TrainingProfile.from_features(setup["train"], features=setup["profiled"],
                                           by_week=True)
    assert sorted(weekly.weeks) == [6, 20]  # AS_OF (2024-10-01) is week 6 of its school year
    result = score(setup["model"], setup["features"], AS_OF, profile=weekly.to_dict())
    reference = result.run_record["drift"]["reference"]
    assert (reference["basis"], reference["week"], reference["scoring_week"]) == (
        "snapshot_week", 6, 6)
    assert reference["stratified_by"] == "grade_year"
    # the same features, compared with the pooled weeks: more findings, not fewer
    pooled = score(setup["model"], setup["features"], AS_OF, profile=setup["profile"])
    assert pooled.run_record["drift"]["reference"]["basis"] == "pooled"
    assert len(result.drift.warnings) <= len(pooled.drift.warnings)
    drifted = setup["features"].assign(attendance_rate_4w=0.2)
    with pytest.raises(DriftError, match="attendance_rate_4w"):
        score(setup["model"], drifted, AS_OF, profile=weekly, drift="fail")


def test_bad_feature_rows_raise_data_errors(setup):
    X = setup["features"]
    dup = pd.concat([X, X.iloc[[3]]])
    with pytest.raises(DuplicateKeyError, match=X.index[3]):
        score(setup["model"], dup, AS_OF)
    with pytest.raises(MissingColumnError, match="school_id"):
        score(setup["model"], X.drop(columns="school_id"), AS_OF)
    with pytest.raises(DataError, match="another date than as_of"):
        score(setup["model"], X, "2024-11-01")
    bad = X.astype({"attendance_rate_4w": object})
    bad.iloc[5, bad.columns.get_loc("attendance_rate_4w")] = "lots"
    with pytest.raises(DataError, match="'lots'"):
        score(setup["model"], bad, AS_OF)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.2, "capacity": 3}, "exactly one of threshold, capacity"),
        ({"by": "school_id"}, "only applies with capacity"),
        ({"reasons": -1}, "reasons=-1"),
        ({"reasons_for": "some"}, "'flagged' or 'all'"),
        ({"chunk_size": 0}, "chunk_size=0"),
        ({"drift": "maybe"}, "drift='maybe'"),
    ],
)
def test_option_errors(setup, kwargs, message):
    with pytest.raises(ValueError, match=message):
        score(setup["model"], setup["features"], AS_OF, **kwargs)


def test_result_is_immutable(setup):
    result = score(setup["model"], setup["features"], AS_OF)
    with pytest.raises(AttributeError):
        result.drift = None
    p = result.predictions
    p.loc[0, "probability"] = 2.0
    assert result.predictions.loc[0, "probability"] < 1
    record = result.run_record
    record["rows"]["scored"] = -1
    assert result.run_record["rows"]["scored"] == len(p)


def test_model_predict_stays_sklearn(setup):
    labels = setup["model"].predict(setup["features"])
    assert set(np.unique(labels)) <= set(setup["model"].classes_)


def test_fail_on_drift_without_a_profile_is_a_model_problem(setup):
    from dropoutrisk.errors import ModelError

    with pytest.raises(ModelError, match="no training profile"):
        score(setup["model"], setup["features"], AS_OF, drift="fail")
    record = score(setup["model"], setup["features"], AS_OF).run_record
    assert record["drift"]["checked"] is False and "no training profile" in record["drift"]["reason"]
