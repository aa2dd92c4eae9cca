"""End to end: ``dropoutrisk train``, ``evaluate`` and ``predict`` on a small synthetic set.

They run on the session's shared workspace (``tests/cli/conftest.py``: one
synthetic data folder and one bundle trained by ``dropoutrisk train``); tests
that damage a bundle work on a copy (``model_copy``).
"""

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.cli._predict import PREDICTION_COLUMNS

AS_OF = "2024-10-01"

def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


# ---------------------------------------------------------------- train


def test_train_writes_a_verified_bundle_with_baselines(workspace):
    from dropoutrisk.models import load_bundle

    bundle = load_bundle(workspace["model"])
    m = bundle.manifest
    assert sorted(bundle.baselines) == ["abc_rule", "logistic"]
    assert set(m["files"]) == {
        "model.skops",
        "baselines/abc_rule.skops",
        "baselines/logistic.skops",
        "profile.json",
    }
    assert m["extra"] == {"profile": "profile.json"}
    assert set(bundle.extra["profile"]["numeric"]) <= set(m["feature_names"]) | {"attendance_rate"}
    # per snapshot week (--weeks 6,20), next to the pooled profile, for like-for-like drift checks
    assert bundle.extra["profile"]["version"] == 3
    assert sorted(map(int, bundle.extra["profile"]["weeks"])) == [6, 20]
    # and per school (binned counts, no rows), for the per-school drift check
    schools = bundle.extra["profile"]["schools"]
    assert schools["min_students"] == 10 and len(schools["profiles"]) == 4
    assert m["params"]["cohorts"] == [2021, 2022]
    assert m["params"]["calib_cohort"] == 2023 and m["params"]["weeks"] == [6, 20]
    assert m["params"]["calibration"]["strategy"] == "calibration_set"
    assert m["metrics"]["data"] == "calibration cohort 2023"
    assert set(m["metrics"]["metrics"]) == {"model", "abc_rule", "logistic"}
    assert 0.0 <= m["metrics"]["metrics"]["model"]["roc_auc"] <= 1.0
    assert m["training_data"]["fingerprint"].startswith("sha256:")
    assert m["feature_names"] == list(bundle.model.feature_names_in_)


def test_train_logged_the_run_to_mlflow(workspace):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{(workspace['root'] / 'mlruns.db').as_posix()}")
    experiment = client.get_experiment_by_name("dropoutrisk")
    (run_info,) = client.search_runs([experiment.experiment_id])
    assert run_info.data.tags["dropoutrisk.model_id"] == _manifest(workspace["model"])["model_id"]
    assert run_info.data.params["cohorts"] == "[2021, 2022]"
    assert "model.roc_auc" in run_info.data.metrics


def test_train_refuses_a_folder_that_is_not_a_model(workspace, tmp_path, capsys, run):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    code = run(["train", "--data", workspace["data"], "--cohorts", "2021", "--out", precious])
    assert code == 2
    assert "not a dropoutrisk model" in capsys.readouterr().err
    assert [p.name for p in precious.iterdir()] == ["keep.txt"]


def test_train_on_a_cohort_without_rows_exits_2(workspace, tmp_path, capsys, run):
    code = run(["train", "--data", workspace["data"], "--cohorts", "2099", "--out", tmp_path / "m"])
    assert code == 2
    assert "no labelled snapshot rows for the training cohorts [2099]" in " ".join(
        capsys.readouterr().err.split()
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("option", "value"), [("--cohorts", "20-22"), ("--weeks", "six"), ("--calib-cohort", "2021")]
)
def test_train_rejects_bad_options_with_exit_2(workspace, tmp_path, option, value, capsys,
                                              run):
    argv = {"--data": workspace["data"], "--cohorts": "2021-2022", "--out": tmp_path / "m"}
    argv[option] = value
    code = run(["train", *[x for pair in argv.items() for x in pair]])
    assert code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_invalid_data_exits_2_and_names_the_table(workspace, tmp_path, capsys, run):
    data = tmp_path / "data"
    shutil.copytree(workspace["data"], data)
    students = pd.read_parquet(data / "students.parquet")
    students.loc[3, "student_id"] = students.loc[4, "student_id"]  # a duplicate key
    students.to_parquet(data / "students.parquet", index=False)
    code = run(["train", "--data", data, "--cohorts", "2021-2022", "--out", tmp_path / "m"])
    err = capsys.readouterr().err
    assert code == 2
    assert "students" in err and "student_id" in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- evaluate


