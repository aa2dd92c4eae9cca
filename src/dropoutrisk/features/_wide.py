"""The wide-table path: one row per student plus a dataset spec (TOML).

A dataset spec maps an external table onto the catalogue (docs/architecture.md, "Data contract", part B).
Its layout::

    name = "uci-student-performance-por"
    id_column = "student"              # optional; row numbers are used without it
    audit_groups = ["sex", "address"]  # columns for the fairness audit
    drop = ["G1", "G2"]                # columns that leak the outcome

    [read]                             # options for read_wide_table (optional)
    sep = ";"

    [label]
    column = "G3"
    rule = "< 10"                      # or: positive = ["yes"]

    [features]
    sex = {dimension = "background", actionable = false, kind = "categorical"}

    [features.absences]
    dimension = "behavioural"
    actionable = true
    risk_direction = "higher"
    description_en = "School absences"

Every column of the table must be named in the spec (as the id, the label,
a feature, an audit group or a drop), so that a new column never slips into
a model unseen.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dropoutrisk.errors import DatasetSpecError
from dropoutrisk.features._catalogue import Catalogue, Dimension, Indicator, Unit

__all__ = [
    "DatasetSpec",
    "FeatureSpec",
    "LabelSpec",
    "WideFeatures",
    "build_wide_features",
    "load_dataset_spec",
    "read_wide_table",
]

_RULE = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}
_TRUE_WORDS = {"yes", "true", "1", "y", "t", "ja"}
_FALSE_WORDS = {"no", "false", "0", "n", "f", "nej"}

Scalar = str | int | float | bool


_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def safe_name(column: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """An internal feature name for a column header of any spelling.

    A header that already is a plain identifier is kept as it is; others are folded
    to ASCII, with every run of other characters as ``_`` (``"Mother's
    qualification"`` -> ``mother_s_qualification``), ``c_`` in front of a leading
    digit, and ``_2``, ``_3``, ... against names in ``taken``. People never read
    it: reasons and reports print the original header.

    Examples
    --------
    >>> safe_name("Mother's qualification"), safe_name("Daytime/evening attendance\t")
    ('mother_s_qualification', 'daytime_evening_attendance')
    >>> safe_name("2nd semester"), safe_name("Åk 1 betyg"), safe_name("x", {"x"})
    ('c_2nd_semester', 'ak_1_betyg', 'x_2')
    """
    text = str(column)
    if _SAFE.match(text) and text not in taken:
        return text
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9]+", "_", folded).strip("_").lower() or "column"
    if base[0].isdigit():
        base = "c_" + base
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelSpec(_Spec):
    """How the label is read: a column and either a rule or positive values.

    Examples
    --------
    >>> LabelSpec(column="G3", rule="< 10").rule
    '< 10'
    """

    column: str = Field(min_length=1)
    rule: str | None = None
    positive: tuple[Scalar, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> LabelSpec:
        if (self.rule is None) == (not self.positive):
            raise ValueError("label needs exactly one of 'rule' (e.g. \"< 10\") or 'positive'.")
        if self.rule is not None and not _RULE.match(self.rule):
            raise ValueError(
                f"label rule {self.rule!r} is not understood; write an operator "
                "(<, <=, >, >=, ==, !=) and a number, e.g. \"< 10\"."
            )
        return self


class FeatureSpec(_Spec):
    """One feature column of a wide table."""

    dimension: Dimension
    actionable: bool
    kind: Literal["numeric", "binary", "categorical"] = "numeric"
    description_en: str | None = None
    description_sv: str | None = None
    risk_direction: Literal["higher", "lower", "none"] = "none"
    unit: Unit = "none"
    categories: tuple[str, ...] = ()
    true_value: Scalar | None = None


class ReadOptions(_Spec):
    """Options for reading the table file (CSV only)."""

    sep: str = ","
    decimal: str = "."
    encoding: str = "utf-8"


class DatasetSpec(_Spec):
    """A dataset spec: how a wide table maps onto features, label and audit groups.

    Examples
    --------
    >>> spec = DatasetSpec.model_validate({
    ...     "name": "demo", "label": {"column": "passed", "positive": ["no"]},
    ...     "features": {"absences": {"dimension": "behavioural", "actionable": True}}})
    >>> spec.feature_columns
    ('absences',)
    """

    name: str = Field(min_length=1)
    description: str = ""
    id_column: str | None = None
    label: LabelSpec
    features: dict[str, FeatureSpec]
    audit_groups: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    read: ReadOptions = ReadOptions()

    @model_validator(mode="after")
    def _check(self) -> DatasetSpec:
        if not self.features:
            raise ValueError("the spec lists no [features].")
        feats = set(self.features)
        clashes = {
            "the label column": feats & {self.label.column},
            "the id column": feats & ({self.id_column} if self.id_column else set()),
            "drop": feats & set(self.drop),
        }
        for what, both in clashes.items():
            if both:
                raise ValueError(f"columns {sorted(both)} are features and also {what}.")
        if self.label.column in self.drop:
            raise ValueError(f"the label column {self.label.column!r} is also in drop.")
        return self

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Feature columns, in spec order."""
        return tuple(self.features)

    @property
    def internal_names(self) -> dict[str, str]:
        """Each feature column's name in the feature frame (see :func:`safe_name`).

        Examples
        --------
        >>> spec = DatasetSpec.model_validate({
        ...     "name": "demo", "label": {"column": "Target", "positive": ["Dropout"]},
        ...     "features": {"Age at enrollment": {"dimension": "background",
        ...                                        "actionable": False},
        ...                  "absences": {"dimension": "behavioural", "actionable": True}}})
        >>> spec.internal_names
        {'Age at enrollment': 'age_at_enrollment', 'absences': 'absences'}
        """
        taken = {c for c in self.features if _SAFE.match(c)}
        out: dict[str, str] = {}
        for column in self.features:
            if _SAFE.match(column):
                out[column] = column
            else:
                out[column] = safe_name(column, taken)
                taken.add(out[column])
        return out

    def catalogue(self) -> Catalogue:
        """Return the catalogue of the spec's features.

        Examples
        --------
        >>> spec = DatasetSpec.model_validate({
        ...     "name": "demo", "label": {"column": "y", "rule": "> 0"},
        ...     "features": {"sex": {"dimension": "background", "actionable": False,
        ...                          "kind": "categorical", "categories": ["F", "M"]}}})
        >>> spec.catalogue().model_features()
        []
        """
        return Catalogue(
            indicators=tuple(self._indicator(n, f) for n, f in self.features.items()),
            item_groups=(),
        )

    def _indicator(self, name: str, f: FeatureSpec, categories: tuple[str, ...] = ()) -> Indicator:
        header = name.strip()
        en = f.description_en or f.description_sv or header
        sv = f.description_sv or en
        return Indicator(
            name=self.internal_names[name],
            dimension=f.dimension,
            description_sv=sv,
            description_en=en,
            actionable=f.actionable,
            risk_direction=f.risk_direction,
            source_table=self.name,
            window="as recorded",
            kind=f.kind,
            unit=f.unit,
            categories=categories or f.categories,
            template_sv=f"{sv}: {{value}} ({{reference}}).",
            template_en=f"{en}: {{value}} ({{reference}}).",
        )


def load_dataset_spec(path: str | Path) -> DatasetSpec:
    """Read a dataset spec from a TOML file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DatasetSpec

    Raises
    ------
    DatasetSpecError
        When the file is missing, is not valid TOML, or breaks the spec layout.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "demo.toml"
    >>> _ = p.write_text('''
    ... name = "demo"
    ... [label]
    ... column = "G3"
    ... rule = "< 10"
    ... [features]
    ... absences = {dimension = "behavioural", actionable = true, risk_direction = "higher"}
    ... ''')
    >>> load_dataset_spec(p).label.rule
    '< 10'
    """
    path = Path(path)
    where = f"dataset spec {path.name}"
    if not path.is_file():
        raise DatasetSpecError(table=where, problem=f"the file {str(path)!r} does not exist",
                               fix="Check the path of the TOML file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DatasetSpecError(table=where, problem=f"the file is not valid TOML ({exc})",
                               fix="Correct the TOML syntax.") from exc
    try:
        return DatasetSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise DatasetSpecError(
            table=where,
            column=loc or None,
            problem=f"{first['msg']} ({exc.error_count()} problem(s) in all)",
            fix="See the spec layout in the dropoutrisk.features._wide docstring or the "
                "examples/ folder.",
        ) from exc


def read_wide_table(path: str | Path, spec: DatasetSpec) -> pd.DataFrame:
    """Read the wide table of ``spec`` from a CSV or Parquet file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a;G3\\n1;12\\n")
    >>> spec = DatasetSpec.model_validate({"name": "t", "read": {"sep": ";"},
    ...     "label": {"column": "G3", "rule": "< 10"},
    ...     "features": {"a": {"dimension": "academic", "actionable": True}}})
    >>> read_wide_table(p, spec).columns.tolist()
    ['a', 'G3']
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetSpecError(table=spec.name, problem=f"the table file {str(path)!r} does not exist",
                               fix="Pass the path of the data file.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path, sep=spec.read.sep, decimal=spec.read.decimal,
                       encoding=spec.read.encoding)


@dataclass(frozen=True)
class WideFeatures:
    """The result of :func:`build_wide_features`; unpacks as ``X, y, groups, catalogue``.

    Attributes
    ----------
    X : DataFrame
        Features in spec order (float64 or category), index ``student_id``.
    y : Series
        ``"label"``, float64 1/0 (NaN where the label value is missing).
    groups : DataFrame
        The audit group columns (category), same index.
    catalogue : Catalogue
        The spec's features as a catalogue (categorical ones with the categories found).
    """

    X: pd.DataFrame
    y: pd.Series
    groups: pd.DataFrame
    catalogue: Catalogue

    def __iter__(self) -> Iterator[Any]:
        return iter((self.X, self.y, self.groups, self.catalogue))


def _err(spec: DatasetSpec, column: str | None, problem: str, fix: str, **kw: Any) -> DatasetSpecError:
    return DatasetSpecError(table=spec.name, column=column, problem=problem, fix=fix, **kw)


def _named_columns(spec: DatasetSpec) -> list[str]:
    names = [*spec.features, spec.label.column, *spec.audit_groups, *spec.drop]
    return names + ([spec.id_column] if spec.id_column else [])


def _match_headers(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The frame with each header the spec names spelt as the spec spells it.

    Exports carry stray blanks and tabs around headers (``"Daytime/evening
    attendance\t"``); a spec entry matches a header equal to it once both are stripped.
    """
    cols = list(frame.columns)
    by_stripped: dict[str, list[str]] = {}
    for c in cols:
        by_stripped.setdefault(c.strip(), []).append(c)
    rename: dict[str, str] = {}
    for name in _named_columns(spec):
        if name in cols:
            continue
        found = by_stripped.get(name.strip(), [])
        if len(found) == 1 and found[0] not in rename:
            rename[found[0]] = name
    return frame.rename(columns=rename) if rename else frame


def _check_columns(frame: pd.DataFrame, spec: DatasetSpec, require_label: bool = True) -> None:
    cols = [str(c) for c in frame.columns]
    named: list[tuple[str, str]] = [(c, "feature") for c in spec.features]
    if require_label or spec.label.column in cols:
        named += [(spec.label.column, "label")]
    named += [(c, "audit group") for c in spec.audit_groups]
    named += [(c, "drop") for c in spec.drop]
    if spec.id_column:
        named.append((spec.id_column, "id"))
    missing = [(c, role) for c, role in named if c not in cols]
    if missing:
        col, role = missing[0]
        others = ", ".join(repr(c) for c, _ in missing[1:])
        raise _err(
            spec, col,
            f"the spec names this {role} column but the table has no such column"
            + (f" (also missing: {others})" if others else ""),
            f"The table has the columns {', '.join(cols)}; correct the spec or pass the right table.",
        )
    unnamed = [c for c in cols if c not in {n for n, _ in named}]
    if unnamed:
        raise _err(
            spec, unnamed[0],
            f"{len(unnamed)} table column(s) are not named in the spec: {', '.join(unnamed)}",
            "Add each to [features], to drop (if it leaks the outcome or is not wanted) or "
            "to audit_groups.",
        )


def _bad_rows(spec: DatasetSpec, column: str, mask: np.ndarray, values: pd.Series, problem: str,
              allowed: str, fix: str) -> DatasetSpecError:
    rows = np.flatnonzero(mask)
    return DatasetSpecError(table=spec.name, column=column, rows=rows[:1000].tolist(),
                            values=values.iloc[rows[:1000]].tolist(), n_bad=len(rows),
                            problem=problem, allowed=allowed, fix=fix)


def _binary(s: pd.Series, name: str, f: FeatureSpec, spec: DatasetSpec) -> pd.Series:
    present = s.notna().to_numpy()
    if f.true_value is not None:
        true = s.astype(object).eq(f.true_value).to_numpy()
        values = sorted({str(v) for v in s.dropna().unique()})
        if len(values) > 2:
            raise _err(spec, name, f"a binary feature has {len(values)} values ({', '.join(values)})",
                       "Declare it kind = \"categorical\", or recode it to two values.")
    else:
        words = s.astype(object).map(lambda v: str(v).strip().lower(), na_action="ignore")
        true = words.isin(_TRUE_WORDS).to_numpy()
        bad = present & ~true & ~words.isin(_FALSE_WORDS).to_numpy()
        if bad.any():
            raise _bad_rows(spec, name, bad, s, "values that are not yes/no",
                            "yes/no, true/false or 1/0",
                            "Set true_value for this feature, or declare it categorical.")
    return pd.Series(np.where(present, true.astype("float64"), np.nan), index=s.index)


def build_wide_features(frame: pd.DataFrame, spec: DatasetSpec, *,
                        require_label: bool = True) -> WideFeatures:
    """Turn a one-row-per-student table into features, label and audit groups.

    Parameters
    ----------
    frame : DataFrame
        The wide table; every column must be named in ``spec``.
    spec : DatasetSpec
        From :func:`load_dataset_spec`.
    require_label : bool, default True
        With ``False`` (scoring), the label column may be absent from the table;
        ``y`` is then all NaN.

    Returns
    -------
    WideFeatures
        Unpacks as ``X, y, groups, catalogue``.

    Raises
    ------
    DatasetSpecError
        When the spec does not match the table (a named column is missing, a column
        is not named, a value does not fit its kind); the message names the column.

    Examples
    --------
    >>> import pandas as pd
    >>> spec = DatasetSpec.model_validate({
    ...     "name": "demo", "audit_groups": ["sex"], "drop": ["G2"],
    ...     "label": {"column": "G3", "rule": "< 10"},
    ...     "features": {
    ...         "sex": {"dimension": "background", "actionable": False, "kind": "categorical"},
    ...         "higher": {"dimension": "cognitive", "actionable": True, "kind": "binary"},
    ...         "absences": {"dimension": "behavioural", "actionable": True}}})
    >>> table = pd.DataFrame({"sex": ["F", "M"], "higher": ["yes", "no"],
    ...                       "absences": [2, 10], "G2": [12, 8], "G3": [13, 7]})
    >>> X, y, groups, catalogue = build_wide_features(table, spec)
    >>> X["higher"].tolist(), y.tolist(), catalogue.model_features()
    ([1.0, 0.0], [0.0, 1.0], ['higher', 'absences'])
    >>> build_wide_features(table.drop(columns="G3"), spec, require_label=False).y.tolist()
    [nan, nan]
    """
    if not isinstance(frame, pd.DataFrame):
        raise DatasetSpecError(table=spec.name, problem=f"expected a DataFrame, got {type(frame).__name__}",
                               fix="Read the table first, e.g. with read_wide_table(path, spec).")
    frame = _match_headers(frame.rename(columns=str), spec)
    _check_columns(frame, spec, require_label)
    if spec.id_column:
        ids = frame[spec.id_column].astype(str)
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            raise _bad_rows(spec, spec.id_column, dup, ids, "duplicate ids", "one row per student",
                            "Remove the repeated rows or choose another id column.")
    else:
        ids = pd.Series([str(i) for i in range(len(frame))], index=frame.index)
    index = pd.Index(ids.to_numpy(dtype=object), name="student_id")

    columns: dict[str, pd.Series] = {}
    indicators = []
    for name, f in spec.features.items():
        s = frame[name]
        cats: tuple[str, ...] = ()
        if f.kind == "numeric":
            num = pd.to_numeric(s, errors="coerce")
            bad = (num.isna() & s.notna()).to_numpy()
            if bad.any():
                raise _bad_rows(spec, name, bad, s, "values that are not numbers", "numbers",
                                "Declare the column categorical or binary, or clean it.")
            out = num.astype("float64")
        elif f.kind == "binary":
            out = _binary(s, name, f, spec)
        else:
            text = s.astype(object).map(str, na_action="ignore")
            cats = f.categories or tuple(sorted(text.dropna().unique()))
            bad = (text.notna() & ~text.isin(cats)).to_numpy()
            if bad.any():
                raise _bad_rows(spec, name, bad, s, "values outside the declared categories",
                                ", ".join(cats), "Add the values to categories in the spec.")
            out = pd.Series(pd.Categorical(text, categories=list(cats)), index=s.index)
        columns[spec.internal_names[name]] = out.set_axis(index)
        indicators.append(spec._indicator(name, f, cats))
    X = pd.DataFrame(columns, index=index)

    raw = (frame[spec.label.column] if spec.label.column in frame.columns
           else pd.Series(np.nan, index=frame.index))
    if spec.label.rule is not None:
        op, number = _RULE.match(spec.label.rule).groups()  # type: ignore[union-attr]
        num = pd.to_numeric(raw, errors="coerce")
        bad = (num.isna() & raw.notna()).to_numpy()
        if bad.any():
            raise _bad_rows(spec, spec.label.column, bad, raw, "labels that are not numbers",
                            f"numbers (the rule is {spec.label.rule!r})",
                            "Clean the label column or use positive = [...] instead of a rule.")
        y = np.where(num.isna(), np.nan, _OPS[op](num.to_numpy(dtype="float64"), float(number)))
    else:
        pos = {str(v) for v in spec.label.positive}
        y = np.where(raw.isna(), np.nan, raw.astype(str).isin(pos).astype("float64"))
    label = pd.Series(np.asarray(y, dtype="float64"), index=index, name="label")

    groups = pd.DataFrame(
        {g: pd.Categorical(frame[g].astype(object).map(str, na_action="ignore")).to_numpy()
         for g in spec.audit_groups},
        index=index,
    ).astype("category") if spec.audit_groups else pd.DataFrame(index=index)
    catalogue = Catalogue(indicators=tuple(indicators), item_groups=())
    return WideFeatures(X=X, y=label, groups=groups, catalogue=catalogue)
