"""Reasons and their sentences, vectorised over students.

Codes live in ``_codes``, printed values in ``_formatting``, the rules for
what is narrated in ``_narration``; this module picks the reasons and writes
their sentences.

A line is narrated only when it cannot contradict the page it is printed on
(:func:`~dropoutrisk.explain._narration.narration_plan`): a *risk reason* when its contribution raises the
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

import re

import numpy as np
import pandas as pd

from dropoutrisk.explain._codes import (
    _MISSING,
    _YES_NO,
    MIN_REASON_LOG_ODDS,
)
from dropoutrisk.explain._formatting import (
    _first_positions,
    _format,
    _format_groups,
    displayed_values,
    template_format,
)
from dropoutrisk.explain._narration import (
    MISSING,
    SILENT,
    STATEMENT,
    VALUE_ONLY,
    WITH_REFERENCE,
    NarrationPlan,
    ReasonInputs,
)

__all__ = [
    "reason_texts",
    "reference_phrase",
    "select_reasons",
]

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


def _category_suffix(category: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "", category.upper())[:12]


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
        ends = [*runs[1:].tolist(), at.size] if at.size else []  # no line with a value: no run
        for a, b in zip(runs.tolist(), ends, strict=True):
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
