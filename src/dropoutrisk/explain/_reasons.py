"""Reason codes, the rules for what is narrated, and sentences, vectorised over students.

A line is narrated only when it cannot contradict the page it is printed on
(:func:`narration_plan`): a *risk reason* when its contribution raises the
estimated risk **and** the student's value, as displayed, lies on the risky
side of the reference printed beside it; a *protective factor* when both
point the other way. A missing value is narrated as missing, only where the
catalogue says what its absence means and the absence raises risk. Lines
that fail are left out of the narrative; they stay in the contributions, the
waterfall and the JSON.

Everything here works on whole arrays, never per student: ``top_n`` passes
of ``argmax`` for the ranking, and strings built only for the reasons
returned, each distinct value once per formatting rule (kind and unit) and
each distinct sentence once.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DIMENSION_CODES",
    "DIMENSION_LABELS",
    "MODES",
    "NarrationPlan",
    "ReasonInputs",
    "displayed_values",
    "feature_table",
    "format_values",
    "narration_plan",
    "reason_stems",
    "reason_texts",
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
_MISSING = {"sv": "saknas", "en": "missing"}
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
    (no); missing values stay NaN.

    Examples
    --------
    >>> displayed_values([0.914, 0.911, 0.0449, float("nan")], "numeric", "fraction").tolist()
    [91.0, 91.0, 4.5, nan]
    >>> displayed_values([2.04, -0.04], "numeric", "points").tolist()
    [2.0, 0.0]
    >>> displayed_values([0.7, 0.2], "binary", "none").tolist()
    [1.0, 0.0]
    """
    arr = np.asarray(values, dtype=np.float64)
    missing = np.isnan(arr)
    filled = np.where(missing, 0.0, arr)
    if kind == "binary":
        shown = (filled > 0.5).astype(np.float64)
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


# How a line is narrated, per (student, feature).
SILENT, WITH_REFERENCE, VALUE_ONLY, MISSING, STATEMENT = range(5)
#: Names of the narration modes, by code.
MODES: tuple[str, ...] = ("silent", "with_reference", "value_only", "missing", "statement")


class NarrationPlan(NamedTuple):
    """What :func:`narration_plan` decided for every (student, feature)."""

    #: (n_rows, n_features) int8: one of the :data:`MODES` codes.
    mode: np.ndarray
    #: (n_rows, n_features) int8: the reference level a value line is judged against (and
    #: prints, in the ``with_reference`` mode), see ``LEVELS``; -1 for none.
    level: np.ndarray
    #: (n_rows, n_features) int32: lines of one group say the same thing (a survey not
    #: answered, as a missing score and as its flag): a student gets at most one. -1: none.
    group: np.ndarray
    #: (n_rows, n_features) int8: the first level with a reference (school, year group, all
    #: students), -1 where none has one.
    available: np.ndarray


