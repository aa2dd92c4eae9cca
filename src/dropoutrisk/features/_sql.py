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
any thread count. The Spark rendering (``render(..., SPARK)``) has not been
run on Spark here; a test executes its text on DuckDB through a
``datediff``/``date_add`` shim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dropoutrisk.errors import ParameterError
from dropoutrisk.features._inputs import Windows

__all__ = [
    "ASSESSMENTS_SQL",
    "ACTIVITY_SQL",
    "ATTENDANCE_SQL",
    "BEFORE_START_DAYS",
    "CONCERNS_SQL",
    "DUCKDB",
    "GRADES_SQL",
    "SPARK",
    "TREND_WEEKS",
    "UNITS_PER_MINUTE",
    "Dialect",
    "feature_sql",
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
SPARK = Dialect("spark", "datediff({later}, {earlier})", "date_add({day}, {n})")


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


ATTENDANCE_SQL = """
WITH att AS (
    SELECT a.student_id,
           CAST(a.date AS DATE) AS day,
           CAST(a.scheduled_minutes AS {double}) AS sched,
           CAST(a.absent_minutes AS {double}) AS absent,
           a.excused,
           CAST(a.late_minutes AS {double}) AS late,
           -- minutes as whole units of 1e-9 minute: sums of integers are exact in any order
           CAST(FLOOR(CAST(a.scheduled_minutes AS {double}) * {units} + 0.5) AS BIGINT) AS sched_u,
           CAST(FLOOR(CAST(a.absent_minutes AS {double}) * {units} + 0.5) AS BIGINT) AS absent_u,
           CAST(FLOOR(CAST(a.late_minutes AS {double}) * {units} + 0.5) AS BIGINT) AS late_u,
           -- the student's own start of "since the start" and baseline windows
           e.start_day,
           e.baseline_end,
           e.baseline_ok
    FROM attendance a
    JOIN enrolment e ON e.student_id = a.student_id
    WHERE CAST(a.date AS DATE) >= {attendance_start} AND CAST(a.date AS DATE) < {as_of}
),
per_student AS (
    SELECT student_id,
           SUM(CASE WHEN day >= start_day THEN sched_u END) AS sched_y,
           SUM(CASE WHEN day >= start_day THEN absent_u END) AS absent_y,
           SUM(CASE WHEN day >= start_day AND excused IS NOT NULL THEN absent_u END)
               AS absent_known,
           SUM(CASE WHEN day < start_day OR excused IS NULL THEN NULL
                    WHEN excused THEN 0 ELSE absent_u END) AS absent_unexcused,
           SUM(CASE WHEN day < start_day THEN NULL
                    WHEN late > 0 THEN 1 WHEN late IS NOT NULL THEN 0 END) AS late_count,
           SUM(CASE WHEN day >= start_day THEN late_u END) AS late_minutes,
           SUM(CASE WHEN day >= {d4w} THEN sched_u END) AS sched_4w,
           SUM(CASE WHEN day >= {d4w} THEN absent_u END) AS absent_4w,
           SUM(CASE WHEN day >= {d2w} THEN sched_u END) AS sched_2w,
           SUM(CASE WHEN day >= {d2w} THEN absent_u END) AS absent_2w,
           SUM(CASE WHEN day >= start_day AND day < baseline_end THEN sched_u END) AS sched_b,
           SUM(CASE WHEN day >= start_day AND day < baseline_end THEN absent_u END)
               AS absent_b,
           MAX(baseline_ok) AS baseline_ok
    FROM att
    GROUP BY student_id
),
week_rows AS (
    SELECT student_id,
           7 - CAST(FLOOR(({days_before} - 1) / 7.0) AS INTEGER) AS x,
           sched_u,
           absent_u
    FROM att
    WHERE day >= {d8w}
),
week_sums AS (
    SELECT student_id, x, SUM(sched_u) AS sched, SUM(absent_u) AS absent
    FROM week_rows
    GROUP BY student_id, x
),
weekly AS (
    -- y_k: the attendance rate of week k of the last eight (k = 0 oldest, 7 the last week),
    -- one column each (MAX picks a student's one row for that week)
    SELECT student_id,
{week_rates}
    FROM week_sums
    GROUP BY student_id
),
changes AS (
    SELECT student_id, {week_values},
{week_changes}
    FROM weekly
),
trend_sums AS (
    -- running sums for the slope (over the weeks with lessons) and for the volatility (over
    -- the week-to-week changes), added in week order
    SELECT student_id,
{trend_sums}
    FROM changes
),
present_rows AS (
    SELECT student_id, day FROM att
    WHERE day >= start_day AND sched > 0 AND absent < sched
),
absent_rows AS (
    SELECT DISTINCT student_id, day FROM att
    WHERE day >= start_day AND sched > 0 AND absent >= sched
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
       1.0 - CAST(s.absent_y AS {double})
           / CASE WHEN s.sched_y > 0 THEN CAST(s.sched_y AS {double}) END AS attendance_rate,
       1.0 - CAST(s.absent_2w AS {double})
           / CASE WHEN s.sched_2w > 0 THEN CAST(s.sched_2w AS {double}) END AS attendance_rate_2w,
       1.0 - CAST(s.absent_4w AS {double})
           / CASE WHEN s.sched_4w > 0 THEN CAST(s.sched_4w AS {double}) END AS attendance_rate_4w,
       CAST(s.absent_unexcused AS {double})
           / CASE WHEN s.absent_known > 0 THEN CAST(s.absent_known AS {double}) END
           AS unexcused_share,
       CAST(s.late_count AS {double}) AS late_count,
       CAST(s.late_minutes AS {double}) / {units} AS late_minutes,
       CASE WHEN t.n >= 3 AND t.n * t.sxx - t.sx * t.sx <> 0
            THEN (t.n * t.sxy - t.sx * t.sy) / (t.n * t.sxx - t.sx * t.sx) END
           AS attendance_trend_8w,
       CASE WHEN s.baseline_ok = 1
            THEN (1.0 - CAST(s.absent_4w AS {double})
                        / CASE WHEN s.sched_4w > 0 THEN CAST(s.sched_4w AS {double}) END)
               - (1.0 - CAST(s.absent_b AS {double})
                        / CASE WHEN s.sched_b > 0 THEN CAST(s.sched_b AS {double}) END) END
           AS attendance_change_baseline,
       CASE WHEN k.longest IS NOT NULL THEN k.longest
            WHEN s.sched_y > 0 THEN 0.0 END AS longest_absence_streak_days,
       CASE WHEN t.vn >= 2
            THEN SQRT(CASE WHEN (t.vss - t.vs * t.vs / t.vn) / (t.vn - 1) < 0 THEN 0.0
                           ELSE (t.vss - t.vs * t.vs / t.vn) / (t.vn - 1) END) END
           AS attendance_volatility
FROM per_student s
LEFT JOIN trend_sums t ON t.student_id = s.student_id
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
           -- half grade points (A = 20 points), integers so that their sums are exact
           CASE grade WHEN 'A' THEN 40 WHEN 'B' THEN 35 WHEN 'C' THEN 30
                      WHEN 'D' THEN 25 WHEN 'E' THEN 20 WHEN 'F' THEN 0 END AS half_points
    FROM grades
    WHERE CAST(date AS DATE) < {as_of}
),
ranked_courses AS (
    SELECT student_id, course, grade, half_points,
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
           CAST(SUM(half_points) AS {double})
               / CASE WHEN COUNT(half_points) > 0 THEN CAST(2 * COUNT(half_points) AS {double}) END
               AS gp_mean
    FROM latest
    GROUP BY student_id
),
term_means AS (
    SELECT student_id, term,
           CAST(SUM(half_points) AS {double}) / CAST(2 * COUNT(*) AS {double}) AS m
    FROM (
        SELECT student_id,
               EXTRACT(YEAR FROM day) * 2
                 + CASE WHEN EXTRACT(MONTH FROM day) >= 7 THEN 1 ELSE 0 END AS term,
               half_points
        FROM g
        WHERE half_points IS NOT NULL
    ) t
    GROUP BY student_id, term
),
ranked_terms AS (
    SELECT student_id, m, ROW_NUMBER() OVER (PARTITION BY student_id ORDER BY term DESC) AS r
    FROM term_means
),
term_change AS (
    SELECT student_id,
           -- one term mean each: these sums add nothing
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
),
latest AS (
    -- each item's latest value, as an exact DECIMAL for the means below
    SELECT student_id, feature, CAST(value AS {exact}) AS value
    FROM ranked
    WHERE rn = 1
)
SELECT student_id,
{feature_columns}
FROM latest
GROUP BY student_id
"""

ACTIVITY_SQL = """
WITH act AS (
    SELECT a.student_id,
           CAST(a.date AS DATE) AS day,
           -- counts as whole units of 1e-9 (as minutes are): exact sums in any order
           CAST(FLOOR(CAST(a.count AS {double}) * {units} + 0.5) AS BIGINT) AS n_u,
           e.start_day,
           e.baseline_end
    FROM activity a
    JOIN enrolment e ON e.student_id = a.student_id
    WHERE CAST(a.date AS DATE) < {as_of} AND CAST(a.count AS {double}) > 0
),
per_student AS (
    SELECT student_id,
           SUM(CASE WHEN day >= start_day THEN n_u END) AS n_all,
           SUM(CASE WHEN day >= start_day AND day >= {d2w} THEN n_u END) AS n_2w,
           SUM(CASE WHEN day >= start_day AND day >= {d4w} THEN n_u END) AS n_4w,
           COUNT(DISTINCT CASE WHEN day >= start_day AND day >= {d4w} THEN day END) AS days_4w,
           MIN(CASE WHEN day >= start_day THEN {days_before} END) AS days_since,
           SUM(CASE WHEN day < start_day AND day >= {before_start} THEN n_u END) AS n_before,
           SUM(CASE WHEN day >= start_day AND day < baseline_end THEN n_u END) AS n_b,
{activity_weeks}
    FROM act
    GROUP BY student_id
),
weekly AS (
    -- y_k: the count of week k of the last eight (k = 0 oldest), for the weeks that begin
    -- on or after the student's start (0 when there was no activity that week)
    SELECT e.student_id, e.days_since_start, e.baseline_ok,
           p.n_all, p.n_2w, p.n_4w, p.days_4w, p.days_since, p.n_before, p.n_b,
{activity_week_values}
    FROM enrolment e
    LEFT JOIN per_student p ON p.student_id = e.student_id
),
changes AS (
    SELECT student_id, {week_values},
{week_changes}
    FROM weekly
),
trend_sums AS (
    SELECT student_id,
{trend_sums}
    FROM changes
)
SELECT w.student_id,
       CAST(COALESCE(w.n_all, 0) AS {double}) / {units} AS activity_count,
       CAST(COALESCE(w.n_2w, 0) AS {double}) / {units} AS activity_count_2w,
       CAST(COALESCE(w.n_4w, 0) AS {double}) / {units} AS activity_count_4w,
       CAST(COALESCE(w.days_4w, 0) AS {double}) AS activity_days_4w,
       CAST(COALESCE(w.days_since, w.days_since_start) AS {double}) AS days_since_activity,
       CAST(COALESCE(w.n_before, 0) AS {double}) / {units} AS activity_before_start,
       CASE WHEN t.n >= 3 AND t.n * t.sxx - t.sx * t.sx <> 0
            THEN (t.n * t.sxy - t.sx * t.sy) / (t.n * t.sxx - t.sx * t.sx) END
           AS activity_trend_8w,
       CASE WHEN w.baseline_ok = 1
            THEN CAST(COALESCE(w.n_4w, 0) AS {double}) / {units} / 28.0
               - CAST(COALESCE(w.n_b, 0) AS {double}) / {units} / 14.0 END
           AS activity_change_baseline
FROM weekly w
JOIN trend_sums t ON t.student_id = w.student_id
"""
"""The activity features: counts since the start, recent counts and active days, days since
the last activity, activity in the 4 weeks before the start, the 8-week trend of weekly counts
and the change of the daily mean against the first 2 weeks. One row per enrolled student:
a student with no activity has zero counts.
"""

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
        item_case = "CAST(NULL AS STRING)" if dialect is SPARK else "CAST(NULL AS VARCHAR)"
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


_TABLE_QUERIES = {
    "attendance": "ATTENDANCE_SQL",
    "grades": "GRADES_SQL",
    "assessments": "ASSESSMENTS_SQL",
    "concerns": "CONCERNS_SQL",
    "activity": "ACTIVITY_SQL",
}


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
        table: render(globals()[name], w, dialects[dialect], groups)
        for table, name in _TABLE_QUERIES.items()
    }
