"""Atomic writes: a temporary file or folder beside the target, then a rename.

A reader never sees a half-written file or a folder mixing two runs, and a
failed or killed write leaves the previous file or folder untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

__all__ = [
    "atomic_path",
    "check_folder_replaceable",
    "sha256_file",
    "write_bytes",
    "write_folder",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it into place on success.

    The temporary file is removed if the body raises.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "out.txt").read_text()
    'hello'
    >>> sorted(p.name for p in d.iterdir())
    ['out.txt']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    return write_bytes(target, text.encode(encoding))


def write_folder(target: str | os.PathLike[str], files: Mapping[str, bytes | str]) -> Path:
    """Write ``files`` (relative path -> bytes, or text as UTF-8) as the folder ``target``, atomically.

    The files are written and synced in a temporary folder next to
    ``target``, which then replaces it with one rename: a reader sees the
    whole old folder or the whole new one, never a mix. If the swap fails,
    the old folder is put back. The caller decides whether ``target`` may be
    replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> _ = write_folder(d, {"a.txt": b"one", "sub/b.txt": b"two"})
    >>> _ = write_folder(d, {"c.txt": b"three"})
    >>> sorted(str(p.relative_to(d)) for p in d.rglob("*"))
    ['c.txt']
    >>> sorted(p.name for p in d.parent.iterdir())  # no temporary folder is left
    ['out']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for rel, content in files.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(dest, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.rmdir(old)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def check_folder_replaceable(
    target: str | os.PathLike[str], owned: Collection[str] | Callable[[str], bool], what: str
) -> None:
    """Refuse, before any work, to replace a folder that holds files the caller did not write.

    ``target`` may be absent, an empty folder, or a folder whose every entry
    is one of ``owned`` (the names a previous run of the same command writes),
    or, when ``owned`` is a function, an entry name for which it is true.

    Raises
    ------
    FileExistsError
        ``target`` is a file, a symbolic link, or a folder holding other files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> check_folder_replaceable(d, {"notes.txt"}, "notes")  # only known files: fine
    >>> try:
    ...     check_folder_replaceable(d, {"metrics.json"}, "an evaluation report")
    ... except FileExistsError as exc:
    ...     print(str(exc).split(" holds ")[1])
    files that are not an evaluation report (notes.txt); it is left untouched. Choose an empty or new folder.
    """
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{target} exists and is not a folder; choose another path.")
    if not target.is_dir():
        return
    mine = owned if callable(owned) else set(owned).__contains__
    foreign = sorted(p.name for p in target.iterdir() if not mine(p.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileExistsError(
            f"{target} holds files that are not {what} ({shown}); it is left untouched. "
            "Choose an empty or new folder."
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = f.write_bytes(b"abc")
    >>> sha256_file(f)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
