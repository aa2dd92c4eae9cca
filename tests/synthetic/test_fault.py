"""plant_recording_fault(): one school's item is rescaled, nothing else changes."""

import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.synthetic import make_cohorts, plant_recording_fault


@pytest.fixture(scope="module")
def tables():
    return make_cohorts(400, [2022, 2023], n_schools=3, random_state=4)


def _rows(tables, school, item, since=None):
    a = tables["assessments"]
    ids = tables["students"].loc[tables["students"]["school_id"] == school, "student_id"]
    rows = a["student_id"].isin(ids) & (a["item"] == item)
    if since is not None:
        rows &= a["date"] >= pd.Timestamp(since)
    return rows


def test_only_the_schools_item_is_rescaled(tables):
    faulty = plant_recording_fault(tables, school_id="SCH02", item="soc_belonging", scale=2.5)
    rows = _rows(tables, "SCH02", "soc_belonging")
    before, after = tables["assessments"], faulty["assessments"]
    assert rows.sum() > 0
    pd.testing.assert_series_equal(after.loc[rows, "value"], 2.5 * before.loc[rows, "value"])
    pd.testing.assert_frame_equal(after.loc[~rows], before.loc[~rows])
    assert set(faulty) == set(tables)
    for name in set(tables) - {"assessments"}:
        pd.testing.assert_frame_equal(faulty[name], tables[name])


def test_since_keeps_earlier_rows_and_the_input_is_not_modified(tables):
    copy = tables["assessments"].copy()
    faulty = plant_recording_fault(tables, school_id="SCH01", since="2023-09-01")
    late = _rows(tables, "SCH01", "aca_tasks_completed", since="2023-09-01")
    early = _rows(tables, "SCH01", "aca_tasks_completed") & ~late
    assert late.sum() > 0 and early.sum() > 0
    assert (faulty["assessments"].loc[late, "value"] == 2 * copy.loc[late, "value"]).all()
    assert faulty["assessments"].loc[early, "value"].equals(copy.loc[early, "value"])
    pd.testing.assert_frame_equal(tables["assessments"], copy)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"school_id": "SCH99"}, "'school_id' = 'SCH99': is not a school of the students table"),
    ({"school_id": "SCH01", "item": "shoe_size"},
     "'item' = 'shoe_size': is not an item of the assessments table"),
    ({"school_id": "SCH01", "scale": 0}, "'scale' = 0: is not a factor"),
    ({"school_id": "SCH01", "scale": True}, "'scale' = True: is not a factor"),
])
def test_bad_arguments_are_named(tables, kwargs, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        plant_recording_fault(tables, **kwargs)
