"""Drift checks against the training profile: one test per kind of drift."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models import DRIFT_THRESHOLDS, TrainingProfile, check_drift


@pytest.fixture(scope="module")
def train():
    rng = np.random.default_rng(0)
    n = 4000
    rate = rng.uniform(0.6, 1.0, n)
    rate[rng.random(n) < 0.05] = np.nan  # 5% without attendance rows
    return pd.DataFrame(
        {
            "as_of": pd.Timestamp("2023-10-01"),
            "school_id": rng.choice(["A", "B"], n),
            "attendance_rate": rate,
            "failed_courses": rng.poisson(0.6, n).astype(float),
            "cognitive_score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(3, 1, n)),
            "programme_type": pd.Categorical(rng.choice(["national", "introductory"], n)),
        }
    )


@pytest.fixture(scope="module")
def profile(train):
    return TrainingProfile.from_features(train)


def _status(report, feature):
    table = report.table.set_index("feature")
    return table.loc[feature, "status"]


def test_profile_skips_context_columns_and_keeps_no_rows(profile, train):
    doc = profile.to_dict()
    assert set(doc["numeric"]) == {"attendance_rate", "failed_courses", "cognitive_score"}
    assert set(doc["categorical"]) == {"programme_type"}
    assert doc["n_rows"] == len(train)
    shares = doc["numeric"]["attendance_rate"]["shares"]
    assert np.isclose(sum(shares), 1.0) and len(shares) == 10  # deciles
    assert doc["no_attendance_share"] == pytest.approx(train["attendance_rate"].isna().mean())
    # JSON round trip, and nothing as long as a row of data
    assert TrainingProfile.from_dict(json.loads(json.dumps(doc))).to_dict() == doc


def test_same_population_is_not_drift(profile, train):
    report = check_drift(profile, train.sample(1500, random_state=3))
    assert not report.drifted
    assert set(report.table["status"]) == {"ok"}
    assert report.warnings == []


def test_shifted_values_give_psi_drift(profile, train):
    shifted = train.assign(attendance_rate=train["attendance_rate"] - 0.15)
    report = check_drift(profile, shifted)
    row = report.table.set_index("feature").loc["attendance_rate"]
    assert row["psi"] >= DRIFT_THRESHOLDS["psi"][1]
    assert row["status"] == "drift" and report.drifted
    assert _status(report, "failed_courses") == "ok"
    assert report.warnings[0].startswith("drift: feature 'attendance_rate': PSI")


def test_a_small_shift_is_watch_not_drift(profile, train):
    nudged = train.assign(failed_courses=train["failed_courses"] + (np.arange(len(train)) % 3 == 0))
    report = check_drift(profile, nudged)
    psi = report.table.set_index("feature").loc["failed_courses", "psi"]
    assert DRIFT_THRESHOLDS["psi"][0] <= psi < DRIFT_THRESHOLDS["psi"][1]
    assert _status(report, "failed_courses") == "watch"
    assert not report.drifted


def test_missingness_shift(profile, train):
    gone = train.assign(cognitive_score=np.where(np.arange(len(train)) % 2 == 0, np.nan,
                                                 train["cognitive_score"]))
    report = check_drift(profile, gone)
    row = report.table.set_index("feature").loc["cognitive_score"]
    assert row["missing_now"] - row["missing_train"] > 0.3
    assert row["status"] == "drift"
    assert "missing 9.7% in training" in " ".join(report.warnings)


def test_unseen_categories(profile, train):
    new = train.assign(programme_type=train["programme_type"].astype(object))
    new.loc[new.index[:200], "programme_type"] = "vocational_x"
    report = check_drift(profile, new)
    row = report.table.set_index("feature").loc["programme_type"]
    assert row["n_unseen"] == 200 and row["unseen_examples"] == ["vocational_x"]
    assert row["status"] == "drift"
    assert "'vocational_x'" in " ".join(report.warnings)


def test_a_single_unseen_category_is_watch(profile, train):
    new = train.assign(programme_type=train["programme_type"].astype(object))
    new.loc[new.index[0], "programme_type"] = "odd"
    assert _status(check_drift(profile, new), "programme_type") == "watch"


def test_no_attendance_share_shift(profile, train):
    rate = train["attendance_rate"].copy()
    rate.iloc[: len(rate) // 4] = np.nan  # a school stopped exporting attendance
    report = check_drift(profile, train.assign(attendance_rate=rate))
    assert report.no_attendance_status == "drift" and report.drifted
    doc = report.to_dict()
    assert doc["no_attendance_share"]["now"] > doc["no_attendance_share"]["training"] + 0.15
    assert any("no attendance rows" in w for w in report.warnings)


def test_chunked_accumulation_equals_one_pass(profile, train):
    shifted = train.assign(attendance_rate=train["attendance_rate"] * 0.9)
    acc = profile.accumulator()
    for start in range(0, len(shifted), 700):
        acc.update(shifted.iloc[start:start + 700])
    assert acc.report().to_dict() == check_drift(profile, shifted).to_dict()


def test_report_is_immutable(profile, train):
    report = check_drift(profile, train)
    with pytest.raises(AttributeError):
        report.n_rows = 3
    table = report.table
    table.loc[0, "status"] = "drift"
    assert not report.drifted


def test_missing_column_counts_as_absent_not_crash(profile, train):
    report = check_drift(profile, train.drop(columns=["failed_courses"]))
    row = report.table.set_index("feature").loc["failed_courses"]
    assert row["psi"] is None or np.isnan(row["psi"])
    assert row["status"] == "ok"
