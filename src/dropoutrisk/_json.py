"""Plain JSON values from what results hold: the one sanitiser of the package.

Every ``to_dict``, manifest and run record goes through :func:`to_jsonable`,
so numpy scalars, NaN, dates and frames come out the same way everywhere.
This module imports no other dropoutrisk module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["dumps", "to_jsonable"]


def _float(value: float, digits: int | None, infinity: Literal["null", "text"]) -> Any:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return None if infinity == "null" else ("inf" if value > 0 else "-inf")
    return value if digits is None else round(value, digits)


def to_jsonable(
    obj: Any, *, digits: int | None = None, infinity: Literal["null", "text"] = "null"
) -> Any:
    """Convert ``obj`` to plain JSON types, recursively.

    NaN and missing values become ``None``; numpy scalars and arrays, pandas
    frames (a list of records), series and indexes, dataclasses, enums, sets
    (sorted), paths and pydantic models become their plain equivalents. A
    midnight, time-zone-naive :class:`pandas.Timestamp` is written as a date
    (``2024-10-01``); other dates and times in ISO format. Anything else
    becomes its ``repr``.

    Parameters
    ----------
    obj : object
    digits : int, optional
        Round floats to this many decimals (default: as they are).
    infinity : {"null", "text"}, default="null"
        Infinities as ``None``, or as the strings ``"inf"`` and ``"-inf"``
        (a disparity ratio with a zero reference rate is infinite, not unknown).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> to_jsonable({"n": np.int64(3), "auc": np.float64("nan"), 1: pd.Timestamp("2024-10-01")})
    {'n': 3, 'auc': None, '1': '2024-10-01'}
    >>> to_jsonable([1 / 3, float("inf")], digits=3, infinity="text")
    [0.333, 'inf']
    """

    def convert(value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, bool | str | int):
            return value
        if isinstance(value, float):
            return _float(value, digits, infinity)
        if isinstance(value, enum.Enum):
            return convert(value.value)
        if value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            if value.tzinfo is None and value == value.normalize():
                return value.date().isoformat()
            return value.isoformat()
        if isinstance(value, dt.date | dt.datetime | dt.time):
            return value.isoformat()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, pd.DataFrame):
            return [convert(r) for r in value.to_dict(orient="records")]
        if isinstance(value, pd.Series | pd.Index | np.ndarray):
            return convert(value.tolist())
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return convert(dataclasses.asdict(value))
        if isinstance(value, set | frozenset):
            return sorted((convert(v) for v in value), key=repr)
        if isinstance(value, Sequence):
            return [convert(v) for v in value]
        if callable(getattr(value, "model_dump", None)):  # pydantic models (the catalogue)
            return convert(value.model_dump(mode="json"))
        if callable(getattr(value, "to_dict", None)):
            return convert(value.to_dict())
        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
        return repr(value)

    return convert(obj)


def dumps(obj: Any, *, indent: int | None = 2, sort_keys: bool = False, **kwargs: Any) -> str:
    """``obj`` as JSON text, through :func:`to_jsonable`; non-ASCII kept, NaN refused.

    Keyword arguments other than ``digits`` and ``infinity`` go to :func:`json.dumps`.

    Examples
    --------
    >>> dumps({"b": 1.5, "a": "å"}, indent=None, sort_keys=True)
    '{"a": "å", "b": 1.5}'
    """
    options = {k: kwargs.pop(k) for k in ("digits", "infinity") if k in kwargs}
    kwargs.setdefault("ensure_ascii", False)
    kwargs.setdefault("allow_nan", False)
    return json.dumps(to_jsonable(obj, **options), indent=indent, sort_keys=sort_keys, **kwargs)
