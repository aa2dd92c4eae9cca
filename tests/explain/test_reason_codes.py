"""reason_codes(): the reason codes predict would give, each row against its own snapshot."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.explain import explain_students, reason_codes, reasons_frame

from .conftest import make_frame


def _stacked(frame):
    """The frame at two snapshots; the second has other values (its own medians)."""
    X, _ = frame
    later = make_frame(seed=5)[0]
    later["as_of"] = pd.Timestamp("2024-11-04")
    for column in ("attendance_rate", "attendance_rate_4w", "grade_point_mean"):
        later[column] = later[column] * 0.6  # a worse term: lower medians at that snapshot
    return pd.concat([X, later])


def test_codes_equal_the_explanations_of_each_snapshot_on_its_own(platt_model, frame):
    stacked = _stacked(frame)
    codes = reason_codes(platt_model, stacked, n=3)
    assert codes.columns.tolist() == ["reason_1_code", "reason_2_code", "reason_3_code"]
    assert codes.index.equals(stacked.index)
    for day in stacked["as_of"].unique():
        alone = stacked[stacked["as_of"] == day]
        expected = reasons_frame(explain_students(platt_model, alone, top_n=3), 3)
        got = codes[(stacked["as_of"] == day).to_numpy()]
        for k in (1, 2, 3):
            want = expected[f"reason_{k}_code"].where(expected[f"reason_{k}_code"].notna(), None)
            assert got[f"reason_{k}_code"].tolist() == want.tolist()


def test_only_the_rows_asked_for_are_explained(platt_model, frame):
    stacked = _stacked(frame)
    rows = np.zeros(len(stacked), dtype=bool)
    rows[[0, 5, 700]] = True
    some = reason_codes(platt_model, stacked, n=2, rows=rows)
    every = reason_codes(platt_model, stacked, n=2)
    assert some[~rows].isna().all().all()
    assert some[rows].equals(every[rows])


def test_bad_arguments_are_named(platt_model, frame):
    X, _ = frame
    with pytest.raises(ParameterError, match="n=0"):
        reason_codes(platt_model, X, n=0)
    with pytest.raises(ParameterError, match="one True/False per row"):
        reason_codes(platt_model, X, rows=[True])
    with pytest.raises(TypeError, match="DataFrame"):
        reason_codes(platt_model, X.to_numpy())