def _sentence_groups(meta: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Group ids of each feature's missing sentence and statement (-1 unless shared)."""
    texts: dict[str, list[tuple[int, int]]] = {}
    for j, (missing, template, statement) in enumerate(zip(
            meta["missing_en"].tolist(), meta["template_en"].tolist(),
            meta["statement"].tolist(), strict=True)):
        if missing is not None:
            texts.setdefault(missing.strip(), []).append((j, 0))
        if statement:
            texts.setdefault(template.strip(), []).append((j, 1))
    groups = np.full((2, len(meta)), -1, dtype=np.int32)
    for g, members in enumerate(m for m in texts.values() if len(m) > 1):
        for j, which in members:
            groups[which, j] = g
    return groups[0], groups[1]


def narration_plan(
    log_odds: np.ndarray,
    inputs: ReasonInputs,
    meta: pd.DataFrame,
    *,
    min_log_odds: float = MIN_REASON_LOG_ODDS,
) -> NarrationPlan:
    """Decide, for every student and feature, whether and how a line may be narrated.

    The rules (``docs/explanations.md``):

    * A contribution smaller than ``min_log_odds`` is never a line, and a
      background feature never is one.
    * A risk reason (positive contribution) needs the student's displayed value
      on the risky side of the displayed reference: above it where a higher
      value raises risk, below it where a lower one does, and different from
      it for a feature with no direction. A protective factor (negative
      contribution) needs the other side. A value equal to its reference as
      displayed is never narrated.
    * The reference is the first level (school, year group, all students) with
      enough students. Where it points the other way from the contribution,
      the training median, which the contribution is measured against, is
      printed instead if it agrees; else the line is left out.
    * A missing value is narrated as missing (the catalogue's ``missing``
      sentence) only when the contribution raises risk; without such a
      sentence a missing value is never narrated.
    * A binary statement (a template without ``{value}``) is narrated only as
      a risk reason, for students where it is true and most students'
      value is not.

    Parameters
    ----------
    log_odds : ndarray (n_rows, n_features)
        Contributions in calibrated log-odds.
    inputs : ReasonInputs
    meta : pandas.DataFrame
        :func:`feature_table` of the model features.
    min_log_odds : float, default MIN_REASON_LOG_ODDS

    Returns
    -------
    NarrationPlan
    """
    from dropoutrisk.explain._references import ALL, TRAINING

    n, f = log_odds.shape
    mode = np.zeros((n, f), dtype=np.int8)
    level = np.full((n, f), -1, dtype=np.int8)
    group = np.full((n, f), -1, dtype=np.int32)
    missing_group, statement_group = _sentence_groups(meta)
    refs = inputs.referenced
    kinds, units = meta["kind"].tolist(), meta["unit"].tolist()
    eligible = (meta["dimension"] != "background").to_numpy()
    risk = (log_odds > min_log_odds) & eligible[None, :]
    protective = (log_odds < -min_log_odds) & eligible[None, :]
    # the first level with a reference (school, year group, all), for every row and feature
    has = ~np.isnan(refs.values[:ALL + 1])  # (levels, n, f); categories fixed below
    for j, column in refs.objects.items():
        has[:, :, j] = ~pd.isna(column[:ALL + 1])
    # elementwise over the three levels: cheaper than an argmax along the first axis
    first = np.where(has[0], 0, np.where(has[1], 1, np.where(has[2], 2, -1))).astype(np.int8)
    # what is shown of the value and of the two candidate references, as numbers
    shown = np.full((n, f), np.nan)
    at_first = np.full((n, f), np.nan)
    at_training = np.full((1, f), np.nan)  # one training median per feature
    v = refs.values
    raw_first = np.where(has[0], v[0], np.where(has[1], v[1], v[2]))
    rule_of: dict[tuple[str, str], list[int]] = {}
    for j, (kind, unit) in enumerate(zip(kinds, units, strict=True)):
        if kind != "categorical":
            rule_of.setdefault((kind, unit), []).append(j)
    training = refs.values[TRAINING, 0] if n else np.full(f, np.nan)  # one value per feature
    for (kind, unit), js in rule_of.items():
        shown[:, js] = displayed_values(inputs.values[:, js], kind, unit)
        at_first[:, js] = displayed_values(raw_first[:, js], kind, unit)
        at_training[0, js] = displayed_values(training[js], kind, unit)
    direction = np.array([{"higher": 1.0, "lower": -1.0, "none": 0.0}[d]
                          for d in meta["risk_direction"].tolist()])
    none = direction == 0
    good = {}
    with np.errstate(invalid="ignore"):
        for name, ref in (("first", at_first), ("training", at_training)):
            # +1 on the risky side of the reference, -1 on the other, 0 equal (NaN: none)
            side = np.sign(shown - ref) * direction[None, :]
            raising, lowering = side > 0, side < 0
            if none.any():  # no direction: the value only has to differ
                either = np.abs(shown[:, none] - ref[:, none]) > 0
                raising[:, none] = either
                lowering[:, none] = either
            good[name] = (raising, lowering)
    missing = np.isnan(shown)
    for j, column in refs.objects.items():  # categories: the value only has to differ
        value = inputs.objects[j]
        absent = pd.isna(value)
        missing[:, j] = absent
        cand_first = column[np.maximum(first[:, j], 0), np.arange(n)]
        cand_first[first[:, j] < 0] = None
        pair = np.stack([cand_first, column[TRAINING]])
        differs = ~pd.isna(pair) & (pair != np.where(absent, None, value)[None, :])
        for name, d in (("first", differs[0]), ("training", differs[1])):
            good[name][0][:, j] = d
            good[name][1][:, j] = d
    picked = np.full((n, f), -1, dtype=np.int8)
    for side, k in ((risk, 0), (protective, 1)):
        choice = np.where(good["first"][k], first, np.where(good["training"][k], TRAINING, -1))
        picked = np.where(side, choice, picked).astype(np.int8)
    present = ~missing
    statement = meta["statement"].to_numpy(dtype=bool)
    with_reference = np.array(["{reference}" in t for t in meta["template_en"].tolist()])
    has_missing = meta["missing_en"].notna().to_numpy()
    # value lines
    narrated = present & (picked >= 0) & ~statement[None, :]
    mode[narrated] = np.broadcast_to(np.where(with_reference, WITH_REFERENCE, VALUE_ONLY),
                                     (n, f))[narrated]
    level[narrated] = picked[narrated]
    # statements: true for the student, and not for most students (or no reference at all)
    no_ref = ~has.any(axis=0) & np.isnan(refs.values[TRAINING])
    stated = (statement[None, :] & risk & present & (shown == 1.0)
              & ((picked >= 0) | no_ref))
    mode[stated] = STATEMENT
    group[stated] = np.broadcast_to(statement_group, (n, f))[stated]
    # missing values, narrated as missing where their absence raises risk
    said = missing & risk & has_missing[None, :] & ~statement[None, :]
    mode[said] = MISSING
    group[said] = np.broadcast_to(missing_group, (n, f))[said]
    return NarrationPlan(mode, level, group, first)


#: The reference as printed: (numbers, shares) for each level, in ``LEVELS`` order.
_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sv": (
        ("skolans median {x}", "median för alla elever i årskurs {g}: {x}",
         "median för alla elever: {x}", "median bland eleverna som modellen tränades på: {x}"),
        ("de flesta på skolan: {x}", "de flesta elever i årskurs {g}: {x}",
         "de flesta elever: {x}", "de flesta av eleverna som modellen tränades på: {x}"),
    ),
    "en": (
        ("school median {x}", "median of all students in year {g}: {x}",
         "median of all students: {x}", "median of the students the model was trained on: {x}"),
        ("most students at the school: {x}", "most students in year {g}: {x}",
         "most students: {x}", "most of the students the model was trained on: {x}"),
    ),
}


