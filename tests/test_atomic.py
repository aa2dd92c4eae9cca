"""_atomic.write_folder: a whole folder or nothing; check_folder_replaceable: never someone else's."""

import os

import pytest

from dropoutrisk import _atomic
from dropoutrisk._atomic import check_folder_replaceable, write_folder


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_folder_is_replaced_whole(tmp_path):
    write_folder(tmp_path / "r", {"a.json": "1", "comparison.json": "old", "sub/x.png": b"\x89"})
    write_folder(tmp_path / "r", {"a.json": "2"})
    assert _tree(tmp_path / "r") == {"a.json": b"2"}
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_a_failure_midway_leaves_the_previous_folder_and_no_partial_one(tmp_path, monkeypatch):
    write_folder(tmp_path / "r", {"a.json": "previous", "b.html": "previous"})
    before = _tree(tmp_path / "r")
    calls = []
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file of three: the first is already on disk
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(_atomic.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        write_folder(tmp_path / "r", {"a.json": "new", "b.html": "new", "c.png": b"new"})
    assert len(calls) == 2
    assert _tree(tmp_path / "r") == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary folder left


def test_a_failed_swap_puts_the_previous_folder_back(tmp_path, monkeypatch):
    write_folder(tmp_path / "r", {"a.json": "previous"})
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(src).endswith(".tmp"):  # the new folder into place
            raise OSError("rename failed")
        real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_folder(tmp_path / "r", {"a.json": "new"})
    assert _tree(tmp_path / "r") == {"a.json": b"previous"}
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_only_a_folder_of_known_files_may_be_replaced(tmp_path):
    check_folder_replaceable(tmp_path / "absent", {"a.json"}, "a report")
    (tmp_path / "a.json").write_text("{}")
    check_folder_replaceable(tmp_path, {"a.json"}, "a report")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not a report \(notes.txt\)"):
        check_folder_replaceable(tmp_path, {"a.json"}, "a report")
    with pytest.raises(FileExistsError, match="not a folder"):
        check_folder_replaceable(tmp_path / "notes.txt", {"a.json"}, "a report")
