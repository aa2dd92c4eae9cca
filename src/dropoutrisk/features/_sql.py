"""The event-window feature SQL, written once for DuckDB and Spark SQL.

Portability rules (keep them when editing):

1. Plain ``SELECT`` / ``WHERE`` / ``GROUP BY`` / ``LEFT JOIN``, ``CASE``,
   ``SUM``/``COUNT``/``MIN``/``MAX``/``AVG``, ``ROW_NUMBER``/``LAG`` window
   functions, ``CAST``, ``FLOOR``, ``SQRT``, ``UPPER``, ``SUBSTRING(s, 1, n)``,
   ``LENGTH`` and ``EXTRACT(YEAR|MONTH FROM d)``. No ``QUALIFY``, no
   ``FILTER (WHERE ...)``, no ``GROUP BY ALL``, no ``SELECT * EXCLUDE``, no
   list or struct types, no ``::`` casts, no ``LIKE`` patterns with ``_``.
2. Every window boundary is a date literal computed in Python
   (``DATE 'YYYY-MM-DD'``); the only date arithmetic left ("days between",
   "day plus n") goes through :class:`Dialect`. A small numbers table is an
   inline ``(VALUES (1), (2), ...) AS k(n)``.
3. The tables are referenced by their canonical names (``attendance``,
   ``grades``, ``assessments``, ``concerns``, ``activity``) with canonical
   columns; the engine maps files or frames onto those names (DuckDB views,
   Spark temp views). ``enrolment`` is one row per student enrolled at
   ``as_of``: ``student_id``, ``start_day`` (DATE: the later of the school-year
   start and the student's own start), ``baseline_end`` (DATE),
   ``baseline_ok`` and ``days_since_start`` (INTEGER); "since the start" and
   baseline windows count from it (``enrolment_frame`` builds it).
4. Slopes and standard deviations come from running sums (n, Σx, Σy, Σxy,
   Σx²), which merge across partitions on any engine.
5. Divide by ``CASE WHEN d > 0 THEN d END`` so that an empty window is NULL,
   never a division error (Spark's ANSI mode raises on division by zero).
6. Never group the big log by student and day (tens of millions of groups):
   aggregate per student with conditional sums, and test days with
   ``EXISTS`` / ``NOT EXISTS``.
7. Never ``SUM`` or ``AVG`` a DOUBLE over rows. A parallel engine adds rows in
   an order set by its threads, so the last bits of a floating-point sum change
   from run to run. Sum integers (minutes as whole :data:`UNITS_PER_MINUTE`,
   counts, half grade points) or DECIMALs (``Dialect.exact``), which every order
   adds exactly, and divide once at the end. The weekly attendance rates (eight at
   most per student) are one per column and added in week order.

Each query returns one row per student with events before ``as_of`` and the
feature columns named as in the catalogue. The pandas engine mirrors every
query (same filters, integer sums, added in the same order, same formulas),
and a test holds the two engines equal to 1e-12; DuckDB gives the same bits at
any thread count. The Spark engine (:mod:`._spark_engine`) runs the
``render(..., SPARK)`` text on Spark SQL, and a test holds its features equal to
DuckDB's within 1e-9 on local Spark. Every difference between the two engines'
SQL is in :class:`Dialect` and in the view helpers :func:`canonical_view` and
:func:`enrolment_view` below, which both engines use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dropoutrisk.errors import ParameterError
from dropoutrisk.features._inputs import EVENT_COLUMNS, Windows
from dropoutrisk.features._sql_queries import (
    ACTIVITY_SQL,
    ASSESSMENTS_SQL,
    ATTENDANCE_SQL,
    CONCERNS_SQL,
    GRADES_SQL,
    MAX_RUN_GAP_DAYS,
    RELATIVE_SQL,
)

__all__ = [
    "ASSESSMENTS_SQL",
    "ACTIVITY_SQL",
    "ATTENDANCE_SQL",
    "BEFORE_START_DAYS",
    "COLUMN_TYPES",
    "CONCERNS_SQL",
    "DUCKDB",
    "GRADES_SQL",
    "QUERIES",
    "RELATIVE_SQL",
    "SPARK",
    "SUMMABLE",
    "TREND_WEEKS",
    "UNITS_PER_MINUTE",
    "Dialect",
    "canonical_view",
    "engine_queries",
    "enrolment_view",
    "peer_values_view",
    "feature_sql",
    "relative_sql",
    "render",
]

#: Minutes are summed as whole units of 1e-9 minute (``FLOOR(m * 1e9 + 0.5)``, the
#: same IEEE operations on every engine), so sums are exact whatever the order; a
#: row may hold up to 9.2e9 minutes, and a student's total stays below 2**53 units
#: (9 million minutes), where the conversion back to DOUBLE is exact too.
UNITS_PER_MINUTE = 1_000_000_000
#: The weeks of the 8-week trend and volatility (week 0 the oldest).
TREND_WEEKS = 8


@dataclass(frozen=True)
class Dialect:
    """The few expressions that differ between SQL engines.

    Examples
    --------
    >>> DUCKDB.days_between("a", "b")
    "date_diff('day', b, a)"
    >>> SPARK.days_between("a", "b")
    'datediff(a, b)'
    """

    name: str
    days_between_template: str
    add_days_template: str
    double: str = "DOUBLE"
    string: str = "VARCHAR"
    #: DECIMAL sums are exact on DuckDB and Spark alike; 18 decimals keep a double's
    #: precision for values between about 1e-2 and 1e20.
    exact: str = "DECIMAL(38, 18)"

    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (both DATE)."""
        return self.days_between_template.format(later=later, earlier=earlier)

    def add_days(self, day: str, n: str) -> str:
        """The DATE ``n`` (an integer expression) days after ``day``."""
        return self.add_days_template.format(day=day, n=n)


