"""Values as printed: numbers rounded half up, units, yes/no and categories, in Swedish and English."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.explain._codes import (
    _CATEGORY_LABELS,
    _MISSING,
    _PERCENTILE_BANDS,
    _POINTS,
    _YES_NO,
)

__all__ = [
    "displayed_values",
    "format_values",
    "template_format",
]


def _rounded(values: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude rounded half up to ``decimals``, in units of the last decimal, and its sign."""
    scaled = np.floor(np.abs(values) * 10**decimals + 0.5).astype(np.int64)
    return scaled, (values < 0) & (scaled > 0)


def _number(values: np.ndarray, decimals: int, lang: str) -> np.ndarray:
    """Round to ``decimals`` and drop a trailing zero decimal; decimal comma in Swedish."""
    scaled, negative = _rounded(values, decimals)
    whole, frac = np.divmod(scaled, 10**decimals)
    text = whole.astype(str)
    if decimals:
        sep = "," if lang == "sv" else "."
        frac_text = np.strings.add(sep, frac.astype(str))
        text = np.where(frac > 0, np.strings.add(text, frac_text), text)
    minus = "\u2212" if lang == "sv" else "-"
    return np.where(negative, np.strings.add(minus, text), text)


_WHOLE_UNITS = ("count", "days", "minutes", "weeks")


def _bands(values: np.ndarray) -> np.ndarray:
    """The band of each percentile (0-1), 0 (lowest 10%) to 5 (highest 10%); see ``_codes``."""
    return np.select([values <= 0.10, values <= 0.25, values < 0.5, values < 0.75, values < 0.9],
                     [0, 1, 2, 3, 4], default=5)


def format_values(values: Any, kind: str, unit: str, lang: str) -> np.ndarray:
    """Format one feature's values for a sentence, vectorised.

    Fractions become percentages (whole percent from 10 % up, one decimal
    below), with a space before ``%`` and a decimal comma in Swedish; binary
    values become yes/no; counts, days and minutes are whole numbers; scores
    and points keep one decimal. Missing values read "missing" ("saknas").

    Examples
    --------
    >>> format_values([0.62, 0.914, 0.045, float("nan")], "numeric", "fraction", "sv").tolist()
    ['62 %', '91 %', '4,5 %', 'saknas']
    >>> format_values([0.62, -0.03], "numeric", "fraction", "en").tolist()
    ['62%', '-3%']
    >>> format_values([1.0, 0.0], "binary", "none", "en").tolist()
    ['yes', 'no']
    >>> format_values([12.25, 3.0], "numeric", "points", "sv").tolist()
    ['12,3', '3']
    >>> format_values([-0.12, 0.031], "numeric", "percentage_points", "sv").tolist()
    ['−12 procentenheter', '+3,1 procentenheter']
    >>> format_values(["introductory"], "categorical", "none", "sv").tolist()
    ['introduktionsprogram']
    >>> format_values([0.04, 0.3, 0.5, 0.95], "numeric", "percentile", "en").tolist()
    ['lowest 10%', 'lower half', 'upper half', 'highest 10%']
    """
    arr = np.asarray(values, dtype=object if kind == "categorical" else np.float64)
    text, ids = _format_ids(arr.reshape(-1), kind, unit, lang)
    return text[ids].reshape(arr.shape)


def _format_key(values: np.ndarray, kind: str, unit: str) -> np.ndarray | None:
    """An integer per value such that equal keys get equal texts from :func:`_format`.

    The key holds everything :func:`_format` reads: missing or not, yes or no,
    or the rounded number (:func:`_rounded`), its sign, the number of
    decimals and, for changes, whether it is positive. ``None`` where the
    rounded numbers do not fit.
    """
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    if kind == "binary":
        return np.where(missing, -1, filled > 0.5)
    if unit == "percentile":
        return np.where(missing, -1, _bands(filled))
    if unit in ("fraction", "percentage_points"):  # percent: one decimal below 9.95
        number = filled * 100.0
        small = np.abs(number) < 9.95
        one, one_negative = _rounded(number, 1)
        whole, whole_negative = _rounded(number, 0)
        scaled = np.where(small, one, whole)
        negative = np.where(small, one_negative, whole_negative)
    else:
        number = filled
        small = np.zeros(values.shape, dtype=bool)
        scaled, negative = _rounded(number, 0 if unit in _WHOLE_UNITS else 1)
    if not ((scaled >= 0) & (scaled < 2**58)).all():
        return None
    key = ((scaled * 2 + negative) * 2 + small) * 2 + (number > 0)
    return np.where(missing, -1, key)


