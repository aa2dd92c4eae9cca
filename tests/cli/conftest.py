"""What the command-line tests share: one way to run the CLI, one trained workspace.

``run`` invokes the command line in process through :func:`dropoutrisk.cli.main`
(the entry point ``python -m dropoutrisk`` calls, so exit codes are the real
ones) and returns the exit code; read the output with ``capsys``.

``workspace`` is a synthetic data folder and a bundle trained on it by
``dropoutrisk train`` itself, made once per test session. Tests read it and
never change it: a test that damages a bundle works on a copy
(``model_copy``).
"""

import shutil

import pytest

from dropoutrisk.cli import main

#: ``dropoutrisk synth`` arguments of the shared workspace.
SYNTH_ARGS = ("synth", "--students", "500", "--cohorts", "2021-2024", "--seed", "7",
              "--schools", "4", "--canonical-only")
#: ``dropoutrisk train`` arguments of the shared bundle (few trees: these are tests).
TRAIN_ARGS = ("train", "--cohorts", "2021-2022", "--calib-cohort", "2023", "--weeks", "6,20",
              "--n-estimators", "20", "--seed", "1")


def _run(argv) -> int:
    """Run ``dropoutrisk argv`` in process; return its exit code."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    code = info.value.code
    return 0 if code is None else code


@pytest.fixture(scope="session")
def run():
    """``run(argv) -> exit code``: the command line, in process."""
    return _run


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """Synthetic tables (cohorts 2021-2024) and a bundle trained on 2021-2022.

    Keys: ``root``, ``data`` (the tables), ``model`` (the bundle, calibrated on
    2023 and logged to MLflow in ``root/mlruns.db``).
    """
    root = tmp_path_factory.mktemp("cli")
    data, model = root / "data", root / "model"
    assert _run([*SYNTH_ARGS, "--out", data]) == 0
    tracking = f"sqlite:///{(root / 'mlruns.db').as_posix()}"
    assert _run([*TRAIN_ARGS, "--data", data, "--out", model, "--tracking-uri", tracking]) == 0
    return {"root": root, "data": data, "model": model}


@pytest.fixture
def model_copy(workspace, tmp_path):
    """A copy of the workspace bundle that a test may damage."""
    copy = tmp_path / "model"
    shutil.copytree(workspace["model"], copy)
    return copy
