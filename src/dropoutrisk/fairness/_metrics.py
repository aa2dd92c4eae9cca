"""Fairness measures as plain functions ``f(y_true, y_score, flag)``.

They are what :class:`fairlearn.metrics.MetricFrame` evaluates per group for
the point estimates. Each returns NaN where the measure is undefined (no
positives for the true-positive rate, no flags for precision, one class
for ROC-AUC) instead of a warning and an arbitrary 0.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "base_rate",
    "expected_calibration_error",
    "false_positive_rate",
    "flag_rate",
    "mean_predicted",
    "precision",
    "roc_auc",
    "true_positive_rate",
]


def _arrays(y_true, y_score, flag=None):
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    f = None if flag is None else np.asarray(flag, dtype=np.float64)
    return y, s, f


def base_rate(y_true, y_score, flag=None) -> float:
    """Share of rows with the outcome (dropout).

    Examples
    --------
    >>> base_rate([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4])
    0.5
    """
    y, _, _ = _arrays(y_true, y_score)
    return float(y.mean()) if y.size else float("nan")


def _share(hits: np.ndarray, of: np.ndarray) -> float:
    """``hits.sum() / of.sum()``, NaN where ``of`` sums to 0 (no one to count among)."""
    total = of.sum()
    return float(hits.sum() / total) if total > 0 else float("nan")


def flag_rate(y_true, y_score, flag) -> float:
    """Share of rows flagged at the operating point.

    Examples
    --------
    >>> flag_rate([0, 1], [0.2, 0.8], [False, True])
    0.5
    """
    _, _, f = _arrays(y_true, y_score, flag)
    return float(f.mean()) if f.size else float("nan")


def true_positive_rate(y_true, y_score, flag) -> float:
    """Share of dropouts that were flagged (recall).

    Examples
    --------
    >>> true_positive_rate([1, 1, 0], [0.9, 0.2, 0.5], [True, False, True])
    0.5
    >>> true_positive_rate([0, 0], [0.9, 0.2], [True, False])
    nan
    """
    y, _, f = _arrays(y_true, y_score, flag)
    return _share(y * f, y)


def false_positive_rate(y_true, y_score, flag) -> float:
    """Share of non-dropouts that were flagged.

    Examples
    --------
    >>> false_positive_rate([1, 0, 0], [0.9, 0.2, 0.5], [True, False, True])
    0.5
    """
    y, _, f = _arrays(y_true, y_score, flag)
    return _share((1 - y) * f, 1 - y)


def precision(y_true, y_score, flag) -> float:
    """Share of flagged rows that dropped out (positive predictive value).

    Examples
    --------
    >>> precision([1, 0, 0], [0.9, 0.2, 0.5], [True, False, True])
    0.5
    """
    y, _, f = _arrays(y_true, y_score, flag)
    return _share(y * f, f)


def mean_predicted(y_true, y_score, flag=None) -> float:
    """Mean predicted probability (compare with :func:`base_rate`).

    Examples
    --------
    >>> mean_predicted([0, 1], [0.25, 0.75])
    0.5
    """
    _, s, _ = _arrays(y_true, y_score)
    return float(s.mean()) if s.size else float("nan")


def expected_calibration_error(y_true, y_score, flag=None, *, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` equal-width probability bins.

    ``sum_b (n_b / n) * |mean predicted_b - observed_b|``, which equals
    ``sum_b |sum(score - y) in b| / n``.

    Examples
    --------
    >>> expected_calibration_error([0, 1, 1, 0], [0.05, 0.95, 0.55, 0.55])
    0.05
    """
    from dropoutrisk.models.evaluation import expected_calibration_error as ece

    y, s, _ = _arrays(y_true, y_score)
    return ece(y, s, n_bins=n_bins, strategy="equal_width")


def roc_auc(y_true, y_score, flag=None) -> float:
    """ROC-AUC of the scores; NaN when only one class is present.

    Examples
    --------
    >>> roc_auc([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.4])
    1.0
    >>> roc_auc([1, 1], [0.1, 0.8])
    nan
    """
    y, s, _ = _arrays(y_true, y_score)
    if np.unique(y).size < 2:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))