DUCKDB = Dialect("duckdb", "date_diff('day', {earlier}, {later})", "CAST({day} + {n} AS DATE)")
SPARK = Dialect("spark", "datediff({later}, {earlier})", "date_add({day}, {n})",
                string="STRING")

#: The canonical type of every event-table column the queries read ("STRING" is the
#: dialect's text type).
COLUMN_TYPES = {
    "student_id": "STRING",
    "date": "DATE",
    "scheduled_minutes": "DOUBLE",
    "absent_minutes": "DOUBLE",
    "excused": "BOOLEAN",
    "late_minutes": "DOUBLE",
    "course": "STRING",
    "grade": "STRING",
    "item": "STRING",
    "value": "DOUBLE",
    "count": "DOUBLE",
    "kind": "STRING",
    "category": "STRING",
}

#: What the exact sums of the feature SQL can hold (files are read unvalidated).
SUMMABLE = {
    "attendance": "finite minutes, below 9.2e9 per row",
    "assessments": "finite values, below 1e20 in magnitude",
    "activity": "finite counts, below 9.2e9 per row",
}


def canonical_view(name: str, present: set[str], relation: str, dialect: Dialect) -> str:
    """The SELECT that a table's view is: its canonical columns and types from ``relation``.

    Columns the source lacks (only optional ones; the caller checks the required) are
    typed NULLs; dates are read through a timestamp, so that text, timestamp and date
    columns all become the calendar day.
    """
    required, optional = EVENT_COLUMNS[name]
    parts = []
    for col in required + optional:
        typ = COLUMN_TYPES[col].replace("STRING", dialect.string)
        if col not in present:
            parts.append(f"CAST(NULL AS {typ}) AS {col}")
        elif col == "date":
            parts.append(f"CAST(CAST({col} AS TIMESTAMP) AS DATE) AS {col}")
        else:
            parts.append(f"CAST({col} AS {typ}) AS {col}")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def peer_values_view(relation: str, dialect: Dialect) -> str:
    """The SELECT of the ``peer_values`` view of ``RELATIVE_SQL`` from a ``peer_values`` frame."""
    t = dialect.string
    return (f"SELECT CAST(student_id AS {t}) AS student_id, CAST(grp AS {t}) AS grp, "
            f"CAST(feature AS {t}) AS feature, CAST(how AS {t}) AS how, "
            f"CAST(v AS {dialect.double}) AS v FROM {relation}")


