"""The data contract: canonical tables, their validation and harmonisation."""

from dropoutrisk.schema._calendar import (
    DEFAULT_SNAPSHOT_WEEKS,
    school_year_of,
    school_year_start,
    snapshot_date,
    snapshot_dates,
)
from dropoutrisk.schema._tables import (
    CENSORING_EVENTS,
    GRADE_POINTS,
    GRADES,
    OUTCOME_EVENTS,
    TABLES,
    AssessmentRecord,
    AttendanceRecord,
    ColumnSpec,
    ConcernRecord,
    GradeRecord,
    OutcomeRecord,
    Student,
    TableSpec,
    table_spec,
)

__all__ = [
    "CENSORING_EVENTS",
    "DEFAULT_SNAPSHOT_WEEKS",
    "GRADES",
    "GRADE_POINTS",
    "OUTCOME_EVENTS",
    "TABLES",
    "AssessmentRecord",
    "AttendanceRecord",
    "ColumnSpec",
    "ConcernRecord",
    "GradeRecord",
    "OutcomeRecord",
    "Student",
    "TableSpec",
    "school_year_of",
    "school_year_start",
    "snapshot_date",
    "snapshot_dates",
    "table_spec",
]