def reference_phrase(level: int, reference_text: str, kind: str, lang: str,
                     year: float = float("nan")) -> str:
    """How a sentence names its reference ("school median 93 %", "most students: no").

    Examples
    --------
    >>> reference_phrase(0, "93 %", "numeric", "sv")
    'skolans median 93 %'
    >>> reference_phrase(1, "93%", "numeric", "en", year=1.0)
    'median of all students in year 1: 93%'
    >>> reference_phrase(3, "no", "binary", "en")
    'most of the students the model was trained on: no'
    """
    shares = kind in ("binary", "categorical")
    year_text = "" if year != year else str(int(year))
    return _PHRASES[lang][shares][level].format(x=reference_text, g=year_text)


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


def _category_suffix(category: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "", category.upper())[:12]


class ReasonInputs(NamedTuple):
    """The explained rows' model inputs and references, as the reason tables read them."""

    #: (n_rows, n_features) float; NaN for categorical features.
    values: np.ndarray
    #: feature -> (n_rows,) values as objects, for categorical and non-float columns.
    objects: dict[int, np.ndarray]
    #: the references of the rows at every level.
    referenced: Any


def reason_inputs(X: pd.DataFrame, kinds: list[str], referenced: Any) -> ReasonInputs:
    """Collect the model inputs ``X`` and their references (a ``Referenced``).

    The reason tables show the values as ``X.to_numpy(dtype=object)`` gives
    them: Python floats for float64 columns (taken from ``values``), the
    column's own objects otherwise.
    """
    numeric = [j for j, k in enumerate(kinds) if k != "categorical"]
    values = np.full(X.shape, np.nan)
    if numeric:
        values[:, numeric] = X.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    objects = {j: X.iloc[:, j].to_numpy(dtype=object)
               for j, (k, dtype) in enumerate(zip(kinds, X.dtypes, strict=True))
               if k == "categorical" or dtype != np.float64}
    return ReasonInputs(values, objects, referenced)


