"""Reading and writing folders of canonical tables (an edge module).

A data folder holds one file per table, ``<table>.parquet`` or
``<table>.csv``. Attendance may also come in other layouts as
``attendance_<anything>.parquet`` / ``.csv`` next to (or instead of)
``attendance``; they are harmonised (:func:`dropoutrisk.schema.harmonise_attendance`).

CSV files are read the way Swedish school systems and spreadsheets write
them: ``;`` or ``,`` (or tab) separated, decimal commas with ``;``, UTF-8
with or without a byte-order mark, or Windows-1252/Latin-1 (decoded with a
warning so that å, ä and ö survive). Id and code columns are read as text so
that leading zeros are kept.

Library code never imports this module: it takes frames. Files live here and
in the command line.
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from dropoutrisk.errors import (
    DataError,
    MissingTableError,
    ParameterError,
    TextEncodingWarning,
    UnknownTableError,
)
from dropoutrisk.schema import TABLES, harmonise_attendance, table_file, table_spec

__all__ = ["read_tables", "write_tables"]

_DATE_COLUMNS = ("date", "week_start")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


def _text_columns() -> set[str]:
    names = {"lesson"}
    for table in TABLES:
        for column in table_spec(table).columns:
            if column.kind in ("string", "category"):
                names.add(column.name)
    return names


def read_tables(
    folder: str | os.PathLike[str],
    tables: Iterable[str] | None = None,
    *,
    combine_attendance: bool = True,
) -> dict[str, pd.DataFrame]:
    """Read the canonical tables of a folder.

    Parameters
    ----------
    folder : path
        The data folder.
    tables : iterable of str, optional
        The tables to read; each must exist. By default every canonical
        table found is read, and ``students`` must be among them.
    combine_attendance : bool, default True
        Stack ``attendance`` and every harmonised ``attendance_*`` file into
        one ``attendance`` table (row numbers then count in that order). With
        ``False`` each file keeps its own name, so that
        :func:`~dropoutrisk.schema.validate_tables` names the file in its
        messages and stacks them itself.

    Returns
    -------
    dict of str to DataFrame
        Tables in canonical order. Values are read, not validated: pass them
        to :func:`~dropoutrisk.schema.validate_tables`.

    Raises
    ------
    MissingTableError
        The folder, the ``students`` table or a requested table is missing.
    DataError
        A file cannot be read; the message names the file.

    Warns
    -----
    TextEncodingWarning
        A CSV file is not UTF-8 and was decoded as Windows-1252/Latin-1.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "students.csv").write_text(
    ...     "student_id;cohort;school_id;merit_value\\n007;2024;Åsa skola;212,5\\n", encoding="utf-8")
    >>> read_tables(folder)["students"].to_dict("records")
    [{'student_id': '007', 'cohort': 2024, 'school_id': 'Åsa skola', 'merit_value': 212.5}]
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingTableError(
            table="students",
            problem=f"the data folder {str(root)!r} does not exist or is not a folder",
            allowed="a folder with students.parquet or students.csv and the event tables",
            fix="Check the path given with --data",
        )
    wanted = list(TABLES) if tables is None else list(tables)
    for name in wanted:
        if name not in TABLES:
            raise UnknownTableError(table=str(name), allowed="the canonical tables " + ", ".join(TABLES),
                                    fix="Ask for canonical tables only")
    required = {"students"} if tables is None else set(wanted)
    found: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        if name not in wanted:
            continue
        path = table_file(root, name)
        if name == "attendance":
            parts = _read_attendance(root, path)
            if parts:
                if combine_attendance:
                    found[name] = pd.concat(list(parts.values()), ignore_index=True) \
                        if len(parts) > 1 else next(iter(parts.values()))
                else:
                    found.update(parts)
                continue
        elif path is not None:
            found[name] = _read_file(path, name)
            continue
        if name in required:
            raise MissingTableError(
                table=name,
                problem=f"no {name}.parquet or {name}.csv in {str(root)!r}",
                allowed=f"a file named {name}.parquet or {name}.csv",
                fix="Export the table to the folder, or point --data at the right folder",
            )
    return found


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    folder: str | os.PathLike[str],
    format: Literal["parquet", "csv"] = "parquet",
) -> dict[str, Path]:
    """Write each table to ``<folder>/<name>.<format>`` atomically.

    The same frames give the same bytes, so files can be fingerprinted.
    CSV is UTF-8 with ``,`` separators, ``.`` decimals and ISO dates.
    The index is not written.

    Parameters
    ----------
    tables : mapping of str to DataFrame
    folder : path
        Created if missing.
    format : {"parquet", "csv"}, default "parquet"

    Returns
    -------
    dict of str to Path
        The file written for each table.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_tables({"students": pd.DataFrame({"student_id": ["s1"], "cohort": [2024],
    ...                                                 "school_id": ["A"]})}, folder)
    >>> paths["students"].name
    'students.parquet'
    >>> read_tables(folder)["students"]["student_id"].tolist()
    ['s1']
    """
    from dropoutrisk._atomic import write_bytes

    if format not in ("parquet", "csv"):
        raise ParameterError(parameter="format", message=
            f"format must be 'parquet' or 'csv', got {format!r}.")
    root = Path(folder)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise UnknownTableError(
                table=str(name),
                problem="the name cannot be used as a file name",
                allowed="letters, digits, '_' and '-'",
                fix="Rename the table",
            )
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"Table {name!r} is a {type(frame).__name__}, not a pandas DataFrame.")
        data = _parquet_bytes(frame) if format == "parquet" else _csv_bytes(frame)
        written[name] = write_bytes(root / f"{name}.{format}", data)
    return written


