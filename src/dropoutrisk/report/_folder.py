"""FolderReport: the base of results that are written as one folder (evaluation, audit, reports)."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, ClassVar

from dropoutrisk._result import Part, Result

__all__ = ["FolderReport"]


class FolderReport(Result):
    """A result whose files make one folder: :meth:`files` makes them, :meth:`write` swaps them in.

    Subclasses set ``owned`` (the names the folder may hold, or a test of a
    name) and ``what`` (for the message when a folder holds other files), store
    ``header`` and implement :meth:`files`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> class Notes(FolderReport):
    ...     __slots__ = ()
    ...     owned, what = ("notes.txt",), "notes"
    ...     def __init__(self):
    ...         self._set(header={"n": 1})
    ...     def files(self):
    ...         return {"notes.txt": "one"}
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "notes"
    >>> Notes().write(folder).joinpath("notes.txt").read_text(), Notes().header
    ('one', {'n': 1})
    """

    __slots__ = ("_header",)
    owned: ClassVar[Collection[str] | Callable[[str], bool]] = ()
    what: ClassVar[str] = "a report"
    header = Part("What the report is about: model id, data, snapshots, row counts (a copy).")

    def files(self, **options: Any) -> dict[str, Any]:  # pragma: no cover - subclasses define it
        """The folder: file name -> bytes, or text (written as UTF-8)."""
        raise NotImplementedError

    def write(self, folder: str | os.PathLike[str], **options: Any) -> Path:
        """Write :meth:`files` as ``folder``, whole: a failure leaves the previous folder as it was.

        Raises
        ------
        FileExistsError
            ``folder`` holds files this kind of report does not write (checked
            before anything is made).
        """
        from dropoutrisk._atomic import check_folder_replaceable, write_folder

        check_folder_replaceable(folder, self.owned, self.what)
        return write_folder(folder, self.files(**options))
