"""``train`` and ``predict`` above the DuckDB row threshold: one model id, one predictions file.

The data (``large_sample``, about 2.9M attendance rows) make ``engine="auto"``
build features with DuckDB, as a municipality's weekly job does. Most runs are
in process; one of each goes through a fresh interpreter with another hash
seed, one LightGBM thread and another ``SOURCE_DATE_EPOCH``, as two separate
batch jobs would.
"""

import hashlib
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from dropoutrisk.features import AUTO_DUCKDB_ROWS

TRAIN = ["train", "--cohorts", "2020-2021", "--weeks", "6,20", "--seed", "0",
         "--n-estimators", "100"]
AS_OF = "2023-10-02"


def _run_elsewhere(argv, *, hash_seed, source_date_epoch=None):
    """The same command in a fresh interpreter: another hash seed, one LightGBM thread."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "OMP_NUM_THREADS": "1"}
    env.pop("SOURCE_DATE_EPOCH", None)
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    proc = subprocess.run([sys.executable, "-m", "dropoutrisk", *map(str, argv)], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def data(large_sample):
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in large_sample.glob("attendance*"))
    assert rows >= AUTO_DUCKDB_ROWS  # engine="auto" builds these features with DuckDB
    return large_sample


@pytest.fixture(scope="module")
def model(data, tmp_path_factory, run):
    folder = tmp_path_factory.mktemp("determinism") / "model"
    assert run([*TRAIN, "--data", data, "--out", folder]) == 0
    return folder


@pytest.mark.slow
def test_two_trainings_give_one_model_id(data, model, tmp_path):
    other = tmp_path / "model"
    _run_elsewhere([*TRAIN, "--data", data, "--out", other], hash_seed=1, source_date_epoch=0)
    first, second = _manifest(model), _manifest(other)
    assert second["created_at"] == "1970-01-01T00:00:00+00:00" != first["created_at"]
    assert second["model_id"] == first["model_id"]
    for doc in (first, second):
        doc.pop("created_at")
    assert second == first  # every file hash, the training-data fingerprint, the metrics


@pytest.mark.slow
def test_six_predict_runs_give_one_sha256(data, model, tmp_path, run):
    args = ["predict", "--model", model, "--data", data, "--as-of", AS_OF,
            "--reasons", 4, "--reasons-for", "all"]
    outs = [tmp_path / f"run{i}" / "scores.parquet" for i in range(6)]
    for out in outs[:4]:
        assert run([*args, "--out", out]) == 0
    for seed, out in enumerate(outs[4:], start=2):
        _run_elsewhere([*args, "--out", out], hash_seed=seed)
    digests = {hashlib.sha256(out.read_bytes()).hexdigest() for out in outs}
    assert len(digests) == 1, f"{len(digests)} different prediction files from 6 runs"
    scores = pq.read_table(outs[0]).to_pandas()
    assert len(scores) > 2000 and scores["reason_4_code"].notna().any()
