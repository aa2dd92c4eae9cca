"""Exact SHAP explanations of calibrated dropout risk: reason codes, dimensions, plots.

Examples
--------
>>> from dropoutrisk.explain import reason_stems
>>> reason_stems(["attendance_rate_4w"], ["behavioural"])
{'attendance_rate_4w': 'BEH-ATT4W'}
"""

from dropoutrisk.explain._checks import check_lines
from dropoutrisk.explain._codes import DIMENSION_LABELS, reason_stems
from dropoutrisk.explain._explanations import (
    DIMENSIONS,
    Explanations,
    explain_students,
    reasons_frame,
)
from dropoutrisk.explain._formatting import format_values
from dropoutrisk.explain._plots import decimal_formatter
from dropoutrisk.explain._reason_codes import reason_codes
from dropoutrisk.explain._references import LEVELS, ReferenceTable, school_references
from dropoutrisk.explain._shap import calibrate_contributions, tree_shap

__all__ = [
    "DIMENSIONS",
    "DIMENSION_LABELS",
    "Explanations",
    "LEVELS",
    "ReferenceTable",
    "calibrate_contributions",
    "check_lines",
    "decimal_formatter",
    "explain_students",
    "format_values",
    "reason_codes",
    "reason_stems",
    "reasons_frame",
    "school_references",
    "tree_shap",
]
