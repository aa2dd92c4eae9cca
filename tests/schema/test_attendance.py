"""Attendance harmonisation: each layout on hand-worked numbers, units, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk import errors
from dropoutrisk.schema import (
    DEFAULT_SCHOOL_DAY_MINUTES,
    detect_attendance_layout,
    harmonise_attendance,
    validate_tables,
)


def _students(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({"student_id": list(ids), "cohort": 2024, "school_id": "S1"})


def test_canonical_lesson_rows_pass_unchanged():
    frame = pd.DataFrame(
        {
            "student_id": ["s1", "s1"],
            "date": ["2024-09-02", "2024-09-02"],
            "lesson": ["1", "2"],
            "scheduled_minutes": [60.0, 60.0],
            "absent_minutes": [0.0, 60.0],
            "note": ["a", "b"],
        }
    )
    out = harmonise_attendance(frame)
    pd.testing.assert_frame_equal(out, frame)
    assert out is not frame


def test_presence_variant_converts_attended_to_absent():
    frame = pd.DataFrame(
        {
            "student_id": ["s1", "s1", "s2"],
            "date": ["2024-09-02", "2024-09-03", "2024-09-02"],
            "scheduled_minutes": [60, 80, 45],
            "attended_minutes": [45, 80, 0],
            "excused": ["ja", None, "nej"],
        }
    )
    out = harmonise_attendance(frame, "lesson")
    assert out["absent_minutes"].tolist() == [15.0, 0.0, 45.0]
    assert "attended_minutes" not in out.columns
    assert list(out.columns) == ["student_id", "date", "scheduled_minutes", "absent_minutes",
                                 "excused"]


def test_daily_percentage_uses_scheduled_minutes_or_the_school_day():
    frame = pd.DataFrame(
        {
            "student_id": ["s1", "s2", "s3"],
            "date": ["2024-09-02"] * 3,
            "attendance_pct": [75.0, 100.0, 0.0],
            "scheduled_minutes": [400.0, 400.0, 300.0],
        }
    )
    out = harmonise_attendance(frame)
    # absent = (1 - pct / 100) * scheduled
    assert out["absent_minutes"].tolist() == [100.0, 0.0, 300.0]
    assert "attendance_pct" not in out.columns
    no_schedule = frame.drop(columns="scheduled_minutes").assign(attendance_pct=[50.0, 87.5, 0.0])
    out = harmonise_attendance(no_schedule, school_day_minutes=320)
    assert out["scheduled_minutes"].tolist() == [320.0, 320.0, 320.0]
    assert out["absent_minutes"].tolist() == [160.0, 40.0, 320.0]
    assert harmonise_attendance(no_schedule)["scheduled_minutes"].iloc[0] == DEFAULT_SCHOOL_DAY_MINUTES


def test_daily_absence_percentage_and_fractions():
    base = pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-09-02"] * 2,
                         "scheduled_minutes": [400.0, 360.0]})
    out = harmonise_attendance(base.assign(absence_pct=[25.0, 10.0]))
    assert out["absent_minutes"].tolist() == [100.0, 36.0]
    out = harmonise_attendance(base.assign(attendance_fraction=[0.9, 0.5]))
    assert out["absent_minutes"].tolist() == [40.0, 180.0]
    out = harmonise_attendance(base.assign(absence_share=[0.25, 0.0]))
    assert out["absent_minutes"].tolist() == [100.0, 0.0]


def test_fractions_in_a_percentage_column_are_converted_with_a_warning():
    frame = pd.DataFrame({"student_id": ["s1", "s2", "s3"], "date": ["2024-09-02"] * 3,
                          "attendance_pct": [0.75, 1.0, 0.5]})
    with pytest.warns(errors.UnitMismatchWarning) as record:
        out = harmonise_attendance(frame, table="attendance_daily")
    message = str(record[0].message)
    assert "column 'attendance_pct'" in message and "Table 'attendance_daily'" in message
    assert "3 values" in message and "multiplied by 100" in message
    assert out["absent_minutes"].tolist() == [90.0, 0.0, 180.0]


def test_percentages_in_a_fraction_column_are_converted_with_a_warning():
    frame = pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-09-02"] * 2,
                          "attendance_fraction": [90.0, 0.5]})
    with pytest.warns(errors.UnitMismatchWarning, match=r"column 'attendance_fraction'.*1 values are above 1"):
        out = harmonise_attendance(frame)
    assert out["absent_minutes"].tolist() == [36.0, 358.2]


def test_percentages_of_zero_and_one_hundred_are_not_a_unit_mismatch():
    frame = pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-09-02"] * 2,
                          "attendance_pct": [1.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = harmonise_attendance(frame)
    assert out["absent_minutes"].tolist() == [356.4, 360.0]


def test_weekly_totals_become_one_row_dated_on_the_friday():
    frame = pd.DataFrame(
        {
            "student_id": ["s1", "s1", "s2"],
            "week_start": ["2024-09-02", "2024-09-09", "2024-09-02"],
            "scheduled_hours": [20.0, 20.0, 22.5],
            "absent_hours": [4.5, 2.0, 0.0],
            "excused_hours": [3.0, 0.5, 0.0],
            "late_minutes": [10.0, 0.0, 5.0],
        }
    )
    out = harmonise_attendance(frame)
    assert out["date"].tolist() == [pd.Timestamp("2024-09-06"), pd.Timestamp("2024-09-13"),
                                    pd.Timestamp("2024-09-06")]
    assert out["date"].dt.dayofweek.eq(4).all()
    assert out["scheduled_minutes"].tolist() == [1200.0, 1200.0, 1350.0]
    assert out["absent_minutes"].tolist() == [270.0, 120.0, 0.0]
    # excused when at least half the absent hours were excused; the exact minutes are kept
    assert out["excused"].tolist() == [True, False, False]
    assert out["excused_minutes"].tolist() == [180.0, 30.0, 0.0]
    assert out["late_minutes"].tolist() == [10.0, 0.0, 5.0]
    assert "week_start" not in out.columns


def test_a_week_is_not_known_before_its_friday():
    weekly = pd.DataFrame({"student_id": ["s1"], "week_start": ["2024-09-02"],
                           "scheduled_hours": [20.0], "absent_hours": [20.0]})
    tables = {"students": _students("s1"), "attendance_weekly": weekly}
    with pytest.warns(errors.EventsAfterAsOfWarning, match="attendance 1 row"):
        thursday = validate_tables(tables, as_of="2024-09-05")
    assert len(thursday["attendance"]) == 0
    saturday = validate_tables(tables, as_of="2024-09-07")
    assert saturday["attendance"]["absent_minutes"].tolist() == [1200.0]


def test_weekly_start_must_be_a_monday():
    frame = pd.DataFrame({"student_id": ["s1", "s1"], "week_start": ["2024-09-02", "2024-09-08"],
                          "scheduled_hours": [20.0, 20.0], "absent_hours": [1.0, 1.0]})
    with pytest.raises(errors.OutOfRangeError, match=r"column 'week_start'.*row 1") as info:
        harmonise_attendance(frame)
    assert info.value.rows == [1]


def test_detects_each_layout_and_explains_an_unknown_one():
    assert detect_attendance_layout(pd.DataFrame(columns=[
        "student_id", "date", "scheduled_minutes", "attended_minutes"])) == "lesson"
    assert detect_attendance_layout(pd.DataFrame(columns=[
        "student_id", "date", "absence_pct"])) == "daily"
    with pytest.raises(errors.AttendanceFormatError) as info:
        harmonise_attendance(pd.DataFrame(columns=["student_id", "day", "present"]),
                             table="attendance_x")
    message = str(info.value)
    assert "Table 'attendance_x'" in message
    for column in ("attended_minutes", "attendance_pct", "week_start", "absent_hours"):
        assert column in message


def test_unknown_layout_and_bad_school_day_are_refused():
    frame = pd.DataFrame(columns=["student_id", "date", "attendance_pct"])
    with pytest.raises(errors.AttendanceFormatError, match="'monthly' is unknown"):
        harmonise_attendance(frame, "monthly")  # type: ignore[arg-type]
    with pytest.raises(errors.OutOfRangeError, match="school_day_minutes"):
        harmonise_attendance(frame, school_day_minutes=0)


# (id, frame, layout, error class, column, row)
INVALID_LAYOUTS = [
    ("pct-over-100",
     pd.DataFrame({"student_id": ["s1", "s1"], "date": ["2024-09-02", "2024-09-03"],
                   "attendance_pct": [90.0, 140.0]}),
     "auto", errors.OutOfRangeError, "attendance_pct", 1),
    ("fraction-over-100",
     pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"], "attendance_fraction": [250.0]}),
     "auto", errors.OutOfRangeError, "attendance_fraction", 0),
    ("negative-pct",
     pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"], "absence_pct": [-3.0]}),
     "auto", errors.OutOfRangeError, "absence_pct", 0),
    ("text-pct",
     pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-09-02"] * 2,
                   "attendance_pct": ["90", "ninety"]}),
     "auto", errors.ColumnTypeError, "attendance_pct", 1),
    ("attended-over-scheduled",
     pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"], "scheduled_minutes": [60],
                   "attended_minutes": [75]}),
     "auto", errors.OutOfRangeError, "attended_minutes", 0),
    ("excused-over-absent",
     pd.DataFrame({"student_id": ["s1"], "week_start": ["2024-09-02"], "scheduled_hours": [20],
                   "absent_hours": [2], "excused_hours": [3]}),
     "auto", errors.OutOfRangeError, "excused_hours", 0),
    ("weekly-bad-date",
     pd.DataFrame({"student_id": ["s1"], "week_start": ["vecka 36"], "scheduled_hours": [20],
                   "absent_hours": [2]}),
     "auto", errors.DateParseError, "week_start", 0),
    ("missing-hours",
     pd.DataFrame({"student_id": ["s1"], "week_start": ["2024-09-02"], "scheduled_hours": [20],
                   "absent_hours": [None]}),
     "auto", errors.MissingValueError, "absent_hours", 0),
    ("explicit-layout-missing-column",
     pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"], "attendance_pct": [80.0]}),
     "weekly", errors.MissingColumnError, "week_start", None),
]


@pytest.mark.parametrize(
    ("frame", "layout", "cls", "column", "row"),
    [case[1:] for case in INVALID_LAYOUTS],
    ids=[case[0] for case in INVALID_LAYOUTS],
)
def test_invalid_layout_values_name_table_column_and_row(frame, layout, cls, column, row):
    with pytest.raises(cls) as info:
        harmonise_attendance(frame, layout, table="attendance_daily")
    assert type(info.value) is cls
    message = str(info.value)
    assert f"Table 'attendance_daily', column '{column}'" in message
    if row is not None:
        assert info.value.rows[0] == row
        assert f"row {row}" in message


def test_validate_tables_stacks_every_layout_into_attendance():
    canonical = pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"],
                              "scheduled_minutes": [300.0], "absent_minutes": [60.0],
                              "excused": [True]})
    daily = pd.DataFrame({"student_id": ["s2"], "date": ["2024-09-02"],
                          "attendance_pct": [50.0], "scheduled_minutes": [300.0]})
    weekly = pd.DataFrame({"student_id": ["s3"], "week_start": ["2024-09-02"],
                           "scheduled_hours": [20.0], "absent_hours": [1.0]})
    tables = {"students": _students("s1", "s2", "s3"), "attendance": canonical,
              "attendance_daily": daily, "attendance_weekly": weekly}
    out = validate_tables(tables)
    assert list(out) == ["students", "attendance"]
    att = out["attendance"]
    assert att["student_id"].tolist() == ["s1", "s2", "s3"]
    assert att["absent_minutes"].tolist() == [60.0, 150.0, 60.0]
    assert att["date"].tolist() == [pd.Timestamp("2024-09-02")] * 2 + [pd.Timestamp("2024-09-06")]
    assert str(att["excused"].dtype) == "boolean"
    assert att["excused"].iloc[0] and att["excused"].isna().iloc[1]
    assert att.index.tolist() == [0, 1, 2]


def test_validate_tables_names_the_variant_table_in_errors():
    daily = pd.DataFrame({"student_id": ["s1", "s9"], "date": ["2024-09-02"] * 2,
                          "attendance_pct": [50.0, 60.0]})
    with pytest.raises(errors.UnknownStudentError, match=r"Table 'attendance_daily'.*row 1 \('s9'\)"):
        validate_tables({"students": _students("s1"), "attendance_daily": daily})
    with pytest.raises(errors.AttendanceFormatError, match="Table 'attendance_odd'"):
        validate_tables({"students": _students("s1"),
                         "attendance_odd": pd.DataFrame({"student_id": ["s1"]})})


def test_duplicate_key_across_layouts_is_found():
    canonical = pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"],
                              "scheduled_minutes": [300.0], "absent_minutes": [60.0]})
    daily = pd.DataFrame({"student_id": ["s1"], "date": ["2024-09-02"], "attendance_pct": [50.0]})
    with pytest.raises(errors.DuplicateKeyError, match=r"Table 'attendance', column 'student_id, date'"):
        validate_tables({"students": _students("s1"), "attendance": canonical,
                         "attendance_daily": daily})


def test_harmonised_rows_keep_order_and_index():
    frame = pd.DataFrame({"student_id": ["b", "a", "c"], "date": ["2024-09-03", "2024-09-01",
                                                                  "2024-09-02"],
                          "attendance_pct": [10.0, 20.0, 30.0]}, index=[5, 5, 2])
    out = harmonise_attendance(frame)
    assert out.index.tolist() == [5, 5, 2]
    assert out["student_id"].tolist() == ["b", "a", "c"]
    np.testing.assert_allclose(out["absent_minutes"], [324.0, 288.0, 252.0])
