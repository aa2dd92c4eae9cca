"""The canonical tables: one pydantic row model per table.

The row models are the single source of truth for the data contract
(docs/architecture.md, "Data contract"). Frame validation is vectorised and derives
its column specs from these models with :func:`table_spec`; it never
validates row by row.

Conventions
-----------
- ``student_id``, ``school_id`` and free-text codes are strings.
- Dates are calendar dates (``datetime64[ns]`` in frames, no time zone).
- ``cohort`` is the calendar year the student's first school year started
  (a student starting in August 2022 is cohort 2022).
- Booleans are nullable (``boolean`` dtype) where a school may not record them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "GRADES",
    "GRADE_POINTS",
    "OUTCOME_EVENTS",
    "CENSORING_EVENTS",
    "TABLES",
    "Student",
    "AttendanceRecord",
    "GradeRecord",
    "AssessmentRecord",
    "ConcernRecord",
    "InterventionRecord",
    "INTERVENTION_KINDS",
    "OutcomeRecord",
    "ColumnSpec",
    "TableSpec",
    "table_spec",
]

#: Swedish upper-secondary grades; "-" means no grade was awarded
#: (streck: the student did not provide enough to be assessed).
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "-")

#: Grade points used for the Swedish merit value (meritpoäng).
GRADE_POINTS: dict[str, float] = {"A": 20.0, "B": 17.5, "C": 15.0, "D": 12.5, "E": 10.0, "F": 0.0}

#: Outcome events. Students who moved or changed school are censored,
#: not dropouts (Plug In's own definition).
OUTCOME_EVENTS: tuple[str, ...] = ("dropout", "completed", "no_diploma", "moved", "transferred")
CENSORING_EVENTS: tuple[str, ...] = ("moved", "transferred")

#: Suggested intervention kinds (Plug In's common forms of support). ``kind`` is
#: the school's own code; these are the ones the synthetic cohorts write.
INTERVENTION_KINDS: tuple[str, ...] = (
    "mentor_talk",
    "attendance_team",
    "student_coach",
    "special_support",
    "study_plan_change",
)

Education = Literal["compulsory", "upper_secondary", "post_secondary", "unknown"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)


class Student(_Row):
    """One row of the ``students`` table: one row per student.

    Only ``student_id``, ``cohort`` and ``school_id`` are required: local
    exports are often incomplete, and background columns are used only for
    the fairness audit unless a user opts in.
    """

    student_id: Annotated[str, Field(min_length=1, description="Unique student identifier.")]
    cohort: Annotated[int, Field(ge=1990, le=2100, description="Year the first school year started.")]
    school_id: Annotated[str, Field(min_length=1, description="School identifier.")]
    programme: str | None = Field(None, description="Programme code, e.g. 'SA' or 'IMSPR'.")
    programme_type: Literal["national", "introductory"] | None = Field(
        None, description="National programme or introductory programme (introduktionsprogram)."
    )
    grade_year: int | None = Field(None, ge=1, le=4, description="Year of study (1-3, 4 for extended).")
    gender: Literal["female", "male", "other"] | None = Field(None, description="Legal gender as recorded.")
    birth_year: int | None = Field(None, ge=1950, le=2100)
    newly_arrived: bool | None = Field(None, description="Arrived in Sweden within the last four years.")
    years_in_sweden: float | None = Field(None, ge=0, le=40)
    parental_education: Education | None = Field(None, description="Highest education of either parent.")
    mother_education: Education | None = None
    school_moves: int | None = Field(None, ge=0, le=50, description="School changes before upper secondary.")
    special_support: bool | None = Field(None, description="Has an action programme (särskilt stöd).")
    in_care: bool | None = Field(None, description="Placed in out-of-home care.")
    merit_value: float | None = Field(None, ge=0, le=340, description="Merit value from compulsory school.")
    start_date: dt.date | None = Field(
        None, description="The day the student's programme started (default: the school-year "
        "start of cohort). Introductory programmes take students in January and all year round."
    )


class AttendanceRecord(_Row):
    """One row of the canonical ``attendance`` table: one lesson, one day or one week.

    Weekly totals (harmonised from the weekly layout) are one row per week, dated on
    the week's Friday, so minutes may reach a week's worth (7 x 24 x 60).
    """

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    scheduled_minutes: Annotated[float, Field(ge=0, le=7 * 24 * 60)]
    absent_minutes: Annotated[float, Field(ge=0, le=7 * 24 * 60)]
    excused: bool | None = Field(None, description="Whether the absence on this row was excused.")
    late_minutes: float | None = Field(None, ge=0, le=7 * 24 * 60)
    lesson: str | None = Field(None, description="Lesson identifier when there are several rows a day.")


class GradeRecord(_Row):
    """One row of ``grades``: a course grade set on a date."""

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    course: Annotated[str, Field(min_length=1)]
    grade: Literal["A", "B", "C", "D", "E", "F", "-"]


class AssessmentRecord(_Row):
    """One row of ``assessments``: a survey or teacher-rating item.

    A mapping (the indicator catalogue) assigns each ``item`` to a dimension.
    """

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    item: Annotated[str, Field(min_length=1)]
    value: float


class ConcernRecord(_Row):
    """One row of ``concerns``: a staff worry report (orosanmälan)."""

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    category: Annotated[str, Field(min_length=1)]


class ActivityRecord(_Row):
    """One row of ``activity``: engagement that is not attendance.

    Logins, LMS or VLE clicks, library visits, handed-in homework: ``count``
    events of ``kind`` on ``date``. Several rows for the same student, day and
    kind are added up, so the table has no unique key.
    """

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    count: Annotated[float, Field(ge=0, le=1e9, description="Events on that day (clicks, logins, ...).")]
    kind: str | None = Field(None, description="What was counted, e.g. 'vle_click' or 'login'.")


class InterventionRecord(_Row):
    """One row of ``interventions``: support the school put in after a flag (optional).

    ``role`` names the kind of staff member who gave it (``mentor``,
    ``kurator``, ``specialpedagog``), never the person. The table is read for
    the follow-up and for training's handling of supported students; it is
    never a model feature by default.
    """

    student_id: Annotated[str, Field(min_length=1)]
    date: dt.date
    kind: Annotated[str, Field(min_length=1, description="What was done, e.g. 'mentor_talk'.")]
    end_date: dt.date | None = Field(None, description="The day the support ended, if it has.")
    role: str | None = Field(None, description="The staff role that gave it, never a person's name.")


class OutcomeRecord(_Row):
    """One row of ``outcomes``: how and when a student left or finished."""

    student_id: Annotated[str, Field(min_length=1)]
    event: Literal["dropout", "completed", "no_diploma", "moved", "transferred"]
    date: dt.date


@dataclass(frozen=True)
class ColumnSpec:
    """A column of a canonical table, derived from its row model."""

    name: str
    kind: Literal["string", "int", "float", "bool", "date", "category"]
    required: bool
    categories: tuple[Any, ...] | None = None
    ge: float | None = None
    le: float | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, unique key and whether rows are events."""

    name: str
    model: type[BaseModel]
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    is_event: bool

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_KEYS: dict[str, tuple[str, ...]] = {
    "students": ("student_id",),
    "attendance": ("student_id", "date", "lesson"),
    "grades": ("student_id", "course", "date"),
    "assessments": ("student_id", "item", "date"),
    # two staff members may report the same worry on the same day: two events, not a repeat
    "concerns": (),
    "activity": (),
    "interventions": ("student_id", "kind", "date"),
    "outcomes": ("student_id",),
}

