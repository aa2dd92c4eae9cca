"""Oracle metrics: how well the exact true risk ranks and predicts the labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["oracle_metrics"]


def oracle_metrics(
    truth: pd.DataFrame,
    as_of: str | dt.date | pd.Timestamp | Sequence | None = None,
    k: Sequence[float] = (0.05, 0.1, 0.2),
) -> dict[str, float]:
    """ROC-AUC, Brier score and precision@k of ``true_risk`` against ``label``.

    These are the best any model can do on the same rows: later evaluations
    report model/oracle ratios. Rows with an empty label (censored) are left
    out.

    Parameters
    ----------
    truth : DataFrame
        The ``truth`` table (``as_of``, ``true_risk``, ``label``).
    as_of : date, str, sequence of dates or None
        Keep only these snapshot dates; ``None`` keeps all rows.
    k : sequence of float
        Shares of students flagged (highest true risk first) for precision@k.

    Returns
    -------
    dict
        ``n``, ``n_positive``, ``prevalence``, ``roc_auc``, ``brier``,
        ``mean_risk`` and ``precision_at_<k>`` for each ``k``.

    Examples
    --------
    >>> import pandas as pd
    >>> truth = pd.DataFrame({
    ...     "as_of": pd.to_datetime(["2024-09-30"] * 5),
    ...     "true_risk": [0.9, 0.2, 0.1, 0.4, 0.5],
    ...     "label": [1, 0, 0, 0, float("nan")]})
    >>> m = oracle_metrics(truth, k=(0.25, 0.5))
    >>> m["n"], m["roc_auc"], m["precision_at_0.25"], m["precision_at_0.5"]
    (4, 1.0, 1.0, 0.5)
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    df = truth
    if as_of is not None:
        dates = [as_of] if isinstance(as_of, (str, dt.date, pd.Timestamp)) else list(as_of)
        df = df[pd.to_datetime(df["as_of"]).isin(pd.to_datetime(dates))]
    df = df[df["label"].notna()]
    if len(df) == 0:
        raise ValueError(
            "No labelled truth rows to evaluate; check as_of against truth['as_of'].unique()."
        )
    y = df["label"].to_numpy(dtype=float)
    p = df["true_risk"].to_numpy(dtype=float)
    out: dict[str, float] = {
        "n": int(len(y)),
        "n_positive": int(y.sum()),
        "prevalence": float(y.mean()),
        "mean_risk": float(p.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        "brier": float(brier_score_loss(y, p)),
    }
    order = np.argsort(-p, kind="stable")
    for share in k:
        top = max(1, int(np.ceil(share * len(y))))
        out[f"precision_at_{share:g}"] = float(y[order[:top]].mean())
    return out
