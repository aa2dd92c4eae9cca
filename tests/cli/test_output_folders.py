"""``evaluate``, ``audit`` and ``explain`` (several students) write their folder whole.

A crash midway leaves the previous folder as it was, and no partial one beside it.
"""

import pandas as pd
import pytest

EVALUATE = ("evaluate", "--cohorts", "2024", "--n-boot", "0")
AUDIT = ("audit", "--cohorts", "2024", "--groups", "gender", "--n-boot", "0")
EXPLAIN = ("explain", "--as-of", "2024-10-28", "--format", "json")


@pytest.fixture(scope="module")
def enrolled(workspace):
    """Three students of cohort 2024, as repeated --student options."""
    students = pd.read_parquet(workspace["data"] / "students.parquet")
    ids = students.loc[students["cohort"] == 2024, "student_id"].astype(str).iloc[:3]
    return tuple(a for sid in ids for a in ("--student", sid))


def _tree(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _argv(command, workspace, out):
    return [*command, "--model", workspace["model"], "--data", workspace["data"], "--out", out]


def _crash_in_report(monkeypatch):
    """Fail while evaluate renders its page, after the plots and metrics are made."""
    def boom(*args, **kwargs):
        raise RuntimeError("crash while the report is being made")

    monkeypatch.setattr("dropoutrisk.report._evaluation_files._comparison_section", boom)


def _crash_in_model_card(monkeypatch):
    """Fail while audit renders the model card, after audit.json and audit.html are made."""
    def boom(*args, **kwargs):
        raise RuntimeError("crash while the report is being made")

    monkeypatch.setattr("dropoutrisk.report._model_card.model_card", boom)


def _crash_in_third_file(monkeypatch):
    """Fail while the third file goes to disk (the disk is full), two already written."""
    import os

    from dropoutrisk import _atomic

    real, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise RuntimeError("crash while the report is being made: disk full")
        real(fd)

    monkeypatch.setattr(_atomic.os, "fsync", fsync)


@pytest.mark.parametrize(
    ("command", "crash"),
    [(EVALUATE, _crash_in_report), (EVALUATE, _crash_in_third_file),
     (AUDIT, _crash_in_model_card), (AUDIT, _crash_in_third_file),
     (EXPLAIN, _crash_in_third_file)],
    ids=["evaluate-render", "evaluate-disk-full", "audit-render", "audit-disk-full",
         "explain-disk-full"],
)
def test_a_crash_midway_leaves_the_previous_folder_and_no_partial_one(
        command, crash, workspace, enrolled, run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    if command is EXPLAIN:
        command = (*command, *enrolled)
    assert run(_argv(command, workspace, out)) == 0
    before = _tree(out)
    assert len(before) >= 3
    crash(monkeypatch)
    # another operating point: every file of this run differs from the previous one's
    assert run([*_argv(command, workspace, out), "--flag-rate", "0.2"]) == 1  # not bad input
    assert "crash while the report" in capsys.readouterr().err
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder beside it


@pytest.mark.parametrize("command", [EVALUATE, AUDIT, EXPLAIN],
                         ids=["evaluate", "audit", "explain"])
def test_a_folder_with_other_files_is_refused_untouched(command, workspace, enrolled, run,
                                                        tmp_path, capsys):
    if command is EXPLAIN:
        command = (*command, *enrolled)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not a report")
    assert run(_argv(command, workspace, out)) == 2
    err = "".join(capsys.readouterr().err.split())
    assert "--out" in err and "notes.txt" in err
    assert _tree(out) == {"notes.txt": b"not a report"}
