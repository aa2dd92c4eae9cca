"""What including background features changes: two audits side by side.

Background features (gender, newly arrived, parental education, ...) are
off by default (docs/architecture.md, "Trust"): they correlate with risk but are not causes.
:func:`compare_background` audits a model without them and one with them
on the same rows, groups, operating point and bootstrap seed, so that the
two audits resample the same rows and their differences are paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._result import Part, Result
from dropoutrisk.errors import ParameterError
from dropoutrisk.fairness._audit import Audit, audit
from dropoutrisk.fairness._bootstrap import MEASURE_LABELS
from dropoutrisk.fairness._cells import _records

__all__ = ["BackgroundComparison", "compare_background"]

_SUFFIXES = ("without", "with")


class BackgroundComparison(Result):
    """Two audits, without and with background features, and their differences.

    Build it with :func:`compare_background`.

    Attributes
    ----------
    without : Audit
        The audit of the model without background features (the default).
    with_background : Audit
        The audit of the model with them.
    """

    __slots__ = ("_with_background", "_without")
    _remedy = "call compare_background() again."

    def __init__(self, *, without: Audit, with_background: Audit) -> None:
        self._set(without=without, with_background=with_background)

    def __repr__(self) -> str:
        return (
            f"BackgroundComparison(findings without={len(self._without.findings)}, "
            f"with={len(self._with_background.findings)})"
        )

    without = Part("The audit of the model without background features.", convert=None)

    with_background = Part("The audit of the model with background features.", convert=None)

    @property
    def performance(self) -> pd.DataFrame:
        """Overall measures, one row each: ``without``, ``with``, ``change`` and intervals."""
        rows = []
        for m in MEASURE_LABELS:
            a, b = self._without.overall, self._with_background.overall
            rows.append({
                "measure": m,
                "without": float(a[m]), "without_lo": float(a[f"{m}_lo"]),
                "without_hi": float(a[f"{m}_hi"]),
                "with": float(b[m]), "with_lo": float(b[f"{m}_lo"]),
                "with_hi": float(b[f"{m}_hi"]),
                "change": float(b[m]) - float(a[m]),
            })
        return pd.DataFrame(rows)

    @property
    def by_group(self) -> pd.DataFrame:
        """Flag rate, TPR, FPR and precision per group, side by side."""
        keys = ["grouping", "group", "n"]
        cols = ["flag_rate", "tpr", "fpr", "precision", "ece", "roc_auc"]
        a = self._without.by_group[keys + cols]
        b = self._with_background.by_group[["grouping", "group", *cols]]
        out = a.merge(b, on=["grouping", "group"], suffixes=("_without", "_with"))
        for c in cols:
            out[f"{c}_change"] = out[f"{c}_with"] - out[f"{c}_without"]
        return out

    @property
    def disparities(self) -> pd.DataFrame:
        """Every disparity ratio without and with background features.

        ``finding_without`` / ``finding_with`` say whether the ratio is a
        finding (outside [0.8, 1.25]) in each audit.
        """
        keys = ["grouping", "group", "metric"]
        cols = ["reference", "ratio", "ratio_lo", "ratio_hi", "outside_band", "excludes_parity"]
        a = self._without.disparities[keys + cols]
        b = self._with_background.disparities[keys + cols]
        out = a.merge(b, on=keys, how="outer", suffixes=("_without", "_with"))
        out = out.rename(columns={"outside_band_without": "finding_without",
                                  "outside_band_with": "finding_with"})
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio_change"] = out["ratio_with"] - out["ratio_without"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Both audits and the side-by-side tables, JSON-safe."""
        return {
            "schema": "dropoutrisk.background_comparison/1",
            "performance": _records(self.performance),
            "by_group": _records(self.by_group),
            "disparities": _records(self.disparities),
            "without": self._without.to_dict(),
            "with": self._with_background.to_dict(),
        }


def compare_background(
    model_without: Any = None,
    model_with: Any = None,
    features: pd.DataFrame | None = None,
    labels: Any = None,
    *,
    groups: Any,
    train_features: pd.DataFrame | None = None,
    train_labels: Any = None,
    model_params: Mapping[str, Any] | None = None,
    **audit_kwargs: Any,
) -> BackgroundComparison:
    """Audit a model without and one with background features, side by side.

    Pass both fitted models, or training data and let this fit
    ``RiskModel(include_background=False)`` and ``RiskModel(include_background=True)``
    with the same ``model_params``.

    Parameters
    ----------
    model_without, model_with : estimator, optional
        Fitted models without and with background features.
    features : DataFrame
        The audit rows (for example a later, out-of-time cohort), with the
        background columns that serve as groups.
    labels : Series or array-like
        Outcomes of the audit rows.
    groups : list of str or DataFrame
        Audit groups, as for :func:`~dropoutrisk.fairness.audit`.
    train_features, train_labels : optional
        Training rows, when the models are to be fitted here. Rows with a
        missing label (censored) are left out of training.
    model_params : mapping, optional
        Extra ``RiskModel`` parameters for both fits (``random_state``, ...).
    **audit_kwargs
        Passed to both audits (``operating_point``, ``n_boot``,
        ``random_state``, ...). Use a fixed ``random_state`` so that both
        audits draw the same bootstrap resamples.

    Returns
    -------
    BackgroundComparison

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"attendance": rng.uniform(0.5, 1, 600),
    ...                   "newly_arrived": rng.choice([0, 1], 600)})
    >>> y = (rng.random(600) < 1.1 - X["attendance"] + 0.1 * X["newly_arrived"]).astype(int)
    >>> m0 = LogisticRegression().fit(X[["attendance"]], y)
    >>> m1 = LogisticRegression().fit(X, y)
    >>> cmp = compare_background(m0, m1, X, y, groups=["newly_arrived"],
    ...                          operating_point={"flag_rate": 0.2}, n_boot=50, random_state=0)
    >>> cmp.performance.set_index("measure").loc["flag_rate", ["without", "with"]].tolist()
    [0.2, 0.2]
    """
    if (model_without is None) != (model_with is None):
        raise ParameterError(parameter="model_with", message=
            "Pass both model_without and model_with, or neither (and training data).")
    if model_without is None:
        if train_features is None or train_labels is None:
            raise ParameterError(parameter="train_features", message=
                "Pass fitted model_without and model_with, or train_features and "
                "train_labels to fit both RiskModels here."
            )
        from dropoutrisk.models import RiskModel

        y_train = pd.Series(np.asarray(train_labels, dtype=np.float64), index=train_features.index)
        keep = y_train.notna().to_numpy()
        params = dict(model_params or {})
        model_without = RiskModel(include_background=False, **params).fit(
            train_features[keep], y_train[keep].astype(int)
        )
        model_with = RiskModel(include_background=True, **params).fit(
            train_features[keep], y_train[keep].astype(int)
        )
    without = audit(model_without, features, labels, groups=groups, **audit_kwargs)
    with_background = audit(model_with, features, labels, groups=groups, **audit_kwargs)
    return BackgroundComparison(without=without, with_background=with_background)
