"""Batch scoring: :func:`score`, the library core of ``dropoutrisk predict`` and of the served model.

``score`` validates the input, builds the features, predicts, flags, ranks,
explains the flagged students, checks drift and returns an immutable
:class:`ScoreResult` with the predictions and the run record. Files are read
and written by the command line (or a job script). :func:`score_spark` does the
same for a Spark DataFrame of feature rows (docs/spark.md).

Examples
--------
>>> from dropoutrisk.scoring import PREDICTION_COLUMNS
>>> PREDICTION_COLUMNS[:3]
('student_id', 'school_id', 'probability')
"""

from dropoutrisk.scoring._result import PREDICTION_COLUMNS, ScoreResult, reason_columns
from dropoutrisk.scoring._score import score
from dropoutrisk.scoring._spark import SparkScoreResult, score_spark

__all__ = ["PREDICTION_COLUMNS", "ScoreResult", "SparkScoreResult", "reason_columns", "score",
           "score_spark"]
