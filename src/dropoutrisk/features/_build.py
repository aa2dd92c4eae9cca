"""The entry points: :func:`build_features`, :func:`build_labels`, :func:`build_training_frame`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.errors import (
    ParameterError,
)
from dropoutrisk.features import _pandas_engine
from dropoutrisk.features._catalogue import Catalogue, default_catalogue
from dropoutrisk.features._custom import (
    custom_indicators,
    pandas_relative,
    peer_values,
    relative_indicators,
    students_value,
)
from dropoutrisk.features._duckdb_engine import DuckDBEngine, DuckDBSession
from dropoutrisk.features._inputs import (
    TableSource,
    Windows,
    check_tables,
    enrolment,
    is_path,
    prepare_events,
    prepare_outcomes,
    prepare_students,
    read_source,
    roster,
    start_years,
    windows_for,
)
from dropoutrisk.features._optional import (
    EVENT_FEATURES,
    STUDENT_FEATURES,
    event_sources,
    left_out_features,
    score_features,
    warn_left_out,
)
from dropoutrisk.features._spark_engine import SparkEngine, SparkFeatureSession
from dropoutrisk.schema import CENSORING_EVENTS, TABLES, validate_tables

__all__ = ["AUTO_DUCKDB_ROWS", "build_features", "build_labels", "build_training_frame"]

#: ``engine="auto"`` switches to DuckDB at this many in-memory event rows.
AUTO_DUCKDB_ROWS = 2_000_000

EngineArg = Literal["auto", "pandas", "duckdb"] | DuckDBEngine | SparkEngine

_ZERO_WHEN_NONE = ("concerns_30d", "concerns_90d")


def _computable(catalogue: Catalogue) -> set[str]:
    names = set(STUDENT_FEATURES)
    for feats in EVENT_FEATURES.values():
        names.update(feats)
    for feature in score_features(catalogue):
        names.add(feature)
        if feature.endswith("_score"):
            names.add(feature[: -len("_score")] + "_missing")
    return names


def _check_catalogue(catalogue: Catalogue) -> None:
    own = {i.name for i in custom_indicators(catalogue)}
    unknown = [n for n in catalogue.names if n not in _computable(catalogue) and n not in own]
    if unknown:
        raise ParameterError(parameter="catalogue", message=
            f"The catalogue lists features that build_features cannot compute: {unknown}. "
            "Use names from default_catalogue(), or map assessment items to a new score "
            "feature with Catalogue.with_item_groups()."
        )
    orphans = [(i.name, i.computation.of) for i in relative_indicators(catalogue)
               if i.computation.of not in catalogue.names]
    if orphans:
        raise ParameterError(parameter="catalogue", message=
            "Indicators relative to their group compare features the catalogue does not "
            f"have: {', '.join(f'{n} (of {o!r})' for n, o in orphans)}. Keep the compared "
            "features in the catalogue (Catalogue.subset), or leave the relative ones out."
        )


def _relate(session: Any, frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Fill the indicators relative to their group, from the features of one ``as_of``.

    The group is the students scored together at that date: a student's value depends
    on the others in the frame (docs/features.md, "Relative to the group").
    """
    indicators = relative_indicators(catalogue)
    if not indicators or frame.empty:
        return frame
    got = session.relative(peer_values(frame, indicators), MIN_CELL)
    out = frame.copy()
    for ind in indicators:
        part = got.loc[got["feature"] == ind.name].set_index("student_id")["relative_value"]
        out[ind.name] = part.reindex(out.index).astype("float64").to_numpy()
    return out


