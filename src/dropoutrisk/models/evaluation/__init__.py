"""Evaluation and comparison: the metrics, evaluate() beside baselines, compare_models().

Examples
--------
>>> import numpy as np
>>> from dropoutrisk.models.evaluation import evaluate
>>> ev = evaluate(np.array([0, 1, 0, 1, 0, 0]), np.array([0.1, 0.9, 0.5, 0.8, 0.2, 0.3]),
...               flag_rate=0.4)
>>> ev.models
['model']
"""

from dropoutrisk.models.evaluation._bootstrap import bootstrap_quantiles
from dropoutrisk.models.evaluation._compare import ModelComparison, compare_models
from dropoutrisk.models.evaluation._evaluate import Evaluation, evaluate
from dropoutrisk.models.evaluation._metrics import (
    calibration_bins,
    calibration_table,
    confusion_at,
    expected_calibration_error,
)
from dropoutrisk.models.evaluation._split import OutOfTimeSplit, out_of_time_split

__all__ = [
    "Evaluation",
    "ModelComparison",
    "OutOfTimeSplit",
    "bootstrap_quantiles",
    "calibration_bins",
    "calibration_table",
    "compare_models",
    "confusion_at",
    "evaluate",
    "expected_calibration_error",
    "out_of_time_split",
]
