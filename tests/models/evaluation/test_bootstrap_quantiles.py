"""The one bootstrap quantile helper, as the comparison and the audit use it."""

import numpy as np

from dropoutrisk.fairness._cells import _finite_quantiles
from dropoutrisk.models.evaluation import bootstrap_quantiles


def test_quantiles_come_first_and_all_nan_columns_stay_nan_without_warnings(recwarn):
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(200, 3, 2))
    reps[:, 1, 0] = np.nan
    out = bootstrap_quantiles(reps, [0.025, 0.975])
    assert out.shape == (2, 3, 2)
    assert np.isnan(out[:, 1, 0]).all() and not np.isnan(np.delete(out.reshape(2, -1), 2, 1)).any()
    np.testing.assert_allclose(out[:, 0, 0], np.quantile(reps[:, 0, 0], [0.025, 0.975]))
    assert not recwarn.list


def test_the_audit_rule_needs_half_the_replicates_and_interpolates_nothing():
    reps = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, np.nan, np.nan, 9.0], [np.nan, np.nan, np.nan, 1.0]])
    ends = _finite_quantiles(reps, (0.1, 0.9))
    assert ends.shape == (3, 2)
    assert ends[0].tolist() == [1.0, 4.0]          # values of the sample, no interpolation
    assert ends[1].tolist() == [1.0, 9.0]          # two of four defined: still an interval
    assert np.isnan(ends[2]).all()                 # one of four: undefined
    assert bootstrap_quantiles(np.empty((0, 2)), [0.5]).shape == (1, 2)
