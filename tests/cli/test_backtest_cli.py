"""``dropoutrisk backtest``: the folder, the printed tables, MLflow, and bad options."""

import json

import pandas as pd
import pytest


def _backtest(run, workspace, out, *extra):
    return run(["backtest", "--data", workspace["data"], "--cohorts", "2021-2024",
                "--weeks", "6,20", "--min-train-cohorts", "1", "--n-boot", "50",
                "--out", out, *extra])


@pytest.fixture(scope="module")
def report(workspace, tmp_path_factory, run):
    root = tmp_path_factory.mktemp("backtest")
    tracking = f"sqlite:///{(root / 'mlruns.db').as_posix()}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code = _backtest(run, workspace, root / "bt", "--tracking-uri", tracking)
    assert code == 0
    return root


def test_the_folder_holds_the_result_and_a_plot_per_metric(report):
    assert sorted(p.name for p in (report / "bt").iterdir()) == [
        "backtest.json", "recall_at_10pct_by_age.png", "roc_auc_by_age.png"]
    doc = json.loads((report / "bt" / "backtest.json").read_text())
    assert doc["settings"]["origins"] == [2021, 2022, 2023]
    auc = [r for r in doc["scores"] if r["metric"] == "roc_auc"]
    assert sorted((r["origin"], r["test_cohort"], r["age"]) for r in auc) == [
        (2021, 2022, 1), (2021, 2023, 2), (2021, 2024, 3), (2022, 2023, 1), (2022, 2024, 2),
        (2023, 2024, 1)]
    assert {r["age"] for r in doc["decay"]} == {2, 3}


def test_the_tables_are_printed(workspace, tmp_path, capsys, run):
    assert _backtest(run, workspace, tmp_path / "bt") == 0
    stdout = capsys.readouterr().out
    assert "origin 2023: trained on cohorts [2021, 2022, 2023]" in stdout
    assert "roc_auc by origin (rows) and test cohort (columns):" in stdout
    assert "roc_auc by model age" in stdout and "mean_difference" in stdout
    assert "(test cohort, model) pairs." in stdout


def test_the_run_is_logged_without_any_student_id(report, workspace, leaked_ids):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{(report / 'mlruns.db').as_posix()}")
    (run,) = client.search_runs([client.get_experiment_by_name("dropoutrisk").experiment_id])
    assert run.data.tags["dropoutrisk.run"] == "backtest"
    assert "roc_auc.age_1.mean" in run.data.metrics
    assert "roc_auc.age_2.mean_difference" in run.data.metrics
    ids = pd.read_parquet(workspace["data"] / "students.parquet")["student_id"]
    assert leaked_ids(ids, report / "mlruns.db", report / "mlartifacts", report / "bt") == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--cohorts", "2021"], "at least two cohorts"),
    (["--cohorts", "2021-2022", "--min-train-cohorts", "2"], "no origin"),
    (["--cohorts", "21-22"], "--cohorts"),
])
def test_bad_options_exit_2_naming_them(workspace, tmp_path, capsys, run, argv, message):
    code = run(["backtest", "--data", workspace["data"], "--out", tmp_path / "bt", *argv])
    assert code == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "bt").exists()


def test_a_folder_that_is_not_a_backtest_is_left_alone(workspace, tmp_path, capsys, run):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("x")
    assert _backtest(run, workspace, keep) == 2
    assert [p.name for p in keep.iterdir()] == ["mine.txt"]
