"""Reason codes and the feature table: dimension codes and labels, code stems, the catalogue's fields per feature."""

from __future__ import annotations

import functools
import zlib
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DIMENSION_CODES",
    "DIMENSION_LABELS",
    "MIN_REASON_LOG_ODDS",
    "feature_table",
    "reason_stems",
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
_MISSING = {"sv": "saknas", "en": "missing"}
#: Smallest contribution (calibrated log-odds, about a 1 % change in the odds) shown as a reason.
MIN_REASON_LOG_ODDS = 0.01
_POINTS = {"sv": " procentenheter", "en": " percentage points"}
#: A percentile (0-1, unit ``percentile``) is printed as its band, lowest first:
#: at most 0.10, at most 0.25, below 0.5, below 0.75, below 0.9, from 0.9.
_PERCENTILE_BANDS = {
    "sv": ("lägsta 10 %", "lägsta 25 %", "nedre halvan", "övre halvan", "högsta 25 %",
           "högsta 10 %"),
    "en": ("lowest 10%", "lowest 25%", "lower half", "upper half", "highest 25%",
           "highest 10%"),
}
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
    """Catalogue metadata of the model features, one row per feature, in model order.

    The table of a (catalogue, names) pair is built once and shared: treat it as read-only.
    """
    try:
        return _feature_table_cached(catalogue, tuple(names))
    except TypeError:  # an unhashable, duck-typed catalogue
        return _feature_table(catalogue, list(names))


@functools.lru_cache(maxsize=32)
def _feature_table_cached(catalogue: Any, names: tuple[str, ...]) -> pd.DataFrame:
    return _feature_table(catalogue, list(names))


def _feature_table(catalogue: Any, names: list[str]) -> pd.DataFrame:
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
            "missing_sv": [i.missing_sv for i in rows],
            "missing_en": [i.missing_en for i in rows],
            "statement": [i.kind == "binary" and "{value}" not in i.template_en for i in rows],
            "stem": [stems[n] for n in names],
        },
        index=pd.Index(names, name="feature"),
    )
