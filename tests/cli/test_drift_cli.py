"""``dropoutrisk drift``: two folders, a model's profile, a fault at one school, input errors."""

import json
import shutil

import pandas as pd
import pytest

from dropoutrisk.cli._drift import DRIFT_FILES

AS_OF = "2024-10-28"  # week 10 of school year 2024; the reference is week 10 of 2023


@pytest.fixture(scope="module")
def faulty(workspace, tmp_path_factory):
    """The workspace tables with one school's teacher ratings on 1-10 instead of 1-5."""
    folder = tmp_path_factory.mktemp("faulty") / "data"
    shutil.copytree(workspace["data"], folder)
    students = pd.read_parquet(folder / "students.parquet")
    school = sorted(students["school_id"].unique())[2]
    ids = students.loc[students["school_id"] == school, "student_id"]
    a = pd.read_parquet(folder / "assessments.parquet")
    hit = a["student_id"].isin(ids) & a["item"].str.startswith(("aca_", "beh_"))
    a.loc[hit, "value"] = a.loc[hit, "value"] * 2.0
    a.to_parquet(folder / "assessments.parquet")
    return {"data": folder, "school": school}


def _drift(run, *args):
    return run(["drift", *map(str, args)])


def test_two_folders_give_a_report_folder_with_schools_and_no_student_rows(
        workspace, tmp_path, capsys, run):
    out = tmp_path / "report"
    assert _drift(run, "--reference", workspace["data"], "--current", workspace["data"],
                  "--as-of", AS_OF, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(DRIFT_FILES)
    doc = json.loads((out / "drift.json").read_text())
    assert doc["as_of"] == AS_OF and doc["reference_as_of"] == "2023-10-30"
    assert doc["schools"]["checked"] is True and doc["schools"]["drifted_schools"] == []
    schools = pd.read_csv(out / "schools.csv")
    assert len(schools) == 4 and set(schools["reference"]) == {"school"}
    assert set(pd.read_csv(out / "features.csv")["feature"]) >= {"attendance_rate"}
    ids = pd.read_parquet(workspace["data"] / "students.parquet")["student_id"]
    text = "".join((out / name).read_text() for name in DRIFT_FILES)
    assert not any(sid in text for sid in ids[:200])
    assert "no school at drift" in capsys.readouterr().out


def test_a_fault_at_one_school_is_named_and_fail_on_drift_exits_4_after_writing(
        workspace, faulty, tmp_path, capsys, run):
    out = tmp_path / "report"
    code = _drift(run, "--reference", workspace["data"], "--current", faulty["data"],
                  "--as-of", AS_OF, "--out", out, "--fail-on-drift")
    captured = capsys.readouterr()
    assert code == 4
    assert f"drift at 1 school(s): {faulty['school']}" in captured.out
    assert "Drift check failed" in captured.err and f"school '{faulty['school']}'" in captured.err
    doc = json.loads((out / "drift.json").read_text())
    assert doc["schools"]["drifted_schools"] == [faulty["school"]]
    detail = pd.read_csv(out / "school_features.csv")
    hit = detail[(detail["school_id"] == faulty["school"]) & (detail["status"] == "drift")]
    assert "teacher_academic_rating" in set(hit["feature"])


def test_the_model_profile_is_the_reference(workspace, faulty, tmp_path, capsys, run):
    out = tmp_path / "report"
    assert _drift(run, "--model", workspace["model"], "--current", faulty["data"],
                  "--as-of", "2024-09-30", "--out", out) == 0
    doc = json.loads((out / "drift.json").read_text())
    assert doc["model_id"] and doc["reference"]["basis"] == "snapshot_week"
    assert doc["reference"]["week"] == 6
    assert faulty["school"] in doc["schools"]["drifted_schools"]
    # a second run replaces its own earlier report
    assert _drift(run, "--model", workspace["model"], "--current", workspace["data"],
                  "--as-of", "2024-09-30", "--out", out) == 0
    assert json.loads((out / "drift.json").read_text())["schools"]["drifted_schools"] == []


def test_feature_tables_are_compared_and_bad_values_name_the_column(workspace, tmp_path,
                                                                   capsys, run):
    from dropoutrisk.features import build_features
    from dropoutrisk.io import read_tables

    tables = dict(read_tables(workspace["data"]))
    tables.pop("truth", None)
    X = build_features(tables, AS_OF).reset_index()
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.csv"
    X.to_parquet(ref)
    X.to_csv(cur, index=False)
    out = tmp_path / "report"
    assert _drift(run, "--reference", ref, "--current", cur, "--out", out) == 0
    assert json.loads((out / "drift.json").read_text())["drifted"] is False
    capsys.readouterr()

    bad = X.astype({"attendance_rate": object})
    bad.loc[[3, 7], "attendance_rate"] = "ninety"
    bad.to_csv(cur, index=False)
    assert _drift(run, "--reference", ref, "--current", cur, "--out", tmp_path / "r2") == 2
    err = capsys.readouterr().err
    assert "Table 'current', column 'attendance_rate'" in err and "'ninety'" in err
    assert not (tmp_path / "r2").exists()

    X[["student_id", "school_id"]].assign(other=1.0).to_csv(cur, index=False)
    assert _drift(run, "--reference", ref, "--current", cur, "--out", tmp_path / "r3") == 2
    assert "none of the reference's feature columns" in capsys.readouterr().err


@pytest.mark.parametrize("args, option", [
    (["--current", "{data}", "--reference", "{data}"], "--as-of"),
    (["--current", "{data}"], "--reference"),
    (["--current", "{data}/nowhere", "--reference", "{data}", "--as-of", AS_OF], "--current"),
    (["--current", "{data}", "--reference", "{data}", "--as-of", "2024-13-40"], "--as-of"),
])
def test_option_errors_exit_2_naming_the_option(workspace, tmp_path, capsys, run, args, option):
    argv = [a.format(data=workspace["data"]) for a in args]
    assert _drift(run, *argv, "--out", tmp_path / "report") == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_a_folder_of_other_files_is_not_replaced_and_a_bad_model_exits_3(
        workspace, tmp_path, capsys, run):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert _drift(run, "--reference", workspace["data"], "--current", workspace["data"],
                  "--as-of", AS_OF, "--out", out) == 2
    assert (out / "notes.txt").read_text() == "keep" and "--out" in capsys.readouterr().err
    assert _drift(run, "--model", tmp_path / "no-model", "--current", workspace["data"],
                  "--as-of", AS_OF, "--out", tmp_path / "r") == 3
