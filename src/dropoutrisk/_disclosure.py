"""The small-cell rule, in one place.

No output shows a number computed from fewer than :data:`MIN_CELL` students:
audit cells, calibration bins, attendance medians of a school and the
reference medians in reasons are withheld (or fall back to a larger group)
below it. This module imports no other dropoutrisk module.
"""

from __future__ import annotations

__all__ = ["MIN_CELL"]

#: Cells with fewer students (or rows) than this are withheld in every output.
MIN_CELL = 10
