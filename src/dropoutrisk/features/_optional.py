"""Optional data: which features absent tables and columns leave out, and refusing them.

Any optional table or students column may be absent. :func:`left_out_features`
says which features it leaves out (one :class:`OptionalDataWarning` names them
when features are built), and :func:`require_inputs` refuses data that lack what a
trained model's features come from.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from dropoutrisk.errors import MissingColumnError, MissingTableError, OptionalDataWarning
from dropoutrisk.features._catalogue import DEFAULT_ITEM_GROUPS, Catalogue, default_catalogue
from dropoutrisk.features._custom import custom_indicators, relative_indicators
from dropoutrisk.features._inputs import EVENT_COLUMNS, TableSource, check_tables, read_source

__all__ = ["inputs_missing_for", "left_out_features", "require_inputs"]

# Features computed from each event table; the rest come from `students`.
EVENT_FEATURES = {
    "attendance": (
        "attendance_rate", "attendance_rate_2w", "attendance_rate_4w", "unexcused_share",
        "late_count", "late_minutes", "attendance_trend_8w", "attendance_change_baseline",
        "longest_absence_streak_days", "attendance_volatility",
    ),
    "grades": (
        "failed_courses", "failed_core_course", "ungraded_share", "grade_point_mean",
        "grade_point_change",
    ),
    "concerns": ("concerns_30d", "concerns_90d", "days_since_concern"),
    "activity": (
        "activity_count", "activity_count_2w", "activity_count_4w", "activity_days_4w",
        "days_since_activity", "activity_before_start", "activity_trend_8w",
        "activity_change_baseline",
    ),
}
STUDENT_FEATURES = (
    "programme_type", "grade_year", "merit_value", "gender", "newly_arrived", "years_in_sweden",
    "parental_education", "mother_education", "school_moves", "special_support", "in_care",
)


def score_features(catalogue: Catalogue) -> list[str]:
    """Assessment score features: the built-in ones plus any the catalogue maps items to."""
    feats = [f for _, f in DEFAULT_ITEM_GROUPS] + [f for _, f in catalogue.item_groups]
    return list(dict.fromkeys(feats))


def event_sources(tables: Mapping[str, TableSource]) -> dict[str, TableSource]:
    """The event tables that are given (not None)."""
    return {n: tables[n] for n in EVENT_COLUMNS if tables.get(n) is not None}


def left_out_features(
    tables: Mapping[str, Any], students: pd.DataFrame, catalogue: Catalogue
) -> dict[str, str]:
    """Catalogue features whose optional table or students column is absent -> what is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a"], "cohort": [2024], "school_id": ["S"]})
    >>> gone = left_out_features({"students": students}, students, default_catalogue())
    >>> gone["attendance_rate"], gone["merit_value"]
    ('the attendance table', 'the students column merit_value')
    """
    given = set(event_sources(tables))
    out: dict[str, str] = {}
    for table, feats in EVENT_FEATURES.items():
        if table not in given:
            out.update({f: f"the {table} table" for f in feats if f in catalogue})
    if "assessments" not in given:
        for feature in score_features(catalogue):
            flags = [feature[: -len("_score")] + "_missing"] if feature.endswith("_score") else []
            out.update({f: "the assessments table" for f in [feature, *flags] if f in catalogue})
    for name in STUDENT_FEATURES:
        if name in catalogue.names and name != "grade_year" and name not in students.columns:
            out[name] = f"the students column {name}"
    for ind in custom_indicators(catalogue):
        comp = ind.computation
        if comp.table == "students":
            column = comp.column or ind.name
            if column not in students.columns:
                out[ind.name] = f"the students column {column}"
        elif comp.relative is None and comp.table not in given:
            out[ind.name] = f"the {comp.table} table"
    for ind in relative_indicators(catalogue):  # left out with the feature they compare
        if ind.computation.of in out:
            out[ind.name] = out[ind.computation.of]
    return {n: out[n] for n in catalogue.names if n in out}


def inputs_missing_for(
    tables: Mapping[str, TableSource], features: Iterable[str], catalogue: Catalogue | None = None
) -> dict[str, str]:
    """Which of ``features`` the tables cannot compute -> the absent table or column.

    A model needs every feature it was trained on; scoring checks with this that
    the data still have the tables and columns behind them.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a"], "cohort": [2024], "school_id": ["S"]})
    >>> inputs_missing_for({"students": students}, ["attendance_rate", "grade_year"])
    {'attendance_rate': 'the attendance table'}
    """
    cat = catalogue if catalogue is not None else default_catalogue()
    tables = check_tables(tables)
    src = tables["students"]
    if isinstance(src, pd.DataFrame):
        students = src
    else:
        students = read_source("students", src).head(0)
    gone = left_out_features(tables, students, cat)
    return {f: gone[f] for f in features if f in gone}


def require_inputs(
    tables: Mapping[str, TableSource], features: Iterable[str], catalogue: Catalogue | None = None,
    *, allow: Iterable[str] = (),
) -> dict[str, str]:
    """Refuse tables that lack a table or students column ``features`` come from.

    A model trained with, say, the activity table or a column of your own would
    otherwise see those features as missing for every student and score them
    silently wrong. Scoring, evaluation and audits call this with the model's
    features before building them.

    ``allow`` names tables (or students columns) that may be absent all the same:
    their features are then missing for every student. The features allowed so
    are returned (feature -> what is absent), for the run record to say.

    Raises
    ------
    MissingTableError, MissingColumnError
        Naming the absent table (or students column) and the features that need it.
    """
    allowed = {str(a) for a in allow}
    found = inputs_missing_for(tables, features, catalogue)

    def source_name(src: str) -> str:
        if src.startswith("the students column "):
            return src[len("the students column "):]
        return src[len("the "):-len(" table")]

    let_through = {f: src for f, src in found.items() if source_name(src) in allowed}
    missing = {f: src for f, src in found.items() if f not in let_through}
    if not missing:
        return let_through
    first = next(iter(missing.values()))
    feats = [f for f, src in missing.items() if src == first]
    problem = (f"the model was trained with {len(missing)} feature(s) these data cannot "
               f"compute ({', '.join(list(missing)[:8])}); {first} is absent")
    fix = ("Give the same tables and students columns the model was trained on, retrain "
           "without them, or score anyway with --allow-missing (allow_missing=) naming them")
    if first.startswith("the students column "):
        raise MissingColumnError(table="students", column=first[len("the students column "):],
                                 problem=problem, fix=fix)
    table = first[len("the "):-len(" table")]
    raise MissingTableError(table=table, problem=problem + f" (needed by {', '.join(feats)})",
                            fix=fix)


def warn_left_out(gone: Mapping[str, str]) -> None:
    if not gone:
        return
    by_source: dict[str, list[str]] = {}
    columns: list[str] = []
    for feature, source in gone.items():
        if source.startswith("the students column "):
            column = source[len("the students column "):]
            columns.append(column if column == feature else f"{column} -> {feature}")
        else:
            by_source.setdefault(source, []).append(feature)
    parts = "; ".join(f"{src} ({', '.join(feats)})" for src, feats in by_source.items())
    if columns:
        parts += ("; " if parts else "") + f"the students columns {', '.join(columns)}"
    warnings.warn(OptionalDataWarning(
        f"{len(gone)} features are left out because optional data are absent: {parts}. "
        "Models leave them out (features_left_out_); give the tables or columns to use them.",
        features=tuple(gone), sources=dict(gone),
    ), stacklevel=3)