# --------------------------------------------------------------------------- reading


def _read_attendance(root: Path, path: Path | None) -> dict[str, pd.DataFrame]:
    parts: dict[str, pd.DataFrame] = {}
    if path is not None:
        frame = _read_file(path, "attendance")
        parts["attendance"] = frame if "absent_minutes" in frame.columns else \
            harmonise_attendance(frame, table="attendance")
    variants = sorted({p.stem for p in root.glob("attendance_*.parquet")}
                      | {p.stem for p in root.glob("attendance_*.csv")})
    for stem in variants:
        variant = table_file(root, stem)
        if variant is None or not _NAME.match(stem):
            continue
        parts[stem] = harmonise_attendance(_read_file(variant, stem), table=stem)
    return parts


def _read_file(path: Path, table: str) -> pd.DataFrame:
    try:
        frame = _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)
    except DataError:
        raise
    except Exception as exc:  # any reader failure is a bad file to the user
        raise DataError(
            table=table,
            problem=f"the file {str(path)!r} cannot be read ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:200]})",
            allowed="a Parquet file or a CSV file with a header row",
            fix="Export the table again, or check that the file is not damaged or still being written",
        ) from exc
    return _parse_dates(frame)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    # date32 would come back as Python date objects (always in pandas 3)
    for i, field in enumerate(table.schema):
        if pa.types.is_date(field.type):
            try:
                column = table.column(i).cast(pa.timestamp("ns"))
            except pa.ArrowInvalid:
                # e.g. a 0001-01-01 placeholder: validation reports the rows
                continue
            table = table.set_column(i, pa.field(field.name, column.type), column)
    return table.to_pandas()


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text, encoding = raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "Latin-1 (ISO-8859-1)"
    warnings.warn(
        TextEncodingWarning(
            f"{path.name} is not UTF-8; it was read as {encoding}. Check that å, ä and ö look "
            "right, and export UTF-8 to silence this warning."
        ),
        stacklevel=5,
    )
    return text


def _separator(text: str) -> str:
    header = next(iter(text.splitlines()), "")
    counts = {sep: _count_outside_quotes(header, sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, sep: str) -> int:
    row = next(csv.reader([line], delimiter=sep), [])
    return max(len(row) - 1, 0)


def _read_csv(path: Path) -> pd.DataFrame:
    text = _decode(path.read_bytes(), path)
    if not text.strip():
        raise DataError(
            table=path.stem,
            problem=f"the file {str(path)!r} is empty",
            allowed="a CSV file with a header row",
            fix="Export the table again",
        )
    sep = _separator(text)
    header = next(csv.reader([text.splitlines()[0]], delimiter=sep))
    text_columns = _text_columns()
    dtype = {c: str for c in header if c.strip() in text_columns}
    return pd.read_csv(
        _io.StringIO(text),
        sep=sep,
        # a ';' file comes from a Swedish spreadsheet: decimals use ','
        decimal="," if sep == ";" else ".",
        dtype=dtype,  # ids keep their leading zeros
        skipinitialspace=True,
    )


def _parse_dates(frame: pd.DataFrame) -> pd.DataFrame:
    for column in _DATE_COLUMNS:
        if column not in frame.columns or pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        try:
            parsed = pd.to_datetime(frame[column], format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            # leave them as text: validation names the rows that do not parse
            continue
        frame[column] = parsed
    return frame


# --------------------------------------------------------------------------- writing


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    text = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return text.encode("utf-8")
