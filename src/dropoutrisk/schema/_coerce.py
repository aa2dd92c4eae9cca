"""Vectorised coercion of one column to its canonical dtype.

Nothing here loops over rows in Python: object columns are factorised, their
*unique* values are converted (there are few: ids, dates, codes) and the
result is taken back to full length. That keeps tens of millions of
attendance rows tractable. Every failure raises a
:class:`~dropoutrisk.errors.DataError` that names the table, the column and
the first offending rows (0-based positions).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    ColumnTypeError,
    DataError,
    DateParseError,
    InvalidCategoryError,
    MissingValueError,
    OutOfRangeError,
)
from dropoutrisk.schema._tables import ColumnSpec

__all__ = ["ALLOWED", "MAX_ROWS_KEPT", "coerce_column", "plain", "raise_missing", "raise_rows"]

_TRUE = ("true", "yes", "ja", "1", "t", "y", "j", "sant")
_FALSE = ("false", "no", "nej", "0", "f", "n", "falskt")
_BOOL_WORDS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}

# Errors keep at most this many row positions: a message shows five, and a
# list of millions of ints would only cost memory.
MAX_ROWS_KEPT = 1000

ALLOWED = {
    "string": "text (numeric ids such as 1001 are read as the text '1001')",
    "int": "a whole number",
    "float": "a finite number",
    "bool": "true/false, yes/no, ja/nej or 1/0",
    "date": "a date written YYYY-MM-DD",
}

_MISSING = object()  # marks a unique value that means "no value"
_BAD = object()  # marks a unique value that cannot be converted


def coerce_column(series: pd.Series, spec: ColumnSpec, table: str) -> Any:
    """Return ``series`` coerced to the canonical array for ``spec``.

    Text and categories become an object array of stripped ``str`` (``None``
    for missing), whole numbers ``int64`` (nullable ``Int64`` when optional),
    numbers ``float64``, flags a nullable ``BooleanArray`` and dates
    ``datetime64[ns]`` at midnight. Range checks from ``spec`` are applied.

    Examples
    --------
    >>> import pandas as pd
    >>> from dropoutrisk.schema import table_spec
    >>> spec = table_spec("students").column("newly_arrived")
    >>> coerce_column(pd.Series(["ja", "Nej", None]), spec, "students").tolist()
    [True, False, <NA>]
    """
    try:
        if spec.kind in ("int", "float"):
            out = _coerce_number(series, spec, table)
        elif spec.kind == "bool":
            out = _coerce_bool(series, spec, table)
        elif spec.kind == "date":
            out = _coerce_date(series, spec, table)
        else:
            out = _coerce_text(series, spec, table)
    except DataError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        # values pandas itself cannot hash or convert (lists, dicts, ...);
        # finding them row by row is fine here: this is the error path
        values = series.to_numpy(dtype=object)
        odd = np.fromiter((not _is_scalar(v) for v in values), dtype=bool, count=len(values))
        cls = DateParseError if spec.kind == "date" else ColumnTypeError
        if odd.any():
            raise_rows(cls, table, spec.name, odd, values, allowed=ALLOWED.get(spec.kind, "text"),
                   fix="Export the column as plain values, not lists or objects")
        raise cls(
            table=table,
            column=spec.name,
            problem=f"values that cannot be read ({type(exc).__name__}: {exc})",
            allowed=ALLOWED.get(spec.kind, "text"),
            fix="Export the column as plain values",
        ) from exc
    return out


def _factorize(values: Any) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _convert_uniques(
    series: pd.Series, convert: Callable[[Any], Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert each unique value; return converted uniques, codes and bad/missing masks."""
    codes, uniques = _factorize(series.to_numpy(dtype=object))
    converted = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        converted[i] = convert(value)
    converted[-1] = _MISSING  # code -1: pandas' own missing values
    return converted, codes, uniques


