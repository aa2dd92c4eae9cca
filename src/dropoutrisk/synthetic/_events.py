"""Event tables drawn per block of students from a simulated cohort.

Each block of ``BLOCK_SIZE`` consecutive students of a cohort has its own
random stream per table, so the rows do not depend on how many students are
generated at once: a chunked writer and an in-memory call give the same data.
Blocks return :mod:`pyarrow` tables (cheap strings, no Python objects per row).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dropoutrisk.synthetic import _catalogue as C
from dropoutrisk.synthetic._simulate import GRADE_CODES, PROGRAMME_CODES, CohortState

BLOCK_SIZE = 512

_VOC = np.array([C.PROGRAMMES[p][1] == "voc" for p in PROGRAMME_CODES])
_EPOCH = np.datetime64("1970-01-01", "D")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array((days - _EPOCH).astype(np.int32), type=pa.date32())


def _ids(state: CohortState, rows: np.ndarray, which: np.ndarray) -> pa.Array:
    """Student ids of ``rows[which]`` as an Arrow string array built from raw buffers.

    Ids of a cohort have a fixed width, so the buffers are plain NumPy copies:
    no Python string per row.
    """
    ids = state.id_bytes[rows]
    width = ids.dtype.itemsize
    which = np.asarray(which)
    if len(which) and np.all(which[1:] >= which[:-1]):
        chosen = np.repeat(ids, np.bincount(which, minlength=len(rows)))
    else:
        chosen = ids[which]
    offsets = np.arange(0, width * (len(chosen) + 1), width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        len(chosen), pa.py_buffer(offsets), pa.py_buffer(chosen.tobytes())
    ).cast(pa.string())


def _school_days(cal: C.Calendar) -> tuple[np.ndarray, np.ndarray]:
    weeks = np.flatnonzero(cal.school)
    return np.repeat(weeks, 5), np.tile(np.arange(5), len(weeks))


def _enrolled(state: CohortState, rows: np.ndarray, g: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(rows, days) mask: the student attends school that day (before the exit day, up to the final week)."""
    ew = state.exit_week[rows][:, None]
    ed = state.exit_day[rows][:, None]
    return ((g[None, :] < ew) | ((g[None, :] == ew) & (d[None, :] < ed))) & (
        g[None, :] <= state.final_week[rows][:, None]
    )


def attendance_block(
    state: CohortState,
    rows: np.ndarray,
    rng: np.random.Generator,
    formats: np.ndarray,
    level: str = "day",
) -> dict[str, pa.Table]:
    """Attendance of ``rows``; students of format schools go to the other layouts.

    ``level="lesson"`` splits each canonical day into 60-minute lessons (the
    remainder goes to the last one); its draws come after the day-level ones,
    so the day totals are the same at both levels.

    Per school day: a whole-day absence (illness spells, or disengagement that
    rises as connectedness falls, plus a stable personal tendency), else
    perhaps a partial absence of one to three lessons, else perhaps lateness.
    """
    cal = state.calendar
    g, d = _school_days(cal)
    n_weeks = len(g) // 5
    b = len(rows)
    si, di = np.nonzero(_enrolled(state, rows, g, d))  # sorted by student, then date
    m = len(si)
    wi = di // 5
    day = d[di]
    latent = state.levels[rows][:, g][si, di].astype(np.intp)
    trait = state.absence_trait[rows][:, None]
    z = C.Z_GRID[None, :]
    # per-student probability tables over the level grid: a cheap gather instead of exp per row
    p_away = _sigmoid(C.ABSENT_DAY_A0 + trait - C.ABSENT_DAY_BETA * z).astype(np.float32)
    p_part = _sigmoid(C.PARTIAL_A0 + 0.5 * trait - C.PARTIAL_BETA * z).astype(np.float32)
    p_late = _sigmoid(C.LATE_A0 + 0.3 * trait - C.LATE_BETA * z).astype(np.float32)
    # illness: a spell of 1-3 days starting on a random weekday, excused
    ill_week = rng.random((b, n_weeks), dtype=np.float32) < C.ILLNESS_WEEKLY
    ill_start = rng.integers(0, 5, (b, n_weeks), dtype=np.int8)
    ill_end = ill_start + rng.integers(1, 4, (b, n_weeks), dtype=np.int8)
    ill = ill_week[si, wi] & (day >= ill_start[si, wi]) & (day < ill_end[si, wi])
    u = rng.random((4, m), dtype=np.float32)
    away = ill | (u[0] < p_away[si, latent])
    partial = ~away & (u[1] < p_part[si, latent])
    late = ~away & (u[2] < p_late[si, latent])
    scheduled = (C.SCHEDULED_MINUTES[day] + 30 * _VOC[state.programme[rows]][si]).astype(np.float64)
    lessons = rng.integers(1, 4, m, dtype=np.int16)
    late_min = np.where(late, 5.0 * rng.integers(1, 6, m, dtype=np.int16), 0.0)
    absent = np.where(
        away, scheduled, np.where(partial, np.minimum(60.0 * lessons, scheduled - 60), 0.0)
    )
    excused = np.where(ill, True, np.where(away, u[3] < 0.35, partial & (u[3] < 0.15)))
    dates = cal.monday[g[di]] + day.astype("timedelta64[D]")
    fmt = formats[state.school[rows]][si]
    out = {}
    sel = fmt == 0
    if level == "lesson":
        out["attendance"] = _lessons(
            _ids(state, rows, si[sel]),
            dates[sel],
            scheduled[sel],
            absent[sel],
            away[sel],
            excused[sel],
            late_min[sel],
            rng,
        )
    else:
        out["attendance"] = pa.table(
            {
                "student_id": _ids(state, rows, si[sel]),
                "date": _dates(dates[sel]),
                "scheduled_minutes": pa.array(scheduled[sel]),
                "absent_minutes": pa.array(absent[sel]),
                "excused": pa.array(excused[sel]),
                "late_minutes": pa.array(late_min[sel]),
            }
        )
    sel = fmt == 1
    out["attendance_daily"] = pa.table(
        {
            "student_id": _ids(state, rows, si[sel]),
            "date": _dates(dates[sel]),
            "attendance_pct": pa.array(np.round(100.0 * (1.0 - absent[sel] / scheduled[sel]), 1)),
            "scheduled_minutes": pa.array(scheduled[sel]),
        }
    )
    sel = fmt == 2
    key = si[sel].astype(np.int64) * n_weeks + wi[sel]
    weeks, first = np.unique(key, return_index=True)  # sorted: student, then week
    inv = np.searchsorted(weeks, key)

    def hours(values):
        return np.round(np.bincount(inv, weights=values, minlength=len(weeks)) / 60.0, 2)

    out["attendance_weekly"] = pa.table(
        {
            "student_id": _ids(state, rows, si[sel][first]),
            "week_start": _dates(cal.monday[g[di[sel][first]]]),
            "scheduled_hours": pa.array(hours(scheduled[sel])),
            "absent_hours": pa.array(hours(absent[sel])),
            "excused_hours": pa.array(hours(np.where(excused[sel], absent[sel], 0.0))),
        }
    )
    return out


