"""A small ready-made feature table, for examples and quick experiments."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = ["make_features"]


def make_features(
    n_students: int = 1000,
    *,
    n_schools: int = 1,
    random_state: int | None = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """A feature table and outcomes of made-up students, with a known, simple risk.

    Where :func:`make_cohorts` writes the canonical tables that
    ``build_features`` turns into features, this gives the features directly,
    as :func:`sklearn.datasets.make_classification` does for scikit-learn:
    enough to fit, score and explain a model in a few lines. Each student has a
    school, a four-week attendance rate (uniform between 0.5 and 1) and a
    number of failed courses (Poisson, mean 0.5). The risk has the steps
    that make tree models useful: the log-odds of dropping out are -2.6,
    plus 2.6 below 80% attendance, plus 1 from two failed courses. About one
    student in four drops out: one in fourteen of those who attend 80% or
    more, one in two of the others.

    Parameters
    ----------
    n_students : int, default 1000
        How many students (rows).
    n_schools : int, default 1
        Students are dealt to schools ``s1``, ``s2``, ... in turn.
    random_state : int or None, default 0
        Seed of the draws; the same seed gives the same table.

    Returns
    -------
    X : DataFrame
        Indexed by ``student_id`` (``id0``, ``id1``, ...), with the columns
        ``school_id``, ``attendance_rate_4w`` and ``failed_courses``: names of
        the default catalogue, so that reasons read as they do on real data.
    y : Series of int
        ``dropout`` (1 = dropped out), on the same index.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features(200, n_schools=2)
    >>> X.columns.tolist(), X.index[:2].tolist()
    (['school_id', 'attendance_rate_4w', 'failed_courses'], ['id0', 'id1'])
    >>> sorted(X["school_id"].unique()), int(y.sum()) > 0
    (['s1', 's2'], True)
    """
    if isinstance(n_students, bool) or not isinstance(n_students, numbers.Integral) \
            or n_students < 1:
        raise ParameterError(parameter="n_students", value=n_students,
                             problem="is not a whole number of at least 1")
    if isinstance(n_schools, bool) or not isinstance(n_schools, numbers.Integral) \
            or not 1 <= n_schools <= n_students:
        raise ParameterError(parameter="n_schools", value=n_schools,
                             problem="is not a whole number from 1 to n_students",
                             allowed=f"1 to {n_students}")
    rng = np.random.default_rng(random_state)
    index = pd.Index([f"id{i}" for i in range(n_students)], name="student_id")
    attendance = 0.4 + 0.6 * rng.beta(4.0, 1.2, n_students)
    failed = rng.poisson(0.5, n_students).astype(float)
    log_odds = -3.0 + 3.2 * (attendance < 0.8) + 1.0 * (failed >= 2)
    risk = 1.0 / (1.0 + np.exp(-log_odds))
    X = pd.DataFrame({
        "school_id": [f"s{i % n_schools + 1}" for i in range(n_students)],
        "attendance_rate_4w": attendance,
        "failed_courses": failed,
    }, index=index)
    y = pd.Series((rng.random(n_students) < risk).astype(int), index=index, name="dropout")
    return X, y
