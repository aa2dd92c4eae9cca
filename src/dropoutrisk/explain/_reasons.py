"""Reason codes, school-median references and sentences, vectorised over students.

Everything here works on whole arrays, never per student: one reference per
school and ``as_of`` (a sort per school), taken for the explained rows only;
``top_n`` passes of ``argmax`` for the ranking; and strings built only for the
reasons returned: each distinct value is formatted once per formatting rule
(kind and unit), each school reference once, and each distinct sentence filled
once.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DIMENSION_CODES",
    "DIMENSION_LABELS",
    "MIN_REFERENCE_COUNT",
    "ReasonInputs",
    "feature_table",
    "format_values",
    "group_references",
    "reason_inputs",
    "reason_stems",
    "reason_texts",
    "school_references",
    "select_reasons",
    "template_format",
]

#: Three-letter prefix of a reason code for each dimension.
DIMENSION_CODES: dict[str, str] = {
    "behavioural": "BEH",
    "academic": "ACA",
    "cognitive": "COG",
    "psychological": "PSY",
    "socio_emotional": "SOC",
    "background": "BKG",
}

#: Display names of the dimensions.
DIMENSION_LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "behavioural": "Beteende",
        "academic": "Studier",
        "cognitive": "Kognitivt",
        "psychological": "Psykologiskt",
        "socio_emotional": "Socioemotionellt",
        "background": "Bakgrund",
    },
    "en": {
        "behavioural": "Behavioural",
        "academic": "Academic",
        "cognitive": "Cognitive",
        "psychological": "Psychological",
        "socio_emotional": "Socio-emotional",
        "background": "Background",
    },
}

# Words that carry no meaning in a code ("attendance_rate_4w" -> "ATT4W").
_SKIP = {"rate", "share", "n", "of", "the", "per", "since", "score"}
_YES_NO = {"sv": ("ja", "nej"), "en": ("yes", "no")}
_MISSING = {"sv": "okänd", "en": "unknown"}
#: Smallest contribution (calibrated log-odds, about a 1 % change in the odds) shown as a reason.
MIN_REASON_LOG_ODDS = 0.01
_POINTS = {"sv": " procentenheter", "en": " percentage points"}
#: Category labels in sentences; codes that are not listed are shown as they are.
_CATEGORY_LABELS = {
    "sv": {"national": "nationellt program", "introductory": "introduktionsprogram"},
    "en": {"national": "national programme", "introductory": "introductory programme"},
}


def _stem(name: str) -> str:
    parts = []
    for token in name.lower().split("_"):
        if not token or token in _SKIP:
            continue
        parts.append(token.upper() if any(ch.isdigit() for ch in token) else token[:3].upper())
    return ("".join(parts) or name[:3].upper())[:12]


def reason_stems(names: list[str] | tuple[str, ...], dimensions: list[str]) -> dict[str, str]:
    """Return the stable code stem (``"BEH-ATT4W"``) of every feature.

    The stem is the dimension's prefix and an abbreviation of the feature
    name: each word cut to three letters, tokens with digits kept whole,
    filler words (``rate``, ``share``, ...) dropped. Two features whose
    abbreviations collide both get a two-character checksum of their name, so
    the stems stay unique and depend only on the names.

    Examples
    --------
    >>> reason_stems(["attendance_rate_4w", "failed_courses"], ["behavioural", "academic"])
    {'attendance_rate_4w': 'BEH-ATT4W', 'failed_courses': 'ACA-FAICOU'}
    """
    base = {n: f"{DIMENSION_CODES.get(d, 'OTH')}-{_stem(n)}" for n, d in zip(names, dimensions, strict=True)}
    counts = Counter(base.values())
    out = {}
    for n, stem in base.items():
        if counts[stem] > 1:
            stem += np.base_repr(zlib.crc32(n.encode()) % 1296, 36).rjust(2, "0")
        out[n] = stem
    return out


def feature_table(catalogue: Any, names: list[str]) -> pd.DataFrame:
    """Catalogue metadata of the model features, one row per feature, in model order."""
    missing = [n for n in names if catalogue is None or n not in catalogue]
    if missing:
        from dropoutrisk.errors import ModelError

        raise ModelError(
            f"The model's features {missing[:10]} are not in its indicator catalogue, so they "
            "cannot be explained. Fit the model with the catalogue that built its features."
        )
    rows = [catalogue.get(n) for n in names]
    dimensions = [i.dimension for i in rows]
    stems = reason_stems(names, dimensions)
    return pd.DataFrame(
        {
            "dimension": dimensions,
            "actionable": [bool(i.actionable) for i in rows],
            "kind": [i.kind for i in rows],
            "unit": [i.unit for i in rows],
            "risk_direction": [i.risk_direction for i in rows],
            "description_sv": [i.description_sv for i in rows],
            "description_en": [i.description_en for i in rows],
            "template_sv": [i.template_sv for i in rows],
            "template_en": [i.template_en for i in rows],
            "stem": [stems[n] for n in names],
        },
        index=pd.Index(names, name="feature"),
    )


#: A school median over fewer students than this is withheld (NaN), so a
#: reference never reveals a handful of other students' values.
MIN_REFERENCE_COUNT = 10


def school_references(
    frame: pd.DataFrame,
    names: list[str],
    kinds: list[str],
    *,
    min_count: int = MIN_REFERENCE_COUNT,
) -> pd.DataFrame:
    """The school's median of every feature at the same ``as_of``, aligned with ``frame``.

    Numeric features take the median; binary ones the lower median (the
    majority value, "no" on a tie); categorical ones the most common
    category. Rows are grouped by ``school_id`` and ``as_of`` when the frame
    has them; missing values are ignored. A group with fewer than
    ``min_count`` non-missing values gets no reference (NaN): small cells are
    suppressed, as in the fairness audit.

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["a", "a", "a", "b"], "x": [0.5, 0.7, 0.9, 0.1]})
    >>> school_references(f, ["x"], ["numeric"], min_count=1)["x"].tolist()
    [0.7, 0.7, 0.7, 0.1]
    >>> school_references(f, ["x"], ["numeric"], min_count=2)["x"].tolist()
    [0.7, 0.7, 0.7, nan]
    """
    codes, table = group_references(frame, names, kinds, min_count=min_count)
    return pd.DataFrame({n: table[n][codes] for n in names}, index=frame.index, columns=names)


def group_references(
    frame: pd.DataFrame,
    names: list[str],
    kinds: list[str],
    *,
    min_count: int = MIN_REFERENCE_COUNT,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The references of :func:`school_references`, one value per group.

    Returns the group of every row of ``frame`` and, per feature, an array
    with one reference per group: ``table[name][codes]`` is the column of
    :func:`school_references`. Taking only the explained rows' groups saves
    building a reference for every row of a large frame.
    """
    codes, n_groups = _groups(frame)
    out = {}
    numeric = [n for n, k in zip(names, kinds, strict=True) if k != "categorical"]
    if numeric:
        # one row per feature: each feature's values are contiguous
        values = np.empty((len(numeric), len(frame)))
        for j, n in enumerate(numeric):
            column = frame[n]
            values[j] = (column.to_numpy() if column.dtype == np.float64
                         else column.to_numpy(dtype=np.float64, na_value=np.nan))
        binary = np.array([k == "binary" for k in kinds if k != "categorical"])
        table = _medians(values, codes, n_groups, min_count, binary)
        for j, n in enumerate(numeric):
            out[n] = table[j]
    for n, k in zip(names, kinds, strict=True):
        if k == "categorical":
            out[n] = _most_common(frame[n], codes, n_groups, min_count)
    return codes, {n: out[n] for n in names}


