"""LogisticBaseline: standardised logistic regression on the model features."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from dropoutrisk.models._flagging import FlagTierMixin
from dropoutrisk.models._input import TabularClassifierTags, fit_features

__all__ = ["LogisticBaseline"]


class LogisticBaseline(TabularClassifierTags, FlagTierMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression on the same features as :class:`RiskModel`.

    Numeric columns: median imputation plus a missing-value indicator, then
    standardisation. Categorical columns: one-hot (unseen categories give
    all zeros). The features are chosen exactly as for ``RiskModel``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 penalty strength.
    max_iter : int, default=1000
    include_background : bool, default=False
    catalogue : Catalogue, optional

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted preprocessing and ``LogisticRegression``.
    feature_names_in_ : ndarray of str
    features_left_out_ : list of str
        Features with no value in any training row (their optional table or column
        was absent): left out of the model, which then neither needs nor uses them.
    n_features_in_ : int
    classes_ : ndarray of shape (2,)
    n_iter_ : ndarray
        Solver iterations of the regression.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"attendance_rate": [0.95, 0.7, None, 0.99, 0.6, 0.9],
    ...                   "programme_type": pd.Categorical(["national"] * 5 + ["introductory"])})
    >>> lr = LogisticBaseline().fit(X, [0, 1, 0, 0, 1, 0])
    >>> lr.predict_proba(X).shape
    (6, 2)
    >>> bool(lr.predict_proba(X)[1, 1] > lr.predict_proba(X)[0, 1])
    True
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        max_iter: int = 1000,
        include_background: bool = False,
        catalogue: Any = None,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.include_background = include_background
        self.catalogue = catalogue

    def fit(self, X: Any, y: Any) -> LogisticBaseline:
        """Fit imputation, scaling, one-hot encoding and the regression; return ``self``."""
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline, make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        classes, y01, keep, features, Xm = fit_features(self, X, y)
        Xm = Xm.iloc[np.flatnonzero(keep)]
        categorical = [c for c in features.names if c in features.categories]
        numeric = [c for c in features.names if c not in features.categories]
        steps = []
        if numeric:
            steps.append(("numeric", make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                StandardScaler()), numeric))
        if categorical:
            steps.append(("categorical", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="ignore")), categorical))
        pipeline = Pipeline([
            ("prepare", ColumnTransformer(steps)),
            ("logistic", LogisticRegression(C=self.C, max_iter=self.max_iter)),
        ])
        pipeline.fit(self._as_object(Xm, categorical), y01.astype(int))
        self.pipeline_ = pipeline
        self.n_iter_ = pipeline.named_steps["logistic"].n_iter_
        self.classes_ = classes
        self._features = features
        self.feature_names_in_ = np.asarray(features.names, dtype=object)
        self.n_features_in_ = len(features.names)
        self.features_left_out_ = list(features.left_out)
        return self

    @staticmethod
    def _as_object(Xm, categorical):
        if not categorical:
            return Xm
        # SimpleImputer needs object columns, not pandas categories
        return Xm.assign(**{c: Xm[c].astype(object).where(Xm[c].notna(), np.nan)
                            for c in categorical})

    def _prepared(self, X: Any):
        check_is_fitted(self, "pipeline_")
        Xm = self._features.transform(X)
        return self._as_object(Xm, [c for c in self._features.names
                                    if c in self._features.categories])

    @property
    def categorical_features_(self) -> tuple[str, ...]:
        """The model columns read as categories (the others must be numbers)."""
        check_is_fitted(self, "pipeline_")
        return tuple(str(c) for c in self._features.categories)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of dropout, shape (n_samples,)."""
        prepared = self._prepared(X)
        return self.pipeline_.decision_function(prepared)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, shape (n_samples, 2)."""
        prepared = self._prepared(X)
        return self.pipeline_.predict_proba(prepared)

    def predict(self, X: Any) -> np.ndarray:
        """Class label: dropout where the probability is at least 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= 0.5).astype(int)]

    def rank_score(self, X: Any) -> np.ndarray:
        """The ranking score for capacity and flag-rate flags: the log-odds."""
        return self.decision_function(X)
