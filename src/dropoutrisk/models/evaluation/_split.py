"""out_of_time_split(): train on earlier cohorts, test on a later one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    AlignmentError,
    ParameterError,
)

__all__ = ["OutOfTimeSplit", "out_of_time_split"]


class OutOfTimeSplit(NamedTuple):
    """Train, calibration and test parts of an out-of-time split."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_calib: pd.DataFrame | None
    y_calib: pd.Series | None
    X_test: pd.DataFrame
    y_test: pd.Series


def out_of_time_split(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    train_cohorts: Sequence[int],
    test_cohort: int,
    calib_cohort: int | None = None,
    test_weeks: Sequence[int] | None = None,
    cohort_column: str = "cohort",
) -> OutOfTimeSplit:
    """Split snapshot rows by cohort: train on earlier cohorts, test on a later one.

    Parameters
    ----------
    X : DataFrame
        Feature rows with a cohort column (and ``as_of`` for ``test_weeks``).
    y : Series
        Labels aligned with ``X`` row by row.
    train_cohorts : sequence of int
        Cohorts (school-year start) to train on.
    test_cohort : int
        The cohort to test on; must be later than every training cohort.
    calib_cohort : int, optional
        A cohort for the calibrator (``RiskModel.fit(..., X_calib=, y_calib=)``);
        between the training cohorts and the test cohort.
    test_weeks : sequence of int, optional
        Keep only test snapshots taken this many weeks into the test cohort's
        first school year (:func:`dropoutrisk.schema.snapshot_date`).
    cohort_column : str, default "cohort"

    Returns
    -------
    OutOfTimeSplit
        ``(X_train, y_train, X_calib, y_calib, X_test, y_test)``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"cohort": [2020, 2021, 2022, 2023], "attendance_rate": [.9, .8, .7, .6]})
    >>> y = pd.Series([0, 1, 0, 1])
    >>> split = out_of_time_split(X, y, train_cohorts=[2020, 2021], calib_cohort=2022,
    ...                           test_cohort=2023)
    >>> split.X_train["cohort"].tolist(), split.X_calib["cohort"].tolist(), split.y_test.tolist()
    ([2020, 2021], [2022], [1])
    """
    if cohort_column not in X.columns:
        raise ParameterError(parameter="cohort_column", message=
            f"X has no column {cohort_column!r}; pass cohort_column=.")
    if len(X) != len(y):
        raise AlignmentError(table="training rows", problem=
            f"X has {len(X)} rows but y has {len(y)}.")
    train_cohorts = [int(c) for c in train_cohorts]
    later = [c for c in (calib_cohort, test_cohort) if c is not None]
    if not train_cohorts or any(c <= max(train_cohorts) for c in later):
        raise ParameterError(parameter="calib_cohort", message=
            f"Not out of time: calib_cohort={calib_cohort!r} and test_cohort={test_cohort!r} "
            f"must come after every training cohort {train_cohorts}."
        )
    if calib_cohort is not None and calib_cohort >= test_cohort:
        raise ParameterError(parameter="calib_cohort", message=
            f"calib_cohort={calib_cohort} must come before test_cohort={test_cohort}.")
    cohort = X[cohort_column].to_numpy()
    y = pd.Series(np.asarray(y), index=X.index, name=getattr(y, "name", "label"))

    def part(mask):
        return X[mask], y[mask]

    X_tr, y_tr = part(np.isin(cohort, train_cohorts))
    X_c, y_c = part(cohort == calib_cohort) if calib_cohort is not None else (None, None)
    test_mask = cohort == test_cohort
    if test_weeks is not None:
        from dropoutrisk.schema import snapshot_date

        wanted = pd.to_datetime([snapshot_date(test_cohort, w) for w in test_weeks])
        test_mask &= pd.to_datetime(X["as_of"]).isin(wanted).to_numpy()
    X_te, y_te = part(test_mask)
    return OutOfTimeSplit(X_tr, y_tr, X_c, y_c, X_te, y_te)
