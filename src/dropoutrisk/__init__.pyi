# The public surface of the root package: the one list of its names.
#
# Type checkers read this stub in place of __init__.py; at run time
# __init__.py reads the same imports (without running them) to resolve each
# name lazily on first use. Add a public name here, and only here.
from dropoutrisk._version import __version__ as __version__
from dropoutrisk.explain import Explanations as Explanations
from dropoutrisk.explain import explain_students as explain_students
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
from dropoutrisk.features import load_indicators as load_indicators
from dropoutrisk.followup import FollowUp as FollowUp
from dropoutrisk.followup import follow_up as follow_up
from dropoutrisk.models import ABCRule as ABCRule
from dropoutrisk.models import Backtest as Backtest
from dropoutrisk.models import DriftReport as DriftReport
from dropoutrisk.models import Evaluation as Evaluation
from dropoutrisk.models import LogisticBaseline as LogisticBaseline
from dropoutrisk.models import ModelBundle as ModelBundle
from dropoutrisk.models import ModelComparison as ModelComparison
from dropoutrisk.models import RiskModel as RiskModel
from dropoutrisk.models import TrainingResult as TrainingResult
from dropoutrisk.models import backtest as backtest
from dropoutrisk.models import compare_models as compare_models
from dropoutrisk.models import drift_report as drift_report
from dropoutrisk.models import evaluate as evaluate
from dropoutrisk.models import load_bundle as load_bundle
from dropoutrisk.models import load_model as load_model
from dropoutrisk.models import out_of_time_split as out_of_time_split
from dropoutrisk.models import save_model as save_model
from dropoutrisk.models import train_model as train_model
from dropoutrisk.report import model_card as model_card
from dropoutrisk.report import student_report as student_report
from dropoutrisk.schema import harmonise_attendance as harmonise_attendance
from dropoutrisk.schema import school_year_start as school_year_start
from dropoutrisk.schema import snapshot_dates as snapshot_dates
from dropoutrisk.schema import validate_tables as validate_tables
from dropoutrisk.scoring import ScoreResult as ScoreResult
from dropoutrisk.scoring import score as score
from dropoutrisk.synthetic import make_cohorts as make_cohorts

__all__: list[str]
