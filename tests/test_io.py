"""dropoutrisk.io: folders of tables in, folders of tables out."""

from __future__ import annotations

import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dropoutrisk import errors
from dropoutrisk.io import read_tables, write_tables
from dropoutrisk.schema import validate_tables


def _students() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "student_id": ["007", "010", "s3"],
            "cohort": [2023, 2023, 2024],
            "school_id": ["Åsa gymnasium", "Öster", "Väst"],
            "merit_value": [212.5, 180.0, None],
        }
    )


def _attendance() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "student_id": ["007", "010"],
            "date": pd.to_datetime(["2024-09-02", "2024-09-03"]),
            "scheduled_minutes": [300.0, 360.0],
            "absent_minutes": [60.0, 0.0],
            "excused": pd.array([True, False], dtype="boolean"),
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip_gives_back_the_validated_tables(tmp_path, fmt):
    tables = validate_tables({"students": _students(), "attendance": _attendance()})
    paths = write_tables(tables, tmp_path, format=fmt)
    assert sorted(p.name for p in paths.values()) == [f"attendance.{fmt}", f"students.{fmt}"]
    back = validate_tables(read_tables(tmp_path))
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(back[name], frame)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_writes_are_deterministic_and_leave_no_temporary_files(tmp_path, fmt):
    tables = {"students": _students(), "attendance": _attendance()}
    first = write_tables(tables, tmp_path / "a", format=fmt)
    second = write_tables(tables, tmp_path / "b", format=fmt)
    for name in tables:
        assert first[name].read_bytes() == second[name].read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        f"attendance.{fmt}", f"students.{fmt}"
    ]


def test_latin1_semicolon_csv_is_decoded_with_a_warning(tmp_path):
    text = (
        "student_id;cohort;school_id;merit_value\n"
        "007;2023;Åsa gymnasium;212,5\n"
        "010;2023;Östra Vägen;180\n"
    )
    (tmp_path / "students.csv").write_bytes(text.encode("latin-1"))
    with pytest.warns(errors.TextEncodingWarning, match="students.csv is not UTF-8"):
        students = read_tables(tmp_path)["students"]
    assert students["school_id"].tolist() == ["Åsa gymnasium", "Östra Vägen"]
    assert students["student_id"].tolist() == ["007", "010"]  # leading zeros kept
    assert students["merit_value"].tolist() == [212.5, 180.0]  # decimal comma


def test_cp1252_characters_are_read(tmp_path):
    text = "student_id,cohort,school_id\ns1,2023,Skola – Norr\n"
    (tmp_path / "students.csv").write_bytes(text.encode("cp1252"))
    with pytest.warns(errors.TextEncodingWarning, match="Windows-1252"):
        students = read_tables(tmp_path)["students"]
    assert students["school_id"].tolist() == ["Skola – Norr"]


