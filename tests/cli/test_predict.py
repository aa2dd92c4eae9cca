"""``dropoutrisk predict`` for batch jobs: outputs, run record, atomicity, drift, kill safety."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.cli._predict import VOLATILE_KEYS, run_record_path
from dropoutrisk.scoring import PREDICTION_COLUMNS, reason_columns

from ._predict_workspace import AS_OF, shared_workspace


@pytest.fixture(scope="module")
def ws(workspace):
    ws = shared_workspace(workspace)
    if "features" not in ws:
        from dropoutrisk.features import build_features
        from dropoutrisk.models import load_model

        X = build_features(ws["tables"], AS_OF, catalogue=load_model(ws["model"]).catalogue)
        ws["features"] = X
    return ws


def predict(run, ws, out, *extra, data=True):
    source = ["--data", ws["data"]] if data else []
    return run(["predict", "--model", ws["model"], *source, "--as-of", AS_OF, "--out", out,
                *extra])


def _no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_outputs_with_reasons_and_run_record(ws, tmp_path, run):
    out = tmp_path / "scores.parquet"
    assert predict(run, ws, out, "--capacity", 4, "--by", "school_id", "--reasons", 3) == 0
    p = pd.read_parquet(out)
    assert p.columns.tolist() == [*PREDICTION_COLUMNS[:6], *reason_columns(3),
                                  *PREDICTION_COLUMNS[6:]]
    assert (p.groupby("school_id")["flag"].sum() == 4).all()
    assert p.loc[p["flag"], "reason_1_code"].notna().all()
    assert p.loc[~p["flag"], "reason_1_code"].isna().all()
    record = json.loads(run_record_path(out).read_text())
    manifest = ws["model"] / "manifest.json"
    assert record["model"]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert record["model"]["model_id"] == p["model_id"].iloc[0]
    students = ws["data"] / "students.parquet"
    assert record["inputs"][str(students)] == hashlib.sha256(students.read_bytes()).hexdigest()
    assert record["output"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    rows = record["rows"]
    assert rows["scored"] == len(p) and rows["in"] == rows["scored"] + rows["dropped_total"]
    assert rows["flagged"] == int(p["flag"].sum()) == rows["explained"]
    assert record["command"][:2] == ["dropoutrisk", "predict"] and "--capacity" in record["command"]
    assert any("EventsAfterAsOfWarning" in w for w in record["warnings"])
    assert record["drift"]["features"] and "thresholds" in record["drift"]
    # compared with the training snapshot week nearest to --as-of (week 6 of the school year)
    assert record["drift"]["reference"]["basis"] == "snapshot_week"
    assert record["drift"]["reference"]["week"] == 6 == record["drift"]["reference"]["scoring_week"]
    assert {"lightgbm", "pandas", "dropoutrisk"} <= set(record["versions"])
    text = run_record_path(out).read_text()
    assert not [s for s in p["student_id"] if s in text]  # no student-level rows
    assert _no_temp_files(tmp_path) == []


def test_rerun_gives_identical_bytes_and_record_but_timings(ws, tmp_path, run):
    outs = [tmp_path / "a" / "s.csv", tmp_path / "b" / "s.csv"]
    for out in outs:
        assert predict(run, ws, out, "--reasons", 2, "--threshold", 0.1) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    a, b = (json.loads(run_record_path(o).read_text()) for o in outs)
    for doc in (a, b):
        for key in (*VOLATILE_KEYS, "command", "output"):
            doc.pop(key)
    assert a == b


def test_csv_round_trips_probabilities(ws, tmp_path, run):
    out_csv, out_pq = tmp_path / "s.csv", tmp_path / "s.parquet"
    assert predict(run, ws, out_csv) == 0 and predict(run, ws, out_pq) == 0
    c = pd.read_csv(out_csv, dtype={"student_id": str, "school_id": str, "model_id": str},
                    float_precision="round_trip")
    pq = pd.read_parquet(out_pq)
    np.testing.assert_array_equal(c["probability"], pq["probability"])
    assert c["flag"].tolist() == pq["flag"].tolist()


def test_features_file_streams_to_the_same_predictions(ws, tmp_path, run):
    feats = tmp_path / "features.parquet"
    ws["features"].reset_index().to_parquet(feats, row_group_size=50)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert predict(run, ws, a, "--capacity", 3, "--by", "school_id") == 0
    assert predict(run, ws, b, "--features", feats, "--capacity", 3, "--by", "school_id",
                   "--chunk-size", 37, data=False) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    record = json.loads(run_record_path(b).read_text())
    assert list(record["inputs"]) == [str(feats)]


def test_fail_on_drift_exits_4_and_writes_nothing(ws, tmp_path, capsys, run):
    feats = tmp_path / "features.parquet"
    ws["features"].assign(attendance_rate_4w=0.3).reset_index().to_parquet(feats)
    out = tmp_path / "s.parquet"
    out.write_bytes(b"previous")
    code = predict(run, ws, out, "--features", feats, "--fail-on-drift", data=False)
    err = capsys.readouterr().err
    assert code == 4
    assert "Drift check failed" in err and "attendance_rate_4w" in err and "PSI" in err
    assert "Traceback" not in err
    assert out.read_bytes() == b"previous" and not run_record_path(out).exists()
    assert _no_temp_files(tmp_path) == []
    # without the option the same input is scored, with the drift in the record
    assert predict(run, ws, out, "--features", feats, data=False) == 0
    record = json.loads(run_record_path(out).read_text())
    assert record["drift"]["drifted"] is True
    assert any("attendance_rate_4w" in w for w in record["warnings"])


def test_drift_at_one_school_is_named_in_the_output_and_the_run_record(ws, tmp_path, capsys,
                                                                       run):
    X = ws["features"].copy()
    school = sorted(X["school_id"].unique())[1]
    at = X["school_id"] == school
    X.loc[at, "attendance_rate"] = X.loc[at, "attendance_rate"] * 0.5
    feats = tmp_path / "features.parquet"
    X.reset_index().to_parquet(feats)
    out = tmp_path / "s.parquet"
    assert predict(run, ws, out, "--features", feats, data=False) == 0
    printed = capsys.readouterr().out
    assert f"Drift at 1 school(s): {school}" in printed
    record = json.loads(run_record_path(out).read_text())
    schools = record["drift"]["schools"]
    assert schools["checked"] is True and schools["drifted_schools"] == [school]
    assert {f["school_id"] for f in schools["findings"]} == {school}
    assert any(w.startswith(f"drift: school '{school}'") for w in record["drift"]["warnings"])
    assert not any(sid in json.dumps(record) for sid in X.index[:50])


def test_failed_run_leaves_previous_outputs_byte_identical(ws, tmp_path, run):
    out = tmp_path / "s.parquet"
    assert predict(run, ws, out) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = tmp_path / "bad"
    bad.mkdir()
    students = pd.read_parquet(ws["data"] / "students.parquet")
    students.loc[5, "cohort"] = -3
    students.to_parquet(bad / "students.parquet")
    assert predict(run, ws, out, "--data", bad, data=False) == 2
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert _no_temp_files(tmp_path) == []


def test_help_documents_exit_codes_and_options():
    proc = subprocess.run([sys.executable, "-m", "dropoutrisk", "predict", "--help"],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    for words in ("0 success", "2 invalid input", "3 model problem", "4 drift check failed",
                  "1 anything unexpected", "--reasons-for", "--fail-on-drift", "--features",
                  ".run.json"):
        assert words in text


def test_sigkill_during_scoring_leaves_no_partial_file(ws, tmp_path):
    X = ws["features"].reset_index()
    big = pd.concat([X.assign(student_id=X["student_id"] + f"-{k}") for k in range(300)],
                    ignore_index=True)
    feats = tmp_path / "big.parquet"
    big.to_parquet(feats)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "s.parquet"
    out.write_bytes(b"last week")
    cmd = [sys.executable, "-m", "dropoutrisk", "predict", "--model", str(ws["model"]),
           "--features", str(feats), "--as-of", AS_OF, "--out", str(out),
           "--reasons", "4", "--reasons-for", "all", "--chunk-size", "5000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()  # printed once the model is verified, before scoring
        assert "scoring students" in line
        time.sleep(0.5)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        proc.stdout.close()
    assert out.read_bytes() == b"last week"
    assert sorted(p.name for p in out_dir.iterdir()) == ["s.parquet"]


def test_model_without_profile_scores_but_cannot_fail_on_drift(ws, tmp_path, capsys, run):
    from dropoutrisk.models import load_bundle, save_model

    bundle = load_bundle(ws["model"])
    bare = save_model(bundle.model, tmp_path / "bare", created_at="2025-01-01T00:00:00+00:00")
    out = tmp_path / "s.parquet"
    code = run(["predict", "--model", bare, "--data", ws["data"], "--as-of", AS_OF, "--out", out,
                "--fail-on-drift"])
    assert code == 3 and "no training profile" in " ".join(capsys.readouterr().err.split())
    assert not out.exists()
    assert run(["predict", "--model", bare, "--data", ws["data"], "--as-of", AS_OF,
                "--out", out]) == 0
    assert json.loads(run_record_path(out).read_text())["drift"]["checked"] is False


def test_debug_shows_the_traceback_and_plain_runs_do_not(ws, tmp_path, capsys, run):
    argv = ["predict", "--model", tmp_path / "none", "--data", ws["data"], "--as-of", AS_OF,
            "--out", tmp_path / "s.csv"]
    assert run(argv) == 3
    assert "Traceback" not in capsys.readouterr().err
    assert run(["--debug", *argv]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "MissingModelFileError" in err


def test_model_with_a_version_1_profile_compares_with_the_pooled_weeks(ws, tmp_path, run):
    from dropoutrisk.models import load_bundle, save_model

    bundle = load_bundle(ws["model"])
    doc = bundle.extra["profile"]
    assert doc["version"] == 3 and sorted(doc["weeks"], key=int) == ["6", "20"]
    assert doc["schools"]["profiles"] and doc["weeks"]["6"]["schools"]["profiles"]
    old = {k: v for k, v in doc.items()
           if k not in ("version", "weeks", "week_basis", "calendar_features", "schools",
                        "n_students")}
    folder = save_model(bundle.model, tmp_path / "old", extra={"profile": old},
                        catalogue=bundle.model.catalogue, created_at="2025-01-01T00:00:00+00:00")
    out = tmp_path / "s.parquet"
    assert run(["predict", "--model", folder, "--data", ws["data"], "--as-of", AS_OF,
                "--out", out]) == 0
    drift = json.loads(run_record_path(out).read_text())["drift"]
    assert drift["reference"]["basis"] == "pooled" and "week" not in drift["reference"]
    # no per-school counts in an old bundle: pooled only, and the record says why
    assert drift["schools"]["checked"] is False and drift["schools"]["schools"] == []
    assert "train the model again" in drift["schools"]["note"]


def test_pseudonymise_replaces_ids_with_keyed_hashes_and_never_stores_the_key(
        ws, tmp_path, monkeypatch, capsys, run):
    from dropoutrisk.fairness import PSEUDONYM_KEY_ENV, pseudonymise_ids

    plain, hashed = tmp_path / "plain.csv", tmp_path / "hashed.csv"
    assert predict(run, ws, plain) == 0
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    assert predict(run, ws, hashed, "--pseudonymise") == 2  # no key: refused before any work
    assert "DROPOUTRISK_PSEUDONYM_KEY" in capsys.readouterr().err
    assert not hashed.exists()

    key = "a-test-key-that-is-long-enough"
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, key)
    assert predict(run, ws, hashed, "--pseudonymise") == 0
    a = pd.read_csv(plain, dtype={"student_id": str})
    b = pd.read_csv(hashed, dtype={"student_id": str})
    assert b["student_id"].tolist() == list(pseudonymise_ids(a["student_id"], key))
    assert b.drop(columns="student_id").equals(a.drop(columns="student_id"))
    written = hashed.read_text() + run_record_path(hashed).read_text()
    assert key not in written
    assert not set(a["student_id"]) & set(written.replace(",", "\n").split())
