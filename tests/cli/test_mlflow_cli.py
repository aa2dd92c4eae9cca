"""--mlflow from the command line: what the runs hold, plain output off a terminal, no student id.

The commands run in a subprocess with stdout and stderr piped, as in a batch
job or CI, where colour codes and progress bars end up as garbage in the log.
"""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

pytest.importorskip("mlflow")

#: A terminal control sequence, or a carriage return (how progress bars redraw).
CONTROL = re.compile(r"\x1b\[|\r")


def _dropoutrisk(*argv, cwd):
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
    return subprocess.run([sys.executable, "-m", "dropoutrisk", *map(str, argv)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)


def _runs(store):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{store.as_posix()}")
    experiment = client.get_experiment_by_name("dropoutrisk")
    return client, client.search_runs([experiment.experiment_id], order_by=["start_time ASC"])


@pytest.fixture(scope="module")
def out_of_fold_run(workspace, tmp_path_factory):
    """``train --mlflow`` without a calibration cohort, in a fresh working folder."""
    cwd = tmp_path_factory.mktemp("mlflow_train")
    proc = _dropoutrisk("train", "--data", workspace["data"], "--cohorts", "2021-2022",
                        "--weeks", "6,20", "--n-estimators", "20", "--out", cwd / "model",
                        "--mlflow", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd, proc


def test_train_without_a_calibration_cohort_logs_out_of_fold_metrics_and_plots(
        out_of_fold_run):
    cwd, proc = out_of_fold_run
    client, (run,) = _runs(cwd / "mlruns.db")
    assert run.data.tags["dropoutrisk.metrics_on"] == "training rows, out of fold"
    assert 0.5 < run.data.metrics["model.roc_auc"] < 1
    assert run.data.metrics["model.n"] > 100
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/calibration.png", "plots/roc.png"}
    assert "metrics and plots on training rows, out of fold" in proc.stdout


def test_no_colour_codes_or_progress_bars_when_the_output_is_not_a_terminal(out_of_fold_run):
    _, proc = out_of_fold_run
    assert not CONTROL.search(proc.stdout), proc.stdout
    assert not CONTROL.search(proc.stderr), proc.stderr
    # the MLflow warnings about what a run leaves out on purpose are not shown
    assert "input example" not in proc.stderr and "type hints" not in proc.stderr


def test_no_student_id_is_in_the_training_run(out_of_fold_run, workspace, leaked_ids):
    cwd, _ = out_of_fold_run
    ids = pd.read_parquet(workspace["data"] / "students.parquet")["student_id"]
    assert leaked_ids(ids, cwd / "mlruns.db", cwd / "mlartifacts") == []


@pytest.fixture(scope="module")
def evaluation_run(workspace, out_of_fold_run):
    """``evaluate --against --mlflow``: the calibrated workspace model against the OOF one."""
    cwd, _ = out_of_fold_run
    proc = _dropoutrisk("evaluate", "--model", workspace["model"], "--against", cwd / "model",
                        "--data", workspace["data"], "--cohorts", "2024", "--n-boot", "100",
                        "--out", cwd / "evaluation", "--mlflow", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd, proc


def test_evaluate_logs_metrics_differences_changed_flags_and_reason_stability(evaluation_run):
    cwd, proc = evaluation_run
    client, runs = _runs(cwd / "mlruns.db")
    run = runs[-1]
    assert run.data.tags["dropoutrisk.run"] == "evaluation"
    assert run.data.params["reference"] == "previous"
    metrics = run.data.metrics
    assert 0 < metrics["model.roc_auc"] < 1 and "previous.roc_auc" in metrics
    low, mid, high = (metrics[f"vs_previous.model.roc_auc{s}"] for s in ("_ci_low", "", "_ci_high"))
    assert low <= mid <= high
    assert metrics["flag_changes.model.n_rows"] > 0
    assert 0 <= metrics["reason_stability.model.same_set"] <= 1
    report = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/comparison.json", "report/flag_changes.json", "report/reason_stability.json",
            "report/report.html", "report/roc.png"} <= report
    assert f"MLflow run {run.info.run_id}" in proc.stdout
    assert "reason stability" in proc.stdout
    assert not CONTROL.search(proc.stdout) and not CONTROL.search(proc.stderr)


def test_no_student_id_is_in_any_run_or_artifact(evaluation_run, workspace, leaked_ids):
    cwd, _ = evaluation_run
    ids = pd.read_parquet(workspace["data"] / "students.parquet")["student_id"]
    assert leaked_ids(ids, cwd / "mlruns.db", cwd / "mlartifacts") == []
    # the report holds by-school counts, and nothing per student
    assert leaked_ids(["SCH01"], cwd / "mlartifacts") == ["SCH01"]
