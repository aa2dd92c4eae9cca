"""The cells of a fairness audit: group labels, point estimates, bootstrap quantiles, JSON rows.

Also the audit's rules as constants: the parity band and the measures compared by default.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk.fairness import _metrics
from dropoutrisk.fairness._bootstrap import (
    MEASURES,
)
from dropoutrisk.models.evaluation import bootstrap_quantiles

__all__ = ["BAND", "DISPARITY_METRICS", "MISSING", "SEP"]


#: Ratios inside this band are not findings (docs/architecture.md, "Trust").
BAND: tuple[float, float] = (0.8, 1.25)

#: Measures compared across groups by default.
DISPARITY_METRICS: tuple[str, ...] = ("flag_rate", "tpr", "fpr", "precision")

MISSING = "missing"

SEP = " × "


def _labels_of(col: pd.Series) -> pd.Series:
    """Group values as strings; missing values become ``"missing"``."""
    if pd.api.types.is_float_dtype(col.dtype):
        finite = col.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            col = col.astype("Int64")
    out = col.astype(object).where(col.notna(), MISSING)
    return out.map(str)


def _finite_quantiles(reps: np.ndarray, q: tuple[float, float]) -> np.ndarray:
    """Interval ends along the last axis (last axis of the result): the empirical quantile
    with no interpolation, NaN where more than half the replicates are NaN."""
    ends = bootstrap_quantiles(reps, q, axis=-1, method="inverted_cdf", min_valid_share=0.5)
    return np.moveaxis(ends, 0, -1)


@functools.cache
def _metric_functions(n_bins: int) -> dict[str, Any]:
    return {
        "base_rate": _metrics.base_rate,
        "flag_rate": _metrics.flag_rate,
        "tpr": _metrics.true_positive_rate,
        "fpr": _metrics.false_positive_rate,
        "precision": _metrics.precision,
        "mean_predicted": _metrics.mean_predicted,
        "ece": functools.partial(_metrics.expected_calibration_error, n_bins=n_bins),
        "roc_auc": _metrics.roc_auc,
    }


def _point_estimates(
    y: np.ndarray, s: np.ndarray, f: np.ndarray, groups: pd.DataFrame | None, n_bins: int
) -> pd.DataFrame | pd.Series:
    """Point estimates for one grouping (or overall) with fairlearn's MetricFrame.

    ``y_pred`` is the row number, and one metric returns every measure: each
    metric call costs MetricFrame a Python-level pass over its rows
    (``np.stack`` in fairlearn 0.15), so one call instead of eight is about
    eight times faster, and a one-dimensional ``y_pred`` stays on its fast path.
    """
    from fairlearn.metrics import MetricFrame

    funcs = _metric_functions(n_bins)

    def measures(y_true: Any, rows: Any) -> tuple[float, ...]:
        rows = np.asarray(rows, dtype=np.intp)
        return tuple(funcs[m](y_true, s[rows], f[rows]) for m in MEASURES)

    sensitive = groups if groups is not None else pd.Series(np.zeros(y.size, dtype=np.int8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics={"measures": measures},
            y_true=y,
            y_pred=np.arange(y.size),
            sensitive_features=sensitive,
        )
    if groups is None:
        return pd.Series(frame.overall["measures"], index=list(MEASURES))
    values = frame.by_group["measures"]
    return pd.DataFrame(values.tolist(), index=values.index, columns=list(MEASURES))


def _cell_name(key: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    if not key:
        return "overall", "all"
    return SEP.join(v for v, _ in key), SEP.join(val for _, val in key)


def _level_key(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1 if value != MISSING else 2, value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The audit's JSON rows: six decimals; an infinite ratio (zero reference) as "inf"."""
    return to_jsonable(frame, digits=6, infinity="text")
