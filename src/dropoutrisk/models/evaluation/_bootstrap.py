"""The paired cluster bootstrap of :func:`compare_models`: ranking, metric kernel, draws, intervals.

Every model is scored on the same resampled students in each replicate
(cluster counts drawn once), so differences between models are paired.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dropoutrisk.models.evaluation._evaluate import _pct

_PROBA_EPS = 1e-15  # log-loss clip, as in evaluate()


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


class _Ranking:
    """One model's ranking score, sorted once, for weighted ROC-AUC and PR-AUC.

    Rows are sorted by decreasing score; rows with equal scores form a tie
    group. For each dropout (positive) row we keep the number of negatives
    before its tie group and through its end, and the number of positives
    through its end. Given cluster weights, cumulative sums over the
    negatives and the positives then give both measures for every
    replicate at once, ties counting one half as in scikit-learn.
    """

    __slots__ = ("neg_cluster", "neg_hi", "neg_lo", "pos_cluster", "pos_hi")

    def __init__(self, rank: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> None:
        order = np.argsort(-rank, kind="stable")
        s, pos, cl = rank[order], y[order].astype(bool), clusters[order]
        new_group = np.ones(s.size, dtype=bool)
        new_group[1:] = s[1:] != s[:-1]
        group = np.cumsum(new_group) - 1
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], s.size)
        neg_before = np.concatenate([[0], np.cumsum(~pos)])
        pos_before = np.concatenate([[0], np.cumsum(pos)])
        g = group[pos]
        self.neg_lo = neg_before[starts[g]]
        self.neg_hi = neg_before[ends[g]]
        self.pos_hi = pos_before[ends[g]]
        self.pos_cluster = cl[pos]
        self.neg_cluster = cl[~pos]

    def measures(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ROC-AUC, average precision) for each row of cluster weights ``w``."""
        n_rep = w.shape[0]
        w_pos = w[:, self.pos_cluster]
        neg_cum = np.zeros((n_rep, self.neg_cluster.size + 1))
        np.cumsum(w[:, self.neg_cluster], axis=1, out=neg_cum[:, 1:])
        pos_cum = np.zeros((n_rep, self.pos_cluster.size + 1))
        np.cumsum(w_pos, axis=1, out=pos_cum[:, 1:])
        n_neg, n_pos = neg_cum[:, -1], pos_cum[:, -1]
        lo, hi = neg_cum[:, self.neg_lo], neg_cum[:, self.neg_hi]
        # negatives ranked below the positive's tie group count 1, those tied count 1/2
        auc = _divide((w_pos * (n_neg[:, None] - 0.5 * (lo + hi))).sum(axis=1), n_pos * n_neg)
        # average precision: each positive adds its weight times the precision at its threshold
        tp = pos_cum[:, self.pos_hi]
        flagged = tp + hi
        precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
        ap = _divide((w_pos * precision).sum(axis=1), n_pos)
        return auc, ap


def _metric_names(k_rates: Sequence[float]) -> list[str]:
    """Metric names in output order (the column names of :func:`evaluate`)."""
    names = ["roc_auc", "pr_auc", "brier", "log_loss"]
    for k in k_rates:
        names += [f"precision_at_{_pct(k)}", f"recall_at_{_pct(k)}"]
    return names


class _Kernel:
    """Every metric of every model, for any set of cluster weights.

    Metrics other than the two ranking areas are ratios of weighted sums,
    so they come from per-cluster sums and one matrix product. The point
    estimates are the same computation with every cluster weighted once.
    """

    def __init__(self, y: np.ndarray, clusters: np.ndarray, n_clusters: int,
                 scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
                 flags: Mapping[str, Mapping[float, np.ndarray]], k_rates: Sequence[float]
                 ) -> None:
        self.names = list(scores)
        self.k_rates = list(k_rates)
        self.rankings = [_Ranking(rank, y, clusters) for _, rank in scores.values()]
        self.is_proba = [bool(np.all((p >= 0) & (p <= 1))) for p, _ in scores.values()]
        yf = y.astype(np.float64)
        columns = [np.ones_like(yf), yf]
        for proba, _ in scores.values():
            p = np.clip(proba, _PROBA_EPS, 1 - _PROBA_EPS)
            columns.append((proba - yf) ** 2)
            columns.append(-(yf * np.log(p) + (1 - yf) * np.log1p(-p)))
        for name in self.names:
            for k in self.k_rates:
                f = flags[name][k].astype(np.float64)
                columns += [f, f * yf]
        self.sums = np.column_stack([np.bincount(clusters, weights=c, minlength=n_clusters)
                                     for c in columns])
        self.metric_names = _metric_names(self.k_rates)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        """Array (replicates, models, metrics) for cluster weights ``w`` (replicates, clusters)."""
        t = w @ self.sums
        n, pos = t[:, 0], t[:, 1]
        n_models = len(self.names)
        out = np.full((w.shape[0], n_models, len(self.metric_names)), np.nan)
        for m, ranking in enumerate(self.rankings):
            out[:, m, 0], out[:, m, 1] = ranking.measures(w)
            if self.is_proba[m]:
                out[:, m, 2] = _divide(t[:, 2 + 2 * m], n)
                out[:, m, 3] = _divide(t[:, 3 + 2 * m], n)
            for j in range(len(self.k_rates)):
                c = 2 + 2 * n_models + 2 * (m * len(self.k_rates) + j)
                out[:, m, 4 + 2 * j] = _divide(t[:, c + 1], t[:, c])
                out[:, m, 5 + 2 * j] = _divide(t[:, c + 1], pos)
        return out


def _draw_counts(rng: np.random.Generator, n_clusters: int, size: int) -> np.ndarray:
    """How often each cluster is drawn in ``size`` replicates of ``n_clusters`` draws.

    Each row is one multinomial(n_clusters, uniform) vector; drawing the
    cluster numbers and counting them is several times faster than
    :meth:`numpy.random.Generator.multinomial` for many clusters.
    """
    picks = rng.integers(0, n_clusters, size=(size, n_clusters))
    picks += (np.arange(size) * n_clusters)[:, None]
    counts = np.bincount(picks.ravel(), minlength=size * n_clusters)
    return counts.reshape(size, n_clusters).astype(np.float64)


def bootstrap_quantiles(
    replicates: Any, qs: Sequence[float], *, axis: int = 0, method: str = "linear",
    min_valid_share: float = 0.0,
) -> np.ndarray:
    """Percentile-interval ends of bootstrap replicates along ``axis``, ignoring NaN.

    The one quantile helper of the comparison and the fairness audit. The
    result has the quantiles on its first axis and the other axes of
    ``replicates`` after it. Where fewer than ``min_valid_share`` of the
    replicates (and always where none) are defined, the result is NaN,
    without a warning.

    Examples
    --------
    >>> import numpy as np
    >>> reps = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, 5.0]])
    >>> bootstrap_quantiles(reps, [0.0, 1.0]).tolist()
    [[1.0, 5.0], [3.0, 5.0]]
    >>> bootstrap_quantiles(reps, [0.0, 1.0], min_valid_share=0.5).tolist()
    [[1.0, nan], [3.0, nan]]
    """
    values = np.moveaxis(np.asarray(replicates, dtype=np.float64), axis, 0)
    n = values.shape[0]
    out = np.full((len(qs), *values.shape[1:]), np.nan)
    if n == 0:
        return out
    ok = (~np.isnan(values)).sum(axis=0) >= max(1.0, min_valid_share * n)
    if ok.any():
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            out[:, ok] = np.nanquantile(values[:, ok], qs, axis=0, method=method)
    return out
