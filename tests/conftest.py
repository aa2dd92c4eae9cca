"""Shared test configuration."""

import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def tmp_out(tmp_path):
    """A fresh output folder."""
    out = tmp_path / "out"
    out.mkdir()
    return out


#: ``dropoutrisk synth`` arguments of the large sample: 6,000 students over four cohorts give
#: about 2.9 million attendance rows (day-level rows, plus one school's daily percentages and
#: one's weekly totals), above the DuckDB engine's AUTO_DUCKDB_ROWS.
LARGE_SAMPLE_ARGS = ("synth", "--students", "6000", "--cohorts", "2020-2023", "--seed", "5",
                     "--schools", "12")


@pytest.fixture(scope="session")
def large_sample(tmp_path_factory):
    """A synthetic data folder above the DuckDB row threshold, written once per session."""
    from dropoutrisk.cli import main

    folder = tmp_path_factory.mktemp("large_sample")
    with pytest.raises(SystemExit) as exc:
        main([*LARGE_SAMPLE_ARGS, "--out", str(folder)])
    assert exc.value.code == 0
    return folder


def _java_missing() -> str | None:
    """Why a local Spark cannot start here, or None."""
    import shutil
    from pathlib import Path

    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()):
        return None
    return ("no Java runtime (java not on PATH, no JAVA_HOME): the Spark tests need Java 17 or "
            "21; .ci/run installs Debian's openjdk-17-jre-headless")


@pytest.fixture(scope="session")
def spark():
    """The one local Spark of the test session: 2 cores, bound to 127.0.0.1, no UI.

    Skipped only where no Java runtime exists. PySpark comes with ``make test``
    (the spark extra); without it the tests skip, except on CI, where they fail.
    """
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("pyspark is not installed: pip install -e '.[spark]' (make test does)")
    import sys

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # test traffic stays on the loopback
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import this environment's packages
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dropoutrisk-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .config("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _stored_bytes(*roots):
    """Every byte a tracking store holds: its files, and the members of zip files in it."""
    import zipfile
    from pathlib import Path

    blobs = []
    for root in map(Path, roots):
        for path in ([root] if root.is_file() else sorted(root.rglob("*"))):
            if not path.is_file():
                continue
            blobs.append(path.read_bytes())
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    blobs.extend(z.read(name) for name in z.namelist())
    return b"\n".join(blobs)


@pytest.fixture(scope="session")
def leaked_ids():
    """``leaked_ids(ids, *paths) -> ids found``: the privacy scan of an MLflow store.

    It reads every file under the paths (the SQLite database, the artifact
    folders, and inside zip files) and returns the student ids found anywhere.
    """
    def scan(ids, *paths):
        everything = _stored_bytes(*paths)
        assert everything, f"nothing stored under {paths}"
        return [sid for sid in ids if str(sid).encode() in everything]

    return scan