def reason_texts(
    rows: np.ndarray, cols: np.ndarray, inputs: ReasonInputs, plan: NarrationPlan,
    meta: pd.DataFrame, lang: str,
) -> dict[str, np.ndarray]:
    """Values, references, codes, formatted values and sentences (both languages) of chosen lines.

    Parameters
    ----------
    rows, cols : ndarray of int (n,)
        Explained row and feature (row of ``meta``) of each line.
    inputs : ReasonInputs
    plan : NarrationPlan
        From :func:`narration_plan`; every chosen line must be narrated.
    meta : pandas.DataFrame
        :func:`feature_table` of the model features.
    lang : {"sv", "en"}
        Language of ``value_text`` and ``reference_text``.

    Returns
    -------
    dict of object ndarray (n,)
        ``value`` (the student's value), ``reference`` and ``reference_level``
        (the reference a value line was judged against, and its level name;
        None for missing values and statements), ``code``, ``value_text``,
        ``reference_text`` (None when the sentence prints no reference), both of
        them also per language (``value_text_sv``, ...), ``sentence_sv`` and
        ``sentence_en`` (Python ``str``). Each distinct value is formatted once per formatting rule, and
        each distinct sentence filled once.
    """
    from dropoutrisk.explain._references import LEVELS

    n = cols.size
    mode = plan.mode[rows, cols]
    level = plan.level[rows, cols]
    if (mode == SILENT).any():
        raise ValueError("reason_texts was given lines that the narration plan leaves out.")
    value = inputs.values[rows, cols]
    value_obj = value.astype(object)
    for j, column in inputs.objects.items():
        at = np.flatnonzero(cols == j)
        value_obj[at] = column[rows[at]]
    refs = inputs.referenced
    judged = level >= 0  # value lines: the reference they were judged against
    printed = mode == WITH_REFERENCE
    lv = np.maximum(level, 0)
    reference = refs.values[lv, rows, cols]
    reference_obj = np.where(judged, reference, None).astype(object)
    for j, column in refs.objects.items():
        at = np.flatnonzero((cols == j) & judged)
        reference_obj[at] = column[lv[at], rows[at]]
    level_names = np.array([*LEVELS, None], dtype=object)
    out: dict[str, np.ndarray] = {
        "value": value_obj,
        "reference": reference_obj,
        "reference_level": level_names[np.where(judged, level, len(LEVELS))],
    }
    langs = ("sv", "en")
    kinds, units = meta["kind"].tolist(), meta["unit"].tolist()
    rule_of: dict[tuple[str, str], int] = {}
    rule = np.array([rule_of.setdefault((k, u), len(rule_of))
                     for k, u in zip(kinds, units, strict=True)], dtype=np.int64)[cols]
    # Every value and printed reference gets the id of its text: values that print alike
    # share one (the grouping does not depend on the language), and each text is built once.
    value_id = np.zeros(n, dtype=np.int64)
    reference_id = np.full(n, -1, dtype=np.int64)
    tables: dict[str, list[np.ndarray]] = {lg: [] for lg in langs}
    offset = 0
    for r, (kind, unit) in enumerate(rule_of):
        at = np.flatnonzero(rule == r)
        if at.size == 0:
            continue
        ref_at = at[printed[at]]
        if kind == "categorical":
            both = np.concatenate([value_obj[at], reference_obj[ref_at]])
        else:
            both = np.concatenate([value[at], reference[ref_at]])
        first, ids = _format_groups(both, kind, unit)
        for lg in langs:
            tables[lg].append(_format(both[first], kind, unit, lg).astype(object))
        value_id[at] = ids[:at.size] + offset
        reference_id[ref_at] = ids[at.size:] + offset
        offset += first.size
    value_text, reference_text = {}, {}
    for lg in langs:
        table = np.concatenate(tables[lg]) if tables[lg] else np.empty(0, dtype=object)
        value_text[lg] = table[value_id] if n else np.empty(0, dtype=object)
        value_text[lg][mode == MISSING] = _MISSING[lg]
        value_text[lg][mode == STATEMENT] = _YES_NO[lg][0]
        reference_text[lg] = np.where(printed, table[np.maximum(reference_id, 0)] if n else
                                      np.empty(0, dtype=object), None)
        out[f"value_text_{lg}"] = value_text[lg]
        out[f"reference_text_{lg}"] = reference_text[lg]
    out["value_text"] = value_text[lang]
    out["reference_text"] = reference_text[lang]

    # the phrase ("school median 93 %") of each distinct (level, kind, reference text, year)
    year = refs.year[rows]
    year_code = np.where(np.isnan(year), -1, year).astype(np.int64) + 1
    shares = np.array([k in ("binary", "categorical") for k in kinds], dtype=bool)[cols]
    width = np.int64(max(offset, 1))
    phrase_key = np.where(
        printed,
        ((np.maximum(level, 0).astype(np.int64) * 2 + shares) * width
         + np.maximum(reference_id, 0)) * np.int64(year_code.max() + 1 if n else 1)
        + np.where(level == 1, year_code, 0),
        -1)
    phrase_id, phrase_keys = pd.factorize(phrase_key)
    first_line = _first_positions(phrase_id, len(phrase_keys))
    said, stated = mode == MISSING, mode == STATEMENT
    lines = np.flatnonzero(~said & ~stated)
    # one format call per distinct (feature, value text, phrase), the same in both languages
    line_key = ((cols[lines].astype(np.int64) * width + value_id[lines])
                * np.int64(max(len(phrase_keys), 1)) + phrase_id[lines])
    line_code, line_keys = pd.factorize(line_key)
    at = lines[_first_positions(line_code, len(line_keys))]
    order = np.argsort(cols[at], kind="stable")  # runs of one feature: one format string each
    at = at[order]
    runs = np.flatnonzero(np.r_[True, cols[at][1:] != cols[at][:-1]]) if at.size else at
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = np.arange(order.size)
    for lg in langs:
        built = np.array([
            reference_phrase(int(level[k]), reference_text[lg][k], kinds[int(cols[k])], lg,
                             float(year[k])) if printed[k] else ""
            for k in first_line.tolist()], dtype=object)
        phrase = built[phrase_id] if n else np.empty(0, dtype=object)
        formats = [template_format(t) for t in meta[f"template_{lg}"].tolist()]
        sentences = np.empty(n, dtype=object)
        sentences[said] = meta[f"missing_{lg}"].to_numpy(dtype=object)[cols[said]]
        for j in np.unique(cols[stated]).tolist():  # statements have no placeholder
            sentences[stated & (cols == j)] = formats[j].format()
        filled = np.empty(at.size, dtype=object)
        values, phrases = value_text[lg][at].tolist(), phrase[at].tolist()
        for a, b in zip(runs.tolist(), [*runs[1:].tolist(), at.size], strict=True):
            filled[a:b] = list(map(formats[int(cols[at[a]])].format, values[a:b], phrases[a:b]))
        sentences[lines] = filled[inverse][line_code] if lines.size else sentences[lines]
        out[f"sentence_{lg}"] = sentences

    # codes: the stem and what the line says (LOW/HIGH against its reference)
    suffixes = ["MISSING", "YES", "NO", "HIGH", "LOW"]
    suffix = np.zeros(n, dtype=np.int64)
    suffix[stated] = 1
    values_line = (mode == WITH_REFERENCE) | (mode == VALUE_ONLY)
    for r, (kind, unit) in enumerate(rule_of):
        at_r = np.flatnonzero((rule == r) & values_line)
        if at_r.size == 0:
            continue
        if kind == "categorical":
            labels, ids = np.unique(np.array([_category_suffix(str(v))
                                              for v in value_obj[at_r].tolist()]),
                                    return_inverse=True)
            suffix[at_r] = ids.reshape(-1) + len(suffixes)
            suffixes.extend(labels.tolist())
        elif kind == "binary":
            suffix[at_r] = np.where(value[at_r] > 0.5, 1, 2)
        else:
            high = (displayed_values(value[at_r], kind, unit)
                    > displayed_values(reference[at_r], kind, unit))
            suffix[at_r] = np.where(high, 3, 4)
    code_key, code_of = np.unique(cols.astype(np.int64) * len(suffixes) + suffix,
                                  return_inverse=True)
    stems = meta["stem"].tolist()
    codes = np.array([f"{stems[q // len(suffixes)]}-{suffixes[q % len(suffixes)]}"
                      for q in code_key.tolist()], dtype=object)[code_of.reshape(-1)]
    out["code"] = codes
    return out