_MODELS: dict[str, type[BaseModel]] = {
    "students": Student,
    "attendance": AttendanceRecord,
    "grades": GradeRecord,
    "assessments": AssessmentRecord,
    "concerns": ConcernRecord,
    "activity": ActivityRecord,
    "interventions": InterventionRecord,
    "outcomes": OutcomeRecord,
}

#: Table names in dependency order (students first).
TABLES: tuple[str, ...] = tuple(_MODELS)


def _column_from_field(name: str, field: Any) -> ColumnSpec:
    ann = field.annotation
    args = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) is not None else []
    base = args[0] if len(args) == 1 and get_origin(ann) is not Literal else ann
    categories = None
    if get_origin(base) is Literal:
        categories = tuple(get_args(base))
        kind = "category"
    elif base is bool:
        kind = "bool"
    elif base is int:
        kind = "int"
    elif base is float:
        kind = "float"
    elif base is dt.date:
        kind = "date"
    else:
        kind = "string"
    ge = le = None
    for meta in field.metadata:
        ge = getattr(meta, "ge", ge)
        le = getattr(meta, "le", le)
    return ColumnSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        required=field.is_required(),
        categories=categories,
        ge=ge,
        le=le,
        description=field.description or "",
    )


def table_spec(table: str) -> TableSpec:
    """Return the column specs of a canonical table.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Returns
    -------
    TableSpec

    Examples
    --------
    >>> spec = table_spec("attendance")
    >>> spec.required
    ('student_id', 'date', 'scheduled_minutes', 'absent_minutes')
    >>> spec.column("absent_minutes").ge
    0
    >>> table_spec("grades").column("grade").categories
    ('A', 'B', 'C', 'D', 'E', 'F', '-')
    """
    if table not in _MODELS:
        raise KeyError(f"Unknown table {table!r}; the canonical tables are {', '.join(TABLES)}.")
    model = _MODELS[table]
    columns = tuple(_column_from_field(n, f) for n, f in model.model_fields.items())
    return TableSpec(
        name=table,
        model=model,
        columns=columns,
        key=_KEYS[table],
        is_event=table != "students",
    )
