"""The vectorised bootstrap kernel."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dropoutrisk.fairness import _metrics
from dropoutrisk.fairness._bootstrap import CellData, cell_measures, stratified_weights


def test_weights_keep_every_stratum_size():
    rng = np.random.default_rng(0)
    atoms = rng.integers(0, 5, 300)
    w = np.vstack(list(stratified_weights(atoms, 40, rng, max_cells=1000)))
    assert w.shape == (40, 300)
    for a in range(5):
        assert (w[:, atoms == a].sum(axis=1) == (atoms == a).sum()).all()
    assert (w.std(axis=0) > 0).mean() > 0.9


def test_weighted_measures_equal_measures_on_repeated_rows():
    rng = np.random.default_rng(1)
    n = 80
    y = (rng.random(n) < 0.3).astype(int)
    s = np.round(rng.random(n), 1)  # ties on purpose
    f = s >= 0.5
    w = rng.integers(0, 3, n)
    cell = CellData(np.arange(n), y, s, f, n_bins=10)
    got = cell_measures(cell, w[cell.rows][None, :].astype(float))
    rep = np.repeat(np.arange(n), w)
    ys, ss, fs = y[rep], s[rep], f[rep]
    assert got["roc_auc"][0] == pytest.approx(roc_auc_score(ys, ss))
    assert got["tpr"][0] == pytest.approx(_metrics.true_positive_rate(ys, ss, fs))
    assert got["fpr"][0] == pytest.approx(_metrics.false_positive_rate(ys, ss, fs))
    assert got["precision"][0] == pytest.approx(_metrics.precision(ys, ss, fs))
    assert got["ece"][0] == pytest.approx(_metrics.expected_calibration_error(ys, ss))
    assert got["mean_predicted"][0] == pytest.approx(ss.mean())


def test_undefined_measures_are_nan():
    y = np.zeros(5, dtype=int)
    s = np.linspace(0.1, 0.9, 5)
    cell = CellData(np.arange(5), y, s, s > 0.95, n_bins=10)
    got = cell_measures(cell, np.ones((1, 5)))
    assert np.isnan(got["tpr"][0]) and np.isnan(got["roc_auc"][0])
    assert np.isnan(got["precision"][0])
    assert got["fpr"][0] == 0.0
