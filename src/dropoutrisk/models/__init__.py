"""Calibrated early-warning models, baselines and their evaluation.

Examples
--------
>>> from dropoutrisk.models import RiskModel
>>> RiskModel().calibration
'platt'
"""

from dropoutrisk.models._abc_rule import ABCRule
from dropoutrisk.models._backtest import Backtest, backtest
from dropoutrisk.models._calibration import IsotonicCalibrator, PlattCalibrator
from dropoutrisk.models._flagging import DEFAULT_TIER_CUTS, TIER_LABELS
from dropoutrisk.models._logistic import LogisticBaseline
from dropoutrisk.models._operating_point import OperatingPoint
from dropoutrisk.models._reference import BOWERS_2013, BOWERS_2013_CITATION, PublishedFlag
from dropoutrisk.models._risk_model import RiskModel
from dropoutrisk.models._train import TrainingResult, train_model
from dropoutrisk.models.bundle import (
    ModelBundle,
    PredictSettings,
    export_joblib,
    fingerprint_frame,
    load_bundle,
    load_model,
    save_model,
    trusted_types,
)
from dropoutrisk.models.drift import (
    DRIFT_THRESHOLDS,
    DriftAccumulator,
    DriftReport,
    TrainingProfile,
    check_drift,
    drift_report,
)
from dropoutrisk.models.evaluation import (
    Evaluation,
    ModelComparison,
    OutOfTimeSplit,
    compare_models,
    evaluate,
    out_of_time_split,
)

__all__ = [
    "BOWERS_2013",
    "BOWERS_2013_CITATION",
    "DEFAULT_TIER_CUTS",
    "DRIFT_THRESHOLDS",
    "TIER_LABELS",
    "ABCRule",
    "Backtest",
    "DriftAccumulator",
    "DriftReport",
    "Evaluation",
    "IsotonicCalibrator",
    "LogisticBaseline",
    "ModelBundle",
    "ModelComparison",
    "OperatingPoint",
    "OutOfTimeSplit",
    "PlattCalibrator",
    "PredictSettings",
    "PublishedFlag",
    "RiskModel",
    "TrainingProfile",
    "TrainingResult",
    "backtest",
    "check_drift",
    "compare_models",
    "drift_report",
    "evaluate",
    "export_joblib",
    "fingerprint_frame",
    "load_bundle",
    "load_model",
    "out_of_time_split",
    "save_model",
    "train_model",
    "trusted_types",
]
