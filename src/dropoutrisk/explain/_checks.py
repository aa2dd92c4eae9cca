"""Check the narrated lines against what they print: the auditor's view of a narrative.

:func:`check_lines` reads every narrated reason and protective factor as a
person would, from its printed value and printed reference (the texts, not
the numbers behind them), and says whether the line contradicts the
indicator's risk direction or says nothing. It shares no code with the rules
that chose the lines (:func:`dropoutrisk.explain._narration.narration_plan`),
so it can catch them out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["check_lines", "parse_shown"]

_WORDS = {"ja": 1.0, "yes": 1.0, "nej": 0.0, "no": 0.0}
_NUMBER = re.compile(r"^[+\u2212-]?\d+(?:[.,]\d+)?")
_BAD_WORDS = ("unknown", "okänd", "NOREF", "nan", "None")


def parse_shown(text: Any) -> float:
    """The number a printed value shows ("62 %" -> 62, "−3,1 procentenheter" -> -3.1).

    Yes/no read as 1/0. Anything else (a category, a word) is NaN.

    Examples
    --------
    >>> [parse_shown(t) for t in ("62 %", "\u22123,1 procentenheter", "+12 percentage points", "ja", "x")]
    [62.0, -3.1, 12.0, 1.0, nan]
    """
    if text is None or (isinstance(text, float) and text != text):
        return float("nan")
    s = str(text).strip()
    if s.lower() in _WORDS:
        return _WORDS[s.lower()]
    m = _NUMBER.match(s)
    if not m:
        return float("nan")
    return float(m.group(0).replace("\u2212", "-").replace(",", ".").lstrip("+"))


def check_lines(explanations: Any) -> pd.DataFrame:
    """Every narrated line, with whether it contradicts its risk direction or says nothing.

    A risk reason contradicts when the value it prints is not on the risky
    side of the reference it prints (not above it where a higher value raises
    risk, not below it where a lower one does); a protective factor when it is
    not on the other side. A line is uninformative when its value prints the
    same as its reference, when it prints an unknown or missing placeholder,
    when it repeats an earlier line of the same student, or when it narrates a
    missing value whose indicator has no sentence for one.

    Parameters
    ----------
    explanations : Explanations

    Returns
    -------
    pandas.DataFrame
        One row per narrated line: ``student_id``, ``as_of``, ``table``
        (``reasons`` or ``protective``), ``rank``, ``feature``,
        ``risk_direction``, ``sentence``, ``value_shown``,
        ``reference_shown``, ``contradicts``, ``uninformative``.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features()
    >>> from dropoutrisk.explain import explain_students
    >>> from dropoutrisk.models import RiskModel
    >>> checks = check_lines(explain_students(RiskModel(n_estimators=20).fit(X, y), X, lang="en"))
    >>> int(checks["contradicts"].sum()), int(checks["uninformative"].sum())
    (0, 0)
    """
    meta = explanations.features
    parts = []
    for name, table in (("reasons", explanations.reasons), ("protective", explanations.protective)):
        t = table.assign(table=name)
        parts.append(t)
    lines = pd.concat(parts, ignore_index=True)
    direction = meta["risk_direction"].reindex(lines["feature"]).to_numpy()
    missing_text = meta["missing_en"].reindex(lines["feature"]).to_numpy()
    value = np.array([parse_shown(v) for v in lines["value_text"]], dtype=np.float64)
    printed = lines["reference_text"].notna().to_numpy()
    reference = np.array([parse_shown(r) if p else np.nan
                          for r, p in zip(lines["reference_text"], printed, strict=True)])
    risk = (lines["table"] == "reasons").to_numpy()
    numeric = printed & ~np.isnan(value) & ~np.isnan(reference)
    with np.errstate(invalid="ignore"):
        risky_side = np.where(direction == "higher", value > reference,
                              np.where(direction == "lower", value < reference, True))
        safe_side = np.where(direction == "higher", value < reference,
                             np.where(direction == "lower", value > reference, True))
    wrong_way = numeric & np.where(risk, ~risky_side, ~safe_side)
    sign = lines["contribution_log_odds"].to_numpy()
    wrong_sign = np.where(risk, sign <= 0, sign >= 0)
    same = printed & (lines["value_text"].astype(str) == lines["reference_text"].astype(str)
                      ).to_numpy()
    text = lines["sentence"].astype(str) + " " + lines["code"].astype(str)
    placeholder = text.str.contains("|".join(map(re.escape, _BAD_WORDS)), regex=True).to_numpy()
    repeated = lines.duplicated(["student_id", "as_of", "sentence"]).to_numpy()
    value_missing = pd.isna(lines["value"]).to_numpy()
    unexplained_missing = value_missing & pd.isna(missing_text)
    out = pd.DataFrame({
        "student_id": lines["student_id"].to_numpy(),
        "as_of": lines["as_of"].to_numpy(),
        "table": lines["table"].to_numpy(),
        "rank": lines["rank"].to_numpy(),
        "feature": lines["feature"].to_numpy(),
        "risk_direction": direction,
        "sentence": lines["sentence"].to_numpy(),
        "value_shown": value,
        "reference_shown": reference,
        "contradicts": wrong_way | wrong_sign,
        "uninformative": same | placeholder | repeated | unexplained_missing,
    })
    return out
