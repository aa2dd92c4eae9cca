"""The model against its baselines on held-out students inside the training data.

On a few thousand students a linear model or a simple rule can rank better
than the trees. :class:`~dropoutrisk.models.RiskModel` finds out while it
trains: the logistic baseline is refitted on every fold that held out the
model's own margins, the ABC rule (which learns nothing from the labels to
rank) scores the same rows, and :func:`~dropoutrisk.models.compare_models`
puts a paired bootstrap interval over students on each difference. A baseline
whose interval for ROC-AUC or for recall at a 10% flag rate (the usual
operating point) lies wholly above the model's raises a
:class:`~dropoutrisk.errors.BaselineWarning`. Two metrics and two baselines
make a false alarm likelier than one test's 2.5%: the warning asks for a look
on a later cohort, it does not prove the baseline better.

The rounds were chosen on the same held-out rows, which favours the model a
little: a baseline that still comes out ahead is ahead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import BaselineWarning, MissingColumnError

__all__ = ["BASELINE_METRICS", "DECIDING_METRICS", "held_out_comparison", "warn_if_beaten"]

#: Metrics recorded for every baseline.
BASELINE_METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "recall_at_10pct")
#: A baseline ahead beyond noise on any of these raises the warning.
DECIDING_METRICS: tuple[str, ...] = ("roc_auc", "recall_at_10pct")
_N_BOOT = 1000


def held_out_comparison(
    X: pd.DataFrame,
    y01: np.ndarray,
    groups: np.ndarray | None,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    model_margin: np.ndarray,
    *,
    catalogue: Any,
    include_background: bool,
    seed: int,
) -> dict[str, Any]:
    """Compare the model's held-out margins with the baselines on the same rows.

    Parameters
    ----------
    X : DataFrame
        The labelled training rows, as given to ``fit`` (the baselines pick
        their own columns).
    y01 : ndarray
        0/1 labels of ``X``.
    groups : ndarray or None
        Student codes of ``X`` (the bootstrap resamples students); None
        resamples rows.
    splits : sequence of (train, held_out) position arrays
        The folds (or the one hold-out) the model's margins come from; every
        held-out row has a margin in ``model_margin``.
    model_margin : ndarray
        The model's margin of every row of ``X``; only held-out rows are read.
    catalogue, include_background
        As the model's, so that the logistic baseline sees the same features.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        Aggregates only (no row, no id): ``n_rows``, ``n_students``,
        ``metrics`` per model, ``differences`` model - baseline with their
        intervals per metric, ``ahead`` (the baselines whose ROC-AUC interval
        lies wholly above the model's on ROC-AUC or recall at 10%), ``ahead_on``
        (those metrics, per baseline) and ``not_compared`` with a reason.
    """
    from threadpoolctl import threadpool_limits

    from dropoutrisk.models._abc_rule import ABCRule
    from dropoutrisk.models._logistic import LogisticBaseline
    from dropoutrisk.models.evaluation import compare_models

    held = np.sort(np.concatenate([test for _, test in splits]))
    n_students = int(np.unique(groups[held]).size) if groups is not None else int(held.size)
    out: dict[str, Any] = {
        "held_out_rows": int(held.size), "held_out_students": n_students,
        "n_boot": _N_BOOT, "confidence": 0.95, "decided_on": list(DECIDING_METRICS),
        "metrics": {}, "differences": {}, "ahead": [], "ahead_on": {}, "not_compared": {},
    }
    y_held = y01[held]
    one_class = [y01[train].min() == y01[train].max() for train, _ in splits]
    if y_held.min() == y_held.max() or any(one_class):
        reason = ("the held-out rows hold one class only" if y_held.min() == y_held.max()
                  else "a fold's training rows hold one class only (too few dropouts)")
        out["not_compared"] = {"logistic": reason, "abc": reason}
        return out
    logistic = np.full(y01.size, np.nan)
    # One BLAS thread: on a few thousand rows two OpenBLAS threads beside LightGBM's
    # OpenMP pool made each fit ten times slower (1.5 s against 0.15 s on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        for train, test in splits:
            lr = LogisticBaseline(catalogue=catalogue, include_background=include_background)
            lr.fit(X.iloc[train], y01[train])
            logistic[test] = lr.decision_function(X.iloc[test])
    scores: dict[str, np.ndarray] = {"model": model_margin[held], "logistic": logistic[held]}
    not_compared: dict[str, str] = out["not_compared"]
    try:  # the rule ranks without the labels: no refit per fold is needed
        rule = ABCRule().fit(X.iloc[held], y01[held])
        scores["abc"] = rule.decision_function(X.iloc[held])
    except (MissingColumnError, TypeError) as exc:
        not_compared["abc"] = f"the ABC rule cannot score these rows ({exc})"
    as_of = None
    if isinstance(X, pd.DataFrame) and "as_of" in X.columns:
        as_of = X["as_of"].to_numpy()[held]
    with warnings.catch_warnings():
        # a replicate without dropouts on a few hundred students: the interval uses the rest
        warnings.filterwarnings("ignore", message=".*bootstrap replicates left a metric",
                                category=UserWarning)
        cmp = compare_models(scores, y=y_held, reference="model", k_rates=(0.10,),
                             metrics=list(BASELINE_METRICS), n_boot=_N_BOOT,
                             groups=None if groups is None else groups[held], as_of=as_of,
                             random_state=int(seed) % (2**32))
    out["metrics"] = {name: {m: _num(v) for m, v in row.items()}
                      for name, row in cmp.metrics.to_dict(orient="index").items()}
    for r in cmp.differences.itertuples(index=False):
        # differences are stored model - baseline: the reference is the model here
        out["differences"].setdefault(r.model, {})[r.metric] = {
            "difference": _num(-r.difference), "ci_low": _num(-r.ci_high),
            "ci_high": _num(-r.ci_low)}
    for name, d in out["differences"].items():
        beaten = [m for m in DECIDING_METRICS
                  if d[m]["ci_high"] is not None and d[m]["ci_high"] < 0]
        if beaten:
            out["ahead_on"][name] = beaten
    out["ahead"] = list(out["ahead_on"])
    return out


def warn_if_beaten(comparison: dict[str, Any], *, stacklevel: int = 3) -> None:
    """Raise a :class:`BaselineWarning` for each baseline ahead beyond noise."""
    names = {"logistic": "the logistic baseline (LogisticBaseline)", "abc": "the ABC rule"}
    for name in comparison["ahead"]:
        parts = []
        for metric in comparison["ahead_on"][name]:
            d = comparison["differences"][name][metric]
            parts.append(f"{metric} model - {name} {d['difference']:+.4f} "
                         f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]")
        warnings.warn(
            f"On {comparison['held_out_students']} held-out students inside the training data, "
            f"{names.get(name, name)} does better than this model: {'; '.join(parts)} "
            "(95% intervals, paired bootstrap over students). With data this small, consider the baseline, "
            "or train on more cohorts, and check on a later cohort with compare_models.",
            BaselineWarning, stacklevel=stacklevel)


def _num(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)