def _lessons(ids, dates, scheduled, absent, away, excused, late_min, rng) -> pa.Table:
    """Split day rows into lesson rows with the same day totals."""
    n_lessons = (scheduled // 60).astype(np.int64)
    day = np.repeat(np.arange(len(scheduled)), n_lessons)
    first = np.cumsum(n_lessons) - n_lessons
    j = np.arange(len(day)) - first[day]  # lesson number within the day
    last = j == n_lessons[day] - 1
    minutes = np.where(last, 60.0 + scheduled[day] - 60.0 * n_lessons[day], 60.0)
    # a partial absence covers consecutive lessons, never the last one (so the totals match)
    missed = np.where(away, 0, absent // 60).astype(np.int64)
    start = (rng.random(len(scheduled)) * np.maximum(n_lessons - missed, 1)).astype(np.int64)
    start = np.minimum(start, np.maximum(n_lessons - 1 - missed, 0))
    partial = (j >= start[day]) & (j < start[day] + missed[day])
    lesson_absent = np.where(away[day], minutes, np.where(partial, 60.0, 0.0))
    late_lesson = np.where((missed > 0) & (start == 0), missed, 0)
    late = np.where((j == late_lesson[day]) & ~away[day], late_min[day], 0.0)
    return pa.table(
        {
            "student_id": ids.take(pa.array(day)),
            "date": _dates(dates[day]),
            "scheduled_minutes": pa.array(minutes),
            "absent_minutes": pa.array(lesson_absent),
            "excused": pa.array(excused[day] & (lesson_absent > 0)),
            "late_minutes": pa.array(late),
            "lesson": pa.array(np.char.add("L", (j + 1).astype(str)).tolist(), type=pa.string()),
        }
    )


_YEAR9_CODES = tuple(f"GR9{s}" for s in C.YEAR9_SUBJECTS)


def grades_block(state: CohortState, rows: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """Year-9 leaving grades and upper-secondary course grades of ``rows``.

    About ``LATE_RECORD_SHARE`` of course grades are recorded 1-4 weeks after
    the term ended; ``date`` is the record date (the knowledge date).
    """
    cal = state.calendar
    b = len(rows)
    # year-9 grades: Swedish is reported as GR9SVA for second-language students
    y9 = state.year9[rows]
    codes9 = np.broadcast_to(np.arange(16), (b, 16)).copy()
    sv_names = np.array(list(_YEAR9_CODES) + ["GR9SVA"])
    codes9[:, 0] = np.where(state.second_language[rows], 16, 0)
    date9 = np.datetime64(C.year9_grade_date(state.cohort), "D")
    cg = state.course_grade[rows]
    si, ci = np.nonzero(cg >= 0)
    week = state.course_week[rows][si, ci]
    late = rng.random(len(si)) < C.LATE_RECORD_SHARE
    delay = np.where(late, 7 * rng.integers(1, 5, len(si)), 0)
    dates = cal.monday[week] + (4 + delay).astype("timedelta64[D]")
    names = np.array(state.course_names, dtype=object)
    grade_names = np.array(GRADE_CODES, dtype=object)
    s9 = np.repeat(np.arange(b), 16)
    order = np.lexsort(
        (np.concatenate([np.zeros(len(s9)), np.ones(len(si))]), np.concatenate([s9, si]))
    )
    student = np.concatenate([s9, si])[order]
    course = np.concatenate([sv_names[codes9.ravel()], names[state.course_code[rows][si, ci]]])[
        order
    ]
    grade = np.concatenate([grade_names[y9.ravel()], grade_names[cg[si, ci]]])[order]
    date = np.concatenate([np.full(len(s9), date9), dates])[order]
    return pa.table(
        {
            "student_id": _ids(state, rows, student),
            "date": _dates(date),
            "course": pa.array(course.tolist(), type=pa.string()),
            "grade": pa.array(grade.tolist(), type=pa.string()),
        }
    )


def assessments_block(state: CohortState, rows: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """Termly survey answers (with non-response) and teacher ratings of ``rows``."""
    cal = state.calendar
    b = len(rows)
    items = list(C.ASSESSMENT_ITEMS)
    n_items = len(items)
    lam = np.array([C.ITEM_LOADINGS[i][0] for i in items])
    gam = np.array([C.ITEM_LOADINGS[i][1] for i in items])
    survey = np.array([i in C.SURVEY_ITEMS for i in items])
    person = rng.normal(0.0, 0.5, (b, n_items))  # stable personal response style per item
    waves = [(y, w, True) for y in range(C.MAX_YEARS) for w in C.SURVEY_WEEKS]
    waves += [(y, w, False) for y in range(C.MAX_YEARS) for w in C.RATING_WEEKS]
    parts = []
    ability = state.ability[rows]
    for y, w, is_survey in sorted(waves):
        g = cal.index(y, w)
        present = (state.exit_week[rows] > g) & (state.final_week[rows] >= g)
        z = C.Z_GRID[state.levels[rows, g]]
        day = rng.integers(0, 5, b)
        noise = rng.normal(0.0, C.ITEM_NOISE, (b, n_items))
        miss = rng.random((b, n_items))
        if is_survey:
            respond = present & (rng.random(b) < _sigmoid(C.RESPONSE_A0 + C.RESPONSE_BETA * z))
            keep = respond[:, None] & survey[None, :] & (miss >= C.ITEM_MISSING)
        else:
            keep = present[:, None] & ~survey[None, :] & (miss >= C.RATING_MISSING)
        value = np.clip(
            np.rint(3.2 + lam * z[:, None] + gam * ability[:, None] + person + noise), 1, 5
        )
        si, ii = np.nonzero(keep)
        parts.append((si, ii, value[si, ii], cal.monday[g] + day[si].astype("timedelta64[D]")))
    si = np.concatenate([p[0] for p in parts])
    ii = np.concatenate([p[1] for p in parts])
    val = np.concatenate([p[2] for p in parts])
    dates = np.concatenate([p[3] for p in parts])
    order = np.lexsort((ii, dates, si))
    item_names = np.array(items, dtype=object)
    return pa.table(
        {
            "student_id": _ids(state, rows, si[order]),
            "date": _dates(dates[order]),
            "item": pa.array(item_names[ii[order]].tolist(), type=pa.string()),
            "value": pa.array(val[order].astype(np.float64)),
        }
    )


def concerns_block(state: CohortState, rows: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """Weekly compiled staff concern reports of ``rows``, some recorded late."""
    cal = state.calendar
    weeks = np.flatnonzero(cal.school)
    z = C.Z_GRID[state.levels[rows][:, weeks]]
    present = (weeks[None, :] < state.exit_week[rows][:, None]) & (
        weeks[None, :] <= state.final_week[rows][:, None]
    )
    event = present & (rng.random(z.shape) < _sigmoid(C.CONCERN_A0 - C.CONCERN_BETA * z))
    cat = rng.choice(len(C.CONCERN_CATEGORIES), size=z.shape, p=[0.34, 0.26, 0.2, 0.12, 0.08])
    late = rng.random(z.shape) < C.LATE_RECORD_SHARE
    delay = np.where(late, 7 * rng.integers(1, 5, z.shape), 0)
    si, wi = np.nonzero(event)
    dates = cal.monday[weeks[wi]] + (4 + delay[si, wi]).astype("timedelta64[D]")
    cats = cat[si, wi]
    order = np.lexsort((cats, dates, si))
    si, dates, cats = si[order], dates[order], cats[order]
    # a late record can land on the same Friday as a later one of the same category
    keep = np.ones(len(si), dtype=bool)
    keep[1:] = (si[1:] != si[:-1]) | (dates[1:] != dates[:-1]) | (cats[1:] != cats[:-1])
    names = np.array(C.CONCERN_CATEGORIES, dtype=object)
    return pa.table(
        {
            "student_id": _ids(state, rows, si[keep]),
            "date": _dates(dates[keep]),
            "category": pa.array(names[cats[keep]].tolist(), type=pa.string()),
        }
    )