class _PandasSession:
    def __init__(self, sources: Mapping[str, TableSource], catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.events = {
            name: prepare_events(name, read_source(name, src)) for name, src in sources.items()
        }

    def compute(self, w: Windows, enrolled: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return _pandas_engine.run(self.events, w, self.catalogue, enrolled)

    def relative(self, peers: pd.DataFrame, min_count: int) -> pd.DataFrame:
        return pandas_relative(peers, min_count)

    def max_date(self) -> pd.Timestamp | None:
        dates = [f["date"].max() for f in self.events.values() if len(f)]
        dates = [d for d in dates if pd.notna(d)]
        return max(dates) if dates else None

    def close(self) -> None:
        self.events = {}


def _choose(engine: Any, sources: Mapping[str, TableSource]) -> str | DuckDBEngine | SparkEngine:
    if isinstance(engine, DuckDBEngine | SparkEngine):
        return engine
    if engine == "spark":
        raise ParameterError(parameter="engine", message=
            "engine='spark' needs a SparkSession: pass engine=SparkEngine(spark) "
            "(from dropoutrisk.features import SparkEngine; pip install dropoutrisk[spark]).")
    if engine not in ("auto", "pandas", "duckdb"):
        raise ParameterError(parameter="engine", message=
            f"engine={engine!r} is not supported; use 'auto', 'pandas', 'duckdb', a DuckDBEngine "
            "or a SparkEngine."
        )
    if engine != "auto":
        return engine
    if any(is_path(s) for s in sources.values()):
        return "duckdb"
    rows = sum(len(s) for s in sources.values() if isinstance(s, pd.DataFrame))
    return "duckdb" if rows >= AUTO_DUCKDB_ROWS else "pandas"


def _open(engine: Any, sources: Mapping[str, TableSource], catalogue: Catalogue):
    chosen = _choose(engine, sources)
    if chosen == "pandas":
        return _PandasSession(sources, catalogue)
    if isinstance(chosen, SparkEngine):
        return SparkFeatureSession(sources, catalogue, chosen)
    settings = chosen if isinstance(chosen, DuckDBEngine) else None
    return DuckDBSession(sources, catalogue, settings)


def _to_float(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        words = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}
        s = s.map(lambda v: words.get(str(v).strip().lower(), v), na_action="ignore")
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _assemble(
    ros: pd.DataFrame,
    groups: Mapping[str, pd.DataFrame],
    w: Windows,
    catalogue: Catalogue,
) -> pd.DataFrame:
    idx = ros.index
    cols: dict[str, pd.Series] = {
        "as_of": pd.Series(pd.Timestamp(w.as_of), index=idx, dtype="datetime64[ns]"),
        "school_id": ros["school_id"].astype(object),
        "cohort": ros["cohort"].astype("int64"),
    }
    values: dict[str, pd.Series] = {}
    for frame in groups.values():
        aligned = frame.reindex(idx)
        for col in aligned.columns:
            values[col] = aligned[col]
    if "concerns" in groups:
        for col in _ZERO_WHEN_NONE:
            values[col] = values[col].fillna(0.0)
    for feature in score_features(catalogue):
        score = values.get(feature, pd.Series(np.nan, index=idx))
        values[feature] = score
        if feature.endswith("_score"):
            # without an assessments table, "no answers yet" is unknown, not true
            missing = score.isna().astype("float64") if "assessments" in groups else score
            values[feature[: -len("_score")] + "_missing"] = missing
    grade_year = (w.school_year - start_years(ros["programme_start"]) + 1).clip(1, 4)
    values["grade_year"] = grade_year.astype("float64")
    for name in catalogue.names:
        ind = catalogue.get(name)
        own = ind.computation
        if own is not None and own.table == "students":
            s = students_value(ind, ros)
            s = pd.Series(np.nan, index=idx) if s is None else s
        elif own is not None:
            s = values.get(name, pd.Series(np.nan, index=idx))
        elif name in values:
            s = values[name]
        elif name in ros.columns:
            s = ros[name]
        else:
            s = pd.Series(np.nan, index=idx)
        if ind.kind == "categorical":
            raw = s.astype(object).where(s.notna(), None)
            cols[name] = pd.Series(
                pd.Categorical(raw, categories=list(ind.categories)), index=idx
            )
        else:
            cols[name] = _to_float(s)
    out = pd.DataFrame(cols, index=idx)
    out.index = out.index.astype(object)
    out.index.name = "student_id"
    return out


def _prepare(tables: Any, catalogue: Catalogue | None):
    cat = catalogue if catalogue is not None else default_catalogue()
    if not isinstance(cat, Catalogue):
        raise TypeError(f"catalogue must be a Catalogue, got {type(cat).__name__}.")
    _check_catalogue(cat)
    tables = check_tables(tables)
    frames = {
        n: t for n, t in tables.items()
        if isinstance(t, pd.DataFrame) and (n in TABLES or str(n).startswith("attendance_"))
    }
    if "students" in frames:
        # validate_tables also stacks attendance_<layout> tables into attendance.
        # Events on or after as_of are left to the engines, which skip them
        # silently: a backtest at a past as_of has later events by design.
        validated = validate_tables(frames)
        tables = {**{n: t for n, t in tables.items() if n not in frames}, **validated}
    students = prepare_students(read_source("students", tables["students"]))
    outcomes_src = tables.get("outcomes")
    outcomes = prepare_outcomes(
        read_source("outcomes", outcomes_src) if outcomes_src is not None else None
    )
    return cat, tables, students, outcomes


def build_features(
    tables: Mapping[str, TableSource],
    as_of: Any,
    *,
    catalogue: Catalogue | None = None,
    engine: EngineArg = "auto",
) -> pd.DataFrame:
    """Build one feature row per student enrolled at ``as_of``.

    Only events dated strictly before ``as_of`` are used (the knowledge date);
    later events are skipped without a warning, since a backtest at a past
    ``as_of`` has them by design. DataFrame inputs are first checked and coerced
    with :func:`dropoutrisk.schema.validate_tables` (which also stacks
    ``attendance_<layout>`` tables into ``attendance``); file paths are read as
    they are. What every feature means is in ``docs/catalogue.md``.

    Parameters
    ----------
    tables : mapping of str to DataFrame or path, or a folder path
        The canonical tables (``students`` is required; ``attendance``, ``grades``,
        ``assessments``, ``concerns`` and ``outcomes`` are optional). An event table
        may be given as the path of a Parquet or CSV file, or a folder of Parquet files.
        A folder path stands for ``{name: folder/<name>.parquet or .csv}``; event tables
        given as files are read by DuckDB and never loaded whole into pandas.
    as_of : date-like
        The prediction date.
    catalogue : Catalogue, optional
        Which features to build and in what order; :func:`default_catalogue` by default.
    engine : {"auto", "pandas", "duckdb"}, DuckDBEngine or SparkEngine, default "auto"
        ``"auto"`` uses pandas for small in-memory frames and DuckDB for file paths
        or at least :data:`AUTO_DUCKDB_ROWS` event rows. A :class:`SparkEngine` runs
        the same feature SQL on Spark; its event tables may also be Spark DataFrames
        or catalogue tables (``docs/spark.md``). All give the same result.

    Returns
    -------
    DataFrame
        (A Spark DataFrame of the same rows with ``SparkEngine(output="spark")``.)
        Index ``student_id`` (str, sorted). Columns: ``as_of`` (datetime64[ns]),
        ``school_id`` (str), ``cohort`` (int64), then every catalogue feature in
        catalogue order: numeric and binary as float64 (NaN = missing), categorical as
        ``category`` with the catalogue's categories.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["s1", "s2"], "cohort": [2024, 2024],
    ...                          "school_id": ["A", "A"]})
    >>> attendance = pd.DataFrame({
    ...     "student_id": ["s1", "s1", "s2"],
    ...     "date": pd.to_datetime(["2024-09-02", "2024-09-03", "2024-09-02"]),
    ...     "scheduled_minutes": [300.0, 300.0, 300.0],
    ...     "absent_minutes": [0.0, 150.0, 300.0]})
    >>> X = build_features({"students": students, "attendance": attendance}, "2024-09-09")
    >>> list(X.columns[:4])
    ['as_of', 'school_id', 'cohort', 'attendance_rate']
    >>> X["attendance_rate"].tolist()
    [0.75, 0.0]
    """
    on_spark = {}
    if isinstance(engine, SparkEngine):
        tables, on_spark = engine.split(tables)
    cat, tables, students, outcomes = _prepare(tables, catalogue)
    tables = {**tables, **on_spark}
    warn_left_out(left_out_features(tables, students, cat))
    w = windows_for(as_of)
    ros = roster(students, outcomes, w)
    session = _open(engine, event_sources(tables), cat)
    try:
        groups = session.compute(w, enrolment(ros, w))
        X = _relate(session, _assemble(ros, groups, w, cat), cat)
    finally:
        session.close()
    return engine.finish(X) if isinstance(engine, SparkEngine) else X


def _labels(
    ros: pd.DataFrame,
    outcomes: pd.DataFrame,
    w: Windows,
    horizon_days: int,
    data_end: pd.Timestamp | None,
) -> pd.Series:
    as_of = pd.Timestamp(w.as_of)
    end = as_of + pd.Timedelta(days=int(horizon_days))
    idx = ros.index
    first = (
        outcomes.loc[outcomes["student_id"].isin(idx) & (outcomes["date"] >= as_of)]
        .sort_values(["student_id", "date"], kind="mergesort")
        .drop_duplicates("student_id")
        .set_index("student_id")
    )
    event = first["event"].reindex(idx)
    date = first["date"].reindex(idx)
    within = date < end
    label = pd.Series(0.0, index=idx, name="label")
    label[within & (event == "dropout")] = 1.0
    label[within & event.isin(CENSORING_EVENTS)] = np.nan
    # No outcome in the horizon and the data stop before it ends: not known yet.
    if data_end is None or data_end < end - pd.Timedelta(days=1):
        label[date.isna()] = np.nan
    label.index = label.index.astype(object)
    label.index.name = "student_id"
    return label


def _data_end(tables: Mapping[str, TableSource], session: Any, outcomes: pd.DataFrame):
    dates = [session.max_date()] if session is not None else []
    if len(outcomes):
        dates.append(outcomes["date"].max())
    dates = [d for d in dates if d is not None and pd.notna(d)]
    return max(dates) if dates else None


def build_labels(
    tables: Mapping[str, TableSource],
    as_of: Any,
    horizon_days: int = 365,
) -> pd.Series:
    """Return the dropout label within ``horizon_days`` after ``as_of``.

    Parameters
    ----------
    tables : mapping of str to DataFrame or path
        The canonical tables; ``students`` and ``outcomes`` are used, and the event
        tables tell how far the data reach.
    as_of : date-like
    horizon_days : int, default 365

    Returns
    -------
    Series
        Named ``"label"``, float64, indexed like :func:`build_features`: 1 for a
        dropout dated in ``[as_of, as_of + horizon)``; NaN (censored) for a move or
        transfer within the horizon, or for no outcome when the horizon goes past the
        last date in the data; 0 otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a", "b", "c"], "cohort": [2023] * 3,
    ...                          "school_id": ["S"] * 3})
    >>> outcomes = pd.DataFrame({"student_id": ["a", "b", "c"],
    ...     "event": ["dropout", "moved", "completed"],
    ...     "date": pd.to_datetime(["2024-02-01", "2024-03-01", "2026-06-10"])})
    >>> build_labels({"students": students, "outcomes": outcomes}, "2023-10-01").tolist()
    [1.0, nan, 0.0]
    """
    if int(horizon_days) <= 0:
        raise ParameterError(parameter="horizon_days", message=
            f"horizon_days must be a positive number of days, got {horizon_days!r}.")
    cat, tables, students, outcomes = _prepare(tables, None)
    w = windows_for(as_of)
    ros = roster(students, outcomes, w)
    session = _DateOnly(event_sources(tables))
    return _labels(ros, outcomes, w, horizon_days, _data_end(tables, session, outcomes))


class _DateOnly:
    """Finds the latest event date without loading whole tables into pandas."""

    def __init__(self, sources: Mapping[str, TableSource]) -> None:
        self.sources = sources

    def max_date(self) -> pd.Timestamp | None:
        dates = []
        paths = {n: s for n, s in self.sources.items() if is_path(s)}
        for src in self.sources.values():
            if isinstance(src, pd.DataFrame) and len(src) and "date" in src.columns:
                dates.append(pd.to_datetime(src["date"]).max())
        if paths:
            with DuckDBSession(paths, default_catalogue()) as s:
                dates.append(s.max_date())
        dates = [pd.Timestamp(d) for d in dates if d is not None and pd.notna(d)]
        return max(dates) if dates else None


def build_training_frame(
    tables: Mapping[str, TableSource],
    as_of_dates: Iterable[Any],
    *,
    horizon_days: int = 365,
    catalogue: Catalogue | None = None,
    engine: EngineArg = "auto",
) -> tuple[pd.DataFrame, pd.Series]:
    """Stack features and labels over several ``as_of`` dates.

    Parameters
    ----------
    tables : mapping of str to DataFrame or path
    as_of_dates : iterable of date-like, or DataFrame
        Snapshot dates for every enrolled student; or a frame of ``student_id`` and
        ``as_of``, one snapshot per row (e.g. days after each student's start, from
        :func:`dropoutrisk.schema.snapshot_dates` with ``days=``). The rows come out in
        ascending ``as_of`` order.
    horizon_days : int, default 365
    catalogue : Catalogue, optional
    engine : {"auto", "pandas", "duckdb"} or DuckDBEngine

    Returns
    -------
    X : DataFrame
        One row per (student, as_of); the ``as_of`` column tells the snapshots apart.
    y : Series
        The labels, aligned with ``X`` row by row.

    Examples
    --------
    >>> import pandas as pd
    >>> students = pd.DataFrame({"student_id": ["a", "b"], "cohort": [2023, 2023],
    ...                          "school_id": ["S", "S"]})
    >>> outcomes = pd.DataFrame({"student_id": ["a"], "event": ["dropout"],
    ...                          "date": pd.to_datetime(["2024-02-01"])})
    >>> X, y = build_training_frame({"students": students, "outcomes": outcomes},
    ...                             ["2023-10-01", "2023-09-15"], horizon_days=150)
    >>> X["as_of"].dt.strftime("%m-%d").tolist(), y.tolist()
    (['09-15', '09-15', '10-01', '10-01'], [1.0, nan, 1.0, nan])
    """
    if int(horizon_days) <= 0:
        raise ParameterError(parameter="horizon_days", message=
            f"horizon_days must be a positive number of days, got {horizon_days!r}.")
    plan = _snapshot_plan(as_of_dates)
    cat, tables, students, outcomes = _prepare(tables, catalogue)
    warn_left_out(left_out_features(tables, students, cat))
    sources = event_sources(tables)
    session = _open(engine, sources, cat)
    xs, ys = [], []
    try:
        data_end = _data_end(tables, session, outcomes)
        for d, ids in plan:
            w = windows_for(d)
            ros = roster(students, outcomes, w)
            if ids is not None:
                ros = ros.loc[ros.index.isin(ids)]
            frame = _assemble(ros, session.compute(w, enrolment(ros, w)), w, cat)
            xs.append(_relate(session, frame, cat))
            ys.append(_labels(ros, outcomes, w, horizon_days, data_end))
    finally:
        session.close()
    return pd.concat(xs), pd.concat(ys).rename("label")


def _snapshot_plan(as_of_dates: Any) -> list[tuple[Any, set[str] | None]]:
    """``(as_of, students or None for all)`` per distinct date, in ascending order."""
    if isinstance(as_of_dates, pd.DataFrame):
        missing = [c for c in ("student_id", "as_of") if c not in as_of_dates.columns]
        if missing:
            raise ParameterError(parameter="as_of_dates", message=
                f"as_of_dates as a frame needs the columns student_id and as_of (missing: "
                f"{', '.join(missing)}); build it with snapshot_dates(..., days=..., students=...).")
        if as_of_dates["as_of"].isna().any():
            rows = np.flatnonzero(as_of_dates["as_of"].isna().to_numpy())[:5].tolist()
            raise ParameterError(parameter="as_of_dates", message=
                f"as_of_dates has rows without an as_of date (rows {rows}).")
        days = pd.to_datetime(as_of_dates["as_of"]).dt.normalize()
        ids = as_of_dates["student_id"].astype(str)
        plan = [(windows_for(d).as_of, set(ids[days == d])) for d in sorted(days.unique())]
        if not plan:
            raise ParameterError(parameter="as_of_dates", message=
                "as_of_dates is empty; pass at least one date.")
        return plan
    dates = sorted({windows_for(d).as_of for d in as_of_dates})
    if not dates:
        raise ParameterError(parameter="as_of_dates", message=
            "as_of_dates is empty; pass at least one date.")
    return [(d, None) for d in dates]
