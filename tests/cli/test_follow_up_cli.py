"""``dropoutrisk follow-up``: reads the weekly runs' records, writes the list, summary and record."""

import json
import shutil

import pandas as pd
import pytest

from dropoutrisk.cli._follow_up import OUTPUT_FILES

from ._predict_workspace import shared_workspace

DAYS = ("2024-09-23", "2024-10-07")
FOLLOW_UP = "2024-11-04"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, workspace, run):
    ws = shared_workspace(workspace)
    root = tmp_path_factory.mktemp("follow-up")
    data = root / "data"
    shutil.copytree(ws["data"], data)
    folder = root / "runs"
    for day in DAYS:
        assert run(["predict", "--model", ws["model"], "--data", data, "--as-of", day,
                    "--out", folder / f"scores-{day}.parquet", "--capacity", "12",
                    "--by", "school_id"]) == 0
    first = pd.read_parquet(folder / f"scores-{DAYS[0]}.parquet")
    flagged = first.loc[first["flag"], "student_id"].astype(str).tolist()
    # the school recorded support for the first five flagged students, 3 days after the flag
    support = pd.DataFrame({"student_id": flagged[:5], "date": "2024-09-26",
                            "kind": "mentor_talk", "role": "mentor"})
    support.to_csv(data / "interventions.csv", index=False)
    return {"root": root, "data": data, "runs": folder, "supported": flagged[:5],
            "students": ws["tables"]["students"]["student_id"].tolist()}


def test_writes_the_list_summary_and_a_record_without_ids(runs, tmp_path, run, capsys):
    out = tmp_path / "follow-up"
    code = run(["follow-up", "--runs", runs["runs"], "--data", runs["data"], "--as-of", FOLLOW_UP,
                "--out", out])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    students = pd.read_csv(out / "students.csv", dtype={"student_id": str})
    flagged = set()
    for day in DAYS:
        p = pd.read_parquet(runs["runs"] / f"scores-{day}.parquet")
        flagged |= set(p.loc[p["flag"], "student_id"].astype(str))
    assert set(students["student_id"]) == flagged
    rows = students.set_index("student_id")
    assert (rows.loc[runs["supported"], "days_without_intervention"] == 3).all()
    assert rows.loc[runs["supported"], "followed_up_in_time"].all()
    record = json.loads((out / "follow-up.run.json").read_text())
    assert [r["as_of"] for r in record["runs"]] == list(DAYS)
    assert record["counts"]["followed_up"] == 5
    assert record["counts"]["flagged"] == len(students)
    for name in ("summary.csv", "follow-up.run.json"):
        text = (out / name).read_text()
        assert not [s for s in runs["students"] if s in text], name
    assert "Follow-up at 2024-11-04 from 2 runs" in capsys.readouterr().out


def test_a_changed_predictions_file_exits_2_and_writes_nothing(runs, tmp_path, run, capsys):
    folder = tmp_path / "runs"
    shutil.copytree(runs["runs"], folder)
    victim = folder / f"scores-{DAYS[0]}.parquet"
    frame = pd.read_parquet(victim)
    frame.loc[frame.index[0], "flag"] = not frame.loc[frame.index[0], "flag"]
    frame.to_parquet(victim)
    out = tmp_path / "out"
    assert run(["follow-up", "--runs", folder, "--data", runs["data"], "--as-of", FOLLOW_UP,
                "--out", out]) == 2
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not out.exists()


def test_a_folder_of_other_files_is_left_alone(runs, tmp_path, run, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run(["follow-up", "--runs", runs["runs"], "--data", runs["data"], "--as-of", FOLLOW_UP,
                "--out", out]) == 2
    assert (out / "notes.txt").read_text() == "mine"


def test_no_run_records_exit_2(runs, tmp_path, run, capsys):
    assert run(["follow-up", "--runs", tmp_path, "--data", runs["data"], "--as-of", FOLLOW_UP,
                "--out", tmp_path / "out"]) == 2
    assert "no run record" in capsys.readouterr().err


def test_privacy_scan_of_the_follow_up_and_of_training_with_support(runs, tmp_path, run,
                                                                    leaked_ids, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow writes its artifacts beside the working folder
    out = tmp_path / "follow-up"
    assert run(["follow-up", "--runs", runs["runs"], "--data", runs["data"], "--as-of", FOLLOW_UP,
                "--out", out]) == 0
    assert leaked_ids(runs["students"], out / "summary.csv", out / "follow-up.run.json") == []
    assert leaked_ids(runs["students"], out / "students.csv")  # the staff list does hold ids
    store = tmp_path / "mlruns.db"
    model = tmp_path / "model"
    assert run(["train", "--data", runs["data"], "--cohorts", "2022", "--calib-cohort", "2023",
                "--weeks", "6,20", "--n-estimators", "10", "--supported", "exclude",
                "--out", model, "--tracking-uri", f"sqlite:///{store.as_posix()}"]) == 0
    stored = [store, *[p for p in (tmp_path / "mlartifacts", tmp_path / "mlruns") if p.exists()]]
    assert len(stored) > 1, "no MLflow artifacts were written"
    assert leaked_ids(runs["students"], *stored) == []
    assert leaked_ids(runs["students"], model / "manifest.json") == []
