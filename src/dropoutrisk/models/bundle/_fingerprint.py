"""Fingerprints of training data: a sha256 over a frame's columns, dtypes and values."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import pandas as pd


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """Return a sha256 fingerprint of a data frame's content.

    The fingerprint covers the column names, their dtypes and every value, in
    row order; it does not depend on the order of the columns. A non-default
    index is treated as columns. Nothing but the digest is returned, so a
    bundle records *which* data trained it without storing any row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training frame.

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hex digits.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1.0, None], "s": ["a", "b"]})
    >>> fingerprint_frame(a) == fingerprint_frame(a[["s", "x"]])
    True
    >>> fingerprint_frame(a) == fingerprint_frame(a.iloc[::-1])
    False
    >>> fingerprint_frame(a)[:7]
    'sha256:'
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"training_data must be a pandas DataFrame or a fingerprint string, "
            f"got {type(frame).__name__}."
        )
    if (
        not isinstance(frame.index, pd.RangeIndex)
        or frame.index.start != 0
        or frame.index.step != 1
    ):
        frame = frame.reset_index()
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError("Cannot fingerprint a frame with duplicate column names.")
    h = hashlib.sha256()
    h.update(f"dropoutrisk-frame-v1|rows={len(frame)}|".encode())
    for pos in sorted(range(len(names)), key=lambda i: names[i]):
        col = frame.iloc[:, pos]
        h.update(f"|col={names[pos]}|dtype={col.dtype}|".encode())
        h.update(_column_bytes(col))
    return "sha256:" + h.hexdigest()


def _column_bytes(col: pd.Series) -> bytes:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if pd.api.types.is_bool_dtype(col.dtype) and not col.isna().any():
        return col.to_numpy(dtype=np.uint8).tobytes()
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = col.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return values.astype("<i8").tobytes()
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
        return values.astype("<f8").tobytes()
    # strings, dates as objects, mixed: one text token per cell, NA marked apart
    tokens = ["\x00NA" if _is_na(v) else _cell_text(v) for v in col.tolist()]
    return "\x1f".join(tokens).encode("utf-8", "surrogatepass")


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_text(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    return f"{type(value).__name__}:{value}"
