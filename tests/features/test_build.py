"""build_features / build_labels / build_training_frame: the contract and hand-worked values."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import MissingColumnError, MissingTableError, TableTypeError
from dropoutrisk.features import (
    CONTEXT_COLUMNS,
    build_features,
    build_labels,
    build_training_frame,
    default_catalogue,
)

from .feature_tables import AS_OF


@pytest.fixture
def features(tables):
    return build_features(tables, AS_OF, engine="pandas")


def test_hand_worked_attendance(features):
    s1 = features.loc["s1"]
    assert s1["attendance_rate"] == pytest.approx(1 - 12 / 55)
    assert s1["attendance_rate_2w"] == pytest.approx(1 - 6 / 10)
    assert s1["attendance_rate_4w"] == pytest.approx(1 - 10 / 20)
    # weekly y = 1, 1, .8, .8, .6, .6, .4, .4 at x = 0..7: Sxy = -4, Sxx = 42
    assert s1["attendance_trend_8w"] == pytest.approx(-4 / 42)
    assert s1["attendance_change_baseline"] == pytest.approx(0.5 - 1.0)
    assert s1["longest_absence_streak_days"] == 6
    changes = [0.0, -0.2, 0.0, -0.2, 0.0, -0.2, 0.0]
    assert s1["attendance_volatility"] == pytest.approx(np.std(changes, ddof=1))
    assert s1["unexcused_share"] == pytest.approx(6 / 12)
    assert (s1["late_count"], s1["late_minutes"]) == (2.0, 20.0)


def test_hand_worked_grades_concerns_assessments(features):
    s1 = features.loc["s1"]
    # latest grades: SVE A, ENG C, MAT F, HIS "-"
    assert s1["failed_courses"] == 1
    assert s1["failed_core_course"] == 1
    assert s1["ungraded_share"] == pytest.approx(1 / 4)
    assert s1["grade_point_mean"] == pytest.approx((20 + 15 + 0) / 3)
    # spring 2024 mean(E, C, F) = 25/3 against autumn 2023 A = 20
    assert s1["grade_point_change"] == pytest.approx(25 / 3 - 20)
    assert (s1["concerns_30d"], s1["concerns_90d"], s1["days_since_concern"]) == (1, 1, 15)
    assert s1["cognitive_score"] == pytest.approx((4 + 3) / 2)  # latest cog_a is 4
    assert (s1["cognitive_missing"], s1["psychological_missing"]) == (0.0, 1.0)
    assert np.isnan(s1["psychological_score"])
    assert s1["socio_emotional_score"] == 5.0
    assert s1["teacher_behaviour_rating"] == 2.0


def test_rows_are_students_enrolled_at_as_of(features):
    # s3 starts in 2025; s4 dropped out before as_of; s5 completes later
    assert features.index.tolist() == ["s1", "s2", "s5"]
    assert features.index.name == "student_id"


def test_outcome_dated_on_as_of_keeps_student(tables):
    tables["outcomes"].loc[0, "date"] = pd.Timestamp(AS_OF)
    X = build_features(tables, AS_OF, engine="pandas")
    assert "s4" in X.index


def test_columns_order_and_dtypes(features):
    cat = default_catalogue()
    assert tuple(features.columns) == CONTEXT_COLUMNS + cat.names
    assert features["as_of"].dtype == "datetime64[ns]"
    assert features["school_id"].dtype == object
    assert features["cohort"].dtype == "int64"
    for ind in cat.indicators:
        col = features[ind.name]
        if ind.kind == "categorical":
            assert isinstance(col.dtype, pd.CategoricalDtype)
            assert tuple(col.cat.categories) == ind.categories
        else:
            assert col.dtype == "float64", ind.name


def test_static_and_background(features):
    assert features.loc["s1", "programme_type"] == "national"
    assert features.loc["s2", "programme_type"] == "introductory"
    assert features["grade_year"].tolist() == [1.0, 2.0, 3.0]
    assert features.loc["s5", "newly_arrived"] == 0.0
    assert features.loc["s1", "merit_value"] == 210.0
    assert np.isnan(features.loc["s1", "years_in_sweden"])  # column absent


def test_concern_counts_zero_only_when_table_given(tables):
    with_table = build_features(tables, AS_OF, engine="pandas")
    assert with_table.loc["s5", "concerns_90d"] == 0.0
    del tables["concerns"]
    without = build_features(tables, AS_OF, engine="pandas")
    assert without["concerns_90d"].isna().all()


def test_baseline_change_needs_separate_windows(tables):
    early = dt.date(2024, 9, 23)  # 5 weeks in: the last 4 weeks overlap the first 2
    X = build_features(tables, early, engine="pandas")
    assert X["attendance_change_baseline"].isna().all()
    assert X.loc["s1", "attendance_rate_4w"] == 1.0
    X = build_features(tables, dt.date(2024, 9, 30), engine="pandas")  # first absence: 9-23
    assert X.loc["s1", "attendance_rate_4w"] == pytest.approx(1 - 1 / 20)
    assert X.loc["s1", "attendance_change_baseline"] == pytest.approx(-1 / 20)


def test_custom_catalogue_selects_and_orders(tables):
    cat = default_catalogue().subset(["failed_courses", "attendance_rate"])
    X = build_features(tables, AS_OF, catalogue=cat, engine="pandas")
    assert list(X.columns) == [*CONTEXT_COLUMNS, "failed_courses", "attendance_rate"]


def test_custom_item_mapping(tables):
    cat = default_catalogue().with_item_groups({"cog_": "socio_emotional_score"})
    X = build_features(tables, AS_OF, catalogue=cat, engine="pandas")
    assert X.loc["s1", "socio_emotional_score"] == pytest.approx(3.5)
    assert X["cognitive_score"].isna().all()


def test_unknown_catalogue_feature_is_refused(tables):
    cat = default_catalogue()
    ind = cat.get("attendance_rate").model_copy(update={"name": "magic"})
    bad = cat.model_copy(update={"indicators": (*cat.indicators, ind)})
    with pytest.raises(ValueError, match="cannot compute: \\['magic'\\]"):
        build_features(tables, AS_OF, catalogue=bad)


def test_bad_inputs(tables):
    with pytest.raises(TableTypeError):
        build_features([tables["students"]], AS_OF)
    with pytest.raises(MissingTableError):
        build_features({"attendance": tables["attendance"]}, AS_OF)
    with pytest.raises(ValueError, match="engine='spark'"):
        build_features(tables, AS_OF, engine="spark")
    with pytest.raises(ValueError, match="as_of is required"):
        build_features(tables, None)
    with pytest.raises(MissingColumnError):
        build_features({**tables, "attendance": tables["attendance"].drop(columns="date")},
                       AS_OF, engine="pandas")


def test_labels(tables):
    y = build_labels(tables, AS_OF, horizon_days=365)
    assert y.name == "label" and y.dtype == "float64"
    assert y.index.tolist() == ["s1", "s2", "s5"]
    # s1: no outcome, data end before the horizon -> unknown; s2 moved -> censored;
    # s5 completed 2025-06-10, inside the horizon -> 0
    assert np.isnan(y["s1"]) and np.isnan(y["s2"])
    assert y["s5"] == 0.0


def test_label_dropout_in_horizon(tables):
    tables["outcomes"].loc[2, "event"] = "dropout"  # s2, 2025-02-01
    y = build_labels(tables, AS_OF, horizon_days=365)
    assert y["s2"] == 1.0
    short = build_labels(tables, AS_OF, horizon_days=30)
    assert short["s2"] == 0.0  # known to be enrolled through the 30 days
    with pytest.raises(ValueError, match="horizon_days"):
        build_labels(tables, AS_OF, horizon_days=0)


def test_training_frame_stacks_in_as_of_order(tables):
    dates = [AS_OF, dt.date(2024, 9, 30)]
    X, y = build_training_frame(tables, dates, engine="pandas")
    assert X["as_of"].is_monotonic_increasing
    assert len(X) == len(y)
    first = build_features(tables, dates[1], engine="pandas")
    pd.testing.assert_frame_equal(X.iloc[: len(first)], first)
    assert (X.index == y.index).all()


def test_interventions_are_never_a_feature(tables, features):
    # a model that learns "supported, therefore at risk" (or safe) is wrong either way
    support = pd.DataFrame({"student_id": [features.index[0]] * 2,
                            "date": pd.to_datetime(["2024-09-09", "2024-09-16"]),
                            "kind": ["mentor_talk", "student_coach"], "role": ["mentor", None]})
    with_support = build_features({**tables, "interventions": support}, AS_OF, engine="pandas")
    pd.testing.assert_frame_equal(with_support, features)
    assert not [c for c in with_support.columns if "interv" in c]
