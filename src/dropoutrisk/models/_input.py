"""Model input: which columns of a feature frame a model uses, and in what dtype.

A feature frame from :func:`dropoutrisk.features.build_features` has the
context columns ``as_of``, ``school_id`` and ``cohort`` first, then every
catalogue feature. Context columns are never model inputs.

* With a ``catalogue``, a model uses ``catalogue.model_features(include_background)``.
* Without one, it uses every non-context column of ``X``; when
  :mod:`dropoutrisk.features` provides a default catalogue, columns that it
  marks as ``background`` are left out unless ``include_background=True``.
  This also lets the models run on wide tables and plain arrays.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    AlignmentError,
    ColumnTypeError,
    DuplicateColumnError,
    MissingColumnError,
    MissingLabelWarning,
    MissingValueError,
    ParameterError,
)

__all__ = ["CONTEXT_COLUMNS", "FeatureFrame", "training_references"]

#: Columns that identify a snapshot and are never model inputs.
CONTEXT_COLUMNS: tuple[str, ...] = ("student_id", "as_of", "school_id", "cohort")


def _background_names() -> set[str]:
    try:
        from dropoutrisk.features import default_catalogue
    except ImportError:  # the features layer is optional for plain tables
        return set()
    try:
        cat = default_catalogue()
        every = set(cat.model_features(include_background=True))
        return every - set(cat.model_features(include_background=False))
    except Exception:  # a half-built catalogue must not break fitting
        return set()


def to_frame(X: Any, *, estimator: str) -> tuple[pd.DataFrame, bool]:
    """Return ``X`` as a DataFrame and whether it came with column names."""
    if isinstance(X, pd.DataFrame):
        if X.columns.duplicated().any():
            dup = list(X.columns[X.columns.duplicated()].unique())
            raise DuplicateColumnError(table="features", problem=
                f"X has duplicated columns {dup}; {estimator} needs unique names.")
        return X, all(isinstance(c, str) for c in X.columns)
    from sklearn.utils.validation import check_array

    arr = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan", input_name="X")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])]), False


def _encode_labels(y: Any, estimator: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (classes, 0/1 labels, mask of kept rows); NaN labels are dropped."""
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import column_or_1d

    y = column_or_1d(np.asarray(y), warn=True)
    keep = np.ones(y.shape[0], dtype=bool)
    if y.dtype.kind == "f":
        keep = ~np.isnan(y)
    elif y.dtype == object:
        keep = ~pd.isna(y)
    if not keep.all():
        warnings.warn(
            f"{int((~keep).sum())} of {keep.size} rows have no label (NaN: censored or outcome "
            "not yet known) and were dropped from training.",
            MissingLabelWarning,
            stacklevel=3,
        )
    y_kept = y[keep]
    check_classification_targets(y_kept)
    classes = np.unique(y_kept)
    if classes.size != 2:
        kind = "one class" if classes.size < 2 else f"{classes.size} classes"
        raise ParameterError(parameter="y", message=
            "Only binary classification is supported. "
            f"{estimator} needs exactly two classes in y "
            f"(dropout / no dropout); got {kind}: {classes[:5].tolist()}."
        )
    return classes, (y_kept == classes[1]).astype(np.float64), keep


def _resolve_groups(X: Any, groups: Any, n: int) -> np.ndarray | None:
    """Integer group codes (student ids factorised), or None."""
    if groups is not None:
        g = np.asarray(groups)
        if g.shape[0] != n:
            raise ParameterError(parameter="groups", message=
                f"groups has {g.shape[0]} labels but X has {n} rows.")
    elif isinstance(X, pd.DataFrame) and X.index.name == "student_id":
        g = X.index.to_numpy()  # a student's snapshots stay in one fold
    else:
        return None
    # integer codes: np.isin on object ids inside GroupKFold is O(n_rows * n_groups)
    return pd.factorize(pd.Series(g), sort=True)[0]


class TabularClassifierTags:
    """The scikit-learn tags every dropoutrisk classifier shares.

    Binary, missing values allowed; categorical columns too unless the
    estimator sets ``_categorical_input = False``.
    """

    _categorical_input = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = self._categorical_input
        tags.classifier_tags.multi_class = False
        return tags


