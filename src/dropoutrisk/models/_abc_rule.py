"""ABCRule: the Attendance, Behaviour, Course-performance early-warning rule.

The rule counts raised indicators, the way district early-warning systems
do (Balfanz, Herzog & Mac Iver 2007; Allensworth & Easton 2007):

* attendance at or below ``attendance_threshold`` (0.90): the common
  "chronic absence" line, missing 10% or more of scheduled time;
* attendance at or below ``severe_attendance_threshold`` (0.80): the
  "attendance <= 80%" flag of Balfanz et al. (2007), reported by Bowers,
  Sprott & Taff (2013) at precision 0.83, sensitivity 0.23, specificity
  0.94. It counts in addition to the 90% indicator, so attendance gives
  0, 1 or 2 points;
* a failed core course (``failed_core_course`` >= 1): course failure is the
  "C" of ABC and the strongest single flag in the Chicago on-track work;
* concern reports (``concerns_90d`` >= ``concerns_min``, default 1): the
  behaviour "B", here the staff worry reports (orosanmälan).

The score that ranks students is the indicator count, ties broken by
absence: ``n_indicators + (1 - attendance_rate) / 2``. ``predict_proba``
is the observed dropout rate of each indicator count in the training data
(smoothed towards the overall rate with one pseudo-row), so the rule's
probabilities can be compared with the model's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from dropoutrisk.errors import MissingColumnError, ParameterError
from dropoutrisk.models._flagging import FlagTierMixin
from dropoutrisk.models._input import TabularClassifierTags, _encode_labels

__all__ = ["ABCRule"]


class ABCRule(TabularClassifierTags, FlagTierMixin, ClassifierMixin, BaseEstimator):
    """Indicator-count early-warning rule (attendance, course failure, concerns).

    Parameters
    ----------
    attendance_threshold : float, default=0.90
        Attendance at or below it raises one indicator (chronic absence:
        missing 10% or more).
    severe_attendance_threshold : float, default=0.80
        Attendance at or below it raises a second one (Balfanz et al. 2007,
        "attendance <= 80%").
    concerns_min : int, default=1
        Concern reports in ``concerns_column`` at or above it raise one.
    attendance_column, failed_core_column, concerns_column : str
        Feature columns read; defaults ``attendance_rate``,
        ``failed_core_course`` and ``concerns_90d``. Set a column to
        ``None`` to leave that indicator out.

    Attributes
    ----------
    rates_ : ndarray of shape (5,)
        Smoothed training dropout rate per indicator count (position 0..4).
        A plain array, so that the model bundle can store it with skops
        without trusting pandas internals.
    classes_ : ndarray of shape (2,)

    Notes
    -----
    The default flag (``flag(X)`` with no rule) is "one or more indicators",
    as in Balfanz et al.'s "one or more flags". With ``capacity=`` students
    are ranked by indicator count, ties broken by absence.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"attendance_rate": [0.95, 0.85, 0.75, 0.99],
    ...                   "failed_core_course": [0.0, 1.0, 1.0, 0.0],
    ...                   "concerns_90d": [0.0, 0.0, 2.0, 0.0]})
    >>> rule = ABCRule().fit(X, [0, 0, 1, 0])
    >>> rule.indicator_counts(X).tolist()
    [0, 2, 4, 0]
    >>> rule.flag(X).tolist()
    [False, True, True, False]
    >>> rule.flag(X, capacity=1).tolist()
    [False, False, True, False]
    """

    _categorical_input = False  # numeric indicator columns only

    def __init__(
        self,
        *,
        attendance_threshold: float = 0.90,
        severe_attendance_threshold: float = 0.80,
        concerns_min: int = 1,
        attendance_column: str | None = "attendance_rate",
        failed_core_column: str | None = "failed_core_course",
        concerns_column: str | None = "concerns_90d",
    ) -> None:
        self.attendance_threshold = attendance_threshold
        self.severe_attendance_threshold = severe_attendance_threshold
        self.concerns_min = concerns_min
        self.attendance_column = attendance_column
        self.failed_core_column = failed_core_column
        self.concerns_column = concerns_column

    def _columns(self) -> list[str]:
        return [c for c in (self.attendance_column, self.failed_core_column,
                            self.concerns_column) if c is not None]

    def _read(self, X: Any, column: str) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"ABCRule needs a DataFrame with the column {column!r}; "
                            f"got {type(X).__name__}.")
        if column not in X.columns:
            raise MissingColumnError(
                table="X", column=column,
                fix="Build X with dropoutrisk.features.build_features, or point "
                    "ABCRule at your column with the *_column parameters.",
            )
        return pd.to_numeric(X[column], errors="coerce").to_numpy(dtype=np.float64)

    def indicator_counts(self, X: Any) -> pd.Series:
        """Number of raised indicators per row (0 to 4); missing values raise none."""
        n = np.zeros(len(X), dtype=np.int64)
        if self.attendance_column is not None:
            att = self._read(X, self.attendance_column)
            n += (att <= self.attendance_threshold).astype(np.int64)
            n += (att <= self.severe_attendance_threshold).astype(np.int64)
        if self.failed_core_column is not None:
            n += (self._read(X, self.failed_core_column) >= 1).astype(np.int64)
        if self.concerns_column is not None:
            n += (self._read(X, self.concerns_column) >= self.concerns_min).astype(np.int64)
        return pd.Series(n, index=X.index, name="n_indicators")

    def fit(self, X: Any, y: Any) -> ABCRule:
        """Record the observed dropout rate per indicator count; return ``self``."""
        if not self.severe_attendance_threshold <= self.attendance_threshold:
            raise ParameterError(parameter="severe_attendance_threshold", message=
                f"severe_attendance_threshold={self.severe_attendance_threshold!r} must be "
                f"<= attendance_threshold={self.attendance_threshold!r}."
            )
        classes, y01, keep = _encode_labels(y, type(self).__name__)
        counts = self.indicator_counts(X).to_numpy()[keep]
        overall = y01.mean()
        max_count = 4
        pos = np.bincount(counts, weights=y01, minlength=max_count + 1)
        n = np.bincount(counts, minlength=max_count + 1)
        self.rates_ = np.asarray((pos + overall) / (n + 1.0), dtype=np.float64)
        self.classes_ = classes
        self.n_features_in_ = len(self._columns())
        self.feature_names_in_ = np.asarray(self._columns(), dtype=object)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Ranking score: indicator count, ties broken by absence (higher is riskier)."""
        check_is_fitted(self, "rates_")
        score = self.indicator_counts(X).to_numpy().astype(np.float64)
        if self.attendance_column is not None:
            absence = 1.0 - np.nan_to_num(self._read(X, self.attendance_column), nan=1.0)
            score += np.clip(absence, 0.0, 1.0) / 2.0
        return score

    def predict_proba(self, X: Any) -> np.ndarray:
        """Training dropout rate of each row's indicator count, shape (n_samples, 2)."""
        check_is_fitted(self, "rates_")
        p = self.rates_[self.indicator_counts(X).to_numpy()]
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Dropout where one or more indicators are raised."""
        check_is_fitted(self, "rates_")
        return self.classes_[(self.indicator_counts(X).to_numpy() >= 1).astype(int)]

    def rank_score(self, X: Any) -> np.ndarray:
        """The ranking score for capacity and flag-rate flags: :meth:`decision_function`."""
        return self.decision_function(X)

    def default_flags(self, X: Any, proba: np.ndarray | None = None) -> np.ndarray:
        """The rule's own flags: one or more indicators raised (``proba`` is not used)."""
        return self.indicator_counts(X).to_numpy() >= 1
