"""dropoutrisk: calibrated, explainable early warning of school dropout.

The public surface is small and re-exported here; everything else lives in
private modules. Importing the package does nothing but define names: heavy
dependencies (LightGBM, MLflow, DuckDB) load on first use of the function
or class that needs them.

Examples
--------
>>> import dropoutrisk
>>> "snapshot_dates" in dropoutrisk.__all__
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dropoutrisk._version import __version__

# public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "ABCRule": "dropoutrisk.models",
    "Evaluation": "dropoutrisk.models",
    "LogisticBaseline": "dropoutrisk.models",
    "RiskModel": "dropoutrisk.models",
    "evaluate": "dropoutrisk.models",
    "ModelComparison": "dropoutrisk.models",
    "compare_models": "dropoutrisk.models",
    "drift_report": "dropoutrisk.models",
    "out_of_time_split": "dropoutrisk.models",
    "load_model": "dropoutrisk.models",
    "train_model": "dropoutrisk.models",
    "TrainingResult": "dropoutrisk.models",
    "Catalogue": "dropoutrisk.features",
    "FeatureBuilder": "dropoutrisk.features",
    "Indicator": "dropoutrisk.features",
    "build_features": "dropoutrisk.features",
    "build_labels": "dropoutrisk.features",
    "build_training_frame": "dropoutrisk.features",
    "build_wide_features": "dropoutrisk.features",
    "default_catalogue": "dropoutrisk.features",
    "load_dataset_spec": "dropoutrisk.features",
    "make_cohorts": "dropoutrisk.synthetic",
    "oracle_metrics": "dropoutrisk.synthetic",
    "harmonise_attendance": "dropoutrisk.schema",
    "school_year_start": "dropoutrisk.schema",
    "snapshot_dates": "dropoutrisk.schema",
    "validate_tables": "dropoutrisk.schema",
    "Explanations": "dropoutrisk.explain",
    "explain_students": "dropoutrisk.explain",
    "student_report": "dropoutrisk.report",
    "Audit": "dropoutrisk.fairness",
    "audit": "dropoutrisk.fairness",
    "compare_background": "dropoutrisk.fairness",
    "pseudonymise_ids": "dropoutrisk.fairness",
    "model_card": "dropoutrisk.report",
    "score": "dropoutrisk.scoring",
    "ScoreResult": "dropoutrisk.scoring",
}

__all__ = sorted(_PUBLIC) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from dropoutrisk.fairness import Audit as Audit
    from dropoutrisk.fairness import audit as audit
    from dropoutrisk.fairness import compare_background as compare_background
    from dropoutrisk.fairness import pseudonymise_ids as pseudonymise_ids
    from dropoutrisk.features import Catalogue as Catalogue
    from dropoutrisk.features import FeatureBuilder as FeatureBuilder
    from dropoutrisk.features import Indicator as Indicator
    from dropoutrisk.features import build_features as build_features
    from dropoutrisk.features import build_labels as build_labels
    from dropoutrisk.features import build_training_frame as build_training_frame
    from dropoutrisk.features import build_wide_features as build_wide_features
    from dropoutrisk.features import default_catalogue as default_catalogue
    from dropoutrisk.features import load_dataset_spec as load_dataset_spec
    from dropoutrisk.models import ABCRule as ABCRule
    from dropoutrisk.models import Evaluation as Evaluation
    from dropoutrisk.models import LogisticBaseline as LogisticBaseline
    from dropoutrisk.models import ModelComparison as ModelComparison
    from dropoutrisk.models import RiskModel as RiskModel
    from dropoutrisk.models import TrainingResult as TrainingResult
    from dropoutrisk.models import compare_models as compare_models
    from dropoutrisk.models import drift_report as drift_report
    from dropoutrisk.models import evaluate as evaluate
    from dropoutrisk.models import load_model as load_model
    from dropoutrisk.models import out_of_time_split as out_of_time_split
    from dropoutrisk.models import train_model as train_model
    from dropoutrisk.report import model_card as model_card
    from dropoutrisk.schema import harmonise_attendance as harmonise_attendance
    from dropoutrisk.schema import school_year_start as school_year_start
    from dropoutrisk.schema import snapshot_dates as snapshot_dates
    from dropoutrisk.schema import validate_tables as validate_tables
    from dropoutrisk.scoring import ScoreResult as ScoreResult
    from dropoutrisk.scoring import score as score
    from dropoutrisk.synthetic import make_cohorts as make_cohorts
    from dropoutrisk.synthetic import oracle_metrics as oracle_metrics


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'dropoutrisk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