def select_reasons(
    log_odds: np.ndarray,
    eligible: np.ndarray,
    actionable: np.ndarray,
    top_n: int,
    *,
    protective: bool,
    min_log_odds: float = MIN_REASON_LOG_ODDS,
    allowed: np.ndarray | None = None,
    groups: np.ndarray | None = None,
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
    allowed : ndarray of bool (n_rows, n_features), optional
        Lines that may be narrated (:func:`narration_plan`); default all.
    groups : ndarray of int (n_rows, n_features), optional
        Lines with the same group id (>= 0) in a row say the same thing: only
        the first chosen is kept.

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
    if allowed is not None:
        ok &= allowed
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
    grouped = groups is not None and (np.asarray(groups) >= 0).any()
    for step in range(steps):
        pick = key.argmax(axis=1)
        at = start + pick
        found = flat[at] > 0
        if not found.any():
            break
        flat[at] = 0
        if grouped:  # the other lines that say the same are no longer candidates
            g = groups[np.arange(n_rows), pick]
            same = (groups == g[:, None]) & (g >= 0)[:, None] & found[:, None]
            key[same] = 0
        order[:, step] = pick
        chosen[:, step] = found
    rows = np.broadcast_to(np.arange(n_rows)[:, None], order.shape)
    return rows[chosen], order[chosen]