def _text_value(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return text
    if isinstance(value, bool | np.bool_):
        return _BAD
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isfinite(value) and float(value).is_integer():
            return str(int(value))
        return _BAD
    return _BAD


def _arrow_strings(series: pd.Series) -> Any:
    """Return the column as an Arrow string array when every value is text or missing."""
    import pyarrow as pa

    if not (pd.api.types.is_object_dtype(series.dtype) or isinstance(series.dtype, pd.StringDtype)):
        return None
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    return None


def _coerce_text_arrow(array: Any, series: pd.Series, spec: ColumnSpec, table: str) -> np.ndarray:
    """The common case, every value already text: vectorised in Arrow, no Python per value."""
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(array)
    missing_arrow = array.is_null()
    if spec.required:
        missing_arrow = pc.or_(missing_arrow, pc.equal(trimmed, ""))
    missing = np.asarray(missing_arrow.to_numpy(zero_copy_only=False), dtype=bool)
    if spec.required and missing.any():
        raise_missing(table, spec.name, missing)
    if spec.categories is not None:
        encoded = trimmed.dictionary_encode()
        words = encoded.dictionary.to_pylist()
        allowed = {str(c).lower(): c for c in spec.categories}
        mapped = [allowed.get(w.lower(), _BAD) for w in words]
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        lookup = np.array(mapped + [_MISSING], dtype=object)
        indices = np.where(missing, len(mapped), np.nan_to_num(indices, nan=len(mapped))).astype(
            np.int64
        )
        invalid = _mask(lookup, indices, _BAD)
        if invalid.any():
            raise_rows(
                InvalidCategoryError, table, spec.name, invalid, series.to_numpy(dtype=object),
                allowed=", ".join(repr(c) for c in spec.categories),
                fix="Map the local codes to the allowed values before validating",
            )
        lookup[-1] = None
        return lookup[indices]
    unchanged = pc.all(pc.equal(trimmed, array)).as_py() is not False
    if unchanged:
        values = series.to_numpy(dtype=object)
        if missing.any():
            values = values.copy()
            values[missing] = None
        return values
    return np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)


def _coerce_text(series: pd.Series, spec: ColumnSpec, table: str) -> np.ndarray:
    array = _arrow_strings(series)
    if array is not None:
        return _coerce_text_arrow(array, series, spec, table)
    if pd.api.types.is_integer_dtype(series.dtype) and not isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    ):
        # numeric ids: vectorised, however many distinct values there are
        return series.to_numpy().astype(str).astype(object)
    converted, codes, _ = _convert_uniques(series, _text_value)
    lookup = converted
    if spec.required:
        # required text columns are ids and codes: blank means missing
        lookup = np.array([_MISSING if v == "" else v for v in converted], dtype=object)
    values = lookup[codes]
    original = series.to_numpy(dtype=object)
    bad = _mask(lookup, codes, _BAD)
    if bad.any():
        raise_rows(
            ColumnTypeError, table, spec.name, bad, original,
            allowed=ALLOWED["string"],
            fix="Export ids and codes as text or whole numbers",
        )
    missing = _mask(lookup, codes, _MISSING)
    if spec.required and missing.any():
        raise_missing(table, spec.name, missing)
    if spec.categories is not None:
        allowed = {str(c).lower(): c for c in spec.categories}
        cat_lookup = np.array(
            [v if v is _MISSING else allowed.get(v.lower(), _BAD) for v in lookup], dtype=object
        )
        invalid = _mask(cat_lookup, codes, _BAD)
        if invalid.any():
            raise_rows(
                InvalidCategoryError, table, spec.name, invalid, values,
                allowed=", ".join(repr(c) for c in spec.categories),
                fix="Map the local codes to the allowed values before validating",
            )
        values = cat_lookup[codes]
    values[missing] = None
    return values


