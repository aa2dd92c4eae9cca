"""The data contract: canonical tables, their validation and harmonisation."""

from dropoutrisk.schema._attendance import (
    DEFAULT_SCHOOL_DAY_MINUTES,
    LAYOUTS,
    detect_attendance_layout,
    harmonise_attendance,
)
from dropoutrisk.schema._calendar import (
    DEFAULT_SNAPSHOT_WEEKS,
    programme_starts,
    school_year_of,
    school_year_start,
    snapshot_date,
    snapshot_dates,
)
from dropoutrisk.schema._files import READABLE_SUFFIXES, table_file
from dropoutrisk.schema._tables import (
    CENSORING_EVENTS,
    GRADE_POINTS,
    GRADES,
    INTERVENTION_KINDS,
    OUTCOME_EVENTS,
    TABLES,
    AssessmentRecord,
    AttendanceRecord,
    ColumnSpec,
    ConcernRecord,
    GradeRecord,
    InterventionRecord,
    OutcomeRecord,
    Student,
    TableSpec,
    table_spec,
)
from dropoutrisk.schema._validate import parse_as_of, validate_tables

__all__ = [
    "READABLE_SUFFIXES",
    "table_file",
    "CENSORING_EVENTS",
    "DEFAULT_SCHOOL_DAY_MINUTES",
    "DEFAULT_SNAPSHOT_WEEKS",
    "GRADES",
    "GRADE_POINTS",
    "INTERVENTION_KINDS",
    "LAYOUTS",
    "OUTCOME_EVENTS",
    "TABLES",
    "AssessmentRecord",
    "AttendanceRecord",
    "ColumnSpec",
    "ConcernRecord",
    "GradeRecord",
    "InterventionRecord",
    "OutcomeRecord",
    "Student",
    "TableSpec",
    "detect_attendance_layout",
    "harmonise_attendance",
    "parse_as_of",
    "school_year_of",
    "programme_starts",
    "school_year_start",
    "snapshot_date",
    "snapshot_dates",
    "table_spec",
    "validate_tables",
]
