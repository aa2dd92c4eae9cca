"""Input drift against the training profile stored in a model bundle.

At training time :meth:`TrainingProfile.from_features` summarises the
feature rows the model was trained on, without keeping any row:

* per numeric feature, decile bin edges and the share of rows in each bin;
* per feature, the share of missing values;
* per categorical feature, the categories seen and their shares;
* the share of students with no attendance rows (``attendance_rate`` missing).

At prediction time :func:`check_drift` compares new feature rows with it.
Rows can be fed in chunks (:meth:`TrainingProfile.accumulator`), so the check
streams with the scoring. Thresholds (module constants, documented in
``docs/batch-scoring.md``):

=============================  ==========  ==========
check                          watch       drift
=============================  ==========  ==========
PSI per feature                >= 0.10     >= 0.25
missing share, absolute shift  >= 0.05     >= 0.10
unseen categories, row share   > 0         >= 0.01
no-attendance share, shift     >= 0.05     >= 0.10
=============================  ==========  ==========

PSI (population stability index) is ``sum((a - e) * ln(a / e))`` over the
training bins, with shares floored at ``1e-4``; it is computed on the
non-missing values (missingness has its own check). PSI is noisy on small
batches: a few hundred students can read "watch" without any real change.

**Like for like.** Training rows are snapshots at several weeks of several
school years, and many features follow the calendar (attendance over the last
two weeks is missing early in the year, lateness and concern counts grow
through the year). So, with ``by_week=True``, a profile is also stored per
snapshot week, keyed by the week of the school year of each row's ``as_of``
(:func:`school_week`), next to the pooled profile. A check at a date uses the
profile of the stored week **nearest** to that date's week of the school year
(on a tie, the earlier week); the chosen week is recorded in the report
(:attr:`DriftReport.reference`). Without per-week profiles (older bundles, or
no date given) the pooled profile is used, as before.

Features in :data:`CALENDAR_FEATURES` (``grade_year``) are fixed by the
cohort and the date: a different mix of year groups on a scoring date is not
drift of the model's inputs, so their PSI is reported but never judged; their
missingness is still checked.

**Sampling noise.** PSI over ``B`` bins of ``n`` values drawn from the training
distribution is about ``chi2(B - 1) / n``, so on a sparse feature (say 80
students with a concern report) PSI exceeds 0.25 by chance alone. A PSI
threshold is only applied when ``n`` values make crossing it by chance unlikely
(chi-square tail probability below :data:`PSI_CHANCE`, 0.001): with 10 bins,
"drift" needs at least 112 non-missing values and "watch" 279. Below that the
PSI is reported with ``psi_judged`` false.
"""

from dropoutrisk.models.drift._check import DriftAccumulator, check_drift, drift_report
from dropoutrisk.models.drift._profile import (
    CALENDAR_FEATURES,
    DRIFT_THRESHOLDS,
    PSI_CHANCE,
    TrainingProfile,
    school_week,
)
from dropoutrisk.models.drift._report import DriftReport

__all__ = [
    "CALENDAR_FEATURES",
    "DRIFT_THRESHOLDS",
    "PSI_CHANCE",
    "DriftAccumulator",
    "DriftReport",
    "TrainingProfile",
    "check_drift",
    "drift_report",
    "school_week",
]
