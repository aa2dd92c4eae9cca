"""A scikit-learn transformer around :func:`build_features`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from dropoutrisk.errors import ParameterError
from dropoutrisk.features._build import build_features
from dropoutrisk.features._catalogue import CONTEXT_COLUMNS, Catalogue, default_catalogue
from dropoutrisk.features._duckdb_engine import DuckDBEngine

__all__ = ["FeatureBuilder"]

_COLUMNS = ("all", "model", "model_with_background")


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Turn canonical tables into the feature frame at a fixed ``as_of``.

    The input ``X`` is a mapping of table name to DataFrame or path (as for
    :func:`build_features`), not a 2-D array, so the generic
    ``parametrize_with_checks`` suite does not apply: every one of its checks
    feeds arrays. ``fit`` only validates the parameters; ``transform`` builds.

    Parameters
    ----------
    as_of : date-like
        The prediction date.
    catalogue : Catalogue, optional
        Defaults to :func:`default_catalogue`.
    engine : {"auto", "pandas", "duckdb"} or DuckDBEngine, default "auto"
    columns : {"all", "model", "model_with_background"}, default "all"
        ``"all"``: context columns plus every catalogue feature (background
        included, for the audit). ``"model"``: the model features only, without
        background. ``"model_with_background"``: the model features with background.

    Attributes
    ----------
    catalogue_ : Catalogue
        The catalogue used.
    feature_names_out_ : ndarray of str
        The output column names.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["s1"], "cohort": [2024], "school_id": ["A"]})
    >>> fb = FeatureBuilder(as_of="2024-10-01", columns="model")
    >>> X = fb.fit_transform({"students": students})
    >>> X.shape[1] == len(fb.get_feature_names_out())
    True
    >>> "gender" in fb.get_feature_names_out()
    False
    """

    def __init__(
        self,
        as_of: Any = None,
        *,
        catalogue: Catalogue | None = None,
        engine: str | DuckDBEngine = "auto",
        columns: str = "all",
    ) -> None:
        self.as_of = as_of
        self.catalogue = catalogue
        self.engine = engine
        self.columns = columns

    def fit(self, X: Mapping[str, Any] | None = None, y: Any = None) -> FeatureBuilder:
        """Validate the parameters and fix the output columns; returns ``self``."""
        if self.as_of is None:
            raise ParameterError(parameter="as_of", message=
                "FeatureBuilder needs as_of: pass FeatureBuilder(as_of='2024-10-28')."
            )
        if self.columns not in _COLUMNS:
            raise ParameterError(parameter="columns", message=
                f"columns={self.columns!r} is not supported; use one of {', '.join(_COLUMNS)}."
            )
        cat = self.catalogue if self.catalogue is not None else default_catalogue()
        if not isinstance(cat, Catalogue):
            raise TypeError(f"catalogue must be a Catalogue, got {type(cat).__name__}.")
        self.catalogue_ = cat
        if self.columns == "all":
            names = [*CONTEXT_COLUMNS, *cat.names]
        else:
            names = cat.model_features(include_background=self.columns != "model")
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return self

    def transform(self, X: Mapping[str, Any]) -> pd.DataFrame:
        """Build the features of the students enrolled at ``as_of``."""
        check_is_fitted(self, "feature_names_out_")
        frame = build_features(X, self.as_of, catalogue=self.catalogue_, engine=self.engine)
        return frame[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output column names (``input_features`` is ignored)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def set_output(self, *, transform: str | None = None) -> FeatureBuilder:
        """Accept ``"pandas"`` or ``"default"``: the output is always a DataFrame."""
        if transform not in (None, "default", "pandas"):
            raise ParameterError(parameter="transform", message=
                f"FeatureBuilder always returns a pandas DataFrame; transform={transform!r} "
                "is not supported."
            )
        return self
