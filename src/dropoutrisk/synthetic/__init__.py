"""Synthetic Swedish upper-secondary cohorts with a known true risk.

The generator follows the Plug In picture of dropout as a process: a latent
school connectedness drifts week by week, attendance, grades, survey items
and staff concerns are noisy readings of it, and the dropout hazard depends
on it. The ``truth`` table holds the exact probability of dropout within the
horizon at each snapshot.
"""

from dropoutrisk.synthetic._calibration import (
    SEED_FIGURES,
    calibration_figures,
    eligible_for_national,
)
from dropoutrisk.synthetic._catalogue import ASSESSMENT_ITEMS
from dropoutrisk.synthetic._drift import plant_concept_drift
from dropoutrisk.synthetic._example import make_features
from dropoutrisk.synthetic._fault import plant_recording_fault
from dropoutrisk.synthetic._generator import EVENT_TABLES, SyntheticCohorts, make_cohorts
from dropoutrisk.synthetic._oracle import oracle_metrics
from dropoutrisk.synthetic._support import SupportPlan

__all__ = [
    "ASSESSMENT_ITEMS",
    "EVENT_TABLES",
    "SEED_FIGURES",
    "SupportPlan",
    "SyntheticCohorts",
    "calibration_figures",
    "eligible_for_national",
    "make_cohorts",
    "make_features",
    "oracle_metrics",
    "plant_concept_drift",
    "plant_recording_fault",
]