def test_evaluate_writes_metrics_plots_and_html(workspace, tmp_path, run):
    out = tmp_path / "report"
    assert (
        run(
            [
                "evaluate",
                "--model",
                workspace["model"],
                "--data",
                workspace["data"],
                "--cohorts",
                2024,
                "--out",
                out,
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration.png",
        "comparison.json",
        "metrics.json",
        "report.html",
        "roc.png",
    ]
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["model_id"] == _manifest(workspace["model"])["model_id"]
    assert doc["cohorts"] == [2024] and doc["weeks"] == [6, 20]  # weeks from the manifest
    assert doc["truth"] is True
    assert set(doc["metrics"]) == {"model", "abc_rule", "logistic", "oracle"}
    assert doc["metrics"]["model"]["roc_auc_oracle_ratio"] > 0
    for png in ("calibration.png", "roc.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    for name in ("abc_rule", "logistic", "oracle", doc["model_id"], "roc.png"):
        assert name in html
    # aggregates only: no student id in any output
    ids = pd.read_parquet(workspace["data"] / "students.parquet")["student_id"]
    text = (out / "metrics.json").read_text() + html
    assert not [s for s in ids if s in text]


def test_evaluate_refuses_a_cohort_the_model_was_trained_on(workspace, tmp_path, capsys, run):
    code = run(
        [
            "evaluate",
            "--model",
            workspace["model"],
            "--data",
            workspace["data"],
            "--cohorts",
            2022,
            "--out",
            tmp_path / "r",
        ]
    )
    assert code == 2
    assert "out-of-time" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- predict


def test_predict_scores_every_enrolled_student(workspace, tmp_path, run):
    from dropoutrisk.features import build_features
    from dropoutrisk.io import read_tables
    from dropoutrisk.models import load_bundle
    from dropoutrisk.schema import validate_tables

    out = tmp_path / "scores.csv"
    assert (
        run(
            [
                "predict",
                "--model",
                workspace["model"],
                "--data",
                workspace["data"],
                "--as-of",
                AS_OF,
                "--out",
                out,
                "--capacity",
                3,
                "--by",
                "school_id",
            ]
        )
        == 0
    )
    scores = pd.read_csv(
        out,
        dtype={"student_id": str, "school_id": str, "model_id": str},
        float_precision="round_trip",
    )
    assert tuple(scores.columns) == PREDICTION_COLUMNS
    bundle = load_bundle(workspace["model"])
    with pytest.warns(UserWarning):
        tables = validate_tables(read_tables(workspace["data"]), as_of=AS_OF)
    X = build_features(tables, AS_OF, catalogue=bundle.model.catalogue)
    assert scores["student_id"].tolist() == sorted(X.index)
    expected = pd.Series(bundle.model.predict_proba(X)[:, 1], index=X.index)
    np.testing.assert_array_equal(scores["probability"], expected.loc[scores["student_id"]])
    per_school = scores.groupby("school_id")
    assert (per_school["flag"].sum() == 3).all()  # every school has more than 3 students
    top = scores[scores["rank_in_school"] <= 3]
    assert top["flag"].all() and scores.loc[scores["flag"], "rank_in_school"].max() == 3
    for _, school in per_school:
        ranked = school.sort_values("rank_in_school")
        assert ranked["rank_in_school"].tolist() == list(range(1, len(school) + 1))
        assert ranked["probability"].is_monotonic_decreasing
    assert set(scores["tier"]) <= {"universal", "targeted", "intensive"}
    assert (scores["model_id"] == bundle.model_id).all() and (scores["as_of"] == AS_OF).all()


def test_predict_is_byte_identical_on_rerun(workspace, tmp_path, run):
    outs = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for out in outs:
        assert (
            run(
                [
                    "predict",
                    "--model",
                    workspace["model"],
                    "--data",
                    workspace["data"],
                    "--as-of",
                    AS_OF,
                    "--out",
                    out,
                    "--capacity",
                    10,
                ]
            )
            == 0
        )
    a, b = (p.read_bytes() for p in outs)
    assert a == b
    scores = pd.read_parquet(outs[0])
    assert scores["flag"].sum() == 10
    assert (
        scores.loc[scores["flag"], "probability"].min()
        >= scores.loc[~scores["flag"], "probability"].max()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temp files
        "a.parquet",
        "a.parquet.run.json",
        "b.parquet",
        "b.parquet.run.json",
    ]


def test_predict_threshold_flags_at_or_above_it(workspace, tmp_path, run):
    first = tmp_path / "first.parquet"
    assert (
        run(
            [
                "predict",
                "--model",
                workspace["model"],
                "--data",
                workspace["data"],
                "--as-of",
                AS_OF,
                "--out",
                first,
            ]
        )
        == 0
    )
    cut = float(pd.read_parquet(first)["probability"].median())
    out = tmp_path / "cut.parquet"
    assert (
        run(
            [
                "predict",
                "--model",
                workspace["model"],
                "--data",
                workspace["data"],
                "--as-of",
                AS_OF,
                "--out",
                out,
                "--threshold",
                cut,
            ]
        )
        == 0
    )
    scores = pd.read_parquet(out)
    assert (scores["flag"] == (scores["probability"] >= cut)).all()
    assert 0 < scores["flag"].sum() < len(scores)


def test_predict_with_tampered_model_exits_3_and_leaves_output_alone(
    workspace, model_copy, tmp_path, capsys, run
):
    path = model_copy / "model.skops"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "scores.csv"
    out.write_text("previous run\n")
    code = run(
        [
            "predict",
            "--model",
            model_copy,
            "--data",
            workspace["data"],
            "--as-of",
            AS_OF,
            "--out",
            out,
        ]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert "model.skops" in err and "does not match" in err
    assert "Traceback" not in err
    assert out.read_text() == "previous run\n"


def test_missing_manifest_exits_3(workspace, model_copy, tmp_path, capsys, run):
    (model_copy / "manifest.json").unlink()
    code = run(
        [
            "predict",
            "--model",
            model_copy,
            "--data",
            workspace["data"],
            "--as-of",
            AS_OF,
            "--out",
            tmp_path / "s.csv",
        ]
    )
    assert code == 3
    assert "manifest.json" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_wrong_version_in_manifest_exits_3_with_the_fix(workspace, model_copy, tmp_path, capsys,
                                                        run):
    manifest = _manifest(model_copy)
    manifest["versions"]["lightgbm"] = "3.3.5"
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    code = run(
        [
            "evaluate",
            "--model",
            model_copy,
            "--data",
            workspace["data"],
            "--cohorts",
            2024,
            "--out",
            tmp_path / "r",
        ]
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "lightgbm 3.3.5" in err and "retrain" in err and "pip install 'lightgbm==3.3.*'" in err


def test_predict_rejects_threshold_with_capacity(workspace, tmp_path, capsys, run):
    code = run(
        [
            "predict",
            "--model",
            workspace["model"],
            "--data",
            workspace["data"],
            "--as-of",
            AS_OF,
            "--out",
            tmp_path / "s.csv",
            "--threshold",
            0.2,
            "--capacity",
            5,
        ]
    )
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--capacity" in err and "got threshold and capacity" in err


def test_bundle_hashes_match_after_the_cli_wrote_it(workspace):
    manifest = _manifest(workspace["model"])
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((workspace["model"] / rel).read_bytes()).hexdigest() == digest


def test_train_prints_the_rounds_and_the_held_out_baseline_comparison(workspace, tmp_path,
                                                                       capsys, run):
    code = run(["train", "--data", workspace["data"], "--cohorts", "2021-2022",
                "--calib-cohort", "2023", "--weeks", "6,20", "--out", tmp_path / "m",
                "--n-estimators", 20, "--seed", 1])
    out = capsys.readouterr().out
    assert code == 0
    manifest = _manifest(tmp_path / "m")["model_checks"]
    assert (f"rounds: {manifest['n_estimators']} of at most 20, chosen on held-out students "
            "(5 folds grouped by student)") in out
    comparison = manifest["baseline_comparison"]
    n = comparison["held_out_students"]
    for name in ("logistic", "abc"):
        auc = comparison["differences"][name]["roc_auc"]["difference"]
        assert f"on {n} held-out training students, model - {name}: ROC-AUC {auc:+.3f}" in out
    assert ("WARNING" in out) == bool(comparison["ahead"])
