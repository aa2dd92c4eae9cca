"""Reason codes, school-median references and sentences, vectorised over students.

Everything here works on whole arrays: one ``groupby`` for the references,
one ``lexsort`` for the ranking, and string building per *feature* (never per
student) with :mod:`numpy.strings`.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MIN_REFERENCE_COUNT",
    "DIMENSION_CODES",
    "DIMENSION_LABELS",
    "feature_table",
    "format_values",
    "reason_stems",
    "school_references",
    "select_reasons",
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
    counts = pd.Series(list(base.values())).value_counts()
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
    table = pd.DataFrame(
        {
            "dimension": [i.dimension for i in rows],
            "actionable": [bool(i.actionable) for i in rows],
            "kind": [i.kind for i in rows],
            "unit": [i.unit for i in rows],
            "risk_direction": [i.risk_direction for i in rows],
            "description_sv": [i.description_sv for i in rows],
            "description_en": [i.description_en for i in rows],
            "template_sv": [i.template_sv for i in rows],
            "template_en": [i.template_en for i in rows],
        },
        index=pd.Index(names, name="feature"),
    )
    table["stem"] = pd.Series(reason_stems(names, table["dimension"].tolist()))
    return table


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
    keys = [k for k in ("school_id", "as_of") if k in frame.columns]
    if keys:
        codes = frame.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    else:
        codes = np.zeros(len(frame), dtype=np.int64)
    # group by a Series on a RangeIndex: a bare array makes pandas probe it as a column label
    group = pd.Series(codes)
    out = {}
    numeric = [n for n, k in zip(names, kinds, strict=True) if k != "categorical"]
    if numeric:
        values = pd.DataFrame(frame[numeric].to_numpy(dtype=np.float64, na_value=np.nan),
                              columns=numeric)
        grouped = values.groupby(group, sort=True)
        med = grouped.median().where(grouped.count() >= min_count)
        binary = [n for n, k in zip(names, kinds, strict=True) if k == "binary"]
        if binary:
            share = values[binary].groupby(group, sort=True).mean()
            med.loc[:, binary] = (share > 0.5).astype(np.float64).where(med[binary].notna())
        taken = med.reindex(codes).to_numpy()
        for j, n in enumerate(numeric):
            out[n] = taken[:, j]
    for n, k in zip(names, kinds, strict=True):
        if k != "categorical":
            continue
        col = frame[n].astype(object)
        counts = pd.DataFrame({"g": codes, "v": col.to_numpy()}).dropna().value_counts(sort=True)
        top = counts.reset_index().drop_duplicates("g").set_index("g")["v"]
        size = counts.groupby(level="g").sum()
        top = top[size.reindex(top.index) >= min_count]
        out[n] = top.reindex(codes).to_numpy()
    return pd.DataFrame(out, index=frame.index, columns=names)


def _number(values: np.ndarray, decimals: int, lang: str) -> np.ndarray:
    """Round to ``decimals`` and drop a trailing zero decimal; decimal comma in Swedish."""
    scaled = np.floor(np.abs(values) * 10**decimals + 0.5).astype(np.int64)  # half up
    whole, frac = np.divmod(scaled, 10**decimals)
    text = whole.astype(str)
    if decimals:
        sep = "," if lang == "sv" else "."
        frac_text = np.strings.add(sep, frac.astype(str))
        text = np.where(frac > 0, np.strings.add(text, frac_text), text)
    minus = "\u2212" if lang == "sv" else "-"
    return np.where((values < 0) & (scaled > 0), np.strings.add(minus, text), text)


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
    if kind != "categorical" and arr.size > 32:
        # format each distinct value once (school medians repeat, values are rounded)
        uniq, inverse = np.unique(arr, return_inverse=True)
        if uniq.size < arr.size:
            return format_values(uniq, kind, unit, lang)[inverse.reshape(arr.shape)]
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
    elif unit in ("count", "days", "minutes", "weeks"):
        text = _number(filled, 0, lang)
    else:
        text = _number(filled, 1, lang)
    return np.where(missing, _MISSING[lang], text)


_PLACEHOLDER = re.compile(r"\{(value|reference)\}")


def fill_template(template: str, value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fill ``{value}`` and ``{reference}`` in one template for many rows.

    Examples
    --------
    >>> fill_template("Was {value} (median {reference}).", np.array(["62 %"]), np.array(["91 %"]))
    array(['Was 62 % (median 91 %).'], dtype='<U23')
    """
    pieces = _PLACEHOLDER.split(template)
    out = np.full(len(value), pieces[0].replace("{{", "{").replace("}}", "}"), dtype=object)
    out = out.astype(str)
    for i in range(1, len(pieces), 2):
        filler = value if pieces[i] == "value" else reference
        out = np.strings.add(out, np.asarray(filler, dtype=str))
        out = np.strings.add(out, pieces[i + 1].replace("{{", "{").replace("}}", "}"))
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
    signed = -log_odds if protective else log_odds
    ok = (signed > min_log_odds) & eligible[None, :]
    group = np.where(ok, np.where(actionable[None, :], 0, 1), 2)
    order = np.lexsort((-np.where(ok, signed, 0.0), group), axis=-1)[:, :top_n]
    chosen = np.take_along_axis(ok, order, axis=1)
    rows = np.broadcast_to(np.arange(log_odds.shape[0])[:, None], order.shape)
    return rows[chosen], order[chosen]
