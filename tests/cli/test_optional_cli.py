"""The command line without optional columns, with snapshot days and with own indicators."""

import json

import pandas as pd
import pytest


@pytest.fixture
def data(workspace):
    """The shared workspace's tables (read only: tests that change them work on a copy)."""
    return workspace["data"]


def _students(folder):
    path = next(p for p in folder.iterdir() if p.name.startswith("students."))
    return path, (pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path))


def _write_students(path, frame):
    frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)


def test_train_without_programme_type_works(run, data, tmp_path, capsys):
    """It crashed with exit 1 ("Found array with 0 feature(s)") after fitting."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    path, students = _students(copy)
    _write_students(path, students.drop(columns=["programme_type"]))
    (copy / "concerns.parquet").unlink(missing_ok=True)
    (copy / "concerns.csv").unlink(missing_ok=True)
    capsys.readouterr()
    assert run(["train", "--data", copy, "--cohorts", "2021", "--weeks", "10",
                "--out", tmp_path / "model", "--n-estimators", 30]) == 0
    out = capsys.readouterr()
    assert "programme_type" in out.err  # the one warning names what is left out
    assert out.err.count("OptionalDataWarning") == 1
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    left = manifest["params"]["features_left_out"]
    assert {"programme_type", "concerns_30d", "activity_count"} <= set(left)
    assert run(["predict", "--model", tmp_path / "model", "--data", copy, "--as-of",
                "2023-10-02", "--out", tmp_path / "p.csv", "--capacity", 5,
                "--by", "school_id"]) == 0
    # the model does not use what is absent: predict has nothing to warn about
    assert "OptionalDataWarning" not in capsys.readouterr().err


def test_train_at_days_after_each_start(run, data, tmp_path, capsys):
    assert run(["train", "--data", data, "--cohorts", "2021", "--days", "30,60",
                "--out", tmp_path / "model", "--n-estimators", 30]) == 0
    assert "days [30, 60] after each start" in capsys.readouterr().out
    params = json.loads((tmp_path / "model" / "manifest.json").read_text())["params"]
    assert params["days"] == [30, 60] and params["weeks"] is None
    # evaluate defaults to the trained days
    assert run(["evaluate", "--model", tmp_path / "model", "--data", data, "--cohorts", "2022",
                "--out", tmp_path / "eval", "--n-boot", 0]) == 0
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["days"] == [30, 60]
    assert run(["train", "--data", data, "--cohorts", "2021", "--days", "30,x",
                "--out", tmp_path / "m2"]) == 2
    assert "--days" in capsys.readouterr().err


def test_own_indicator_is_trained_and_predict_refuses_data_without_it(run, data, tmp_path, capsys):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    path, students = _students(copy)
    students["support_hours"] = (students["student_id"].astype(str).str[-1].astype(int) % 4)
    _write_students(path, students)
    (tmp_path / "own.toml").write_text(
        '[[indicators]]\nname = "support_hours"\ndimension = "socio_emotional"\n'
        'description_en = "Hours of support a week"\ndescription_sv = "Stödtimmar i veckan"\n'
        'actionable = true\nrisk_direction = "none"\nunit = "count"\n'
        'source = { table = "students" }\n', encoding="utf-8")
    assert run(["train", "--data", copy, "--cohorts", "2021", "--weeks", "10",
                "--indicators", tmp_path / "own.toml", "--out", tmp_path / "model",
                "--n-estimators", 30]) == 0
    assert "own indicators: support_hours" in capsys.readouterr().out
    assert run(["predict", "--model", tmp_path / "model", "--data", copy, "--as-of",
                "2023-10-02", "--out", tmp_path / "ok.csv", "--threshold", 0.2]) == 0
    _write_students(path, students.drop(columns=["support_hours"]))
    capsys.readouterr()
    assert run(["predict", "--model", tmp_path / "model", "--data", copy, "--as-of",
                "2023-10-02", "--out", tmp_path / "no.csv", "--threshold", 0.2]) == 2
    err = capsys.readouterr().err
    assert "support_hours" in err and "Traceback" not in err
    assert not (tmp_path / "no.csv").exists()
    assert run(["evaluate", "--model", tmp_path / "model", "--data", copy, "--cohorts", "2022",
                "--out", tmp_path / "eval", "--n-boot", 0]) == 2
    assert "support_hours" in capsys.readouterr().err
    assert not (tmp_path / "eval").exists()
    (tmp_path / "bad.toml").write_text("[[indicators]]\nname = 'x'\n", encoding="utf-8")
    assert run(["train", "--data", copy, "--cohorts", "2021", "--indicators",
                tmp_path / "bad.toml", "--out", tmp_path / "m3"]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_predict_at_a_flag_rate(run, workspace, tmp_path, capsys):
    assert run(["predict", "--model", workspace["model"], "--data", workspace["data"],
                "--as-of", "2024-10-28", "--flag-rate", 0.1, "--out", tmp_path / "p.csv"]) == 0
    p = pd.read_csv(tmp_path / "p.csv")
    assert p["flag"].sum() == round(0.1 * len(p))
    record = json.loads((tmp_path / "p.csv.run.json").read_text())
    assert record["options"]["flag_rate"] == 0.1 and record["options"]["threshold"] is None
    assert run(["predict", "--model", workspace["model"], "--data", workspace["data"],
                "--as-of", "2024-10-28", "--flag-rate", 1.5, "--out", tmp_path / "q.csv"]) == 2
    assert "--flag-rate" in capsys.readouterr().err
    assert run(["predict", "--model", workspace["model"], "--data", workspace["data"],
                "--as-of", "2024-10-28", "--flag-rate", 0.1, "--threshold", 0.3,
                "--out", tmp_path / "q.csv"]) == 2


def test_allow_missing_scores_without_a_trained_table(run, workspace, tmp_path, capsys):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(workspace["data"], copy)
    for name in ("concerns.parquet", "concerns.csv"):
        (copy / name).unlink(missing_ok=True)
    common = ["predict", "--model", workspace["model"], "--data", copy, "--as-of", "2024-10-28",
              "--threshold", 0.3]
    assert run([*common, "--out", tmp_path / "no.csv"]) == 2
    err = capsys.readouterr().err
    assert "concerns" in err and "--allow-missing" in err
    assert not (tmp_path / "no.csv").exists()
    assert run([*common, "--allow-missing", "concerns", "--out", tmp_path / "ok.csv"]) == 0
    record = json.loads((tmp_path / "ok.csv.run.json").read_text())
    assert record["options"]["allow_missing"] == ["concerns"]
    assert any("scored without the concerns table" in w for w in record["warnings"])