def test_utf8_with_bom_reads_clean_column_names_without_warning(tmp_path):
    text = "student_id,cohort,school_id\ns1,2023,Älvskolan\n"
    (tmp_path / "students.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        students = read_tables(tmp_path)["students"]
    assert list(students.columns) == ["student_id", "cohort", "school_id"]
    assert students["school_id"].tolist() == ["Älvskolan"]


def test_csv_dates_are_parsed_and_bad_dates_left_for_validation(tmp_path):
    write_tables({"students": _students()}, tmp_path, format="csv")
    (tmp_path / "grades.csv").write_text(
        "student_id;date;course;grade\n007;2024-12-20;MATMAT01a;E\n", encoding="utf-8"
    )
    grades = read_tables(tmp_path)["grades"]
    assert grades["date"].dtype == "datetime64[ns]"
    (tmp_path / "grades.csv").write_text(
        "student_id;date;course;grade\n007;2024-12-20;MATMAT01a;E\n010;20/12/2024;ENGENG05;C\n",
        encoding="utf-8",
    )
    with pytest.raises(errors.DateParseError, match=r"column 'date'.*row 1 \('20/12/2024'\)"):
        validate_tables(read_tables(tmp_path))


def test_parquet_dates_come_back_as_datetimes(tmp_path):
    table = pa.table({"student_id": ["007"], "date": pa.array([19968], type=pa.date32()),
                      "course": ["X"], "grade": ["A"]})
    pq.write_table(table, tmp_path / "grades.parquet")
    write_tables({"students": _students()}, tmp_path)
    grades = read_tables(tmp_path)["grades"]
    assert grades["date"].dtype == "datetime64[ns]"
    assert grades["date"].iloc[0] == pd.Timestamp("2024-09-02")


def test_attendance_layouts_are_harmonised_and_stacked(tmp_path):
    write_tables({"students": _students(), "attendance": _attendance()}, tmp_path)
    (tmp_path / "attendance_daily.csv").write_text(
        "student_id;date;attendance_pct\ns3;2024-09-02;75\n", encoding="utf-8"
    )
    weekly = pd.DataFrame({"student_id": ["s3"], "week_start": pd.to_datetime(["2024-09-09"]),
                           "scheduled_hours": [20.0], "absent_hours": [2.0]})
    write_tables({"attendance_weekly": weekly}, tmp_path)
    combined = read_tables(tmp_path)["attendance"]
    assert combined["student_id"].tolist() == ["007", "010", "s3", "s3"]
    assert combined["absent_minutes"].tolist() == [60.0, 0.0, 90.0, 120.0]
    assert combined["date"].iloc[3] == pd.Timestamp("2024-09-13")
    separate = read_tables(tmp_path, combine_attendance=False)
    assert [n for n in separate if n.startswith("attendance")] == [
        "attendance", "attendance_daily", "attendance_weekly"
    ]
    out = validate_tables(separate)
    assert len(out["attendance"]) == 4


def test_missing_folder_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(errors.MissingTableError, match="nowhere") as info:
        read_tables(missing)
    assert info.value.table == "students"


def test_missing_students_names_the_folder(tmp_path):
    write_tables({"grades": pd.DataFrame({"student_id": ["s1"]})}, tmp_path)
    with pytest.raises(errors.MissingTableError, match=r"Table 'students'.*no students.parquet"):
        read_tables(tmp_path)


def test_requested_tables_must_exist_and_be_canonical(tmp_path):
    write_tables({"students": _students()}, tmp_path)
    assert list(read_tables(tmp_path, tables=["students"])) == ["students"]
    with pytest.raises(errors.MissingTableError, match="Table 'grades'"):
        read_tables(tmp_path, tables=["students", "grades"])
    with pytest.raises(errors.UnknownTableError, match="Table 'truth'"):
        read_tables(tmp_path, tables=["truth"])


def test_unreadable_file_is_a_data_error_naming_the_file(tmp_path):
    (tmp_path / "students.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(errors.DataError, match=r"students\.parquet' cannot be read"):
        read_tables(tmp_path)
    (tmp_path / "students.parquet").unlink()
    (tmp_path / "students.csv").write_bytes(b"")
    with pytest.raises(errors.DataError, match=r"students\.csv' is empty"):
        read_tables(tmp_path)


def test_a_table_in_two_formats_is_refused(tmp_path):
    """It used to read the Parquet file with a warning: a weekly job could read a stale one."""
    write_tables({"students": _students()}, tmp_path)
    write_tables({"students": _students().iloc[:1]}, tmp_path, format="csv")
    with pytest.raises(errors.DataError, match="students.csv and students.parquet") as err:
        read_tables(tmp_path)
    assert err.value.exit_code == 2 and "Remove the one" in str(err.value)


@pytest.mark.parametrize("suffix", [".xlsx", ".ods", ".json"])
def test_a_table_in_an_unsupported_format_is_refused(tmp_path, suffix):
    """grades.xlsx beside the other tables was scored silently without grades."""
    write_tables({"students": _students()}, tmp_path)
    (tmp_path / f"grades{suffix}").write_bytes(b"PK")
    with pytest.raises(errors.DataError, match=f"grades{suffix}") as err:
        read_tables(tmp_path)
    assert "Table 'grades'" in str(err.value) and "grades.csv" in str(err.value)


def test_write_refuses_names_that_are_not_file_names(tmp_path):
    with pytest.raises(errors.UnknownTableError, match="cannot be used as a file name"):
        write_tables({"../students": _students()}, tmp_path)


def test_placeholder_dates_outside_the_range_are_left_for_validation(tmp_path):
    table = pa.table({"student_id": ["007", "010"],
                      "date": pa.array([19968, -719162], type=pa.date32()),  # 0001-01-01
                      "course": ["X", "Y"], "grade": ["A", "B"]})
    pq.write_table(table, tmp_path / "grades.parquet")
    write_tables({"students": _students()}, tmp_path)
    tables = read_tables(tmp_path)
    with pytest.raises(errors.DateParseError, match=r"Table 'grades', column 'date'.*row 1"):
        validate_tables(tables)
