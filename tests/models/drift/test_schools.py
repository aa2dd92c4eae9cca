"""Drift per school: a fault at one school is named there, chance is not, small schools are not."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.models import TrainingProfile, check_drift
from dropoutrisk.models.drift._schools import SCHOOL_FDR, two_sample_p

DAY = "2023-10-30"  # week 10 of school year 2023
ITEM = "aca_tasks_completed"


@pytest.fixture(scope="module")
def cohorts():
    """Synthetic cohorts, the weekly job's profile (2021-2022, weeks 6/10/20) and today's rows."""
    from dropoutrisk.features import build_features, build_training_frame
    from dropoutrisk.schema import snapshot_dates, validate_tables
    from dropoutrisk.synthetic import make_cohorts

    raw = make_cohorts(3000, range(2020, 2024), n_schools=20, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = validate_tables({k: v for k, v in raw.items() if k != "truth"})
        X, _ = build_training_frame(tables, snapshot_dates([2021, 2022], weeks=(6, 10, 20)),
                                    horizon_days=365)
        profile = TrainingProfile.from_features(X, by_week=True)
        now = build_features(tables, DAY)
        # a scale change at one school: the teacher rating item on 1-10 instead of 1-5
        school = "SCH12"  # 109 of 2,189 students now
        students = tables["students"].loc[tables["students"]["school_id"] == school,
                                          "student_id"]
        a = tables["assessments"].copy()
        hit = a["student_id"].isin(students) & (a["item"] == ITEM)
        a.loc[hit, "value"] = a.loc[hit, "value"] * 2.0
        faulty = build_features({**tables, "assessments": a}, DAY)
    return {"profile": profile, "now": now, "faulty": faulty, "school": school}


def test_unchanged_cohort_raises_no_school(cohorts):
    report = check_drift(cohorts["profile"], cohorts["now"], as_of=DAY)
    assert report.schools_info["checked"] is True
    assert len(report.schools) == 20 and set(report.schools["reference"]) == {"school"}
    assert report.drifted_schools == []
    assert set(report.school_table["status"]) == {"ok"}


def test_a_scale_change_at_one_school_is_named_there_and_not_by_the_pooled_check(cohorts):
    report = check_drift(cohorts["profile"], cohorts["faulty"], as_of=DAY)
    pooled = report.table.set_index("feature").loc["teacher_academic_rating"]
    assert pooled["status"] != "drift"  # the pooled check alone would not raise it
    assert report.drifted_schools == [cohorts["school"]]
    rows = report.school_table.set_index(["school_id", "feature"])
    hit = rows.loc[(cohorts["school"], "teacher_academic_rating")]
    assert hit["status"] == "drift" and hit["psi"] >= 0.25 and hit["psi_p_adjusted"] < SCHOOL_FDR
    assert report.drifted
    text = " | ".join(report.warnings)
    assert f"drift: school '{cohorts['school']}'" in text and "teacher_academic_rating" in text
    doc = report.to_dict()
    assert doc["schools"]["drifted_schools"] == [cohorts["school"]]
    assert [f["school_id"] for f in doc["schools"]["findings"]] == [cohorts["school"]]
    # aggregates only: no student id anywhere in the report
    dumped = json.dumps(doc)
    assert not any(sid in dumped for sid in cohorts["faulty"].index[:50])


def _frame(sizes, seed, shift=None):
    rng = np.random.default_rng(seed)
    school = np.repeat(list(sizes), list(sizes.values()))
    value = rng.uniform(0, 1, school.size)
    if shift is not None:
        value[school == shift] += 5.0  # beyond every training value
    ids = [f"s{seed}-{i}" for i in range(school.size)]
    return pd.DataFrame({"school_id": school, "score": value},
                        index=pd.Index(ids, name="student_id"))


@pytest.mark.parametrize("n_small, stored", [(9, False), (10, True)])
def test_a_training_school_under_ten_students_is_neither_stored_nor_named(n_small, stored):
    profile = TrainingProfile.from_features(
        _frame({"north": 300, "south": 200, "tiny-school": n_small}, 0))
    doc = json.dumps(profile.to_dict())
    assert ("tiny-school" in doc) is stored
    kept = set(profile.schools["profiles"])
    # 9 students withheld alone could be recovered by subtraction: the next smallest goes too
    assert kept == ({"north", "south", "tiny-school"} if stored else {"north"})


@pytest.mark.parametrize("n_now, named", [(9, False), (10, True)])
def test_a_school_under_ten_students_now_is_not_named(n_now, named):
    profile = TrainingProfile.from_features(_frame({"north": 300, "small": 200}, 0))
    report = check_drift(profile, _frame({"north": 300, "small": n_now}, 1, shift="small"))
    assert (report.drifted_schools == ["small"]) is named
    assert ("small" in report.schools["school_id"].tolist()) is named
    assert ("'small'" in " ".join(report.warnings)) is named
    info = report.schools_info
    assert info["schools_not_named"] == (0 if named else 1)
    assert info["rows_not_named"] == (0 if named else 9)


def test_a_school_not_in_training_is_compared_with_the_pooled_profile():
    profile = TrainingProfile.from_features(_frame({"north": 300, "south": 200}, 0))
    report = check_drift(profile, _frame({"north": 300, "new": 80}, 1, shift="new"))
    summary = report.schools.set_index("school_id")
    assert summary.loc["new", "reference"] == "pooled"
    assert summary.loc["north", "reference"] == "school"
    assert report.drifted_schools == ["new"]
    assert any("school 'new'" in w and "all training schools pooled" in w
               for w in report.warnings)


def test_a_profile_stored_before_per_school_counts_checks_pooled_and_says_so():
    profile = TrainingProfile.from_features(_frame({"north": 300, "south": 200}, 0))
    old = {k: v for k, v in profile.to_dict().items() if k != "schools"} | {"version": 2}
    loaded = TrainingProfile.from_dict(old)
    assert loaded.schools is None
    current = _frame({"north": 300, "south": 200}, 1, shift="south")
    report = check_drift(loaded, current)
    assert report.schools_info["checked"] is False
    assert "train the model again" in report.schools_info["note"]
    assert report.schools.empty and report.drifted_schools == []
    assert report.table.equals(check_drift(profile, current).table)


def test_the_reference_sample_noise_counts_in_the_test():
    # the same shares: 40 students in training against 400 now is weaker evidence than
    # 4,000 against 400, and the two-sample test says so
    now = np.array([130, 130, 140])
    few = two_sample_p(np.array([10, 10, 20]), now)
    many = two_sample_p(np.array([1000, 1000, 2000]), now)
    assert few > 0.05 > many


def test_two_sample_test_keeps_its_level_on_small_schools():
    rng = np.random.default_rng(0)
    shares = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.02])
    p = []
    for _ in range(2000):
        ref, now = rng.multinomial(200, shares), rng.multinomial(12, shares)
        value = two_sample_p(ref, now)
        p.append(1.0 if value is None else value)
    assert np.mean(np.array(p) < 0.05) <= 0.06


def test_accumulators_counted_apart_merge_into_the_same_per_school_report():
    profile = TrainingProfile.from_features(_frame({"north": 300, "south": 200}, 0))
    current = _frame({"north": 300, "south": 200}, 1, shift="south").sample(frac=1,
                                                                           random_state=2)
    parts = [profile.accumulator().update(current.iloc[i::3]) for i in range(3)]
    merged = parts[0].merge(parts[1]).merge(parts[2]).report()
    whole = check_drift(profile, current)
    assert merged.drifted_schools == ["south"]
    assert merged.to_dict() == whole.to_dict()
