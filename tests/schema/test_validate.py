"""validate_tables: coercion, every invalid-input case, as_of, and properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dropoutrisk import errors
from dropoutrisk.schema import table_spec, validate_tables

_MINUTES_MAX = table_spec("attendance").column("scheduled_minutes").le


def _tables() -> dict[str, pd.DataFrame]:
    students = pd.DataFrame(
        {
            "student_id": ["s1", "s2", "s3"],
            "cohort": [2023, 2023, 2024],
            "school_id": ["A", "A", "B"],
            "programme": ["SA", "NA", None],
            "programme_type": ["national", "national", "introductory"],
            "grade_year": [2, 2, 1],
            "gender": ["female", "male", "other"],
            "birth_year": [2007, 2007, 2008],
            "newly_arrived": [False, True, False],
            "years_in_sweden": [16.0, 2.5, 16.0],
            "parental_education": ["post_secondary", "compulsory", "unknown"],
            "mother_education": ["upper_secondary", "compulsory", "unknown"],
            "school_moves": [0, 3, 1],
            "special_support": [False, True, False],
            "in_care": [False, False, True],
            "merit_value": [250.0, 180.5, 120.0],
        }
    )
    attendance = pd.DataFrame(
        {
            "student_id": ["s1", "s1", "s2", "s3"],
            "date": pd.to_datetime(["2024-09-02", "2024-09-02", "2024-09-03", "2024-09-04"]),
            "lesson": ["1", "2", "1", "1"],
            "scheduled_minutes": [60.0, 60.0, 80.0, 40.0],
            "absent_minutes": [0.0, 60.0, 20.0, 0.0],
            "excused": [False, True, False, False],
            "late_minutes": [5.0, 0.0, 0.0, 0.0],
        }
    )
    grades = pd.DataFrame(
        {
            "student_id": ["s1", "s2"],
            "date": pd.to_datetime(["2024-12-20", "2024-12-20"]),
            "course": ["MATMAT01a", "SVESVE01"],
            "grade": ["E", "-"],
        }
    )
    assessments = pd.DataFrame(
        {
            "student_id": ["s1", "s2"],
            "date": pd.to_datetime(["2024-10-01", "2024-10-01"]),
            "item": ["belonging", "belonging"],
            "value": [3.0, 1.5],
        }
    )
    concerns = pd.DataFrame(
        {
            "student_id": ["s2"],
            "date": pd.to_datetime(["2024-11-05"]),
            "category": ["absence"],
        }
    )
    interventions = pd.DataFrame(
        {
            "student_id": ["s2", "s2", "s3"],
            "date": pd.to_datetime(["2024-10-07", "2024-10-14", "2024-10-08"]),
            "kind": ["mentor_talk", "attendance_team", "student_coach"],
            "end_date": pd.to_datetime(["2024-10-07", None, "2024-12-20"]),
            "role": ["mentor", "kurator", None],
        }
    )
    outcomes = pd.DataFrame(
        {
            "student_id": ["s2", "s3"],
            "event": ["dropout", "moved"],
            "date": pd.to_datetime(["2025-03-01", "2025-02-01"]),
        }
    )
    return {
        "students": students,
        "attendance": attendance,
        "grades": grades,
        "assessments": assessments,
        "concerns": concerns,
        "interventions": interventions,
        "outcomes": outcomes,
    }


def _set(table: str, column: str, row: int, value):
    def edit(t):
        frame = t[table].astype({column: object}) if column in t[table] else t[table].copy()
        frame[column] = frame[column].astype(object)
        frame.iloc[row, frame.columns.get_loc(column)] = value
        t[table] = frame

    return edit


def _drop(table: str, column: str):
    def edit(t):
        t[table] = t[table].drop(columns=[column])

    return edit


def _append_row(table: str, **values):
    def edit(t):
        t[table] = pd.concat([t[table], pd.DataFrame([values])], ignore_index=True)

    return edit


def _replace(table: str, value):
    def edit(t):
        t[table] = value

    return edit


def _remove(table: str):
    def edit(t):
        del t[table]

    return edit


def _rename_table(old: str, new: str):
    def edit(t):
        t[new] = t.pop(old)

    return edit


def _duplicate_column(table: str, column: str):
    def edit(t):
        frame = t[table]
        t[table] = pd.concat([frame, frame[[column]]], axis=1)

    return edit


# (id, edit, error class, table named, column named, row named or None)
INVALID = [
    ("missing-column-students", _drop("students", "cohort"), errors.MissingColumnError,
     "students", "cohort", None),
    ("missing-column-attendance", _drop("attendance", "scheduled_minutes"),
     errors.MissingColumnError, "attendance", "scheduled_minutes", None),
    ("missing-column-grades", _drop("grades", "grade"), errors.MissingColumnError,
     "grades", "grade", None),
    ("wrong-type-cohort", _set("students", "cohort", 1, "twenty"), errors.ColumnTypeError,
     "students", "cohort", 1),
    ("fractional-int", _set("students", "school_moves", 2, 1.5), errors.ColumnTypeError,
     "students", "school_moves", 2),
    ("bool-as-number", _replace("assessments", _tables()["assessments"].assign(value=[True, False])),
     errors.ColumnTypeError, "assessments", "value", 0),
    ("wrong-type-bool", _set("students", "in_care", 0, "maybe"), errors.ColumnTypeError,
     "students", "in_care", 0),
    ("wrong-type-id", _set("students", "school_id", 2, 3.7), errors.ColumnTypeError,
     "students", "school_id", 2),
    ("infinite-minutes", _set("attendance", "scheduled_minutes", 3, np.inf),
     errors.ColumnTypeError, "attendance", "scheduled_minutes", 3),
    ("unparseable-date", _set("grades", "date", 1, "2024-13-45"), errors.DateParseError,
     "grades", "date", 1),
    ("non-iso-date", _set("concerns", "date", 0, "05/11/2024"), errors.DateParseError,
     "concerns", "date", 0),
    ("number-as-date", _set("attendance", "date", 2, 20240903), errors.DateParseError,
     "attendance", "date", 2),
    ("negative-minutes", _set("attendance", "absent_minutes", 2, -5.0), errors.OutOfRangeError,
     "attendance", "absent_minutes", 2),
    ("absent-over-scheduled", _set("attendance", "absent_minutes", 2, 90.0),
     errors.OutOfRangeError, "attendance", "absent_minutes", 2),
    ("late-over-scheduled", _set("attendance", "late_minutes", 3, 45.0), errors.OutOfRangeError,
     "attendance", "late_minutes", 3),
    ("scheduled-over-the-bound", _set("attendance", "scheduled_minutes", 0, _MINUTES_MAX + 1),
     errors.OutOfRangeError, "attendance", "scheduled_minutes", 0),
    ("cohort-out-of-range", _set("students", "cohort", 0, 1890), errors.OutOfRangeError,
     "students", "cohort", 0),
    ("merit-over-340", _set("students", "merit_value", 1, 341.0), errors.OutOfRangeError,
     "students", "merit_value", 1),
    ("grade-year-zero", _set("students", "grade_year", 1, 0), errors.OutOfRangeError,
     "students", "grade_year", 1),
    ("grade-G", _set("grades", "grade", 0, "G"), errors.InvalidCategoryError,
     "grades", "grade", 0),
    ("unknown-event", _set("outcomes", "event", 1, "graduated"), errors.InvalidCategoryError,
     "outcomes", "event", 1),
    ("bad-programme-type", _set("students", "programme_type", 2, "vocational"),
     errors.InvalidCategoryError, "students", "programme_type", 2),
    ("bad-gender", _set("students", "gender", 0, "f"), errors.InvalidCategoryError,
     "students", "gender", 0),
    ("bad-education", _set("students", "mother_education", 1, "PhD"),
     errors.InvalidCategoryError, "students", "mother_education", 1),
    ("duplicate-student", _set("students", "student_id", 2, "s1"), errors.DuplicateKeyError,
     "students", "student_id", 2),
    ("duplicate-attendance-key", _set("attendance", "lesson", 1, "1"), errors.DuplicateKeyError,
     "attendance", "student_id, date, lesson", 1),
    ("duplicate-attendance-day", lambda t: (_drop("attendance", "lesson")(t)),
     errors.DuplicateKeyError, "attendance", "student_id, date", 1),
    ("duplicate-outcome", _append_row("outcomes", student_id="s2", event="moved",
                                      date=pd.Timestamp("2025-04-01")),
     errors.DuplicateKeyError, "outcomes", "student_id", 2),
    ("unknown-student-attendance", _set("attendance", "student_id", 3, "s9"),
     errors.UnknownStudentError, "attendance", "student_id", 3),
    ("unknown-student-grades", _set("grades", "student_id", 0, "s42"),
     errors.UnknownStudentError, "grades", "student_id", 0),
    ("missing-id", _set("concerns", "student_id", 0, None), errors.MissingValueError,
     "concerns", "student_id", 0),
    ("blank-id", _set("students", "school_id", 1, "   "), errors.MissingValueError,
     "students", "school_id", 1),
    ("missing-minutes", _set("attendance", "absent_minutes", 1, np.nan),
     errors.MissingValueError, "attendance", "absent_minutes", 1),
    ("missing-date", _set("outcomes", "date", 0, None), errors.MissingValueError,
     "outcomes", "date", 0),
    ("missing-column-interventions", _drop("interventions", "kind"), errors.MissingColumnError,
     "interventions", "kind", None),
    ("intervention-ends-before-it-starts", _set("interventions", "end_date", 2, "2024-09-01"),
     errors.OutOfRangeError, "interventions", "end_date", 2),
    ("intervention-role-is-a-name", _set("interventions", "role", 1, "Anna Svensson"),
     errors.InvalidCategoryError, "interventions", "role", 1),
    ("unknown-student-interventions", _set("interventions", "student_id", 0, "s7"),
     errors.UnknownStudentError, "interventions", "student_id", 0),
    ("duplicate-intervention", _append_row("interventions", student_id="s2", kind="mentor_talk",
                                           date=pd.Timestamp("2024-10-07")),
     errors.DuplicateKeyError, "interventions", "student_id, kind, date", 3),
    ("empty-students", _replace("students", _tables()["students"].iloc[:0]),
     errors.EmptyTableError, "students", None, None),
    ("missing-students-table", _remove("students"), errors.MissingTableError,
     "students", None, None),
    ("unknown-table-name", _rename_table("grades", "grade"), errors.UnknownTableError,
     "grade", None, None),
    ("non-dataframe-table", _replace("grades", [{"student_id": "s1"}]), errors.TableTypeError,
     "grades", None, None),
    ("duplicate-column", _duplicate_column("grades", "grade"), errors.DuplicateColumnError,
     "grades", "grade", None),
]


@pytest.mark.parametrize(
    ("edit", "cls", "table", "column", "row"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_input_raises_specific_error(edit, cls, table, column, row):
    tables = _tables()
    edit(tables)
    with pytest.raises(cls) as info:
        validate_tables(tables)
    err = info.value
    assert type(err) is cls
    message = str(err)
    assert f"Table '{table}'" in message
    assert err.table == table
    if column is not None:
        assert f"column '{column}'" in message
        assert err.column == column
    if row is not None:
        assert err.rows[0] == row
        assert f"row {row}" in message or f"rows {row}" in message
    assert "Fix:" in message


def test_there_are_at_least_25_distinct_invalid_cases():
    assert len({case[0] for case in INVALID}) >= 25
    assert len({case[2] for case in INVALID}) >= 12


def test_error_shows_first_five_rows_and_total_count():
    tables = _tables()
    attendance = pd.concat([tables["attendance"]] * 3, ignore_index=True)
    attendance["lesson"] = [str(i) for i in range(len(attendance))]
    attendance["absent_minutes"] = -1.0
    tables["attendance"] = attendance
    with pytest.raises(errors.OutOfRangeError) as info:
        validate_tables(tables)
    message = str(info.value)
    assert "12 rows have" in message
    assert "rows 0 (-1.0), 1 (-1.0), 2 (-1.0), 3 (-1.0), 4 (-1.0) and 7 more" in message
    assert f"Allowed: a value from 0 to {_MINUTES_MAX:g}" in message


def test_missing_column_suggests_near_match():
    tables = _tables()
    tables["students"] = tables["students"].rename(columns={"student_id": "Student_ID "})
    with pytest.raises(errors.MissingColumnError, match="Rename column 'Student_ID ' to 'student_id'"):
        validate_tables(tables)


def test_unknown_table_suggests_near_match():
    with pytest.raises(errors.UnknownTableError, match="Did you mean 'attendance'"):
        validate_tables({"students": _tables()["students"], "atendance": pd.DataFrame()})


def test_non_mapping_input_is_a_clear_error():
    with pytest.raises(errors.TableTypeError, match="expected a mapping of table name to DataFrame"):
        validate_tables(_tables()["students"])  # type: ignore[arg-type]


def test_as_of_must_be_a_date():
    with pytest.raises(errors.DateParseError, match="as_of date 'soon'"):
        validate_tables(_tables(), as_of="soon")


# --------------------------------------------------------------------------- coercion


def test_coerces_loose_exports_to_canonical_dtypes():
    students = pd.DataFrame(
        {
            "student_id": [1001, 1002.0, " 1003 "],
            "cohort": ["2023", 2024.0, 2024],
            "school_id": [" A", "A ", 7],
            "newly_arrived": ["ja", "NEJ", None],
            "special_support": [1, 0, "yes"],
            "in_care": ["true", "False", "0"],
            "merit_value": ["212,5", "180", None],
            "programme_type": ["National", "introductory", None],
            "grade_year": ["1", None, 2],
        }
    )
    attendance = pd.DataFrame(
        {
            "student_id": [1001, 1003],
            "date": ["2024-09-02", pd.Timestamp("2024-09-03 10:15")],
            "scheduled_minutes": ["60", 45],
            "absent_minutes": [0, "15"],
        }
    )
    out = validate_tables({"students": students, "attendance": attendance})
    s = out["students"]
    assert s["student_id"].tolist() == ["1001", "1002", "1003"]
    assert s["school_id"].tolist() == ["A", "A", "7"]
    assert s["cohort"].dtype == "int64" and s["cohort"].tolist() == [2023, 2024, 2024]
    assert str(s["newly_arrived"].dtype) == "boolean"
    assert s["newly_arrived"].tolist() == [True, False, pd.NA]
    assert s["special_support"].tolist() == [True, False, True]
    assert s["in_care"].tolist() == [True, False, False]
    assert s["merit_value"].tolist()[:2] == [212.5, 180.0] and np.isnan(s["merit_value"][2])
    assert s["programme_type"].tolist() == ["national", "introductory", None]
    assert str(s["grade_year"].dtype) == "Int64"
    assert s["grade_year"].tolist() == [1, pd.NA, 2]
    a = out["attendance"]
    assert a["student_id"].tolist() == ["1001", "1003"]
    assert a["date"].dtype == "datetime64[ns]"
    assert a["date"].tolist() == [pd.Timestamp("2024-09-02"), pd.Timestamp("2024-09-03")]
    assert a["scheduled_minutes"].dtype == "float64"


def test_python_dates_as_read_from_parquet_by_pandas_3():
    import datetime as dt

    tables = _tables()
    tables["grades"] = tables["grades"].assign(
        date=pd.Series([dt.date(2024, 12, 20), dt.date(2024, 12, 21)], dtype=object)
    )
    out = validate_tables(tables)
    assert out["grades"]["date"].dtype == "datetime64[ns]"
    assert out["grades"]["date"].iloc[1] == pd.Timestamp("2024-12-21")


def test_extra_columns_are_kept_and_input_is_not_modified():
    tables = _tables()
    tables["students"]["note"] = ["x", "y", "z"]
    before = tables["students"].copy()
    out = validate_tables(tables)
    assert out["students"]["note"].tolist() == ["x", "y", "z"]
    assert list(out["students"].columns) == list(before.columns)
    pd.testing.assert_frame_equal(tables["students"], before)


def test_caller_index_and_row_order_are_kept():
    tables = _tables()
    tables["attendance"] = tables["attendance"].iloc[::-1].set_axis([7, 7, 3, 1])
    out = validate_tables(tables)
    assert out["attendance"].index.tolist() == [7, 7, 3, 1]
    assert out["attendance"]["lesson"].tolist() == ["1", "1", "2", "1"]


def test_absent_optional_columns_stay_absent_and_empty_event_tables_pass():
    tables = _tables()
    tables["attendance"] = tables["attendance"][
        ["student_id", "date", "scheduled_minutes", "absent_minutes"]
    ].iloc[[0, 2]]
    tables["concerns"] = tables["concerns"].iloc[:0]
    out = validate_tables(tables)
    assert list(out["attendance"].columns) == [
        "student_id", "date", "scheduled_minutes", "absent_minutes"
    ]
    assert len(out["concerns"]) == 0


def test_students_alone_is_enough():
    out = validate_tables({"students": _tables()["students"]})
    assert list(out) == ["students"]


# --------------------------------------------------------------------------- as_of


def test_events_on_or_after_as_of_are_dropped_with_counts():
    tables = _tables()
    with pytest.warns(errors.EventsAfterAsOfWarning) as record:
        out = validate_tables(tables, as_of="2024-09-03")
    message = str(record[0].message)
    assert "attendance 2 rows" in message
    assert "grades 2 rows" in message and "assessments 2 rows" in message
    assert "concerns 1 row" in message
    assert "2024-09-03" in message
    assert out["attendance"]["date"].max() < pd.Timestamp("2024-09-03")
    assert len(out["attendance"]) == 2
    # the label lies after as_of by definition: outcomes are kept
    assert len(out["outcomes"]) == 2


def test_no_warning_when_nothing_is_after_as_of():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = validate_tables(_tables(), as_of="2030-01-01")
    assert len(out["attendance"]) == 4


def test_result_keeps_table_order_of_the_caller():
    tables = _tables()
    ordered = {name: tables[name] for name in ["grades", "outcomes", "students"]}
    assert list(validate_tables(ordered)) == ["grades", "outcomes", "students"]


# --------------------------------------------------------------------------- properties

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["s1", " s2 ", "2024-09-02", "ja", "national", "A", "60", "1,5", "-"]),
    st.dates(),
    st.datetimes(),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
)
_COLUMN_NAMES = st.sampled_from(
    ["student_id", "cohort", "school_id", "date", "scheduled_minutes", "absent_minutes",
     "late_minutes", "excused", "lesson", "grade", "course", "event", "gender", "merit_value",
     "newly_arrived", "x", "Student_ID"]
)


@st.composite
def _arbitrary_frame(draw):
    names = draw(st.lists(_COLUMN_NAMES, max_size=8))
    n = draw(st.integers(min_value=0, max_value=6))
    data = {}
    columns = []
    for name in names:
        kind = draw(st.sampled_from(["object", "int", "float", "bool", "datetime"]))
        if kind == "object":
            values = draw(st.lists(_VALUES, min_size=n, max_size=n))
            col = pd.Series(values, dtype=object)
        elif kind == "int":
            col = pd.Series(draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)),
                            dtype="int64")
        elif kind == "float":
            col = pd.Series(draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype="float64")
        elif kind == "bool":
            col = pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        else:
            col = pd.Series(pd.to_datetime(
                draw(st.lists(st.datetimes(min_value=pd.Timestamp("1970-01-01").to_pydatetime(),
                                           max_value=pd.Timestamp("2100-01-01").to_pydatetime()),
                              min_size=n, max_size=n))), dtype="datetime64[ns]")
        data[len(columns)] = col
        columns.append(name)
    frame = pd.DataFrame(data, index=range(n))
    frame.columns = columns if columns else frame.columns
    return frame


@given(
    tables=st.dictionaries(
        st.sampled_from(["students", "attendance", "grades", "outcomes", "concerns", "other"]),
        _arbitrary_frame(),
        max_size=3,
    ),
    as_of=st.one_of(st.none(), st.sampled_from(["2024-09-03", "not a date"])),
)
def test_arbitrary_frames_raise_only_data_errors(tables, as_of):
    try:
        out = validate_tables(tables, as_of=as_of)
    except errors.DataError as exc:
        assert str(exc).startswith("Table '")
    else:
        assert set(out) == set(tables)


_IDS = st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=6)
_DAYS = st.dates(min_value=pd.Timestamp("2020-01-01").date(),
                 max_value=pd.Timestamp("2026-12-31").date())


@st.composite
def _valid_tables(draw):
    ids = draw(st.lists(_IDS, min_size=1, max_size=8, unique=True))
    n = len(ids)
    opt_int = draw(st.lists(st.one_of(st.none(), st.integers(0, 50)), min_size=n, max_size=n))
    flags = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n))
    students = pd.DataFrame(
        {
            "student_id": pd.Series(ids, dtype=object),
            "extra": draw(st.lists(st.integers(), min_size=n, max_size=n)),
            "cohort": pd.Series(draw(st.lists(st.integers(1990, 2100), min_size=n, max_size=n)),
                                dtype="int64"),
            "school_id": pd.Series(draw(st.lists(_IDS, min_size=n, max_size=n)), dtype=object),
            "gender": pd.Series(draw(st.lists(st.sampled_from(["female", "male", "other", None]),
                                              min_size=n, max_size=n)), dtype=object),
            "school_moves": pd.array(opt_int, dtype="Int64"),
            "in_care": pd.array(flags, dtype="boolean"),
            "merit_value": pd.Series(draw(st.lists(
                st.one_of(st.just(np.nan), st.floats(0, 340)), min_size=n, max_size=n)),
                dtype="float64"),
        }
    )
    rows = draw(st.lists(
        st.tuples(st.sampled_from(ids), _DAYS, st.integers(0, 600), st.floats(0, 1),
                  st.one_of(st.none(), st.booleans())),
        max_size=20, unique_by=lambda r: (r[0], r[1]),
    ))
    attendance = pd.DataFrame(
        {
            "student_id": pd.Series([r[0] for r in rows], dtype=object),
            "date": pd.Series(pd.to_datetime([r[1] for r in rows]), dtype="datetime64[ns]"),
            "scheduled_minutes": pd.Series([float(r[2]) for r in rows], dtype="float64"),
            "absent_minutes": pd.Series([float(r[2]) * r[3] for r in rows], dtype="float64"),
            "excused": pd.array([r[4] for r in rows], dtype="boolean"),
        }
    )
    grades = pd.DataFrame(
        {
            "student_id": pd.Series([r[0] for r in rows], dtype=object),
            "date": pd.Series(pd.to_datetime([r[1] for r in rows]), dtype="datetime64[ns]"),
            "course": pd.Series(["c"] * len(rows), dtype=object),
            "grade": pd.Series(draw(st.lists(st.sampled_from(list("ABCDEF-")),
                                             min_size=len(rows), max_size=len(rows))),
                               dtype=object),
        }
    )
    return {"students": students, "attendance": attendance, "grades": grades}


@st.composite
def _corrupted_tables(draw):
    tables = draw(_valid_tables())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(tables)))
        frame = tables[name].copy()
        column = draw(st.sampled_from(list(frame.columns)))
        values = draw(st.lists(_VALUES, min_size=len(frame), max_size=len(frame)))
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
        tables[name] = frame
    return tables


@given(tables=_corrupted_tables(), as_of=st.one_of(st.none(), _DAYS))
def test_corrupted_columns_raise_only_data_errors(tables, as_of):
    try:
        out = validate_tables(tables, as_of=as_of)
    except errors.DataError as exc:
        assert exc.table in tables
        assert exc.column is None or f"column '{exc.column}'" in str(exc)
    else:
        assert list(out) == list(tables)


@given(tables=_valid_tables())
def test_valid_frames_pass_through_unchanged(tables):
    out = validate_tables(tables)
    assert list(out) == list(tables)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(out[name], frame)


def test_repeated_extra_column_names_are_kept_as_they_are():
    tables = _tables()
    students = tables["students"][["student_id", "cohort", "school_id"]]
    students = pd.concat([students, pd.DataFrame({"x": [1, 2, 3]}), pd.DataFrame({"x": ["a", "b", "c"]})],
                         axis=1)
    out = validate_tables({"students": students})["students"]
    assert list(out.columns) == ["student_id", "cohort", "school_id", "x", "x"]
    assert out.iloc[:, 3].tolist() == [1, 2, 3] and out.iloc[:, 4].tolist() == ["a", "b", "c"]


def test_two_concern_reports_on_one_day_are_two_events():
    """Two staff members, one day, one category: they failed the weekly run with exit 2."""
    from dropoutrisk.features import build_features

    students = pd.DataFrame({"student_id": ["s1"], "cohort": [2024], "school_id": ["A"]})
    concerns = pd.DataFrame({"student_id": ["s1", "s1"], "category": ["absence", "absence"],
                             "date": pd.to_datetime(["2024-10-01", "2024-10-01"])})
    out = validate_tables({"students": students, "concerns": concerns})
    assert len(out["concerns"]) == 2
    X = build_features(out, "2024-10-28")
    assert X.loc["s1", "concerns_30d"] == 2.0


def test_interventions_are_coerced_and_kept_after_as_of():
    tables = _tables()
    tables["interventions"] = tables["interventions"].astype({"date": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.EventsAfterAsOfWarning)
        out = validate_tables(tables, as_of="2024-10-08")["interventions"]
    # kept like outcomes: training reads the support given inside the label window
    assert len(out) == 3
    assert out["date"].dtype == "datetime64[ns]"
    assert out["end_date"].isna().tolist() == [False, True, False]


def test_a_role_code_with_capitals_is_not_taken_for_a_name():
    tables = _tables()
    tables["interventions"]["role"] = ["SYV", "Elevhälsa", "mentor"]
    assert validate_tables(tables)["interventions"]["role"].tolist() == ["SYV", "Elevhälsa", "mentor"]
