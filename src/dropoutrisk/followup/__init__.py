"""Follow-up: the students flagged in earlier runs, what the school did and how they are doing.

The layer between ``scoring`` (whose prediction tables it reads) and ``report``
(whose student page shows "since the flag"). Library code: frames in, a
:class:`FollowUp` out; reading run records and writing files is the command
line's (``dropoutrisk follow-up``).
"""

from dropoutrisk.followup._effects import (
    CutoffEstimate,
    SupportEffects,
    cutoff_effect,
    support_effects,
)
from dropoutrisk.followup._follow_up import FOLLOW_UP_COLUMNS, FollowUp, follow_up
from dropoutrisk.followup._progress import INTERVENTION_COLUMNS
from dropoutrisk.followup._since_flag import INDICATORS, SinceFlag
from dropoutrisk.followup._summary import PROGRESS, school_summary

__all__ = [
    "FOLLOW_UP_COLUMNS",
    "INDICATORS",
    "INTERVENTION_COLUMNS",
    "PROGRESS",
    "CutoffEstimate",
    "FollowUp",
    "SinceFlag",
    "SupportEffects",
    "cutoff_effect",
    "follow_up",
    "school_summary",
    "support_effects",
]