def _format_ids(arr: np.ndarray, kind: str, unit: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
    """Texts of a flat array as ``text[ids]``, each distinct text built once where it pays."""
    first, ids = _format_groups(arr, kind, unit)
    return _format(arr[first], kind, unit, lang), ids


def _format_groups(arr: np.ndarray, kind: str, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """One value per distinct text (``first``) and the position of each value among them.

    School medians repeat and values are rounded: the strings need building for
    one value per :func:`_format_key` only, in any language.
    """
    if kind != "categorical" and arr.size > 32:
        key = _format_key(arr, kind, unit)
        if key is not None:
            inverse, uniques = pd.factorize(key)  # a hash table: no sort
            if len(uniques) < arr.size:
                return _first_positions(inverse, len(uniques)), inverse
    return np.arange(arr.size), np.arange(arr.size)


def _format(arr: np.ndarray, kind: str, unit: str, lang: str) -> np.ndarray:
    """:func:`format_values` of a flat array already converted (object for categories, else float)."""
    if kind == "categorical":
        missing = pd.isna(arr)
        labels = _CATEGORY_LABELS[lang]
        text = np.array([labels.get(v, v) for v in np.where(missing, "", arr).astype(str)], dtype=str)
        return np.where(missing, _MISSING[lang], text)
    missing = np.isnan(arr)
    filled = np.where(missing, 0.0, arr)
    if kind == "binary":
        yes, no = _YES_NO[lang]
        text = np.where(filled > 0.5, yes, no)
    elif unit == "percentile":
        text = np.asarray(_PERCENTILE_BANDS[lang], dtype=str)[_bands(filled)]
    elif unit == "fraction":
        pct = filled * 100.0
        small = np.abs(pct) < 9.95
        text = np.where(small, _number(pct, 1, lang), _number(pct, 0, lang))
        text = np.strings.add(text, " %" if lang == "sv" else "%")
    elif unit == "percentage_points":  # a change of a fraction, signed
        pct = filled * 100.0
        small = np.abs(pct) < 9.95
        text = np.where(small, _number(pct, 1, lang), _number(pct, 0, lang))
        plus = np.where((pct > 0) & (text != "0"), "+", "")
        text = np.strings.add(np.strings.add(plus, text), _POINTS[lang])
    elif unit in _WHOLE_UNITS:
        text = _number(filled, 0, lang)
    else:
        text = _number(filled, 1, lang)
    return np.where(missing, _MISSING[lang], text)


_PLACEHOLDER = re.compile(r"\{(value|reference)\}")


def template_format(template: str) -> str:
    """A catalogue template as a :meth:`str.format` string: value ``{0}``, reference ``{1}``.

    Only ``{value}`` and ``{reference}`` are placeholders; ``{{`` and ``}}``
    stand for braces, and any other brace is kept as it is.

    Examples
    --------
    >>> fmt = template_format("Was {value} (median {reference}) {x}.")
    >>> fmt.format("62 %", "91 %")
    'Was 62 % (median 91 %) {x}.'
    """
    pieces = _PLACEHOLDER.split(template)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append("{0}" if piece == "value" else "{1}")
        else:
            literal = piece.replace("{{", "{").replace("}}", "}")
            out.append(literal.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


def displayed_values(values: Any, kind: str, unit: str) -> np.ndarray:
    """The number a sentence shows for each value, as a float that orders like the text.

    Values that print the same get the same number (``0.914`` and ``0.911``
    both show "91 %", so both give ``91.0``), so that "equal to its reference"
    and "on the risky side" are judged on what a reader sees. Fractions and
    changes of fractions are in percent; binary values are 1.0 (yes) or 0.0
    (no); percentiles are their band (0 for the lowest 10% to 5 for the highest
    10%); missing values stay NaN.

    Examples
    --------
    >>> displayed_values([0.914, 0.911, 0.0449, float("nan")], "numeric", "fraction").tolist()
    [91.0, 91.0, 4.5, nan]
    >>> displayed_values([2.04, -0.04], "numeric", "points").tolist()
    [2.0, 0.0]
    >>> displayed_values([0.7, 0.2], "binary", "none").tolist()
    [1.0, 0.0]
    >>> displayed_values([0.05, 0.08, 0.6], "numeric", "percentile").tolist()
    [0.0, 0.0, 3.0]
    """
    arr = np.asarray(values, dtype=np.float64)
    missing = np.isnan(arr)
    filled = np.where(missing, 0.0, arr)
    if kind == "binary":
        shown = (filled > 0.5).astype(np.float64)
        negative = np.zeros(arr.shape, dtype=bool)
    elif unit == "percentile":
        shown = _bands(filled).astype(np.float64)
        negative = np.zeros(arr.shape, dtype=bool)
    elif unit in ("fraction", "percentage_points"):  # percent: one decimal below 9.95
        number = filled * 100.0
        small = np.abs(number) < 9.95
        one, one_negative = _rounded(number, 1)
        whole, whole_negative = _rounded(number, 0)
        shown = np.where(small, one / 10.0, whole.astype(np.float64))
        negative = np.where(small, one_negative, whole_negative)
    else:
        decimals = 0 if unit in _WHOLE_UNITS else 1
        scaled, negative = _rounded(filled, decimals)
        shown = scaled / 10.0**decimals
    return np.where(missing, np.nan, np.where(negative, -shown, shown))


def _first_positions(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Position of the first element of each code, in code order, without a sort.

    ``codes`` come from ``pd.factorize`` (no sort), which numbers them in order of first
    appearance: a code appears for the first time exactly where it exceeds every code before.
    """
    if codes.size == 0:
        return np.empty(0, dtype=np.int64)
    before = np.maximum.accumulate(np.r_[np.int64(-1), codes[:-1].astype(np.int64)])
    return np.flatnonzero(codes > before)


def _factorize(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct strings (as Python ``str``) and the position of each element among them."""
    uniq, inverse = np.unique(text, return_inverse=True)
    return uniq.astype(object), inverse.reshape(-1)
