"""What :func:`~dropoutrisk.scoring.score` returns: the prediction columns and :class:`ScoreResult`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dropoutrisk._result import Part, Result, copied

#: The columns of a prediction table, in order, without reasons; reasons
#: (``reason_<k>_code``, ``reason_<k>_sv``, ``reason_<k>_en``) go before ``model_id``.
PREDICTION_COLUMNS: tuple[str, ...] = (
    "student_id",
    "school_id",
    "probability",
    "flag",
    "tier",
    "rank_in_school",
    "model_id",
    "as_of",
)


def reason_columns(n: int) -> list[str]:
    """Names of the reason columns for ``n`` reasons.

    Examples
    --------
    >>> reason_columns(1)
    ['reason_1_code', 'reason_1_sv', 'reason_1_en']
    """
    return [f"reason_{k}_{part}" for k in range(1, n + 1) for part in ("code", "sv", "en")]


class RecordedResult(Result):
    """What every scoring result has: the run record and the drift report (immutable)."""

    __slots__ = ()

    run_record = Part[dict[str, Any]](
        "A deep copy of the run record (JSON types only).", attr="_record")

    def to_dict(self) -> dict[str, Any]:
        """The run record (aggregates only, never a student row)."""
        return copied(self._record)

    drift = Part("The drift report, or ``None`` when no check was made.", convert=None)

    @property
    def n_flagged(self) -> int:
        """Number of flagged students."""
        return int(self._record["rows"]["flagged"])


class ScoreResult(RecordedResult):
    """The result of :func:`score`; immutable.

    Properties return copies: :attr:`predictions` (one row per student,
    sorted by ``student_id``), :attr:`run_record` (what was scored, with
    which model, on which data: counts, warnings, drift, versions, timings;
    no student-level rows) and :attr:`drift` (a
    :class:`~dropoutrisk.models.DriftReport`, or ``None`` when not checked).
    """

    __slots__ = ("_drift", "_record", "_table")
    _remedy = "call score() again."

    def __init__(self, table: Any, record: dict[str, Any], drift: Any) -> None:
        self._set(table=table, record=record, drift=drift)

    @property
    def predictions(self) -> pd.DataFrame:
        """One row per student: see :data:`PREDICTION_COLUMNS` and :func:`reason_columns`."""
        return self._table.to_pandas()

    def to_arrow(self) -> Any:
        """The predictions as an (immutable) ``pyarrow.Table``, without copying."""
        return self._table

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        return (f"ScoreResult(n={self._table.num_rows}, flagged={self.n_flagged}, "
                f"model_id={self._record['model']['model_id']!r}, "
                f"as_of={self._record['as_of']!r})")

