"""Atomic writes: a file or a whole folder is replaced at once or not at all."""

import os

import pytest

from dropoutrisk import _atomic
from dropoutrisk._atomic import check_folder_replaceable, write_folder, write_text


class Exploding(dict):
    """A file mapping that fails after the first file is written."""

    def items(self):
        yield "first.txt", b"new"
        raise OSError("disk full")


def test_a_failed_folder_write_leaves_the_old_folder_and_no_temporary_one(tmp_path):
    target = tmp_path / "out"
    write_folder(target, {"old.txt": b"old"})
    with pytest.raises(OSError, match="disk full"):
        write_folder(target, Exploding())
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "out"
    write_folder(target, {"old.txt": b"old"})
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(".tmp"):
            raise OSError("rename refused")
        return real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    with pytest.raises(OSError, match="rename refused"):
        write_folder(target, {"new.txt": b"new"})
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_new_folder_holds_exactly_the_files_given(tmp_path):
    target = write_folder(tmp_path / "a" / "b", {"x.json": b"{}", "sub/y.txt": b"y"})
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "sub/y.txt", "x.json"]
    assert (target / "sub" / "y.txt").read_bytes() == b"y"


def test_write_text_replaces_a_file(tmp_path):
    write_text(tmp_path / "f.txt", "one")
    write_text(tmp_path / "f.txt", "två")
    assert (tmp_path / "f.txt").read_text("utf-8") == "två"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_text_is_written_as_utf8_and_a_stale_file_is_gone(tmp_path):
    write_folder(tmp_path / "r", {"a.json": "1", "comparison.json": "old"})
    write_folder(tmp_path / "r", {"a.json": "två"})
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["a.json"]
    assert (tmp_path / "r" / "a.json").read_text("utf-8") == "två"


def test_only_a_folder_of_known_files_may_be_replaced(tmp_path):
    check_folder_replaceable(tmp_path / "absent", {"a.json"}, "a report")
    (tmp_path / "a.json").write_text("{}")
    check_folder_replaceable(tmp_path, {"a.json"}, "a report")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not a report \(notes.txt\)"):
        check_folder_replaceable(tmp_path, {"a.json"}, "a report")
    with pytest.raises(FileExistsError, match="not a folder"):
        check_folder_replaceable(tmp_path / "notes.txt", {"a.json"}, "a report")
