"""The indicator catalogue: what each feature means, and how it is exported.

The catalogue drives feature building, reason texts, dimension totals and the
data dictionary (``docs/catalogue.md`` is generated from it). Every indicator
records its dimension, Swedish and English descriptions, whether staff can act
on it, the direction that raises risk, its source table and its time window.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CONTEXT_COLUMNS",
    "DEFAULT_ITEM_GROUPS",
    "DIMENSIONS",
    "AGGREGATABLE",
    "Catalogue",
    "Computation",
    "Indicator",
    "RELATIVE_GROUPS",
    "RELATIVE_TABLE",
    "RELATIVE_TRANSFORMS",
    "default_catalogue",
]

#: The five Plug In dimensions plus ``background`` (audit only by default).
DIMENSIONS: tuple[str, ...] = (
    "behavioural",
    "academic",
    "cognitive",
    "psychological",
    "socio_emotional",
    "background",
)

#: Columns that come first in every feature frame, before the indicators.
CONTEXT_COLUMNS: tuple[str, ...] = ("as_of", "school_id", "cohort")

#: Assessment item-name prefix -> the score feature it feeds. Items whose name
#: starts with none of the prefixes are ignored. Override it per catalogue with
#: :meth:`Catalogue.with_item_groups`.
DEFAULT_ITEM_GROUPS: tuple[tuple[str, str], ...] = (
    ("cog_", "cognitive_score"),
    ("psy_", "psychological_score"),
    ("soc_", "socio_emotional_score"),
    ("beh_", "teacher_behaviour_rating"),
    ("aca_", "teacher_academic_rating"),
)

Dimension = Literal[
    "behavioural", "academic", "cognitive", "psychological", "socio_emotional", "background"
]
Unit = Literal[
    "fraction", "percentage_points", "count", "days", "minutes", "score", "points", "weeks",
    "percentile", "none",
]


#: Event tables an indicator can aggregate, with their numeric and their text columns.
AGGREGATABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "attendance": (("scheduled_minutes", "absent_minutes", "late_minutes"), ()),
    "grades": ((), ("course", "grade")),
    "assessments": (("value",), ("item",)),
    "concerns": ((), ("category",)),
    "activity": (("count",), ("kind",)),
}

Aggregate = Literal["count", "sum", "mean", "min", "max", "distinct_days", "days_since_last"]

_NEEDS_VALUE = ("sum", "mean", "min", "max")

#: The ``table`` of an indicator relative to its group: it is computed from another
#: feature's values of the students scored at the same ``as_of``, not from a table.
RELATIVE_TABLE = "peers"
#: What a relative indicator computes from the feature ``of`` within its group:
#: ``percentile`` (the mid-rank percentile, 0-1), ``ratio`` (value / group median, where
#: the median is above 0) and ``difference`` (value - group median).
RELATIVE_TRANSFORMS: tuple[str, ...] = ("percentile", "ratio", "difference")
#: The groups a relative indicator compares within, always at the same ``as_of``:
#: the student's school, the student's cohort, or every student scored at that date.
RELATIVE_GROUPS: tuple[str, ...] = ("school_id", "cohort", "all")
_RELATIVE_FIELDS = ("relative", "of", "within")


class Computation(BaseModel):
    """How an indicator of your own is computed.

    Parameters
    ----------
    table : str
        ``"students"`` (one value per student, from ``column``) or an event table:
        ``attendance``, ``grades``, ``assessments``, ``concerns``, ``activity``.
    column : str, optional
        ``students`` only: the column (default: the indicator's name).
    aggregate : {"count", "sum", "mean", "min", "max", "distinct_days", "days_since_last"}
        Event tables only: what to compute over the student's events in the window.
        ``count`` and ``sum`` are 0 for a student without events; ``days_since_last``
        counts from the start when there is none.
    value : str, optional
        The numeric column aggregated by ``sum``, ``mean``, ``min`` and ``max``.
    where : mapping of str to str or list of str
        Keep only events whose text column equals the value (or one of the values).
    window_days : int, optional
        The last ``window_days`` days before ``as_of``; default: since the student's start.
    relative : {"percentile", "ratio", "difference"}, optional
        An indicator relative to its group (``table`` is then :data:`RELATIVE_TABLE`,
        and may be left out): the feature ``of`` compared with the other students of the
        same group (``within``) scored at the same ``as_of``. ``percentile`` is the
        mid-rank percentile (the share of the group with a lower value plus half the
        share with the same value, 0-1), ``ratio`` the value over the group's median
        (missing where the median is not above 0) and ``difference`` the value minus it.
        A group with fewer than ``MIN_CELL`` (10) students with a value gives missing
        values (the small-cell rule), and so does a student without a value.
    of : str, optional
        ``relative`` only: the catalogue feature compared (numeric or binary).
    within : {"school_id", "cohort", "all"}, default "school_id"
        ``relative`` only: the group, always at the same ``as_of``.

    Examples
    --------
    >>> c = Computation(table="activity", aggregate="sum", value="count",
    ...                 where={"kind": "quiz"}, window_days=28)
    >>> c.where, c.window_text
    ((('kind', ('quiz',)),), 'last 28 days')
    >>> r = Computation(relative="percentile", of="activity_count_2w")
    >>> r.table, r.within, r.window_text
    ('peers', 'school_id', 'percentile within school_id at the same as_of')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str
    column: str | None = None
    aggregate: Aggregate | None = None
    value: str | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window_days: int | None = Field(None, ge=1, le=3660)
    relative: Literal["percentile", "ratio", "difference"] | None = None
    of: str | None = None
    within: Literal["school_id", "cohort", "all"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise_where(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("relative") is not None:
            data = {"table": RELATIVE_TABLE, "within": "school_id", **data}
        if isinstance(data, Mapping) and isinstance(data.get("where"), Mapping):
            where = []
            for col, val in data["where"].items():
                vals = (val,) if isinstance(val, str) else tuple(val)
                where.append((str(col), tuple(str(v) for v in vals)))
            data = {**data, "where": tuple(sorted(where))}
        return data

    @model_validator(mode="after")
    def _check(self) -> Computation:
        if self.table == RELATIVE_TABLE or self.relative is not None:
            if self.table != RELATIVE_TABLE:
                raise ValueError(f"relative is computed from other students' values, not from "
                                 f"a table: leave out table (or give {RELATIVE_TABLE!r})")
            if self.relative is None:
                raise ValueError(f"table {RELATIVE_TABLE!r} needs relative (one of "
                                 f"{', '.join(RELATIVE_TRANSFORMS)})")
            if not self.of:
                raise ValueError("relative needs of, the catalogue feature to compare")
            for name in ("column", "aggregate", "value", "window_days"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} does not apply to a relative indicator (its "
                                     f"window is that of {self.of!r})")
            if self.where:
                raise ValueError("where does not apply to a relative indicator")
            return self
        for name in _RELATIVE_FIELDS[1:]:
            if getattr(self, name) is not None:
                raise ValueError(f"{name} applies to relative indicators only (give relative)")
        if self.table == "students":
            for name in ("aggregate", "value", "window_days"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} applies to event tables, not to students")
            if self.where:
                raise ValueError("where applies to event tables, not to students")
            return self
        if self.table not in AGGREGATABLE:
            raise ValueError(
                f"table {self.table!r} is not one of students, {', '.join(AGGREGATABLE)} (an "
                "indicator relative to its group gives relative and of instead)")
        numeric, text = AGGREGATABLE[self.table]
        if self.column is not None:
            raise ValueError("column applies to students; an event table needs aggregate")
        if self.aggregate is None:
            raise ValueError(f"an indicator from {self.table} needs aggregate (one of count, "
                             "sum, mean, min, max, distinct_days, days_since_last)")
        if self.aggregate in _NEEDS_VALUE:
            if self.value not in numeric:
                raise ValueError(
                    f"aggregate {self.aggregate!r} needs value, a numeric column of "
                    f"{self.table}: {', '.join(numeric) or 'it has none'}")
        elif self.value is not None:
            raise ValueError(f"aggregate {self.aggregate!r} takes no value")
        for col, vals in self.where:
            if col not in text:
                raise ValueError(f"where can filter {self.table} on {', '.join(text) or 'nothing'}"
                                 f", not {col!r}")
            if not vals:
                raise ValueError(f"where {col} lists no values")
        return self

    @property
    def window_text(self) -> str:
        if self.relative is not None:
            return f"{self.relative} within {self.within} at the same as_of"
        if self.table == "students":
            return "as recorded"
        return (f"last {self.window_days} days" if self.window_days
                else "since the start (school year, or the student's later start)")

    @property
    def fills_zero(self) -> bool:
        """Whether a student without events gets 0 (``count``, ``sum``, ``distinct_days``)."""
        return self.aggregate in ("count", "sum", "distinct_days")


class Indicator(BaseModel):
    """One feature of the catalogue.

    Parameters
    ----------
    name : str
        Column name in the feature frame.
    dimension : str
        One of :data:`DIMENSIONS`.
    description_sv, description_en : str
        What the feature measures, in Swedish and English.
    actionable : bool
        Whether school staff can act on it (attendance can change; gender cannot).
    risk_direction : {"higher", "lower", "none"}
        ``"higher"`` means a higher value raises risk.
    source_table : str
        The canonical table (or external table) the feature comes from.
    window : str
        The time window, e.g. ``"last 4 weeks"``.
    kind : {"numeric", "binary", "categorical"}
    unit : str
        One of ``fraction, percentage_points, count, days, minutes, score, points, weeks,
        percentile, none``; a ``percentile`` (0-1) is printed as its band ("lowest 10%").
    categories : tuple of str
        The fixed categories of a categorical feature (empty otherwise).
    template_sv, template_en : str
        Reason sentences with ``{value}`` and ``{reference}`` placeholders.
        ``{reference}`` becomes the reference and what it is ("school median
        93 %", "median of all students in year 1: 93 %"); a template without
        it prints no reference. A binary indicator's template may leave out
        ``{value}`` too: it then states the true case ("No answers yet in the
        survey ...") and is narrated only for students where it is true.
    computation : Computation, optional
        How an indicator of your own is computed (a students column or an event-table
        aggregate; see :func:`dropoutrisk.features.load_indicators`). None for the
        built-in indicators, which the feature SQL computes.
    missing_sv, missing_en : str, optional
        The sentence for a missing value, narrated only when the missingness
        itself raises the estimated risk. Leave them out where a missing value
        is undefined by construction (a trend before three weeks of lessons,
        no grades before the first grading) or not the student's doing: a
        missing value is then never a reason.

    Examples
    --------
    >>> ind = default_catalogue().get("attendance_rate_4w")
    >>> ind.dimension, ind.risk_direction, ind.unit
    ('behavioural', 'lower', 'fraction')
    >>> ind.template_en.format(value="71%", reference="school median 93%")
    'Attendance over the last 4 weeks was 71% (school median 93%).'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    dimension: Dimension
    description_sv: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    actionable: bool
    risk_direction: Literal["higher", "lower", "none"]
    source_table: str = Field(min_length=1)
    window: str = Field(min_length=1)
    kind: Literal["numeric", "binary", "categorical"]
    unit: Unit = "none"
    categories: tuple[str, ...] = ()
    template_sv: str = Field(min_length=1)
    template_en: str = Field(min_length=1)
    missing_sv: str | None = None
    missing_en: str | None = None
    computation: Computation | None = None

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if self.kind == "categorical" and not self.categories:
            raise ValueError(f"Indicator {self.name!r} is categorical but lists no categories.")
        if self.kind != "categorical" and self.categories:
            raise ValueError(f"Indicator {self.name!r} is {self.kind} but lists categories.")
        for lang, text in (("sv", self.template_sv), ("en", self.template_en)):
            if "{value}" not in text and self.kind != "binary":
                raise ValueError(f"template_{lang} of {self.name!r} needs a {{value}} placeholder "
                                 "(only a binary indicator may state its true case without one).")
        if (self.missing_sv is None) != (self.missing_en is None):
            raise ValueError(f"Indicator {self.name!r} needs both missing_sv and missing_en, or "
                             "neither.")
        if self.is_statement and ("{value}" in self.template_sv) != ("{value}" in self.template_en):
            raise ValueError(f"The templates of {self.name!r} must both have {{value}}, or "
                             "neither.")
        return self

    @property
    def is_statement(self) -> bool:
        """True for a binary indicator whose sentence states its true case (no ``{value}``)."""
        return self.kind == "binary" and "{value}" not in self.template_en


class Catalogue(BaseModel):
    """An ordered, immutable set of indicators.

    Parameters
    ----------
    indicators : tuple of Indicator
        In output order; names must be unique.
    item_groups : tuple of (prefix, feature) pairs
        Which assessment items feed which score feature, by item-name prefix.
        When several prefixes match, the longest wins.

    Examples
    --------
    >>> cat = default_catalogue()
    >>> cat.names[:3]
    ('attendance_rate', 'attendance_rate_2w', 'attendance_rate_4w')
    >>> "gender" in cat.model_features()
    False
    >>> "gender" in cat.model_features(include_background=True)
    True
    >>> cat.dimension_of("failed_core_course")
    'academic'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicators: tuple[Indicator, ...]
    item_groups: tuple[tuple[str, str], ...] = DEFAULT_ITEM_GROUPS

    @model_validator(mode="after")
    def _check(self) -> Catalogue:
        seen: set[str] = set()
        dupes = [i.name for i in self.indicators if i.name in seen or seen.add(i.name)]
        if dupes:
            raise ValueError(f"Indicator names must be unique; repeated: {sorted(set(dupes))}.")
        clash = seen & set(CONTEXT_COLUMNS)
        if clash:
            raise ValueError(f"Indicator names {sorted(clash)} clash with the context columns.")
        prefixes = [p for p, _ in self.item_groups]
        if len(set(prefixes)) != len(prefixes) or any(not p for p in prefixes):
            raise ValueError("item_groups prefixes must be non-empty and unique.")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Indicator names, in catalogue order."""
        return tuple(i.name for i in self.indicators)

    def get(self, name: str) -> Indicator:
        """Return the indicator called ``name``.

        Raises
        ------
        KeyError
            If there is none; the message lists the known names.
        """
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(
            f"No indicator {name!r} in the catalogue; known: {', '.join(self.names)}."
        )

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.indicators)

    def model_features(self, include_background: bool = False) -> list[str]:
        """Return the feature names a model uses, in catalogue order.

        Parameters
        ----------
        include_background : bool, default False
            Background features (gender, newly arrived, parents' education, ...)
            are kept for the fairness audit and left out of the model unless a
            user opts in here.
        """
        return [
            i.name
            for i in self.indicators
            if include_background or i.dimension != "background"
        ]

    def dimension_of(self, name: str) -> str:
        """Return the dimension of feature ``name``."""
        return self.get(name).dimension

    def by_dimension(self) -> dict[str, list[str]]:
        """Return feature names grouped by dimension (every dimension, in :data:`DIMENSIONS` order)."""
        return {d: [i.name for i in self.indicators if i.dimension == d] for d in DIMENSIONS}

    def subset(self, names: list[str] | tuple[str, ...]) -> Catalogue:
        """Return a catalogue with only ``names``, in the order given.

        Examples
        --------
        >>> default_catalogue().subset(["failed_courses", "attendance_rate"]).names
        ('failed_courses', 'attendance_rate')
        """
        return self.model_copy(update={"indicators": tuple(self.get(n) for n in names)})

    def with_item_groups(self, item_groups: Mapping[str, str]) -> Catalogue:
        """Return a copy with another assessment-item mapping (prefix -> score feature).

        Examples
        --------
        >>> cat = default_catalogue().with_item_groups({"q_belong": "socio_emotional_score"})
        >>> cat.item_groups
        (('q_belong', 'socio_emotional_score'),)
        """
        return Catalogue(indicators=self.indicators, item_groups=tuple(item_groups.items()))

    def item_feature(self, item: str) -> str | None:
        """Return the score feature an assessment item feeds (longest prefix wins), or None.

        Examples
        --------
        >>> default_catalogue().item_feature("soc_belonging")
        'socio_emotional_score'
        >>> default_catalogue().item_feature("other") is None
        True
        """
        best: tuple[int, str] | None = None
        for prefix, feature in self.item_groups:
            if item.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), feature)
        return None if best is None else best[1]

    def _cells(self, name: str) -> list[str]:
        """The data dictionary's cells of one indicator, after its name, as plain text."""
        i = self.get(name)
        kind = i.kind + (f" ({', '.join(i.categories)})" if i.categories else "")
        return [kind, i.unit, "yes" if i.actionable else "no", _DIRECTION_TEXT[i.risk_direction],
                i.source_table, i.window, i.description_en, i.description_sv]

    def to_markdown(self) -> str:
        """Return the data dictionary as Markdown (one table per dimension).

        Examples
        --------
        >>> print(default_catalogue().to_markdown().splitlines()[0])
        # Indicator catalogue
        """
        lines = [
            "# Indicator catalogue",
            "",
            "<!-- Generated by dropoutrisk.features.default_catalogue().to_markdown();"
            " do not edit by hand. -->",
            "",
            _INTRO.strip(),
            "",
        ]
        for dim, names in self.by_dimension().items():
            if not names:
                continue
            lines += [f"## {_DIMENSION_TITLES[dim]}", ""]
            lines.append("| " + " | ".join(_COLUMNS) + " |")
            lines.append("|" + "---|" * len(_COLUMNS))
            for n in names:
                cells = [f"`{n}`", *self._cells(n)]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            lines.append("")
        if self.item_groups:
            lines += ["## Assessment items", "", "| Item-name prefix | Feeds |", "|---|---|"]
            lines += [f"| `{p}` | `{f}` |" for p, f in self.item_groups]
            lines.append("")
        return "\n".join(lines)

    def to_html(self) -> str:
        """Return the data dictionary as a standalone HTML fragment (one table per dimension).

        Examples
        --------
        >>> default_catalogue().to_html().startswith('<section class="dropoutrisk-catalogue">')
        True
        """
        out = ['<section class="dropoutrisk-catalogue">', "<h1>Indicator catalogue</h1>"]
        for dim, names in self.by_dimension().items():
            if not names:
                continue
            out.append(f"<h2>{html.escape(_DIMENSION_TITLES[dim])}</h2>")
            out.append("<table>")
            out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in _COLUMNS)
                       + "</tr></thead>")
            out.append("<tbody>")
            for n in names:
                cells = [f"<code>{html.escape(n)}</code>", *map(html.escape, self._cells(n))]
                out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            out.append("</tbody></table>")
        out.append("</section>")
        return "\n".join(out)


#: The columns of the data dictionary, in to_markdown and to_html.
_COLUMNS = ("Name", "Kind", "Unit", "Actionable", "Raises risk", "Source", "Window",
            "Description (en)", "Beskrivning (sv)")

_DIMENSION_TITLES = {
    "behavioural": "Behavioural (beteendemässig)",
    "academic": "Academic (akademisk)",
    "cognitive": "Cognitive (kognitiv)",
    "psychological": "Psychological (psykologisk)",
    "socio_emotional": "Socio-emotional (socioemotionell)",
    "background": "Background (bakgrund; audit only unless opted in)",
}

_DIRECTION_TEXT = {"higher": "higher value", "lower": "lower value", "none": "no direction"}

_INTRO = """
Every feature is computed at a date `as_of` from events dated strictly **before** `as_of`
(the knowledge date). A student is in the feature frame when the student's programme started
(`start_date` in `students`, else the school-year start of the cohort) on or before `as_of` and
no outcome (dropout, completion, move, ...) is dated before `as_of`. Windows:

- *current school year* / *since the start*: from the student's start, the later of the
  school-year start (the Monday on or after 15 August) of the school year `as_of` falls in and
  the student's own `start_date` (a student who started in January counts from January), up to
  the day before `as_of`.
- *last N weeks*: the N x 7 days before `as_of` (rolling weeks that end at `as_of`, not calendar weeks).
- *first 2 weeks*: the first 14 days from the student's start (the student's own baseline);
  the baseline change is missing until the last 4 weeks lie wholly after it (week 6).
- *4 weeks before the start*: the 28 days before the student's start.

Attendance fractions are minute-weighted (`1 - absent_minutes / scheduled_minutes`). Weekly
fractions skip weeks without scheduled minutes (holidays). Trends are ordinary least-squares slopes
over at least 3 weeks, computed from running sums (n, Σx, Σy, Σxy, Σx²), so partial results merge
across partitions; volatility is the sample standard deviation of the change between adjacent
weeks. The unexcused share counts only absence whose `excused` flag is recorded. A fully absent day
has an absent lesson and no attended one; a run of them goes on over days without lessons
(weekends, holidays) and ends at a day with an attended lesson or after more than 21 days without
lessons. Grades use each course's latest grade before `as_of` (grade points A=20, B=17.5, C=15,
D=12.5, E=10, F=0; "-" is ungraded); core courses are Swedish (SVE, SVA), English (ENG) and
Mathematics (MAT); a term is a calendar half-year (January-June, July-December). Survey and
teacher-rating scores are the mean over items of each item's latest value, with items assigned by
name prefix (table below). `grade_year` is derived from the start and `as_of` (1-4: school years
since the one the student started in), so that a past `as_of` gets the year of study it had then.
Activity counts (`activity`: logins, clicks, visits; any `kind`) are 0 for an enrolled student
with none; days since the latest activity count from the start when there is none since; the
activity trend is the slope of weekly counts over the weeks of the last eight that begin on or
after the start.
Missing values are NaN: for example no grades yet, or fewer than three weeks with lessons for a trend.
Counts of concern reports are 0 when the `concerns` table is given and the student has none,
and NaN when the table is not given at all. Background features are for the fairness audit and are
left out of the model unless a user opts in; they correlate with risk but are not causes.
"""


def default_catalogue() -> Catalogue:
    """Return the built-in indicator catalogue.

    Returns
    -------
    Catalogue

    Examples
    --------
    >>> cat = default_catalogue()
    >>> cat.get("attendance_rate").source_table
    'attendance'
    >>> [n for n in cat.names if cat.dimension_of(n) == "background"][:3]
    ['gender', 'newly_arrived', 'years_in_sweden']
    """
    from dropoutrisk.features._indicators import default_indicators

    return Catalogue(indicators=default_indicators())
