"""``dropoutrisk validate``: summaries, exit codes and the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from dropoutrisk.io import write_tables


def _folder(tmp_path, grade="E"):
    students = pd.DataFrame({"student_id": ["s1", "s2"], "cohort": [2023, 2023],
                             "school_id": ["A", "A"]})
    attendance = pd.DataFrame({"student_id": ["s1", "s2", "s2"],
                               "date": pd.to_datetime(["2024-09-02", "2024-09-02", "2024-10-07"]),
                               "scheduled_minutes": [300.0, 300.0, 300.0],
                               "absent_minutes": [0.0, 60.0, 300.0]})
    daily = pd.DataFrame({"student_id": ["s1"], "date": pd.to_datetime(["2024-09-03"]),
                          "attendance_pct": [50.0]})
    grades = pd.DataFrame({"student_id": ["s1", "s2"], "date": ["2024-12-20", "2024-12-20"],
                           "course": ["MATMAT01a", "MATMAT01a"], "grade": ["A", grade]})
    data = tmp_path / "data"
    write_tables({"students": students, "attendance": attendance, "attendance_daily": daily},
                 data)
    write_tables({"grades": grades}, data, format="csv")
    return data

def test_valid_data_exits_0_with_a_line_per_table(tmp_path, capsys, run):
    data = _folder(tmp_path)
    report = tmp_path / "report.json"
    code = run(["validate", "--data", str(data), "--as-of", "2024-10-01", "--out", str(report)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.splitlines()
    assert "students: 2 rows" in lines
    assert ("attendance: 3 rows (from attendance 3, attendance_daily 1), "
            "1 dropped (dated on or after 2024-10-01)") in lines
    assert "grades: 0 rows, 2 dropped (dated on or after 2024-10-01)" in lines
    assert "EventsAfterAsOfWarning" in captured.err
    content = json.loads(report.read_text(encoding="utf-8"))
    assert content["valid"] is True
    assert content["tables"]["attendance"]["dropped_after_as_of"] == 1
    assert content["tables"]["attendance"]["sources"] == {"attendance": 3, "attendance_daily": 1}


def test_invalid_data_exits_2_naming_the_column_without_traceback(tmp_path, capsys, run):
    data = _folder(tmp_path, grade="G")
    report = tmp_path / "report.json"
    code = run(["validate", "--data", str(data), "--out", str(report)])
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped to 100 columns
    assert code == 2
    assert "Table 'grades', column 'grade'" in err
    assert "row 1 ('G')" in err
    assert "Traceback" not in err
    content = json.loads(report.read_text(encoding="utf-8"))
    assert content["valid"] is False
    assert content["error"]["type"] == "InvalidCategoryError"
    assert content["error"]["column"] == "grade"


def test_bad_as_of_and_missing_folder_exit_2(tmp_path, capsys, run):
    data = _folder(tmp_path)
    assert run(["validate", "--data", str(data), "--as-of", "next week"]) == 2
    assert "as_of date 'next week'" in capsys.readouterr().err
    assert run(["validate", "--data", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


def test_console_command_exits_2_in_a_fresh_process(tmp_path):
    data = _folder(tmp_path, grade="G")
    result = subprocess.run(
        [sys.executable, "-m", "dropoutrisk", "validate", "--data", str(data)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "column 'grade'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _synthetic_folder(tmp_path, formats):
    from dropoutrisk.synthetic import make_cohorts

    tables = make_cohorts(60, [2022, 2023], n_schools=4, random_state=3,
                          attendance_formats=formats)
    data = tmp_path / formats
    write_tables({name: frame for name, frame in tables.items() if name != "truth"}, data)
    return data


def test_synthetic_canonical_data_are_valid(tmp_path, capsys, run):
    data = _synthetic_folder(tmp_path, "canonical")
    code = run(["validate", "--data", str(data), "--as-of", "2023-10-02"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "students: 60 rows" in captured.out.splitlines()


def test_synthetic_mixed_layouts_are_valid(tmp_path, capsys, run):
    data = _synthetic_folder(tmp_path, "mixed")
    assert (data / "attendance_weekly.parquet").is_file()
    code = run(["validate", "--data", str(data)])
    assert "attendance_weekly" in capsys.readouterr().out
    assert code == 0