def _number_value(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return _BAD
    if isinstance(value, int | np.integer | float | np.floating):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("\u2212", "-")
        if text == "":
            return _MISSING
        # Swedish exports write decimals with a comma
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError:
            return _BAD
    if isinstance(value, dt.date | dt.datetime | np.datetime64 | pd.Timestamp):
        return _BAD
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    return _BAD


def _coerce_number(series: pd.Series, spec: ColumnSpec, table: str) -> Any:
    table_col = (table, spec.name)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        bad = np.ones(len(series), dtype=bool)
        raise_rows(ColumnTypeError, *table_col, bad, series.to_numpy(dtype=object),
               allowed=ALLOWED[spec.kind], fix="Export the column as numbers, not true/false")
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        converted, codes, _ = _convert_uniques(series, _number_value)
        bad = _mask(converted, codes, _BAD)
        if bad.any():
            raise_rows(ColumnTypeError, *table_col, bad, series.to_numpy(dtype=object),
                   allowed=ALLOWED[spec.kind], fix="Export the column as plain numbers")
        lookup = np.array([np.nan if v is _MISSING else v for v in converted], dtype="float64")
        numbers = lookup[codes]

    missing = np.isnan(numbers)
    if spec.required and missing.any():
        raise_missing(table, spec.name, missing)
    infinite = np.isinf(numbers)
    if infinite.any():
        raise_rows(ColumnTypeError, *table_col, infinite, numbers,
               allowed=ALLOWED["float"], fix="Replace infinite values with real numbers")
    _check_range(numbers, spec, table)
    if spec.kind == "float":
        return numbers
    fractional = ~missing & (numbers != np.floor(numbers))
    if fractional.any():
        raise_rows(ColumnTypeError, *table_col, fractional, numbers,
               allowed=ALLOWED["int"], fix="Round the values or correct the export")
    if spec.required:
        return numbers.astype("int64")
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)


