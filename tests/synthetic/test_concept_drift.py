"""plant_concept_drift(): later cohorts' dropouts move to the lowest values of the driver."""

import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.synthetic import make_cohorts, plant_concept_drift


@pytest.fixture(scope="module")
def tables():
    return make_cohorts(3000, [2020, 2021, 2022, 2023], n_schools=3, random_state=2,
                        include_events=False)


def _with_cohort(t):
    students = t["students"].set_index("student_id")
    return t["outcomes"].assign(cohort=t["outcomes"]["student_id"].map(students["cohort"]),
                                merit=t["outcomes"]["student_id"].map(students["merit_value"]))


def test_earlier_cohorts_are_untouched_and_event_counts_kept(tables):
    drifted = plant_concept_drift(tables, from_cohort=2022, step=0.5)
    before, after = _with_cohort(tables), _with_cohort(drifted)
    key = ["student_id", "event", "date"]
    early_before = before[before["cohort"] < 2022].sort_values("student_id")[key]
    early_after = after[after["cohort"] < 2022].sort_values("student_id")[key]
    pd.testing.assert_frame_equal(early_before.reset_index(drop=True),
                                  early_after.reset_index(drop=True))
    counts = [d.groupby(["cohort", "event"]).size() for d in (before, after)]
    pd.testing.assert_series_equal(*counts)
    assert sorted(after["student_id"]) == sorted(before["student_id"])  # one outcome each
    assert "truth" not in drifted and "truth" in tables
    assert tables["outcomes"].equals(make_cohorts(3000, [2020, 2021, 2022, 2023], n_schools=3,
                                                  random_state=2, include_events=False)
                                     ["outcomes"])  # the input is not modified


def test_the_moved_share_grows_per_cohort_and_goes_to_the_lowest_driver_values(tables):
    before, after = _with_cohort(tables), _with_cohort(plant_concept_drift(
        tables, from_cohort=2022, step=0.5, random_state=1))
    for cohort, share in ((2022, 0.5), (2023, 1.0)):
        old = set(before.loc[(before["cohort"] == cohort) & (before["event"] == "dropout"),
                             "student_id"])
        new = after[(after["cohort"] == cohort) & (after["event"] == "dropout")]
        kept = len(old & set(new["student_id"]))
        assert kept == len(old) - round(share * len(old))
        moved = new[~new["student_id"].isin(old)]
        candidates = before[(before["cohort"] == cohort)
                            & before["event"].isin(["completed", "no_diploma"])]
        passed_over = candidates[~candidates["student_id"].isin(moved["student_id"])]
        assert len(moved) == round(share * len(old))
        assert moved["merit"].max() <= passed_over["merit"].min()


def test_bad_arguments_are_named(tables):
    with pytest.raises(ParameterError, match="step"):
        plant_concept_drift(tables, from_cohort=2022, step=0)
    with pytest.raises(ParameterError, match="not a column of the students table"):
        plant_concept_drift(tables, from_cohort=2022, driver="shoe_size")