def enrolment_view(relation: str, dialect: Dialect) -> str:
    """The SELECT of the ``enrolment`` view from a frame of :func:`~._inputs.enrolment`."""
    return (f"SELECT CAST(student_id AS {dialect.string}) AS student_id, "
            "CAST(start AS DATE) AS start_day, CAST(baseline_end AS DATE) AS baseline_end, "
            "CAST(baseline_ok AS INTEGER) AS baseline_ok, "
            f"CAST(days_since_start AS INTEGER) AS days_since_start FROM {relation}")


def _lit(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in_order(terms: list[str]) -> str:
    """``((t0 + t1) + t2) + ...``: added left to right, as the pandas engine does."""
    total = terms[0]
    for term in terms[1:]:
        total = f"({total} + {term})"
    return total


def _weekly_parts(dialect: Dialect) -> dict[str, str]:
    """The per-week columns of ``ATTENDANCE_SQL``: rates, changes and their running sums."""
    weeks = range(TREND_WEEKS)
    pad = " " * 11
    d = dialect.double
    rates = [f"{pad}MAX(CASE WHEN x = {k} AND sched > 0 "
             f"THEN 1.0 - CAST(absent AS {d}) / CAST(sched AS {d}) END) AS y{k}" for k in weeks]
    changes = [f"{pad}CASE WHEN y{k} IS NOT NULL AND y{k - 1} IS NOT NULL "
               f"THEN y{k} - y{k - 1} END AS dy{k}" for k in weeks if k > 0]

    def count(col: str, value: str, ks) -> str:
        return " + ".join(f"CASE WHEN {col}{k} IS NULL THEN 0 ELSE {value.format(k=k)} END"
                          for k in ks)

    def total(col: str, value: str, ks) -> str:
        return _in_order([f"CASE WHEN {col}{k} IS NULL THEN 0.0 ELSE {value.format(k=k)} END"
                          for k in ks])

    moves = [k for k in weeks if k > 0]
    trend = [
        f"CAST({count('y', '1', weeks)} AS {d}) AS n",
        f"CAST({count('y', '{k}', weeks)} AS {d}) AS sx",
        f"CAST({count('y', '{k} * {k}', weeks)} AS {d}) AS sxx",
        f"{total('y', 'y{k}', weeks)} AS sy",
        f"{total('y', '{k} * y{k}', weeks)} AS sxy",
        f"CAST({count('dy', '1', moves)} AS {d}) AS vn",
        f"{total('dy', 'dy{k}', moves)} AS vs",
        f"{total('dy', 'dy{k} * dy{k}', moves)} AS vss",
    ]
    return {
        "week_rates": ",\n".join(rates),
        "week_values": ", ".join(f"y{k}" for k in weeks),
        "week_changes": ",\n".join(changes),
        "trend_sums": ",\n".join(pad + t for t in trend),
    }



#: Activity in this many days before a student's start counts as "before the start".
BEFORE_START_DAYS = 28


_CORE_PREFIXES = ("SVE", "SVA", "ENG", "MAT")


def render(
    query: str,
    w: Windows,
    dialect: Dialect = DUCKDB,
    item_groups: tuple[tuple[str, str], ...] = (),
) -> str:
    """Fill a feature query with the window dates of ``w`` for ``dialect``.

    Parameters
    ----------
    query : str
        One of ``ATTENDANCE_SQL``, ``GRADES_SQL``, ``CONCERNS_SQL``, ``ASSESSMENTS_SQL``.
    w : Windows
        The dates for one ``as_of``.
    dialect : Dialect
        :data:`DUCKDB` or :data:`SPARK`.
    item_groups : tuple of (prefix, feature)
        The catalogue's assessment mapping (``ASSESSMENTS_SQL`` only).

    Examples
    --------
    >>> from dropoutrisk.features._inputs import windows_for
    >>> sql = render(CONCERNS_SQL, windows_for("2024-10-28"), SPARK)
    >>> "datediff(DATE '2024-10-28', day)" in sql
    True
    """
    groups = sorted(item_groups, key=lambda pf: -len(pf[0]))
    if groups:
        whens = " ".join(
            f"WHEN SUBSTRING(item, 1, {len(p)}) = {_quote(p)} THEN {_quote(f)}" for p, f in groups
        )
        item_case = f"CASE {whens} END"
    else:
        item_case = f"CAST(NULL AS {dialect.string})"
    features = sorted({f for _, f in item_groups})
    d = dialect.double
    feature_columns = ",\n".join(
        f"       CAST(SUM(CASE WHEN feature = {_quote(f)} THEN value END) AS {d})\n"
        f"           / CASE WHEN COUNT(CASE WHEN feature = {_quote(f)} THEN value END) > 0\n"
        f"                  THEN CAST(COUNT(CASE WHEN feature = {_quote(f)} THEN value END)"
        f" AS {d}) END AS {f}"
        for f in features
    ) or "       CAST(NULL AS DOUBLE) AS no_feature"
    gap = dialect.days_between("g.day", "g.prev_day")
    core_test = " OR ".join(
        f"SUBSTRING(UPPER(course), 1, {len(p)}) = '{p}'" for p in _CORE_PREFIXES
    )
    weeks = range(TREND_WEEKS)
    activity_weeks = ",\n".join(
        f"           SUM(CASE WHEN day >= {_lit(w.d8w)} AND day >= start_day AND "
        f"7 - CAST(FLOOR(({dialect.days_between(_lit(w.as_of), 'day')} - 1) / 7.0) AS INTEGER)"
        f" = {k} THEN n_u END) AS w{k}" for k in weeks)
    activity_week_values = ",\n".join(
        f"           CASE WHEN e.days_since_start >= {7 * (TREND_WEEKS - k)} "
        f"THEN CAST(COALESCE(p.w{k}, 0) AS {dialect.double}) / {UNITS_PER_MINUTE} END AS y{k}"
        for k in weeks)
    return query.format(
        double=dialect.double,
        activity_weeks=activity_weeks,
        activity_week_values=activity_week_values,
        before_start=dialect.add_days("start_day", str(-BEFORE_START_DAYS)),
        exact=dialect.exact,
        units=UNITS_PER_MINUTE,
        **_weekly_parts(dialect),
        as_of=_lit(w.as_of),
        year_start=_lit(w.year_start),
        d2w=_lit(w.d2w),
        d4w=_lit(w.d4w),
        d8w=_lit(w.d8w),
        d30=_lit(w.d30),
        d90=_lit(w.d90),
        baseline_end=_lit(w.baseline_end),
        attendance_start=_lit(w.attendance_start),
        gap=gap,
        max_gap=MAX_RUN_GAP_DAYS,
        between_day=dialect.add_days("g.prev_day", "k.n"),
        numbers="(VALUES " + ", ".join(f"({i})" for i in range(1, MAX_RUN_GAP_DAYS)) + ")",
        baseline_ok=1 if w.baseline_ok else 0,
        days_before=dialect.days_between(_lit(w.as_of), "day"),
        item_case=item_case,
        feature_columns=feature_columns,
        core_test=core_test,
    )


def custom_sql(table: str, indicators: list, w: Windows, dialect: Dialect = DUCKDB) -> str:
    """The query of the indicators of your own that aggregate ``table`` (see ``_custom``).

    It follows the rules above: per-student conditional aggregates over an inner
    select of the table, joined to ``enrolment`` (every enrolled student gets a
    row), integer sums, window dates as literals.
    """
    from dropoutrisk.features._custom import sql_for, window_starts

    text = sql_for(table, indicators, _lit, dialect.days_between)
    minus = {f"as_of_minus_{n}": _lit(w.as_of - dt.timedelta(days=n))
             for n in window_starts(indicators)}
    return text.format(as_of=_lit(w.as_of), double=dialect.double, **minus)


def relative_sql(dialect: Dialect = DUCKDB, min_cell: int | None = None) -> str:
    """The query of the indicators relative to their group (``RELATIVE_SQL``), for ``dialect``.

    It reads the view ``peer_values`` (one row per student and relative indicator, see
    ``RELATIVE_SQL``), built from the features of one ``as_of``; both engines build that
    view the same way (``features._custom.peer_values``). A group with fewer than
    ``min_cell`` values (default ``MIN_CELL``, 10) gets NULL.

    Examples
    --------
    >>> "PARTITION BY feature, grp" in relative_sql(SPARK)
    True
    """
    from dropoutrisk._disclosure import MIN_CELL

    return RELATIVE_SQL.format(double=dialect.double,
                               min_cell=int(MIN_CELL if min_cell is None else min_cell))


#: The feature query of each event table.
QUERIES = {
    "attendance": ATTENDANCE_SQL,
    "grades": GRADES_SQL,
    "assessments": ASSESSMENTS_SQL,
    "concerns": CONCERNS_SQL,
    "activity": ACTIVITY_SQL,
}


def engine_queries(tables: list[str], catalogue, w: Windows, dialect: Dialect
                   ) -> list[tuple[str, str, str]]:
    """Every query an engine runs at ``w`` on the event ``tables`` it has, in order.

    Returns ``(group, table, sql)``: the group of the result (the table's name, or
    ``custom:<table>`` for the indicators of your own that aggregate it), the table the
    query reads and its text rendered for ``dialect``. The DuckDB and Spark engines both
    run exactly this list.
    """
    from dropoutrisk.features._custom import custom_by_table

    out = [(name, name, render(QUERIES[name], w, dialect, catalogue.item_groups))
           for name in tables]
    for name, indicators in custom_by_table(catalogue).items():
        if name in tables:
            out.append((f"custom:{name}", name, custom_sql(name, indicators, w, dialect)))
    return out


def feature_sql(
    as_of: object,
    *,
    dialect: str = "duckdb",
    item_groups: tuple[tuple[str, str], ...] | None = None,
) -> dict[str, str]:
    """Return the feature queries for one ``as_of``, rendered for an SQL engine.

    Each query reads the canonical table of the same name (register your data as
    views ``attendance``, ``grades``, ``assessments``, ``concerns``, ``activity``
    with the canonical columns, plus the per-student ``enrolment`` view described
    in this module's docstring) and returns one row per student with the
    catalogue's column names. This is the SQL the DuckDB engine runs; with
    ``dialect="spark"`` it is meant for ``spark.sql``.

    Parameters
    ----------
    as_of : date-like
    dialect : {"duckdb", "spark"}, default "duckdb"
    item_groups : tuple of (prefix, feature), optional
        Assessment item mapping; the default catalogue's when None.

    Returns
    -------
    dict of str to str
        Table name -> SQL text.

    Examples
    --------
    >>> queries = feature_sql("2024-10-28", dialect="spark")
    >>> sorted(queries)
    ['activity', 'assessments', 'attendance', 'concerns', 'grades']
    >>> "datediff(DATE '2024-10-28', day)" in queries["concerns"]
    True
    """
    from dropoutrisk.features._catalogue import DEFAULT_ITEM_GROUPS
    from dropoutrisk.features._inputs import windows_for

    dialects = {"duckdb": DUCKDB, "spark": SPARK}
    if dialect not in dialects:
        raise ParameterError(parameter="dialect", message=
            f"dialect={dialect!r} is not supported; use 'duckdb' or 'spark'.")
    groups = DEFAULT_ITEM_GROUPS if item_groups is None else tuple(item_groups)
    w = windows_for(as_of)
    return {
        table: render(query, w, dialects[dialect], groups) for table, query in QUERIES.items()
    }
