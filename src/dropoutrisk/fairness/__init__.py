"""Fairness and intersectional audit, background-feature comparison, pseudonyms.

docs/architecture.md, "Trust": measure by group and by intersection of groups at the
operating point (flag rate, TPR, FPR, precision, calibration), with
bootstrap intervals; a disparity ratio outside [0.8, 1.25] is a finding;
cells with fewer than 10 students are suppressed in every output.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from dropoutrisk.fairness import audit
>>> rng = np.random.default_rng(0)
>>> groups = pd.DataFrame({"gender": rng.choice(["F", "M"], 500)})
>>> y = rng.random(500) < 0.2
>>> p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.1, 500), 0, 1)
>>> a = audit(labels=y, scores=p, groups=groups, operating_point=0.3,
...           n_boot=50, random_state=0)
>>> a.by_group["n"].tolist()
[225, 275]
"""

from dropoutrisk.fairness._audit import (
    BAND,
    DISPARITY_METRICS,
    MIN_EVENTS,
    Audit,
    OperatingPoint,
    audit,
)
from dropoutrisk.fairness._background import BackgroundComparison, compare_background
from dropoutrisk.fairness._privacy import PSEUDONYM_KEY_ENV, pseudonymise_ids
from dropoutrisk.fairness._suppress import MIN_CELL

__all__ = [
    "BAND",
    "DISPARITY_METRICS",
    "MIN_CELL",
    "MIN_EVENTS",
    "PSEUDONYM_KEY_ENV",
    "Audit",
    "BackgroundComparison",
    "OperatingPoint",
    "audit",
    "compare_background",
    "pseudonymise_ids",
]
