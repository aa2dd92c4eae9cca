"""Which labelled rows had support that may have changed their outcome.

Once schools act on the flags, the outcomes a model learns from are partly the
school's doing: a supported student who would have dropped out may not. A row
(a student at a snapshot ``as_of``) is *supported* when the student has an
intervention dated before the end of the row's label window,
``as_of + horizon_days``: support before the snapshot can still act in the
window, and support inside it changes the label directly (docs/follow-up.md,
"Training").
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = ["SUPPORTED_HANDLING", "check_handling", "supported_rows"]

#: How training treats supported rows: keep them (with a warning) or leave them out.
SUPPORTED_HANDLING: tuple[str, ...] = ("keep", "exclude")

Handling = Literal["keep", "exclude"]


def check_handling(value: Any) -> Handling:
    if value not in SUPPORTED_HANDLING:
        raise ParameterError(
            parameter="supported", value=value, problem="is not a way to handle supported students",
            allowed="'keep' (train on their outcomes, with a warning) or 'exclude' (leave their "
            "rows out of training and calibration)",
            fix="Pass supported='exclude' when schools acted on earlier flags")
    return value


def supported_rows(interventions: pd.DataFrame | None, student_ids: Any, as_of: Any,
                   horizon_days: int) -> np.ndarray:
    """Boolean mask: the row's student has an intervention before ``as_of + horizon_days``.

    Examples
    --------
    >>> iv = pd.DataFrame({"student_id": ["a"], "date": pd.to_datetime(["2024-11-01"]),
    ...                    "kind": ["mentor_talk"]})
    >>> supported_rows(iv, ["a", "a", "b"], pd.to_datetime(["2024-10-01", "2023-10-01",
    ...                "2024-10-01"]), 365).tolist()
    [True, False, False]
    """
    ids = pd.Index(np.asarray(student_ids, dtype=object))
    if interventions is None or len(interventions) == 0:
        return np.zeros(len(ids), dtype=bool)
    first = (pd.to_datetime(interventions["date"]).groupby(
        interventions["student_id"].astype(str).to_numpy()).min())
    start = first.reindex(ids.astype(str)).to_numpy(dtype="datetime64[ns]")
    end = pd.to_datetime(np.asarray(as_of)).to_numpy(dtype="datetime64[ns]") + np.timedelta64(
        int(horizon_days), "D")
    return ~np.isnat(start) & (start < end)