def _check_range(numbers: np.ndarray, spec: ColumnSpec, table: str) -> None:
    if spec.ge is None and spec.le is None:
        return
    bad = np.zeros(len(numbers), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.ge is not None:
            bad |= numbers < spec.ge
        if spec.le is not None:
            bad |= numbers > spec.le
    if bad.any():
        if spec.ge is not None and spec.le is not None:
            allowed = f"a value from {spec.ge:g} to {spec.le:g}"
        elif spec.ge is not None:
            allowed = f"a value >= {spec.ge:g}"
        else:
            allowed = f"a value <= {spec.le:g}"
        raise_rows(OutOfRangeError, table, spec.name, bad, numbers,
               allowed=allowed, fix="Correct the values in the export or drop the rows")


def _bool_value(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float | np.floating):
        if value == 1:
            return True
        if value == 0:
            return False
        return _MISSING if isinstance(value, float) and math.isnan(value) else _BAD
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return _MISSING
        return _BOOL_WORDS.get(text, _BAD)
    return _BAD


def _coerce_bool(series: pd.Series, spec: ColumnSpec, table: str) -> Any:
    if pd.api.types.is_bool_dtype(series.dtype):
        # already flags (numpy bool or nullable boolean): no per-value work
        flags = pd.array(series.to_numpy() if series.dtype == bool else series.array,
                         dtype="boolean")
        if spec.required and flags.isna().any():
            raise_missing(table, spec.name, np.asarray(flags.isna()))
        return flags
    converted, codes, _ = _convert_uniques(series, _bool_value)
    bad = _mask(converted, codes, _BAD)
    if bad.any():
        raise_rows(ColumnTypeError, table, spec.name, bad, series.to_numpy(dtype=object),
               allowed=ALLOWED["bool"], fix="Map the values to true/false")
    missing = _mask(converted, codes, _MISSING)
    if spec.required and missing.any():
        raise_missing(table, spec.name, missing)
    lookup = np.array([False if v is _MISSING else v for v in converted], dtype=bool)
    return pd.arrays.BooleanArray(lookup[codes], missing)


def _date_value(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return _MISSING
        try:
            # ISO only: 01/02/2024 is ambiguous between countries
            stamp = pd.to_datetime(text, format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            return _BAD
    elif isinstance(value, dt.date | np.datetime64):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return _BAD
    else:
        return _BAD
    if stamp is pd.NaT or pd.isna(stamp):
        return _MISSING if not isinstance(value, str) else _BAD
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    stamp = stamp.normalize()
    if not (pd.Timestamp.min < stamp < pd.Timestamp.max):
        return _BAD
    return stamp.as_unit("ns").to_datetime64()


def _coerce_date(series: pd.Series, spec: ColumnSpec, table: str) -> np.ndarray:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        stamps = series.dt.tz_localize(None) if isinstance(dtype, pd.DatetimeTZDtype) else series
        values = stamps.dt.normalize().to_numpy(dtype="datetime64[ns]")
    else:
        fast = None
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            fast = _arrow_dates(series)
        if fast is not None:
            values = fast
        else:
            converted, codes, _ = _convert_uniques(series, _date_value)
            bad = _mask(converted, codes, _BAD)
            if bad.any():
                raise_rows(DateParseError, table, spec.name, bad, series.to_numpy(dtype=object),
                           allowed=ALLOWED["date"],
                           fix="Export dates in ISO format, e.g. 2024-09-02")
            lookup = np.array(
                [np.datetime64("NaT", "ns") if v is _MISSING else v for v in converted],
                dtype="datetime64[ns]",
            )
            values = lookup[codes]
    missing = np.isnat(values)
    if spec.required and missing.any():
        raise_missing(table, spec.name, missing)
    return values


def _arrow_dates(series: pd.Series) -> np.ndarray | None:
    """Dates as Python dates (pandas 3 Parquet) or ISO text, converted in Arrow.

    Returns ``None`` whenever anything is unusual; the careful path then finds
    and reports the offending rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = series.to_numpy(dtype=object)
    # pure columns only: Arrow would quietly read a stray integer as a timestamp
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "date", "datetime"):
        return None
    try:
        array = pa.array(values, from_pandas=True)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            parsed = pc.strptime(
                pc.utf8_trim_whitespace(array), format="%Y-%m-%d", unit="ns", error_is_null=True
            )
            if parsed.null_count != array.null_count:
                return None
            array = parsed
        elif pa.types.is_date(array.type) or (
            pa.types.is_timestamp(array.type) and array.type.tz is None
        ):
            array = array.cast(pa.timestamp("ns"))
        else:
            return None
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    return values.astype("datetime64[D]").astype("datetime64[ns]")


def _mask(lookup: np.ndarray, codes: np.ndarray, marker: object) -> np.ndarray:
    hit = np.fromiter((v is marker for v in lookup), dtype=bool, count=len(lookup))
    return hit[codes]


def _is_scalar(value: Any) -> bool:
    if not pd.api.types.is_scalar(value):
        return False
    try:
        hash(value)
    except TypeError:
        return False
    return True


def plain(value: Any) -> Any:
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return str(pd.Timestamp(value).date())
    if isinstance(value, np.generic):
        return value.item()
    return value


def raise_rows(
    cls: type[DataError],
    table: str,
    column: str,
    bad: np.ndarray,
    values: np.ndarray,
    *,
    allowed: str,
    fix: str,
    problem: str | None = None,
) -> None:
    rows = np.flatnonzero(bad)
    raise cls(
        table=table,
        column=column,
        rows=rows[:MAX_ROWS_KEPT],
        values=[plain(values[r]) for r in rows[:5]],
        n_bad=len(rows),
        allowed=allowed,
        fix=fix,
        problem=problem,
    )


def raise_missing(table: str, column: str, missing: np.ndarray) -> None:
    rows = np.flatnonzero(missing)
    raise MissingValueError(
        table=table,
        column=column,
        rows=rows[:MAX_ROWS_KEPT],
        n_bad=len(rows),
        allowed="a value in every row",
        fix="Fill in the values or drop the rows",
    )
