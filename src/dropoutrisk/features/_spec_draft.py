"""A draft dataset spec for a wide table: every column listed with a guess of what it is.

Writing a spec by hand means naming every column of the table before anything
runs. :func:`draft_spec` writes that list: each column with its guessed kind
(numeric, binary, categorical with its categories), dimension ``background`` and
``actionable = false`` until a person says otherwise, id-like, date-like and
constant columns dropped with a note, and likely leaks (a column that almost
equals the label) dropped and marked for review. The draft trains as it is;
comments say what to check.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import DatasetSpecError

__all__ = ["draft_spec"]

#: Two-valued columns read as binary (the words the wide-table reader takes as yes/no).
_YES_NO = {"yes", "no", "true", "false", "1", "0", "y", "n", "t", "f", "ja", "nej"}
#: A categorical column with more distinct values than this is left to the person.
MAX_CATEGORIES = 30
#: A column whose label agreement (or AUC against the label) reaches this is a likely leak.
LEAK_AGREEMENT = 0.95


def _toml_string(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def _guess(s: pd.Series, n: int) -> tuple[str, dict[str, Any], str]:
    """(kind or 'drop', extra fields, note) for one column."""
    values = s.dropna()
    distinct = values.astype(str).str.strip().unique()
    if len(distinct) <= 1:
        return "drop", {}, "constant: one value in every row"
    num = pd.to_numeric(values, errors="coerce")
    numeric = num.notna().all()
    words = {str(v).strip().lower() for v in distinct}
    if len(distinct) == 2 and words <= _YES_NO:
        return "binary", {}, f"two values: {', '.join(sorted(map(str, distinct)))}"
    if numeric:
        if (num == np.floor(num)).all() and values.astype(str).str.strip().nunique() == n \
                and n > 20:
            return "drop", {}, "id-like: a different whole number in every row"
        return "numeric", {}, f"numbers from {num.min():g} to {num.max():g}"
    dates = pd.to_datetime(values.astype(str), errors="coerce", format="mixed")
    if dates.notna().mean() > 0.9:
        return "drop", {}, "dates: turn them into numbers (e.g. days before the start) first"
    if len(distinct) == n and n > 20:
        return "drop", {}, "id-like: a different text in every row"
    if len(distinct) > MAX_CATEGORIES:
        return "drop", {}, (f"{len(distinct)} different texts: group them into at most "
                            f"{MAX_CATEGORIES} categories first")
    cats = sorted(str(v).strip() for v in distinct)
    return "categorical", {"categories": cats}, f"{len(cats)} categories"


def _leak_score(s: pd.Series, y: pd.Series) -> float:
    """How well the column alone separates the label (AUC folded to >= 0.5, or agreement)."""
    keep = s.notna() & y.notna()
    if keep.sum() < 10 or y[keep].nunique() < 2:
        return 0.0
    x, t = s[keep], y[keep].astype(int)
    num = pd.to_numeric(x, errors="coerce")
    if num.notna().all():
        from sklearn.metrics import roc_auc_score

        auc = roc_auc_score(t, num)
        return float(max(auc, 1 - auc))
    # a category that predicts the label: the share of rows the majority label per value explains
    table = pd.crosstab(x.astype(str), t)
    return float(table.max(axis=1).sum() / table.to_numpy().sum())


def draft_spec(
    frame: pd.DataFrame,
    label: str,
    positive: list[str] | tuple[str, ...],
    *,
    id_column: str | None = None,
    name: str = "my_table",
    read: dict[str, str] | None = None,
) -> str:
    """Return a draft dataset spec (TOML text) for a wide table.

    Parameters
    ----------
    frame : DataFrame
        The wide table, one row per student.
    label : str
        The label column.
    positive : sequence of str
        The label values that mean dropout.
    id_column : str, optional
        The student id column.
    name : str, default "my_table"
        The spec's name.
    read : dict, optional
        CSV read options (``sep``, ``decimal``, ``encoding``) to record.

    Returns
    -------
    str
        TOML that :func:`~dropoutrisk.features.load_dataset_spec` reads, and that trains
        as it is.

    Raises
    ------
    DatasetSpecError
        The label or id column is not in the table, or no value of the label is positive.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"Age at enrollment": [18, 19, 25, 30] * 10,
    ...                       "Scholarship holder": [0, 1, 0, 1] * 10,
    ...                       "Target": ["Dropout", "Graduate", "Graduate", "Enrolled"] * 10})
    >>> text = draft_spec(table, "Target", ["Dropout"])
    >>> from dropoutrisk.features._wide import DatasetSpec
    >>> import tomllib
    >>> spec = DatasetSpec.model_validate(tomllib.loads(text))
    >>> spec.features["Scholarship holder"].kind, spec.label.positive
    ('binary', ('Dropout',))
    """
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    for role, col in (("label", label), ("id", id_column)):
        if col is not None and col not in columns:
            raise DatasetSpecError(
                table=name, column=col, problem=f"the {role} column is not in the table",
                allowed=", ".join(columns[:40]), fix="Check the spelling (headers are matched "
                "exactly; quote names with spaces in the shell)")
    raw = frame[label]
    pos = {str(p) for p in positive}
    y = raw.astype(str).str.strip().isin(pos).astype(float).where(raw.notna())
    if not (y == 1).any():
        seen = ", ".join(sorted(map(str, raw.dropna().unique()))[:20])
        raise DatasetSpecError(
            table=name, column=label, problem=f"no row has a positive label {sorted(pos)}",
            allowed=f"values of the column: {seen}", fix="Pass --positive with one of them")
    n = len(frame)
    lines = [
        "# Draft dataset spec written by 'dropoutrisk spec init'. It trains as it is; before",
        "# you rely on it, check each feature:",
        "#   - dimension: behavioural, academic, cognitive, psychological, socio_emotional, or",
        "#     background (audit only: background features stay out of the model by default);",
        "#     every column starts as background, so move the ones the model may use;",
        "#   - actionable: true where school staff can act on the value;",
        "#   - risk_direction: higher or lower where you know which way raises risk (the model",
        "#     then keeps to it); kind and categories as guessed from the data.",
        "# Columns under drop are not used; the notes say why. LIKELY LEAK marks a column",
        "# that almost equals the label: keep it out unless it is known before the outcome.",
        f"name = {_toml_string(name)}",
        "# Every feature starts as background, so the draft trains only with background features",
        "# on, and shows no reasons (background is never a reason); set this to false (or",
        "# remove it) once the others have their dimensions.",
        "include_background = true",
        f"description = {_toml_string(f'Drafted from a table of {n} rows and {len(columns)} columns')}",
    ]
    if id_column:
        lines.append(f"id_column = {_toml_string(id_column)}")
    drops: list[tuple[str, str]] = []
    features: list[str] = []
    for col in columns:
        if col in (label, id_column):
            continue
        kind, extra, note = _guess(frame[col], n)
        leak = _leak_score(frame[col], y) if kind != "drop" else 0.0
        if leak >= LEAK_AGREEMENT:
            drops.append((col, f"LIKELY LEAK: alone it separates the label "
                               f"({leak:.2f}); {note}"))
            continue
        if kind == "drop":
            drops.append((col, note))
            continue
        fields = ['dimension = "background"', "actionable = false", f'kind = "{kind}"']
        if "categories" in extra:
            fields.append("categories = [" + ", ".join(_toml_string(c)
                                                       for c in extra["categories"]) + "]")
        features.append(f"# {note}\n{_toml_string(col)} = {{ {', '.join(fields)} }}")
    if not features:
        raise DatasetSpecError(table=name, problem="no column could be a feature",
                               fix="Check the table: every column is an id, a date, constant "
                                   "or the label")
    lines.append("drop = [" + ", ".join(_toml_string(c) for c, _ in drops) + "]")
    for col, note in drops:
        lines.append(f"#   drop {_toml_string(col)}: {note}")
    if read:
        lines += ["", "[read]"] + [f"{k} = {_toml_string(v)}" for k, v in read.items()]
    lines += ["", "[label]", f"column = {_toml_string(label)}",
              "positive = [" + ", ".join(_toml_string(p) for p in positive) + "]",
              "", "[features]", *features]
    return "\n".join(lines) + "\n"
