"""Published early-warning flags, as reference points in ROC space.

Source: Bowers, A. J., Sprott, R., & Taff, S. A. (2013). Do we know who will
drop out? A review of the predictors of dropping out of high school:
precision, sensitivity, and specificity. *The High School Journal*, 96(2),
77-100. Figures as transcribed by J. Knowles (jknowles/EWStools,
``bowersEWS``); "precision" is the paper's "prediction" column. Each row
names the original study and grade. These are other populations, other
countries and other outcome definitions: use them as orientation, not as a
like-for-like comparison.

Examples
--------
>>> from dropoutrisk.models import BOWERS_2013
>>> len(BOWERS_2013), BOWERS_2013[2].flag
(9, 'attendance <= 80%')
>>> round(BOWERS_2013[2].false_positive_rate, 3)
0.064
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BOWERS_2013", "BOWERS_2013_CITATION", "PublishedFlag"]

BOWERS_2013_CITATION = (
    "Bowers, A. J., Sprott, R., & Taff, S. A. (2013). Do we know who will drop out? "
    "A review of the predictors of dropping out of high school: precision, sensitivity, "
    "and specificity. The High School Journal, 96(2), 77-100."
)


class PublishedFlag(NamedTuple):
    """One published dropout flag with its accuracy as reported by Bowers et al. (2013)."""

    flag: str
    study: str
    grade: str
    n: int
    dropout_rate: float
    precision: float
    sensitivity: float
    specificity: float

    @property
    def false_positive_rate(self) -> float:
        """``1 - specificity``: the flag's x coordinate in ROC space."""
        return 1.0 - self.specificity


#: The Bowers et al. (2013) rows used as ROC-space reference points.
BOWERS_2013: tuple[PublishedFlag, ...] = (
    PublishedFlag("Chicago on-track: low credits + >1 failed course",
                  "Allensworth & Easton 2007", "9", 20803, 0.426, 0.780, 0.751, 0.843),
    PublishedFlag("3 or more Fs", "Allensworth & Easton 2007", "9", 20340, 0.411, 0.806, 0.648,
                  0.891),
    PublishedFlag("attendance <= 80%", "Balfanz et al. 2007", "6", 12037, 0.572, 0.830, 0.233,
                  0.936),
    PublishedFlag("one or more flags", "Balfanz et al. 2007", "6", 12037, 0.572, 0.710, 0.595,
                  0.675),
    PublishedFlag("failed 4+ credits, 1st term", "Troob 1985", "9", 10142, 0.261, 0.852, 0.469,
                  0.971),
    PublishedFlag("16+ absences, 1st term", "Troob 1985", "9", 11068, 0.257, 0.831, 0.467, 0.967),
    PublishedFlag("GMM of non-cumulative GPA", "Bowers & Sprott 2012", "9", 5400, 0.090, 0.336,
                  0.918, 0.821),
    PublishedFlag("GMM of math test growth", "Muthen 2004", "7", 2757, 0.147, 0.693, 0.896,
                  0.932),
    PublishedFlag("retained >= once K-8", "Roderick 1994", "K-8", 707, 0.465, 0.798, 0.626,
                  0.862),
)
