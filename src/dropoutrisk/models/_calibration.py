"""Calibrators that map a LightGBM margin (raw log-odds) to a probability.

Two methods, both fitted on margins that the final model did not train on
(out-of-fold or a held-out calibration set):

* ``"platt"`` (default): a logistic map ``logit(p) = slope_ * margin + intercept_``.
  It keeps SHAP values exactly additive in calibrated log-odds: multiply every
  contribution by ``slope_`` and add ``intercept_`` to the base value.
* ``"isotonic"``: a monotone step map from margin to probability, exposed as
  the knots ``x_thresholds_`` / ``y_thresholds_`` (linear interpolation between
  them, constant outside).

Margins fed to the calibrator are clipped to ``[-MARGIN_CLIP, MARGIN_CLIP]``.
Without ``reg_lambda`` a LightGBM model on a million rows produced margins of
-1.7e5 and Platt scaling failed (docs/architecture.md, "Model"); the clip keeps the fit
well conditioned, and a :class:`~dropoutrisk.errors.ExtremeMarginWarning` says
when more than ``EXTREME_MARGIN_SHARE`` of the margins hit it. A margin of 15
is a probability of 1 - 3e-7, far past the output clip of 1e-4, so the clip
never changes a reported probability of a well-regularised model.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from dropoutrisk.errors import CalibrationWarning, ExtremeMarginWarning, ParameterError

__all__ = [
    "EXTREME_MARGIN_SHARE",
    "MARGIN_CLIP",
    "PROBA_CLIP",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "make_calibrator",
]

#: Margins (raw log-odds) fed to a calibrator are clipped to +/- this value.
MARGIN_CLIP = 15.0
#: Warn when more than this share of the calibration margins hit the clip.
EXTREME_MARGIN_SHARE = 0.01
#: Reported probabilities are clipped to [PROBA_CLIP, 1 - PROBA_CLIP].
PROBA_CLIP = 1e-4


def _clip_margin(margin: np.ndarray, *, warn: bool) -> np.ndarray:
    margin = np.asarray(margin, dtype=np.float64).ravel()
    hit = np.abs(margin) > MARGIN_CLIP
    if warn and margin.size and hit.mean() > EXTREME_MARGIN_SHARE:
        warnings.warn(
            f"{hit.sum()} of {margin.size} calibration margins ({hit.mean():.1%}) lie outside "
            f"[-{MARGIN_CLIP:g}, {MARGIN_CLIP:g}] and were clipped. The booster is barely "
            "regularised: raise reg_lambda (>= 1) or min_child_samples, or lower learning_rate.",
            ExtremeMarginWarning,
            stacklevel=3,
        )
    return np.clip(margin, -MARGIN_CLIP, MARGIN_CLIP)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


class PlattCalibrator:
    """Platt scaling on the margin: ``logit(p) = slope_ * margin + intercept_``.

    Fitted by Newton's method on the log loss with Platt's (1999) smoothed
    targets ``(n_pos + 1) / (n_pos + 2)`` and ``1 / (n_neg + 2)``, as in
    scikit-learn's ``CalibratedClassifierCV``; the smoothing keeps the fit
    finite when the margins separate the classes perfectly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> margin = rng.normal(size=2000)
    >>> y = rng.random(2000) < 1 / (1 + np.exp(-(2 * margin - 1)))
    >>> cal = PlattCalibrator().fit(margin, y)
    >>> round(cal.slope_, 1), round(cal.intercept_, 1)
    (2.0, -1.0)
    >>> cal.predict(np.array([0.5]))
    array([0.5...])
    """

    method = "platt"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit the slope and intercept on margins and 0/1 labels; return ``self``."""
        z = _clip_margin(margin, warn=True)
        y = np.asarray(y, dtype=np.float64).ravel()
        n_pos = y.sum()
        n_neg = y.size - n_pos
        t = np.where(y > 0.5, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        prior = (n_pos + 1.0) / (y.size + 2.0)
        a, b = 0.0, float(np.log(prior / (1.0 - prior)))
        loss = self._loss(z, t, a, b)
        for _ in range(100):
            p = _sigmoid(a * z + b)
            r = p - t
            w = np.maximum(p * (1.0 - p), 1e-12)
            g = np.array([r @ z, r.sum()])
            h = np.array([[w @ (z * z), w @ z], [w @ z, w.sum()]]) + 1e-10 * np.eye(2)
            step = np.linalg.solve(h, g)
            scale = 1.0
            while scale > 1e-8:  # backtracking keeps each step a descent step
                a_new, b_new = a - scale * step[0], b - scale * step[1]
                new_loss = self._loss(z, t, a_new, b_new)
                if new_loss <= loss + 1e-12:
                    break
                scale *= 0.5
            converged = abs(loss - new_loss) < 1e-12 * max(1.0, abs(loss))
            a, b, loss = a_new, b_new, new_loss
            if converged or np.abs(scale * step).max() < 1e-10:
                break
        self.slope_ = float(a)
        self.intercept_ = float(b)
        if self.slope_ <= 0:
            warnings.warn(
                f"The Platt slope is {self.slope_:.3g} (<= 0): on its {y.size} calibration rows "
                f"({int(n_pos)} dropouts) a higher model margin does not mean more dropouts, so "
                "the model ranks students no better than chance. Its flags and reasons are not "
                "meaningful: train on more data (more dropouts), or use the logistic baseline.",
                CalibrationWarning,
                stacklevel=3,
            )
        return self

    @staticmethod
    def _loss(z: np.ndarray, t: np.ndarray, a: float, b: float) -> float:
        s = a * z + b
        # log(1 + exp(s)) - t * s, stable for large |s|
        return float(np.sum(np.logaddexp(0.0, s) - t * s))

    def log_odds(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated log-odds ``slope_ * clip(margin) + intercept_``."""
        return self.slope_ * _clip_margin(margin, warn=False) + self.intercept_

    def predict(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probability of the positive class, clipped to [1e-4, 1 - 1e-4]."""
        return np.clip(_sigmoid(self.log_odds(margin)), PROBA_CLIP, 1.0 - PROBA_CLIP)

    def __repr__(self) -> str:
        if hasattr(self, "slope_"):
            return f"PlattCalibrator(slope_={self.slope_:.4g}, intercept_={self.intercept_:.4g})"
        return "PlattCalibrator()"


class IsotonicCalibrator:
    """Isotonic regression of the label on the margin.

    The fitted map is the knots ``x_thresholds_`` (margins, increasing) and
    ``y_thresholds_`` (probabilities, non-decreasing); a margin between knots
    is interpolated linearly, one outside them takes the end value.
    Probabilities are clipped to [1e-4, 1 - 1e-4] because isotonic regression
    emits exact 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> cal = IsotonicCalibrator().fit(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]))
    >>> cal.predict(np.array([-3.0, 0.0, 3.0]))
    array([1.000e-04, 5.000e-01, 9.999e-01])
    """

    method = "isotonic"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        """Fit the monotone map on margins and 0/1 labels; return ``self``."""
        from sklearn.isotonic import IsotonicRegression

        z = _clip_margin(margin, warn=True)
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(z, np.asarray(y, dtype=np.float64).ravel())
        self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return self

    def predict(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probability of the positive class, clipped to [1e-4, 1 - 1e-4]."""
        z = _clip_margin(margin, warn=False)
        p = np.interp(z, self.x_thresholds_, self.y_thresholds_)
        return np.clip(p, PROBA_CLIP, 1.0 - PROBA_CLIP)

    def __repr__(self) -> str:
        if hasattr(self, "x_thresholds_"):
            return f"IsotonicCalibrator(n_knots={self.x_thresholds_.size})"
        return "IsotonicCalibrator()"


def make_calibrator(method: Literal["platt", "isotonic"]) -> PlattCalibrator | IsotonicCalibrator:
    """Return an unfitted calibrator for ``method`` ("platt" or "isotonic")."""
    if method == "platt":
        return PlattCalibrator()
    if method == "isotonic":
        return IsotonicCalibrator()
    raise ParameterError(parameter="calibration", message=
        f"calibration={method!r} is not supported. Allowed: 'platt' (default) or 'isotonic'."
    )
