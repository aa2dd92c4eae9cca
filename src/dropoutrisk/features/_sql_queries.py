"""The feature SQL of each event table, as templates :func:`~dropoutrisk.features._sql.render` fills.

The portability rules at the top of :mod:`dropoutrisk.features._sql` hold for every query here.
"""

__all__ = [
    "ACTIVITY_SQL",
    "ASSESSMENTS_SQL",
    "ATTENDANCE_SQL",
    "CONCERNS_SQL",
    "GRADES_SQL",
    "MAX_RUN_GAP_DAYS",
    "RELATIVE_SQL",
]

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

RELATIVE_SQL = """
WITH ranked AS (
    SELECT student_id, grp, feature, how, v,
           RANK() OVER (PARTITION BY feature, grp ORDER BY v) - 1 AS below,
           COUNT(*) OVER (PARTITION BY feature, grp, v) AS ties,
           COUNT(*) OVER (PARTITION BY feature, grp) AS n,
           ROW_NUMBER() OVER (PARTITION BY feature, grp ORDER BY v) AS rn
    FROM peer_values
    WHERE v IS NOT NULL
),
medians AS (
    -- the middle value, or the mean of the two middle ones: (a + b) / 2, as pandas takes it
    SELECT feature, grp,
           (MAX(CASE WHEN rn = FLOOR((n + 1) / 2) THEN v END)
            + MAX(CASE WHEN rn = FLOOR(n / 2) + 1 THEN v END)) / 2.0 AS median
    FROM ranked
    GROUP BY feature, grp
)
SELECT r.student_id, r.feature,
       CASE WHEN r.n < {min_cell} THEN CAST(NULL AS {double})
            WHEN r.how = 'percentile'
            THEN (CAST(r.below AS {double}) + CAST(r.ties AS {double}) / 2.0)
                 / CAST(r.n AS {double})
            WHEN r.how = 'ratio' THEN CASE WHEN m.median > 0 THEN r.v / m.median END
            ELSE r.v - m.median END AS relative_value
FROM ranked r
JOIN medians m ON m.feature = r.feature AND m.grp = r.grp
"""
"""Indicators relative to their group, from the features already built at one ``as_of``.

``peer_values`` holds one row per (student, relative indicator) with a value: ``student_id``,
``grp`` (the group, as text: the school, the cohort, or one group for all), ``feature`` (the
relative indicator's name), ``how`` (``percentile``, ``ratio`` or ``difference``) and ``v``
(the compared feature's value, a DOUBLE; -0.0 given as 0.0). Out comes one row per such
student and indicator: the mid-rank percentile ``(below + ties / 2) / n``, the value over the
group median (where the median is above 0) or minus it; NULL for a group with fewer than
``min_cell`` values (the small-cell rule). Ranks and counts are integers, so every engine and
thread count gives the same bits.
"""
