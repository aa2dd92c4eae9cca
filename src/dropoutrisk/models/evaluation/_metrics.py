"""Plain metric functions used by :func:`~dropoutrisk.models.evaluate`."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.models._operating_point import top_share_flags

__all__ = [
    "calibration_bins",
    "calibration_table",
    "confusion_at",
    "expected_calibration_error",
    "top_fraction_flags",
]

Strategy = Literal["equal_width", "equal_mass"]


def calibration_bins(p: np.ndarray, n_bins: int, strategy: Strategy) -> np.ndarray:
    """Calibration bin number of each probability (the one binning rule of every ECE).

    Examples
    --------
    >>> import numpy as np
    >>> calibration_bins(np.array([0.0, 0.15, 0.5, 1.0]), 2, "equal_width").tolist()
    [0, 0, 1, 1]
    """
    if n_bins < 1:
        raise ParameterError(parameter="n_bins", message=f"n_bins={n_bins!r} must be >= 1.")
    if strategy == "equal_width":
        return np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    if strategy == "equal_mass":
        order = np.argsort(p, kind="stable")
        out = np.empty(p.size, dtype=np.int64)
        out[order] = (np.arange(p.size) * n_bins) // max(p.size, 1)
        return out
    raise ParameterError(parameter="strategy", message=
        f"strategy={strategy!r} must be 'equal_width' or 'equal_mass'.")


def calibration_table(
    y: np.ndarray, p: np.ndarray, *, n_bins: int = 10, strategy: Strategy = "equal_mass"
) -> pd.DataFrame:
    """Mean predicted probability and observed rate per bin.

    ``equal_width`` bins split [0, 1] into ``n_bins`` intervals;
    ``equal_mass`` bins hold (nearly) the same number of rows, sorted by
    probability. Empty bins are left out.

    Examples
    --------
    >>> import numpy as np
    >>> calibration_table(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.7, 0.9]), n_bins=2)
       bin  n  mean_predicted  observed_rate
    0    0  2            0.15            0.5
    1    1  2            0.80            0.5
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    b = calibration_bins(p, n_bins, strategy)
    n = np.bincount(b, minlength=n_bins)
    sum_p = np.bincount(b, weights=p, minlength=n_bins)
    sum_y = np.bincount(b, weights=y, minlength=n_bins)
    keep = n > 0
    return pd.DataFrame({
        "bin": np.flatnonzero(keep),
        "n": n[keep],
        "mean_predicted": sum_p[keep] / n[keep],
        "observed_rate": sum_y[keep] / n[keep],
    })


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, *, n_bins: int = 10, strategy: Strategy = "equal_mass"
) -> float:
    """ECE: row-weighted mean of |mean predicted - observed rate| over bins.

    Examples
    --------
    >>> import numpy as np
    >>> expected_calibration_error(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.7, 0.9]),
    ...                            n_bins=2)
    0.325
    """
    t = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    if t.empty:
        return float("nan")
    gap = (t["mean_predicted"] - t["observed_rate"]).abs()
    return float((gap * t["n"]).sum() / t["n"].sum())


def top_fraction_flags(
    score: np.ndarray, rate: float, groups: np.ndarray | None = None
) -> np.ndarray:
    """Flag the top ``rate`` share of rows by ``score``, within each group.

    Each group flags ``round(rate * n_group)`` rows (halves up); ties are
    broken by row position so the result is deterministic (see
    :func:`~dropoutrisk.models._operating_point.group_ranks`).

    Examples
    --------
    >>> import numpy as np
    >>> top_fraction_flags(np.array([0.1, 0.9, 0.5, 0.3]), 0.5).tolist()
    [False, True, True, False]
    >>> top_fraction_flags(np.array([0.1, 0.9, 0.5, 0.3]), 0.5, np.array([0, 0, 1, 1])).tolist()
    [False, True, True, False]
    """
    if not 0.0 <= rate <= 1.0:
        raise ParameterError(parameter="flag_rate", message=
            f"flag rate {rate!r} must be a share in [0, 1].")
    return top_share_flags(score, rate, groups=groups)


def confusion_at(y: np.ndarray, flags: np.ndarray) -> dict[str, float]:
    """Counts and the Bowers et al. (2013) accuracy triple for one set of flags.

    Examples
    --------
    >>> import numpy as np
    >>> r = confusion_at(np.array([1, 1, 0, 0]), np.array([True, False, True, False]))
    >>> r["precision"], r["sensitivity"], r["specificity"]
    (0.5, 0.5, 0.5)
    """
    y = np.asarray(y, dtype=bool)
    f = np.asarray(flags, dtype=bool)
    tp = int(np.sum(f & y))
    fp = int(np.sum(f & ~y))
    fn = int(np.sum(~f & y))
    tn = int(np.sum(~f & ~y))

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "n": int(y.size),
        "dropout_rate": ratio(tp + fn, y.size),
        "flag_rate": ratio(tp + fp, y.size),
        "n_flagged": tp + fp,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": ratio(tp, tp + fp),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
    }
