"""Vectorised, stratified bootstrap of every cell's measures at once.

Each replicate resamples rows with replacement *within* each atom (the
finest intersection of all audit groups), so every group's and every
intersection's size stays what it is in the data, and a replicate is held
as a vector of row multiplicities (how often each row was drawn). A cell's
measures in all replicates then come from one matrix product over its
rows: counts of positives, flags, true and false positives, the score sum,
the per-bin calibration sums, and a weighted Mann-Whitney statistic for
ROC-AUC. The same functions with all multiplicities equal to one give the
point estimates, which the tests check against fairlearn's ``MetricFrame``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dropoutrisk.models.evaluation import calibration_bins

__all__ = ["MEASURES", "MEASURE_LABELS", "CellData", "cell_measures", "stratified_weights"]

#: The measures computed for every cell, in output order.
MEASURES: tuple[str, ...] = (
    "base_rate",
    "flag_rate",
    "tpr",
    "fpr",
    "precision",
    "mean_predicted",
    "ece",
    "roc_auc",
)

#: Readable names of the measures, for tables and plots.
MEASURE_LABELS: dict[str, str] = {
    "base_rate": "base rate",
    "flag_rate": "flag rate",
    "tpr": "TPR (recall)",
    "fpr": "FPR",
    "precision": "precision",
    "mean_predicted": "mean predicted",
    "ece": "ECE",
    "roc_auc": "ROC-AUC",
}


class CellData:
    """One cell's rows, sorted by score, with what the measures need.

    ``sums`` holds, per row, the vectors whose weighted sums give every
    count (dropouts, flags, true positives, score) and the per-bin
    calibration gaps, so one matrix product computes them all. For ROC-AUC,
    ``neg_lo``/``neg_hi`` count the negatives before the start and the end
    of each positive's tie group, so ties count one half.
    """

    __slots__ = ("neg_hi", "neg_lo", "neg_pos", "pos_pos", "rows", "score", "sums", "y")

    def __init__(
        self, rows: np.ndarray, y: np.ndarray, score: np.ndarray, flag: np.ndarray, n_bins: int
    ) -> None:
        order = np.argsort(score[rows], kind="stable")
        self.rows = rows[order]
        yc = y[self.rows].astype(np.float64)
        sc = score[self.rows].astype(np.float64)
        fc = flag[self.rows].astype(np.float64)
        self.y, self.score = yc, sc
        bins = calibration_bins(sc, n_bins, "equal_width")
        gap = np.zeros((sc.size, n_bins))
        gap[np.arange(sc.size), bins] = sc - yc
        self.sums = np.column_stack([yc, fc, yc * fc, sc, gap])
        is_pos = yc == 1
        self.pos_pos = np.flatnonzero(is_pos)
        self.neg_pos = np.flatnonzero(~is_pos)
        new_group = np.r_[True, sc[1:] != sc[:-1]] if sc.size else np.zeros(0, dtype=bool)
        group = np.cumsum(new_group) - 1
        starts = np.flatnonzero(new_group)
        ends = np.r_[starts[1:], sc.size]
        neg_before = np.r_[0, np.cumsum(~is_pos)]
        self.neg_lo = neg_before[starts[group[self.pos_pos]]]
        self.neg_hi = neg_before[ends[group[self.pos_pos]]]

    @property
    def bin_onehot(self) -> np.ndarray:
        """Rows x bins indicator of each row's calibration bin (for curves)."""
        gap = self.sums[:, 4:]
        n_bins = gap.shape[1]
        bins = calibration_bins(self.score, n_bins, "equal_width")
        onehot = np.zeros_like(gap)
        onehot[np.arange(self.score.size), bins] = 1.0
        return onehot


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def cell_measures(cell: CellData, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every measure of one cell for each row of ``weights``.

    Parameters
    ----------
    cell : CellData
    weights : ndarray of shape (n_replicates, n_rows_in_cell)
        Row multiplicities, in the cell's (score-sorted) row order.

    Returns
    -------
    dict of measure -> ndarray of shape (n_replicates,)
        NaN where a measure is undefined (no positives for TPR, no flags
        for precision, a single class for ROC-AUC).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 0, 1]); s = np.array([0.1, 0.8, 0.3, 0.4])
    >>> f = s >= 0.35
    >>> cell = CellData(np.arange(4), y, s, f, n_bins=10)
    >>> m = cell_measures(cell, np.ones((1, 4)))
    >>> float(m["tpr"][0]), float(m["fpr"][0]), float(m["roc_auc"][0])
    (1.0, 0.0, 1.0)
    """
    w = weights.astype(np.float64, copy=False)
    n = w.sum(axis=1)
    totals = w @ cell.sums
    pos, flags, tp, score_sum = totals[:, 0], totals[:, 1], totals[:, 2], totals[:, 3]
    neg = n - pos
    fp = flags - tp
    # Expected calibration error (models.expected_calibration_error, equal-width bins) for
    # every replicate at once: sum over bins of |weighted sum(score - y)| / weighted n.
    ece = _divide(np.abs(totals[:, 4:]).sum(axis=1), n)
    # ROC-AUC as a weighted Mann-Whitney statistic, ties counting one half.
    below = np.zeros((w.shape[0], cell.neg_pos.size + 1))
    np.cumsum(w[:, cell.neg_pos], axis=1, out=below[:, 1:])
    lo, hi = below[:, cell.neg_lo], below[:, cell.neg_hi]
    auc = _divide((w[:, cell.pos_pos] * (lo + 0.5 * (hi - lo))).sum(axis=1), pos * neg)
    return {
        "base_rate": _divide(pos, n),
        "flag_rate": _divide(flags, n),
        "tpr": _divide(tp, pos),
        "fpr": _divide(fp, neg),
        "precision": _divide(tp, flags),
        "mean_predicted": _divide(score_sum, n),
        "ece": ece,
        "roc_auc": auc,
    }


def stratified_weights(
    atoms: np.ndarray, n_boot: int, rng: np.random.Generator, *, max_cells: int = 4_000_000
) -> Iterator[np.ndarray]:
    """Yield row multiplicities for ``n_boot`` stratified replicates, in chunks.

    Parameters
    ----------
    atoms : ndarray of int of shape (n_rows,)
        The stratum of each row; rows are resampled within their stratum.
    n_boot : int
    rng : numpy.random.Generator
    max_cells : int
        Largest chunk, in replicates times rows, held in memory at once.

    Yields
    ------
    ndarray of shape (chunk, n_rows)
        How often each row is drawn in each replicate of the chunk.

    Examples
    --------
    >>> import numpy as np
    >>> atoms = np.array([0, 0, 0, 1, 1])
    >>> w = np.vstack(list(stratified_weights(atoms, 3, np.random.default_rng(0))))
    >>> w.shape, w[:, :3].sum(axis=1).tolist(), w[:, 3:].sum(axis=1).tolist()
    ((3, 5), [3, 3, 3], [2, 2, 2])
    """
    n = atoms.size
    order = np.argsort(atoms, kind="stable")
    sizes = np.bincount(atoms)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    sorted_atoms = atoms[order]
    size_of = sizes[sorted_atoms]
    start_of = starts[sorted_atoms]
    chunk = max(1, max_cells // max(n, 1))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        draw = start_of + np.floor(rng.random((b, n)) * size_of).astype(np.intp)
        flat = (np.arange(b)[:, None] * n + order[draw]).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n)
        done += b
