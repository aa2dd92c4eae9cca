"""Where a canonical table is in a folder: one file per table, in a format the readers take."""

from __future__ import annotations

from pathlib import Path

from dropoutrisk.errors import DataError

__all__ = ["READABLE_SUFFIXES", "table_file"]

#: File formats a table may come in; anything else where a table is expected is refused.
READABLE_SUFFIXES = (".parquet", ".csv")


def table_file(folder: Path, name: str, *, parquet_folder: bool = False) -> Path | None:
    """The one file of table ``name`` in ``folder``, or None when there is none.

    Two files of one table (``students.parquet`` and ``students.csv``) are refused,
    and so is a file in a format the readers do not support (``grades.xlsx``): a
    weekly job must never read the wrong one, or go on silently without the table.
    With ``parquet_folder``, a folder ``<name>/`` of Parquet files counts as the
    table too.

    Raises
    ------
    DataError
        Naming the table and the file, and how to fix it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "students.csv").write_text("student_id\\n")
    >>> table_file(folder, "students").name, table_file(folder, "grades")
    ('students.csv', None)
    >>> _ = (folder / "grades.xlsx").write_bytes(b"PK")
    >>> table_file(folder, "grades")
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.DataError: Table 'grades': the folder has grades.xlsx, a format the ...
    """
    files = sorted(p for p in Path(folder).glob(f"{name}.*") if p.is_file())
    other = [p for p in files if p.suffix.lower() not in READABLE_SUFFIXES]
    if other:
        raise DataError(
            table=name, problem=f"the folder has {other[0].name}, a format the reader does not "
            "support", allowed="Parquet (.parquet) or UTF-8 CSV (.csv) files"
            + (", or a folder of Parquet files" if parquet_folder else ""),
            fix=f"Save it as {name}.csv or {name}.parquet (in a spreadsheet: 'Save as' CSV), "
                "and remove the original from the folder")
    sub = Path(folder) / name
    candidates = files + ([sub] if parquet_folder and sub.is_dir() else [])
    if len(candidates) > 1:
        raise DataError(
            table=name, problem="the folder has the table twice: "
            + " and ".join(p.name for p in candidates),
            allowed=f"one file per table: {name}.parquet or {name}.csv"
            + (f", or a folder {name}/" if parquet_folder else ""),
            fix="Remove the one that is not current, so that it is clear which one is read")
    return candidates[0] if candidates else None