def _groups(frame: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Group of each row by ``school_id`` and ``as_of``, numbered in order of first appearance.

    The same groups and numbers as ``groupby(keys, sort=False, dropna=False).ngroup()``
    (missing keys form their own group), without the groupby machinery.
    """
    codes = np.zeros(len(frame), dtype=np.int64)
    for key in ("school_id", "as_of"):
        if key in frame.columns:
            part, uniques = pd.factorize(frame[key], use_na_sentinel=False)
            codes = codes * max(len(uniques), 1) + part
    codes, uniques = pd.factorize(codes)
    return codes.astype(np.int64, copy=False), len(uniques)


def _medians(values: np.ndarray, codes: np.ndarray, n_groups: int, min_count: int,
             binary: np.ndarray) -> np.ndarray:
    """Median of each feature (row of ``values``) per group, ignoring NaN.

    Returns (n_features, n_groups), NaN below ``min_count`` values. Binary
    features take the majority value instead (share above one half). A median
    is the middle value, or the mean ``(a + b) / 2`` of the two middle ones, as
    pandas computes it.
    """
    n_rows = values.shape[0]
    if n_groups == 0:
        return np.full((n_rows, 0), np.nan)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    block = values[:, order]  # groups side by side, in frame order within one
    count = np.empty((n_rows, n_groups), dtype=np.int64)
    for g in range(n_groups):  # per school and as_of, never per student
        part = block[:, starts[g]:ends[g]]
        part.sort(axis=1)  # NaN sort last
        count[:, g] = sizes[g] - np.count_nonzero(np.isnan(part), axis=1)
    rows = np.arange(n_rows)[:, None]
    low = block[rows, starts + np.maximum(count - 1, 0) // 2]
    high = block[rows, starts + count // 2]
    table = np.where(count % 2 == 1, high, (low + high) / 2)
    # -0.0 equals 0.0 (and numpy's sort may return it as 0.0): a zero median of a group
    # holding -0.0 takes the sign that pandas' selection picks
    negative_zero = values.view(np.uint64) == np.uint64(1 << 63)
    if negative_zero.any():
        held = np.zeros(table.shape, dtype=bool)
        for j in np.flatnonzero(negative_zero.any(axis=1)):
            held[j] = np.bincount(codes[negative_zero[j]], minlength=n_groups) > 0
        signed = np.argwhere((table == 0) & held)
        if signed.size:
            pieces = [values[j, order[starts[g]:ends[g]]] for j, g in signed.tolist()]
            which = np.repeat(np.arange(len(pieces)), sizes[signed[:, 1]])
            medians = pd.Series(np.concatenate(pieces)).groupby(which).median()
            table[signed[:, 0], signed[:, 1]] = medians.to_numpy()
    table[count < max(min_count, 1)] = np.nan
    if binary.any():
        table[binary] = np.where(np.isnan(table[binary]), np.nan,
                                 _majority(values[binary], codes, n_groups, count[binary]))
    return table


def _majority(values: np.ndarray, codes: np.ndarray, n_groups: int, count: np.ndarray) -> np.ndarray:
    """1.0 where more than half of a group's non-missing values are 1, else 0.0 (rows: features)."""
    present = ~np.isnan(values)
    if np.isin(values[present], (0.0, 1.0)).all():
        # counting is exact: ones / count > 0.5 exactly when 2 * ones > count
        ones = np.stack([np.bincount(codes, weights=row == 1.0, minlength=n_groups)
                         for row in values])
        return (2 * ones > count).astype(np.float64)
    # not 0/1: the mean as pandas sums it, so that a share at one half compares the same
    share = pd.DataFrame(values.T, index=codes).groupby(level=0, sort=True).mean()
    return (share.reindex(np.arange(n_groups)).to_numpy().T > 0.5).astype(np.float64)


def _most_common(column: pd.Series, codes: np.ndarray, n_groups: int, min_count: int) -> np.ndarray:
    """Most common category per group (object array, NaN below ``min_count`` values).

    Ties go as ``DataFrame.value_counts`` orders them: the (group, category)
    counts in sorted order, then ``Series.sort_values(ascending=False)``.
    """
    values = column.astype(object).to_numpy()
    category, uniques = pd.factorize(values, sort=True)  # missing -> -1, dropped
    present = category >= 0
    n_cat = max(len(uniques), 1)
    counts = np.bincount(codes[present] * n_cat + category[present], minlength=n_groups * n_cat)
    pairs = np.flatnonzero(counts)
    ranked = pairs[pd.Series(counts[pairs]).sort_values(ascending=False).index.to_numpy()]
    groups, first = np.unique(ranked // n_cat, return_index=True)
    size = np.bincount(codes[present], minlength=n_groups)
    keep = size[groups] >= min_count
    top = pd.Series(pd.Index(uniques).take(ranked[first] % n_cat), index=groups)[keep]
    return top.reindex(np.arange(n_groups)).to_numpy()


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


def format_values(values: Any, kind: str, unit: str, lang: str) -> np.ndarray:
    """Format one feature's values for a sentence, vectorised.

    Fractions become percentages (whole percent from 10 % up, one decimal
    below), with a space before ``%`` and a decimal comma in Swedish; binary
    values become yes/no; counts, days and minutes are whole numbers; scores
    and points keep one decimal. Missing values read "unknown" ("okänd").

    Examples
    --------
    >>> format_values([0.62, 0.914, 0.045, float("nan")], "numeric", "fraction", "sv").tolist()
    ['62 %', '91 %', '4,5 %', 'okänd']
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
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            if first.size < arr.size:
                return first, inverse.reshape(-1)
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


def _factorize(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct strings (as Python ``str``) and the position of each element among them."""
    uniq, inverse = np.unique(text, return_inverse=True)
    return uniq.astype(object), inverse.reshape(-1)


# Code suffixes of numeric and binary features; categorical ones follow, one per category.
_SUFFIXES = ("MISSING", "NOREF", "LOW", "HIGH", "MED", "YES", "NO")


def _category_suffix(category: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "", category.upper())[:12]


class ReasonInputs(NamedTuple):
    """The explained rows' model inputs and school references, as the reason tables read them."""

    #: (n_rows, n_features) float; NaN for categorical features.
    values: np.ndarray
    #: feature -> (n_rows,) values as objects, for categorical and non-float columns.
    objects: dict[int, np.ndarray]
    #: (n_rows,) reference group (school and as_of) of each row.
    group: np.ndarray
    #: (n_groups, n_features) float; NaN for categorical features.
    references: np.ndarray
    #: categorical feature -> (n_groups,) reference category.
    reference_objects: dict[int, np.ndarray]


def reason_inputs(X: pd.DataFrame, kinds: list[str], group: np.ndarray,
                  table: dict[str, np.ndarray]) -> ReasonInputs:
    """Collect the model inputs ``X`` and the :func:`group_references` ``table``.

    ``group`` is the reference group of each row of ``X``. The reason tables show
    the values as ``X.to_numpy(dtype=object)`` gives them: Python floats for
    float64 columns (taken from ``values``), the column's own objects otherwise.
    """
    names = list(table)
    numeric = [j for j, k in enumerate(kinds) if k != "categorical"]
    values = np.full(X.shape, np.nan)
    references = np.full((len(table[names[0]]) if names else 0, len(names)), np.nan)
    if numeric:
        values[:, numeric] = X.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        for j in numeric:
            references[:, j] = table[names[j]]
    objects = {j: X.iloc[:, j].to_numpy(dtype=object)
               for j, (k, dtype) in enumerate(zip(kinds, X.dtypes, strict=True))
               if k == "categorical" or dtype != np.float64}
    ref_objects = {j: table[names[j]] for j, k in enumerate(kinds) if k == "categorical"}
    return ReasonInputs(values, objects, group, references, ref_objects)


def reason_texts(
    rows: np.ndarray, cols: np.ndarray, inputs: ReasonInputs, meta: pd.DataFrame, lang: str
) -> dict[str, np.ndarray]:
    """Values, codes, formatted values and sentences (both languages) of the chosen reasons.

    Parameters
    ----------
    rows, cols : ndarray of int (n,)
        Explained row and feature (row of ``meta``) of each reason.
    inputs : ReasonInputs
    meta : pandas.DataFrame
        :func:`feature_table` of the model features.
    lang : {"sv", "en"}
        Language of ``value_text`` and ``reference_text``.

    Returns
    -------
    dict of object ndarray (n,)
        ``value`` and ``reference`` (the student's value and the school
        reference), ``code``, ``value_text``, ``reference_text``,
        ``sentence_sv`` and ``sentence_en`` (Python ``str``).
        Only the reasons returned are formatted: each distinct value once per
        formatting rule (kind and unit), each school reference once, and each
        distinct (feature, value, reference) once.
    """
    n = cols.size
    group = inputs.group[rows]
    value = inputs.values[rows, cols]
    value_obj = value.astype(object)
    for j, column in inputs.objects.items():
        at = np.flatnonzero(cols == j)
        value_obj[at] = column[rows[at]]
    # one Python object per school reference, shared by the reasons that show it
    reference_table = inputs.references.astype(object)
    for j, column in inputs.reference_objects.items():
        reference_table[:, j] = column
    at_group = group * meta.shape[0] + cols  # position in a (group, feature) table
    reference_obj = reference_table.reshape(-1)[at_group]
    out: dict[str, np.ndarray] = {"value": value_obj, "reference": reference_obj}

    kinds = meta["kind"].tolist()
    kinds_array = np.asarray(kinds, dtype=object)
    # features formatted by the same rule (kind and unit) share one format call
    rule_of: dict[tuple[Any, Any], int] = {}
    rule = np.array([rule_of.setdefault((k, u), len(rule_of))
                     for k, u in zip(kinds, meta["unit"].tolist(), strict=True)], dtype=np.int64)
    entry_rule = rule[cols]
    langs = ("sv", "en")
    # Every distinct value and school reference of a rule is a "raw" value with an id,
    # and each raw id points to its text (the same ids in both languages).
    value_id = np.zeros(n, dtype=np.int64)
    reference_id = np.zeros(n, dtype=np.int64)
    reference_of = np.zeros(inputs.references.shape, dtype=np.int64)  # per group and feature
    raw_number: list[np.ndarray] = []  # the raw value (NaN for categories), for the codes
    raw_suffix: list[np.ndarray] = []  # index into suffixes for categories, else -1
    suffixes = list(_SUFFIXES)
    text_of: list[np.ndarray] = []
    texts: dict[str, list[np.ndarray]] = {lg: [] for lg in langs}
    n_raw = n_text = 0
    for k, (kind, unit) in enumerate(rule_of):
        at = np.flatnonzero(entry_rule == k)
        if at.size == 0:
            continue
        if kind == "categorical":
            both = np.concatenate([value_obj[at], reference_obj[at]])
            missing = pd.isna(both)
            # str() of each category, as format_values does; missing values get their own id
            uniq, inverse = _factorize(np.where(missing, "", both).astype(str))
            inverse = np.where(missing, uniq.size, inverse)
            raw = np.append(uniq, None)
            raw_number.append(np.full(raw.size, np.nan))
            raw_suffix.append(np.r_[np.arange(len(suffixes), len(suffixes) + uniq.size), 0])
            suffixes.extend(_category_suffix(c) for c in uniq.tolist())
            value_id[at] = inverse[: at.size] + n_raw
            reference_id[at] = inverse[at.size:] + n_raw
        else:
            value_local, raw_value = pd.factorize(value[at], use_na_sentinel=False)
            # references are per school: format the rule's columns of the group table once
            features = np.flatnonzero(rule == k)
            raw_ref, ref_local = np.unique(inputs.references[:, features], return_inverse=True)
            reference_of[:, features] = ref_local.reshape(-1, features.size) + n_raw + raw_value.size
            value_id[at] = value_local + n_raw
            raw = np.concatenate([raw_value, raw_ref])
            raw_number.append(raw)
            raw_suffix.append(np.full(raw.size, -1))
        n_raw += raw.size
        first, text_id = _format_groups(raw, kind, unit)
        text_of.append(text_id + n_text)
        n_text += first.size
        for lg in langs:
            texts[lg].append(_format(raw[first], kind, unit, lg).astype(object))
    if n == 0:
        return {**out, **{k: np.empty(0, dtype=object) for k in
                          ("code", "value_text", "reference_text", "sentence_sv", "sentence_en")}}

    categorical = np.array([k == "categorical" for k in kinds])[cols]
    reference_id = np.where(categorical, reference_id, reference_of.reshape(-1)[at_group])
    # everything below works on the distinct (feature, value, reference) triples
    feature, value_u, reference_u, inverse = _distinct(cols, value_id, reference_id, n_raw,
                                                       sort=False)
    ids = np.concatenate(text_of)
    value_text, reference_text = ids[value_u], ids[reference_u]
    # and the sentences on the distinct (feature, value text, reference text)
    s_feature, s_value, s_reference, s_inverse = _distinct(feature, value_text, reference_text,
                                                           n_text)
    sentence_of = s_inverse[inverse]
    for lg in langs:
        table = np.concatenate(texts[lg])
        if lg == lang:
            out["value_text"] = table[value_text[inverse]]
            out["reference_text"] = table[reference_text[inverse]]
        sentences = _sentences(s_feature, s_value, s_reference, table, meta[f"template_{lg}"])
        out[f"sentence_{lg}"] = sentences[sentence_of]

    number, category = np.concatenate(raw_number), np.concatenate(raw_suffix)
    v, r = number[value_u], number[reference_u]
    kind_of = kinds_array[feature]
    with np.errstate(invalid="ignore"):
        situation = np.where(np.isnan(v), 0, np.where(np.isnan(r), 1, np.where(
            v < r, 2, np.where(v > r, 3, 4))))
        yes_no = np.where(np.isnan(v), 0, np.where(v > 0.5, 5, 6))
    suffix = np.where(kind_of == "categorical", category[value_u],
                      np.where(kind_of == "binary", yes_no, situation))
    code_key, code_of = np.unique(feature * len(suffixes) + suffix, return_inverse=True)
    stems = meta["stem"].tolist()
    codes = np.array([f"{stems[q // len(suffixes)]}-{suffixes[q % len(suffixes)]}"
                      for q in code_key.tolist()], dtype=object)
    out["code"] = codes[code_of.reshape(-1)][inverse]
    return out


def _distinct(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, width: int, *, sort: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b, c) triples and the position of each row among them.

    ``b`` and ``c`` are ids below ``width``; ``a`` is small (a feature). With
    ``sort`` the triples come sorted (by ``a`` first), else in order of first
    appearance (a hash table, no sort).
    """
    width = max(int(width), 1)
    top = int(a.max()) + 1 if a.size else 1
    if top * width * width < 2**62:
        key = (a.astype(np.int64) * width + b) * width + c
        if sort:
            uniq, inverse = np.unique(key, return_inverse=True)
        else:
            inverse, uniq = pd.factorize(key)
        return uniq // (width * width), uniq // width % width, uniq % width, inverse.reshape(-1)
    uniq, inverse = np.unique(np.stack([a, b, c], axis=1), axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], uniq[:, 2], inverse.reshape(-1)


def _sentences(
    feature: np.ndarray, vid: np.ndarray, rid: np.ndarray, table: np.ndarray, templates: pd.Series
) -> np.ndarray:
    """Fill the template of each ``feature`` (sorted) with the texts ``table[vid]``, ``table[rid]``."""
    out = np.empty(feature.size, dtype=object)
    starts = np.flatnonzero(np.r_[True, feature[1:] != feature[:-1]])  # one format string per run
    for a, b in zip(starts.tolist(), [*starts[1:].tolist(), feature.size], strict=True):
        fmt = template_format(templates.iat[int(feature[a])])
        out[a:b] = list(map(fmt.format, table[vid[a:b]], table[rid[a:b]]))
    return out


def select_reasons(
    log_odds: np.ndarray,
    eligible: np.ndarray,
    actionable: np.ndarray,
    top_n: int,
    *,
    protective: bool,
    min_log_odds: float = MIN_REASON_LOG_ODDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``top_n`` features per row: actionable ones first, then by size.

    Parameters
    ----------
    log_odds : ndarray (n_rows, n_features)
        Contributions in calibrated log-odds.
    eligible : ndarray of bool (n_features,)
        Features that may be a reason (not background).
    actionable : ndarray of bool (n_features,)
    top_n : int
    protective : bool
        Pick risk-lowering (negative) contributions instead of risk-raising ones.
    min_log_odds : float, default=MIN_REASON_LOG_ODDS
        Contributions smaller than this (in absolute calibrated log-odds) are
        not reasons: staff would read "+0.0" as noise.

    Returns
    -------
    rows, cols : ndarray
        Positions of the chosen (row, feature) pairs, in rank order per row.

    Examples
    --------
    >>> lo = np.array([[0.3, 0.1, -0.2], [0.0, 0.5, 0.4]])
    >>> select_reasons(lo, np.ones(3, bool), np.array([False, True, True]), 2, protective=False)
    (array([0, 0, 1, 1]), array([1, 0, 1, 2]))
    """
    log_odds = np.asarray(log_odds, dtype=np.float64)
    signed = -log_odds if protective else log_odds
    ok = signed > min_log_odds
    ok &= eligible[None, :]
    n_rows, n_features = ok.shape
    steps = min(int(top_n), n_features)
    # One sort key per candidate: the bits of a positive double, read as an unsigned
    # integer, order like the double; the top bit puts actionable features first;
    # 0 is no candidate. Then pick the largest key top_n times: argmax takes the
    # first of equal keys, as a stable sort would, and is cheaper than sorting every
    # row when top_n is small.
    first = np.where(np.asarray(actionable, dtype=bool), np.uint64(1 << 63), np.uint64(0))
    key = np.ascontiguousarray(signed).view(np.uint64) | first[None, :]
    key *= ok
    flat = key.reshape(-1)
    order = np.zeros((n_rows, steps), dtype=np.intp)
    chosen = np.zeros((n_rows, steps), dtype=bool)
    start = np.arange(n_rows) * n_features
    for step in range(steps):
        pick = key.argmax(axis=1)
        at = start + pick
        found = flat[at] > 0
        if not found.any():
            break
        flat[at] = 0
        order[:, step] = pick
        chosen[:, step] = found
    rows = np.broadcast_to(np.arange(n_rows)[:, None], order.shape)
    return rows[chosen], order[chosen]
