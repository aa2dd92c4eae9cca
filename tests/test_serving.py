"""MLflow serving: ``mlflow models serve`` answers /invocations with probability, flag, tier, reasons.

The server is started on a free port of 127.0.0.1 in its own process group and
stopped (group first, then the pid) in ``finally``, whatever happened.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mlflow")

STARTUP_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    from dropoutrisk.models import RiskModel, save_model
    from dropoutrisk.tracking import log_training_run

    root = tmp_path_factory.mktemp("serving")
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame(
        {"attendance_rate_4w": rng.uniform(0.5, 1, n), "failed_courses": rng.poisson(0.5, n) * 1.0},
        index=pd.Index([f"S{i:04d}" for i in range(n)], name="student_id"),
    )
    y = (rng.random(n) < 1.1 - X["attendance_rate_4w"]).astype(int)
    model = RiskModel(n_estimators=10, random_state=0, n_jobs=1).fit(X, y)
    bundle = save_model(model, root / "bundle")
    uri = f"sqlite:///{(root / 'mlruns.db').as_posix()}"
    run_id = log_training_run(model, bundle=bundle, tracking_uri=uri,
                              artifact_location=root / "artifacts")
    return {"root": root, "uri": uri, "run_id": run_id, "model": model, "X": X}


def test_served_model_answers_with_probability_flag_tier_and_reasons(logged):
    from dropoutrisk.tracking import PYFUNC_OUTPUT_COLUMNS

    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "MLFLOW_TRACKING_URI": logged["uri"], "MLFLOW_DISABLE_TELEMETRY": "true"}
    cmd = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m",
           f"runs:/{logged['run_id']}/pyfunc", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port), "--workers", "1"]
    log = open(logged["root"] / "server.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=logged["root"])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert proc.poll() is None, (logged["root"] / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(base + "/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "the server did not answer /ping in time"
            time.sleep(0.5)

        batch = logged["X"].head(30).reset_index(drop=True)
        body = json.dumps({"dataframe_split": json.loads(batch.to_json(orient="split"))})
        request = urllib.request.Request(base + "/invocations", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.loads(r.read())
    finally:
        _stop(proc)
        log.close()

    out = pd.DataFrame(answer["predictions"])
    assert list(out.columns) == list(PYFUNC_OUTPUT_COLUMNS)
    model = logged["model"]
    np.testing.assert_allclose(out["probability"], model.predict_proba(batch)[:, 1], rtol=1e-12)
    assert out["flag"].tolist() == model.flag(batch).tolist()
    assert out["tier"].tolist() == model.tier(batch).astype(str).tolist()
    explained = out["reason_1_code"].notna()
    assert explained.any() and not explained[~out["flag"]].any()
    assert out.loc[explained, "reason_1_sv"].str.len().gt(10).all()
    assert proc.poll() is not None  # stopped
