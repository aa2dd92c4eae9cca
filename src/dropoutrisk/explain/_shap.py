"""Exact TreeSHAP from LightGBM's native ``pred_contrib``, carried through calibration.

LightGBM computes exact (tree-path-dependent) TreeSHAP in C++ for the whole
batch in one call; no Python loop per student. The values are in the booster's
raw margin (uncalibrated log-odds). :func:`calibrate_contributions` carries them
to what the user sees:

* **calibrated log-odds.** Platt: ``phi_i * slope_`` with base
  ``slope_ * base + intercept_``, exact. Any other monotone calibrator (isotonic):
  ``phi_i * (logit(p) - logit(p0)) / (m - m0)``, the secant of ``logit o g``.
* **probability.** ``phi_i * (p - p0) / (m - m0)`` where ``m`` is the student's
  margin, ``m0`` the base margin, ``p = g(m)`` the reported (clipped)
  probability and ``p0 = g(m0)``. The secant of the calibration map ``g``
  between base and prediction: the contributions keep their signs (``g`` is
  non-decreasing) and sum exactly to ``p - p0``. For Platt this is the secant
  of the clipped sigmoid in calibrated log-odds applied to ``phi_i * slope_``.
  When ``|m - m0| < 1e-9`` the secant becomes the derivative of ``g`` at ``m0``
  (a central difference), so nothing divides by zero.

See ``docs/explanations.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["calibrate_contributions", "tree_shap"]

#: Below this margin difference the secant is replaced by the derivative.
_DEGENERATE = 1e-9
#: Step of the central difference used for the derivative.
_STEP = 1e-6


def tree_shap(booster: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP values of a binary LightGBM booster, in raw margin.

    Parameters
    ----------
    booster : lightgbm.Booster
        A fitted booster with one model (binary objective).
    X : pandas.DataFrame
        Exactly the frame the booster predicts on (same columns, same
        categorical dtypes).

    Returns
    -------
    phi : ndarray of shape (n_rows, n_features)
        Contribution of each feature to each row's raw margin.
    base : ndarray of shape (n_rows,)
        The expected margin (equal across rows); ``base + phi.sum(1)`` is
        the raw margin.

    Examples
    --------
    >>> import numpy as np, pandas as pd, lightgbm as lgb
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> y = (X["a"] > 0).astype(int)
    >>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 5)
    >>> phi, base = tree_shap(booster, X)
    >>> phi.shape
    (200, 2)
    >>> bool(np.allclose(base + phi.sum(1), booster.predict(X, raw_score=True)))
    True
    """
    contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    n_features = X.shape[1]
    if contrib.ndim != 2 or contrib.shape[1] != n_features + 1:
        raise ValueError(
            f"pred_contrib returned shape {contrib.shape} for {n_features} features; "
            "explanations need a binary booster with one model (objective='binary')."
        )
    return contrib[:, :-1], contrib[:, -1].copy()


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _secant(
    calibrate: Any, m: np.ndarray, m0: np.ndarray, p: np.ndarray, p0: np.ndarray, f=None
) -> np.ndarray:
    """Slope of ``f(g(.))`` between ``m0`` and ``m`` (derivative where they meet)."""
    f = (lambda q: q) if f is None else f
    dm = m - m0
    degenerate = np.abs(dm) < _DEGENERATE
    safe = np.where(degenerate, 1.0, dm)
    slope = (f(p) - f(p0)) / safe
    if degenerate.any():
        at = m0[degenerate]
        hi = f(np.asarray(calibrate(at + _STEP), dtype=np.float64))
        lo = f(np.asarray(calibrate(at - _STEP), dtype=np.float64))
        slope[degenerate] = (hi - lo) / (2 * _STEP)
    return slope


def calibrate_contributions(
    phi: np.ndarray,
    base: np.ndarray,
    calibrator: Any,
    probability: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Carry raw-margin SHAP values through a calibrator.

    Parameters
    ----------
    phi : ndarray of shape (n_rows, n_features)
        Raw-margin contributions from :func:`tree_shap`.
    base : ndarray of shape (n_rows,)
        Raw base margin from :func:`tree_shap`.
    calibrator : object
        Has ``predict(margin) -> probability`` (clipped to [1e-4, 1 - 1e-4]),
        ``method`` (``"platt"`` or ``"isotonic"``) and, for Platt,
        ``slope_`` and ``intercept_``.
    probability : ndarray of shape (n_rows,), optional
        The probability reported to the user. Defaults to
        ``calibrator.predict(base + phi.sum(1))``.

    Returns
    -------
    dict
        ``log_odds`` (n_rows, n_features) and ``base_log_odds`` (n_rows,):
        contributions in calibrated log-odds; ``probability_contrib``
        (n_rows, n_features) and ``base_probability`` (n_rows,), which sum
        to ``probability`` (also returned) to floating-point precision.

    Examples
    --------
    >>> import numpy as np
    >>> class Platt:
    ...     method, slope_, intercept_ = "platt", 0.5, -1.0
    ...     def predict(self, m):
    ...         return np.clip(1 / (1 + np.exp(-(0.5 * m - 1))), 1e-4, 1 - 1e-4)
    >>> out = calibrate_contributions(np.array([[1.0, -0.5]]), np.array([0.2]), Platt())
    >>> out["log_odds"]
    array([[ 0.5 , -0.25]])
    >>> float(out["base_probability"][0] + out["probability_contrib"].sum())
    0.3...
    >>> bool(np.isclose(out["base_probability"][0] + out["probability_contrib"].sum(),
    ...                 out["probability"][0]))
    True
    """
    phi = np.asarray(phi, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    # The margin as the sum of the contributions: the secant's denominator is
    # exactly what the contributions add up to, so additivity holds to rounding.
    margin = base + phi.sum(axis=1)
    p0 = np.asarray(calibrator.predict(base), dtype=np.float64)
    p = (
        np.asarray(calibrator.predict(margin), dtype=np.float64)
        if probability is None
        else np.asarray(probability, dtype=np.float64)
    )
    method = getattr(calibrator, "method", None)
    if method == "platt":
        slope = float(calibrator.slope_)
        log_odds = phi * slope
        base_log_odds = slope * base + float(calibrator.intercept_)
    else:
        lo_slope = _secant(calibrator.predict, margin, base, p, p0, f=_logit)
        log_odds = phi * lo_slope[:, None]
        base_log_odds = _logit(p0)
    p_slope = _secant(calibrator.predict, margin, base, p, p0)
    return {
        "log_odds": log_odds,
        "base_log_odds": base_log_odds,
        "probability_contrib": phi * p_slope[:, None],
        "base_probability": p0,
        "probability": p,
    }