class FeatureFrame:
    """Remembers the model columns and categories seen in ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"as_of": ["2024-09-30"] * 2, "attendance_rate": [0.9, 0.7],
    ...                   "programme_type": pd.Categorical(["national", "introductory"])})
    >>> ff = FeatureFrame.fit(X, catalogue=None, include_background=False, estimator="m")
    >>> ff.names
    ['attendance_rate', 'programme_type']
    >>> ff.transform(X.iloc[:1]).dtypes.astype(str).tolist()
    ['float64', 'category']
    """

    def __init__(self, names: list[str], categories: dict[str, list[Any]], named: bool,
                 estimator: str, left_out: list[str] | None = None) -> None:
        self.names = names
        self.categories = categories
        self.named = named
        self.estimator = estimator
        #: features that had no value at all in fit (an optional table or column absent)
        self.left_out = list(left_out or [])

    @classmethod
    def fit(cls, X: Any, *, catalogue: Any, include_background: bool,
            estimator: str) -> FeatureFrame:
        frame, named = to_frame(X, estimator=estimator)
        if catalogue is not None:
            names = list(catalogue.model_features(include_background=include_background))
            missing = [c for c in names if c not in frame.columns]
            if missing:
                raise MissingColumnError(
                    table="X", column=missing[0], rows=None,
                    problem=f"{len(missing)} catalogue features are missing: {missing[:10]}",
                    fix="Build X with dropoutrisk.features.build_features and the same catalogue.",
                )
        else:
            skip = set(CONTEXT_COLUMNS)
            if named and not include_background:
                skip |= _background_names()
            names = [c for c in frame.columns if c not in skip]
        if not names:
            raise MissingColumnError(table="features", problem=
                f"X has no model feature columns for {estimator}.")
        # A feature without a single value (its optional table or column was not given)
        # carries nothing to learn from: leave it out, and say so in features_left_out_.
        left_out = [c for c in names if not frame[c].notna().any()] if named else []
        if left_out and len(left_out) == len(names):
            raise MissingValueError(
                table="features", problem=f"every model feature of X is missing in every row "
                f"({len(names)} features, e.g. {names[:5]}): {estimator} has nothing to learn "
                "from", fix="Check that the event tables were given and share student_id values "
                "with the students table")
        names = [c for c in names if c not in set(left_out)]
        categories: dict[str, list[Any]] = {}
        for c in names:
            col = frame[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                categories[c] = list(col.cat.categories)
            elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                if pd.api.types.infer_dtype(col, skipna=True) in ("string", "mixed"):
                    categories[c] = sorted(col.dropna().unique().tolist(), key=str)
        return cls([str(c) for c in names], categories, named, estimator,
                   [str(c) for c in left_out])

    def transform(self, X: Any) -> pd.DataFrame:
        """Select the model columns in fit order, numeric as float64 and categorical as category."""
        frame, named = to_frame(X, estimator=self.estimator)
        if not named:  # arrays and unnamed frames are positional
            if frame.shape[1] != len(self.names):
                raise ParameterError(parameter="X", message=
                    f"X has {frame.shape[1]} features, but {self.estimator} is expecting "
                    f"{len(self.names)} features as input."
                )
            frame = frame.set_axis(self.names, axis=1)
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            if not self.named and frame.shape[1] == len(self.names):
                frame = frame.set_axis(self.names, axis=1)  # fitted on an array
            else:
                raise MissingColumnError(
                    table="X", column=missing[0],
                    problem=f"{len(missing)} model features seen in fit are missing: {missing[:10]}",
                    fix="Pass the feature frame with the columns the model was fitted on "
                        "(see feature_names_in_); extra columns are ignored.",
                )
        out = {}
        for c in self.names:
            col = frame[c]
            if c in self.categories:
                out[c] = pd.Categorical(
                    col.astype(object) if not isinstance(col.dtype, pd.CategoricalDtype) else col,
                    categories=self.categories[c],
                )
            else:
                try:
                    out[c] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise ColumnTypeError(table="features", problem=
                        f"Column {c!r} of X must be numeric for {self.estimator} "
                        f"(it was numeric in fit): {exc}"
                    ) from exc
        return pd.DataFrame(out, index=frame.index, columns=self.names)


def training_references(frame: pd.DataFrame) -> dict[str, Any]:
    """Median (most common category for categories) of every column of a model-input frame.

    Stored by :class:`~dropoutrisk.models.RiskModel` as ``reference_values_``:
    the training population that the SHAP contributions are measured against.
    Binary 0/1 columns give their majority value (0.5 on an exact tie).

    Examples
    --------
    >>> f = pd.DataFrame({"x": [0.2, 0.4, 0.9], "c": pd.Categorical(["a", "b", "b"])})
    >>> training_references(f)
    {'x': 0.4, 'c': 'b'}
    """
    out: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            counts = column.astype(object).value_counts(dropna=True, sort=True)
            out[str(name)] = None if counts.empty else counts.index[0]
        else:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            present = values[~np.isnan(values)]
            out[str(name)] = float(np.median(present)) if present.size else float("nan")
    return out


def fit_features(estimator: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          FeatureFrame, pd.DataFrame]:
    """What every estimator's ``fit`` starts with, from its ``catalogue`` and ``include_background``.

    Returns the classes, the 0/1 labels and the mask of labelled rows
    (:func:`_encode_labels`), the fitted :class:`FeatureFrame` and the model
    matrix of all rows of ``X`` (not yet restricted to the labelled ones).
    """
    name = type(estimator).__name__
    classes, y01, keep = _encode_labels(y, name)
    features = FeatureFrame.fit(X, catalogue=estimator.catalogue,
                                include_background=estimator.include_background, estimator=name)
    Xm = features.transform(X)
    if Xm.shape[0] != keep.size:
        raise AlignmentError(table="training rows", problem=
            f"X has {Xm.shape[0]} rows but y has {keep.size} labels.")
    return classes, y01, keep, features, Xm


def check_numeric(chunk: pd.DataFrame, names: Iterable[str], categorical: set[str],
                  offset: int, *, table: str = "features",
                  fix: str = "Correct the feature file; it must come from build_features") -> None:
    """Raise ``ColumnTypeError`` (naming ``table``, the column and rows) where a numeric
    feature of ``names`` (not in ``categorical``) holds values that are not numbers."""
    for name in names:
        if name in categorical or name not in chunk.columns:
            continue
        col = chunk[name]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            continue
        coerced = pd.to_numeric(col, errors="coerce")
        bad = np.flatnonzero((coerced.isna() & col.notna()).to_numpy())
        if bad.size:
            raise ColumnTypeError(
                table=table, column=str(name), rows=(bad + offset)[:5],
                values=col.to_numpy()[bad[:5]], n_bad=bad.size,
                allowed="numbers (missing values are allowed)", fix=fix)
