"""What is narrated: the rule that a line never contradicts the page it is printed on (see ``_reasons``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dropoutrisk.explain._codes import (
    MIN_REASON_LOG_ODDS,
)
from dropoutrisk.explain._formatting import (
    displayed_values,
)

__all__ = [
    "MODES",
    "NarrationPlan",
    "ReasonInputs",
    "narration_plan",
    "reason_inputs",
]

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
