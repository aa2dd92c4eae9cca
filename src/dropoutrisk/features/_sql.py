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
   ``grades``, ``assessments``, ``concerns``) with canonical columns; the
   engine maps files or frames onto those names (DuckDB views, Spark temp views).
4. Slopes and standard deviations come from running sums (n, Σx, Σy, Σxy,
   Σx²), which merge across partitions on any engine.
5. Divide by ``CASE WHEN d > 0 THEN d END`` so that an empty window is NULL,
   never a division error (Spark's ANSI mode raises on division by zero).
6. Never group the big log by student and day (tens of millions of groups):
   aggregate per student with conditional sums, and test days with
   ``EXISTS`` / ``NOT EXISTS``.

Each query returns one row per student with events before ``as_of`` and the
feature columns named as in the catalogue. The pandas engine mirrors every
query (same filters, running sums and formulas), and a test holds the two
engines equal to 1e-9. The Spark rendering (``render(..., SPARK)``) has not
been run on Spark here; a test executes its text on DuckDB through a
``datediff``/``date_add`` shim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dropoutrisk.features._inputs import Windows

__all__ = [
    "ASSESSMENTS_SQL",
    "ATTENDANCE_SQL",
    "CONCERNS_SQL",
    "DUCKDB",
    "GRADES_SQL",
    "SPARK",
    "Dialect",
    "feature_sql",
    "render",
]


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

    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (both DATE)."""
        return self.days_between_template.format(later=later, earlier=earlier)

    def add_days(self, day: str, n: str) -> str:
        """The DATE ``n`` (an integer expression) days after ``day``."""
        return self.add_days_template.format(day=day, n=n)


DUCKDB = Dialect("duckdb", "date_diff('day', {earlier}, {later})", "CAST({day} + {n} AS DATE)")
SPARK = Dialect("spark", "datediff({later}, {earlier})", "date_add({day}, {n})")


def _lit(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


ATTENDANCE_SQL = """
WITH att AS (
    SELECT student_id,
           CAST(date AS DATE) AS day,
           CAST(scheduled_minutes AS {double}) AS sched,
           CAST(absent_minutes AS {double}) AS absent,
           excused,
           CAST(late_minutes AS {double}) AS late
    FROM attendance
    WHERE CAST(date AS DATE) >= {attendance_start} AND CAST(date AS DATE) < {as_of}
),
per_student AS (
    SELECT student_id,
           SUM(CASE WHEN day >= {year_start} THEN sched END) AS sched_y,
           SUM(CASE WHEN day >= {year_start} THEN absent END) AS absent_y,
           SUM(CASE WHEN day >= {year_start} AND excused IS NOT NULL THEN absent END)
               AS absent_known,
           SUM(CASE WHEN day < {year_start} OR excused IS NULL THEN NULL
                    WHEN excused THEN 0.0 ELSE absent END) AS absent_unexcused,
           SUM(CASE WHEN day < {year_start} THEN NULL
                    WHEN late > 0 THEN 1.0 WHEN late IS NOT NULL THEN 0.0 END) AS late_count,
           SUM(CASE WHEN day >= {year_start} THEN late END) AS late_minutes,
           SUM(CASE WHEN day >= {d4w} THEN sched END) AS sched_4w,
           SUM(CASE WHEN day >= {d4w} THEN absent END) AS absent_4w,
           SUM(CASE WHEN day >= {d2w} THEN sched END) AS sched_2w,
           SUM(CASE WHEN day >= {d2w} THEN absent END) AS absent_2w,
           SUM(CASE WHEN day >= {year_start} AND day < {baseline_end} THEN sched END) AS sched_b,
           SUM(CASE WHEN day >= {year_start} AND day < {baseline_end} THEN absent END) AS absent_b
    FROM att
    GROUP BY student_id
),
week_rows AS (
    SELECT student_id,
           7 - CAST(FLOOR(({days_before} - 1) / 7.0) AS INTEGER) AS x,
           sched,
           absent
    FROM att
    WHERE day >= {d8w}
),
weekly AS (
    SELECT student_id,
           CAST(x AS {double}) AS x,
           1.0 - SUM(absent) / SUM(sched) AS y
    FROM week_rows
    GROUP BY student_id, x
    HAVING SUM(sched) > 0
),
trend_sums AS (
    SELECT student_id,
           CAST(COUNT(*) AS {double}) AS n,
           SUM(x) AS sx, SUM(y) AS sy, SUM(x * y) AS sxy, SUM(x * x) AS sxx
    FROM weekly
    GROUP BY student_id
),
changes AS (
    SELECT student_id,
           y - LAG(y) OVER (PARTITION BY student_id ORDER BY x) AS dy,
           x - LAG(x) OVER (PARTITION BY student_id ORDER BY x) AS dx
    FROM weekly
),
vol_sums AS (
    SELECT student_id,
           CAST(COUNT(*) AS {double}) AS n, SUM(dy) AS s, SUM(dy * dy) AS ss
    FROM changes
    WHERE dx = 1
    GROUP BY student_id
),
present_rows AS (
    SELECT student_id, day FROM att
    WHERE day >= {year_start} AND sched > 0 AND absent < sched
),
absent_rows AS (
    SELECT DISTINCT student_id, day FROM att
    WHERE day >= {year_start} AND sched > 0 AND absent >= sched
),
absent_days AS (
    -- fully absent: an absent lesson and no attended lesson that day
    SELECT a.student_id, a.day FROM absent_rows a
    WHERE NOT EXISTS (
        SELECT 1 FROM present_rows p WHERE p.student_id = a.student_id AND p.day = a.day
    )
),
gaps AS (
    SELECT student_id, day, LAG(day) OVER (PARTITION BY student_id ORDER BY day) AS prev_day
    FROM absent_days
),
gap_days AS (
    -- the days strictly between two absent days at most {max_gap} days apart
    SELECT g.student_id, g.day, {between_day} AS between_day
    FROM gaps g
    CROSS JOIN {numbers} AS k(n)
    WHERE g.prev_day IS NOT NULL
      AND {gap} <= {max_gap}
      AND k.n < {gap}
),
broken AS (
    SELECT DISTINCT d.student_id, d.day FROM gap_days d
    WHERE EXISTS (
        SELECT 1 FROM present_rows p
        WHERE p.student_id = d.student_id AND p.day = d.between_day
    )
),
starts AS (
    SELECT g.student_id, g.day,
           CASE WHEN g.prev_day IS NULL OR {gap} > {max_gap} OR b.day IS NOT NULL
                THEN 1 ELSE 0 END AS is_start
    FROM gaps g
    LEFT JOIN broken b ON b.student_id = g.student_id AND b.day = g.day
),
runs AS (
    SELECT student_id,
           SUM(is_start) OVER (PARTITION BY student_id ORDER BY day
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
    FROM starts
),
run_lengths AS (
    SELECT student_id, run, COUNT(*) AS len FROM runs GROUP BY student_id, run
),
streaks AS (
    SELECT student_id, CAST(MAX(len) AS {double}) AS longest FROM run_lengths GROUP BY student_id
)
SELECT s.student_id,
       1.0 - s.absent_y / CASE WHEN s.sched_y > 0 THEN s.sched_y END AS attendance_rate,
       1.0 - s.absent_2w / CASE WHEN s.sched_2w > 0 THEN s.sched_2w END AS attendance_rate_2w,
       1.0 - s.absent_4w / CASE WHEN s.sched_4w > 0 THEN s.sched_4w END AS attendance_rate_4w,
       s.absent_unexcused / CASE WHEN s.absent_known > 0 THEN s.absent_known END
           AS unexcused_share,
       s.late_count AS late_count,
       s.late_minutes AS late_minutes,
       CASE WHEN t.n >= 3 AND t.n * t.sxx - t.sx * t.sx <> 0
            THEN (t.n * t.sxy - t.sx * t.sy) / (t.n * t.sxx - t.sx * t.sx) END
           AS attendance_trend_8w,
       CASE WHEN {baseline_ok} = 1
            THEN (1.0 - s.absent_4w / CASE WHEN s.sched_4w > 0 THEN s.sched_4w END)
               - (1.0 - s.absent_b / CASE WHEN s.sched_b > 0 THEN s.sched_b END) END
           AS attendance_change_baseline,
       CASE WHEN k.longest IS NOT NULL THEN k.longest
            WHEN s.sched_y > 0 THEN 0.0 END AS longest_absence_streak_days,
       CASE WHEN v.n >= 2
            THEN SQRT(CASE WHEN (v.ss - v.s * v.s / v.n) / (v.n - 1) < 0 THEN 0.0
                           ELSE (v.ss - v.s * v.s / v.n) / (v.n - 1) END) END
           AS attendance_volatility
FROM per_student s
LEFT JOIN trend_sums t ON t.student_id = s.student_id
LEFT JOIN vol_sums v ON v.student_id = s.student_id
LEFT JOIN streaks k ON k.student_id = s.student_id
"""
"""The attendance features, in one pass of per-student sums plus the absence runs.

A run of fully absent school days continues over days without lessons
(weekends, holidays), is ended by a day with an attended lesson, and by a
break of more than :data:`MAX_RUN_GAP_DAYS` calendar days (the summer). The
log is never grouped by student and day, which keeps the query cheap on tens
of millions of day or lesson rows.
"""

#: Two fully absent days more than this many calendar days apart never share a run.
MAX_RUN_GAP_DAYS = 21

GRADES_SQL = """
WITH g AS (
    SELECT student_id,
           CAST(date AS DATE) AS day,
           course,
           grade,
           CASE grade WHEN 'A' THEN 20.0 WHEN 'B' THEN 17.5 WHEN 'C' THEN 15.0
                      WHEN 'D' THEN 12.5 WHEN 'E' THEN 10.0 WHEN 'F' THEN 0.0 END AS points
    FROM grades
    WHERE CAST(date AS DATE) < {as_of}
),
ranked_courses AS (
    SELECT student_id, course, grade, points,
           ROW_NUMBER() OVER (PARTITION BY student_id, course ORDER BY day DESC, grade DESC) AS rn
    FROM g
),
latest AS (
    SELECT * FROM ranked_courses WHERE rn = 1
),
course_stats AS (
    SELECT student_id,
           CAST(COUNT(*) AS {double}) AS n_courses,
           CAST(SUM(CASE WHEN grade = 'F' THEN 1 ELSE 0 END) AS {double}) AS n_failed,
           CAST(MAX(CASE WHEN grade = 'F' AND ({core_test}) THEN 1 ELSE 0 END) AS {double})
               AS core_failed,
           CAST(SUM(CASE WHEN grade = '-' THEN 1 ELSE 0 END) AS {double}) AS n_ungraded,
           AVG(points) AS gp_mean
    FROM latest
    GROUP BY student_id
),
term_means AS (
    SELECT student_id, term, AVG(points) AS m
    FROM (
        SELECT student_id,
               EXTRACT(YEAR FROM day) * 2
                 + CASE WHEN EXTRACT(MONTH FROM day) >= 7 THEN 1 ELSE 0 END AS term,
               points
        FROM g
        WHERE points IS NOT NULL
    ) t
    GROUP BY student_id, term
),
ranked_terms AS (
    SELECT student_id, m, ROW_NUMBER() OVER (PARTITION BY student_id ORDER BY term DESC) AS r
    FROM term_means
),
term_change AS (
    SELECT student_id,
           SUM(CASE WHEN r = 1 THEN m END) - SUM(CASE WHEN r = 2 THEN m END) AS gp_change
    FROM ranked_terms
    WHERE r <= 2
    GROUP BY student_id
)
SELECT c.student_id,
       c.n_failed AS failed_courses,
       c.core_failed AS failed_core_course,
       c.n_ungraded / c.n_courses AS ungraded_share,
       c.gp_mean AS grade_point_mean,
       t.gp_change AS grade_point_change
FROM course_stats c
LEFT JOIN term_change t ON t.student_id = c.student_id
"""

CONCERNS_SQL = """
SELECT student_id,
       CAST(SUM(CASE WHEN day >= {d30} THEN 1 ELSE 0 END) AS {double}) AS concerns_30d,
       CAST(SUM(CASE WHEN day >= {d90} THEN 1 ELSE 0 END) AS {double}) AS concerns_90d,
       CAST(MIN({days_before}) AS {double}) AS days_since_concern
FROM (
    SELECT student_id, CAST(date AS DATE) AS day
    FROM concerns
    WHERE CAST(date AS DATE) < {as_of}
) c
GROUP BY student_id
"""

ASSESSMENTS_SQL = """
WITH a AS (
    SELECT student_id,
           CAST(date AS DATE) AS day,
           item,
           CAST(value AS {double}) AS value,
           {item_case} AS feature
    FROM assessments
    WHERE CAST(date AS DATE) < {as_of} AND value IS NOT NULL
),
ranked AS (
    SELECT student_id, feature, value,
           ROW_NUMBER() OVER (PARTITION BY student_id, item ORDER BY day DESC, value DESC) AS rn
    FROM a
    WHERE feature IS NOT NULL
)
SELECT student_id,
{feature_columns}
FROM ranked
WHERE rn = 1
GROUP BY student_id
"""

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
        item_case = "CAST(NULL AS STRING)" if dialect is SPARK else "CAST(NULL AS VARCHAR)"
    features = sorted({f for _, f in item_groups})
    feature_columns = ",\n".join(
        f"       AVG(CASE WHEN feature = {_quote(f)} THEN value END) AS {f}" for f in features
    ) or "       CAST(NULL AS DOUBLE) AS no_feature"
    gap = dialect.days_between("g.day", "g.prev_day")
    core_test = " OR ".join(
        f"SUBSTRING(UPPER(course), 1, {len(p)}) = '{p}'" for p in _CORE_PREFIXES
    )
    return query.format(
        double=dialect.double,
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


_TABLE_QUERIES = {
    "attendance": "ATTENDANCE_SQL",
    "grades": "GRADES_SQL",
    "assessments": "ASSESSMENTS_SQL",
    "concerns": "CONCERNS_SQL",
}


def feature_sql(
    as_of: object,
    *,
    dialect: str = "duckdb",
    item_groups: tuple[tuple[str, str], ...] | None = None,
) -> dict[str, str]:
    """Return the feature queries for one ``as_of``, rendered for an SQL engine.

    Each query reads the canonical table of the same name (register your data as
    views ``attendance``, ``grades``, ``assessments``, ``concerns`` with the
    canonical columns) and returns one row per student with the catalogue's
    column names. This is the SQL the DuckDB engine runs; with
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
    ['assessments', 'attendance', 'concerns', 'grades']
    >>> "datediff(DATE '2024-10-28', day)" in queries["concerns"]
    True
    """
    from dropoutrisk.features._catalogue import DEFAULT_ITEM_GROUPS
    from dropoutrisk.features._inputs import windows_for

    dialects = {"duckdb": DUCKDB, "spark": SPARK}
    if dialect not in dialects:
        raise ValueError(f"dialect={dialect!r} is not supported; use 'duckdb' or 'spark'.")
    groups = DEFAULT_ITEM_GROUPS if item_groups is None else tuple(item_groups)
    w = windows_for(as_of)
    return {
        table: render(globals()[name], w, dialects[dialect], groups)
        for table, name in _TABLE_QUERIES.items()
    }
