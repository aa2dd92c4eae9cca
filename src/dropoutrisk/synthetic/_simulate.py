"""Student-level simulation of one cohort: background, latent connectedness, outcomes, grades.

Everything here is vectorised over students; the only Python loop runs over
weeks. Event tables (attendance, assessments, concerns) are drawn later, per
block of students, from the state built here (see ``_events.py``).
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dropoutrisk.synthetic import _catalogue as C

GRADE_CODES = ("A", "B", "C", "D", "E", "F", "-")
F_CODE, DASH_CODE = 5, 6
PROGRAMME_CODES = tuple(C.PROGRAMMES)
_TYPE_OF_PROGRAMME = np.array(
    [0 if C.PROGRAMMES[p][0] == "national" else 1 for p in PROGRAMME_CODES]
)

#: Exit kinds in ``CohortState.exit_kind``.
NO_EXIT, DROPOUT, MOVED, TRANSFERRED = 0, 1, 2, 3


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _exact_exp(x: np.ndarray) -> np.ndarray:
    """Elementwise ``exp``, correctly rounded, for the small model tables.

    numpy's SIMD ``exp`` and libm's (glibc picks an FMA variant by CPU) may
    differ in the last bit between machines; the exact true risk is built on
    these tables and must not. ``decimal`` computes in software and rounds
    correctly, so the result is the same everywhere.
    """
    ctx = decimal.Context(prec=40)
    values = [float(ctx.exp(decimal.Decimal(float(v)))) for v in np.ravel(x)]
    return np.array(values, dtype=np.float64).reshape(np.shape(x))


def step_probabilities() -> np.ndarray:
    """Up/down probabilities of the latent walk, indexed ``[school, target m, level k, up|down]``.

    The drift pulls towards the student's target, erodes a little in term and
    recovers over breaks; below ``SPIRAL_Z`` a disengagement spiral adds a
    downward pull, so that distancing, once begun, tends to continue.
    """
    return _step_probabilities().copy()


@functools.cache
def _step_probabilities() -> np.ndarray:
    m = np.arange(C.N_LEVELS)[:, None]
    k = np.arange(C.N_LEVELS)[None, :]
    z = C.Z_GRID[None, :]
    spiral = -C.SPIRAL_DRIFT / (1.0 + _exact_exp(-(C.SPIRAL_Z - z) / C.STEP))
    out = np.empty((2, C.N_LEVELS, C.N_LEVELS, 2))
    base = 0.5 * C.STEP_VAR / C.STEP**2
    for school, drift in ((0, C.DRIFT_BREAK), (1, C.DRIFT_SCHOOL)):
        mean = C.KAPPA * (m - k) * C.STEP + drift + spiral * school
        up = np.clip(base + mean / (2 * C.STEP), 0.0, 1.0)
        down = np.clip(base - mean / (2 * C.STEP), 0.0, 1.0)
        scale = np.minimum(1.0, 1.0 / np.maximum(up + down, 1e-12))
        out[school, :, :, 0] = up * scale
        out[school, :, :, 1] = down * scale
    return out


def hazard_table() -> np.ndarray:
    """Weekly dropout hazard in a teaching week, indexed ``[type, year, level]``."""
    return _hazard_table().copy()


@functools.cache
def _hazard_table() -> np.ndarray:
    logit = C.A_TYPE[:, None, None] + C.A_YEAR[None, :, None] - C.BETA * C.Z_GRID[None, None, :]
    return 1.0 / (1.0 + _exact_exp(-logit))


@dataclass
class Schools:
    """The schools shared by all cohorts."""

    ids: tuple[str, ...]
    climate: np.ndarray
    weights: np.ndarray
    attendance_format: np.ndarray  # 0 canonical, 1 daily percentage, 2 weekly totals


def make_schools(n_schools: int, rng: np.random.Generator, formats: str) -> Schools:
    climate = rng.normal(0.0, 0.2, n_schools)
    weights = rng.dirichlet(np.full(n_schools, 6.0))
    fmt = np.zeros(n_schools, dtype=np.int8)
    if formats == "mixed" and n_schools >= 4:
        chosen = rng.choice(n_schools, size=2, replace=False)
        fmt[chosen[0]] = 1
        fmt[chosen[1]] = 2
    width = max(2, len(str(n_schools)))
    ids = tuple(f"SCH{i + 1:0{width}d}" for i in range(n_schools))
    return Schools(ids=ids, climate=climate, weights=weights, attendance_format=fmt)


@dataclass
class CohortState:
    """Everything the generator knows about one cohort (student-level arrays)."""

    cohort: int
    calendar: C.Calendar
    student_id: np.ndarray
    id_bytes: np.ndarray  # the same ids as fixed-width bytes, for Arrow buffers
    school: np.ndarray
    gender: np.ndarray
    birth_year: np.ndarray
    newly_arrived: np.ndarray
    second_language: np.ndarray
    years_in_sweden: np.ndarray
    parent_edu: np.ndarray
    mother_edu: np.ndarray
    school_moves: np.ndarray
    special_support: np.ndarray
    in_care: np.ndarray
    ability: np.ndarray
    year9: np.ndarray  # (n, 16) grade codes
    eligible: np.ndarray
    merit: np.ndarray
    programme: np.ndarray  # index into PROGRAMME_CODES
    type_idx: np.ndarray  # 0 national, 1 introductory
    target: np.ndarray  # target level m of the latent walk
    censor_rate: np.ndarray
    absence_trait: np.ndarray
    levels: np.ndarray  # (n, n_weeks) latent level at the start of each week
    final_week: np.ndarray
    exit_week: np.ndarray  # global week of the exit, n_weeks when none
    exit_day: np.ndarray  # 0..4 (Monday..Friday)
    exit_kind: np.ndarray
    course_code: np.ndarray  # (n, n_courses) index into course_names, -1 when none
    course_week: np.ndarray  # global week whose Friday the grade is set
    course_grade: np.ndarray  # grade code, -1 when not graded
    course_names: tuple[str, ...]
    diploma: np.ndarray
    support: dict | None = None  # planted support records (``_support.py``), None without

    @property
    def n(self) -> int:
        return len(self.student_id)


def simulate_cohort(
    cohort: int,
    n: int,
    schools: Schools,
    seeds: dict[str, np.random.SeedSequence],
    support: Callable[..., dict] | None = None,
) -> CohortState:
    """Simulate the student-level state of one cohort.

    ``support(cal, pop, latent, rng)``, when given, flags and supports
    students after the latent walk and rewrites the supported students'
    futures in ``latent`` (grades are set afterwards, from the new paths); it
    returns the records kept in ``CohortState.support``.
    """
    cal = C.cohort_calendar(cohort)
    rng = np.random.default_rng(seeds["population"])
    pop = _population(cohort, n, schools, rng)
    rng = np.random.default_rng(seeds["latent"])
    latent = _latent_paths(cal, pop, rng)
    records = None
    if support is not None:
        records = support(cal, pop, latent, np.random.default_rng(seeds["support"]))
    rng = np.random.default_rng(seeds["grades"])
    grades = _course_grades(cal, pop, latent, rng)
    return CohortState(cohort=cohort, calendar=cal, **pop, **latent, **grades, support=records)


def _population(cohort: int, n: int, schools: Schools, rng: np.random.Generator) -> dict:
    width = max(6, len(str(n)))
    student_id = np.array([f"S{cohort}-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    school = rng.choice(len(schools.ids), size=n, p=schools.weights)
    gender = rng.choice(3, size=n, p=C.GENDER_P).astype(np.int8)
    birth_year = cohort - 16 - (rng.random(n) < 0.04)
    foreign = rng.random(n) < C.FOREIGN_BORN
    newly = foreign & (rng.random(n) < C.NEWLY_ARRIVED_OF_FOREIGN)
    age = (cohort - birth_year).astype(float)
    years = np.where(
        newly,
        np.round(rng.uniform(0.2, 4.0, n), 1),
        np.where(foreign, np.round(rng.uniform(4.0, 14.0, n), 1), age),
    )
    second_language = newly | (foreign & (years < 8))
    parent_edu = np.where(
        newly, rng.choice(4, size=n, p=C.PARENT_EDU_P_NEW), rng.choice(4, size=n, p=C.PARENT_EDU_P)
    ).astype(np.int8)
    # the mother's education is at most the highest of either parent
    lower = np.maximum(parent_edu - (rng.random(n) < 0.35), 0)
    mother_edu = np.where(parent_edu == 3, 3, lower).astype(np.int8)
    in_care = rng.random(n) < 0.015
    school_moves = (rng.poisson(0.45, n) + in_care * rng.poisson(2.0, n) + newly).astype(np.int16)
    ability = C.ABILITY_BY_EDU[parent_edu] - 0.35 * in_care + rng.normal(0.0, 1.0, n)
    special_support = rng.random(n) < _sigmoid(-3.0 - 0.8 * ability)

    # compulsory-school leaving grades: a noisy reading of ability
    score = ability[:, None] - C.YEAR9_DIFFICULTY[None, :] + rng.normal(0.0, C.YEAR9_NOISE, (n, 16))
    year9 = _grade_codes(score - C.YEAR9_PASS)
    missing = rng.random((n, 16)) < np.clip(0.95 - 0.25 * years, 0.0, 1.0)[:, None] * newly[:, None]
    year9[missing] = DASH_CODE
    passed = year9 <= 4
    eligible = passed[:, :3].all(1) & (passed[:, 3:].sum(1) >= C.ELIGIBLE_OTHER_PASSES)
    points = np.where(passed, np.array([20.0, 17.5, 15.0, 12.5, 10.0, 0, 0, 0])[year9], 0.0)
    merit = points.sum(1)

    # programme: eligible students choose a national programme, the others an introductory one
    programme = np.empty(n, dtype=np.int8)
    hp = eligible & (rng.random(n) < _sigmoid(1.3 * ability + 0.4))
    voc = eligible & ~hp
    idx = {p: i for i, p in enumerate(PROGRAMME_CODES)}
    programme[hp] = np.array([idx[p] for p in C.HP_PROGRAMMES])[
        rng.choice(5, hp.sum(), p=C.HP_WEIGHTS)
    ]
    programme[voc] = np.array([idx[p] for p in C.VOC_PROGRAMMES])[
        rng.choice(6, voc.sum(), p=C.VOC_WEIGHTS)
    ]
    im = ~eligible
    spr = im & newly & (years < 3)
    programme[spr] = idx["IMSPR"]
    rest = im & ~spr
    im_choice = np.where(
        ability[rest] > -0.6,
        idx["IMPRO"],
        np.where(rng.random(rest.sum()) < 0.6, idx["IMYRK"], idx["IMAN"]),
    )
    programme[rest] = im_choice
    type_idx = _TYPE_OF_PROGRAMME[programme].astype(np.int8)

    # latent connectedness: school climate and programme matter most, background a little
    track_effect = np.array([C.CONNECT_BY_TRACK[C.PROGRAMMES[p][1]] for p in PROGRAMME_CODES])
    mu = (
        schools.climate[school]
        + track_effect[programme]
        + C.CONNECT_IMSPR * (programme == idx["IMSPR"])
        + C.CONNECT_BY_EDU[parent_edu]
        + 0.12 * ability
        - 0.2 * in_care
        - 0.1 * special_support
        - 0.03 * np.minimum(school_moves, 4)
        + rng.normal(0.0, 0.5, n)
    )
    target = np.clip(np.rint(C.ZERO_LEVEL + mu / C.STEP), 0, C.N_LEVELS - 1).astype(np.int16)
    start = mu + rng.normal(0.0, 0.45, n)
    k0 = np.clip(np.rint(C.ZERO_LEVEL + start / C.STEP), 0, C.N_LEVELS - 1).astype(np.int16)
    censor_rate = (
        C.CENSOR_BASE
        * (1.0 + C.CENSOR_PER_MOVE * np.minimum(school_moves, 4))
        * np.where(newly, C.CENSOR_NEWLY_ARRIVED, 1.0)
    )
    absence_trait = rng.normal(0.0, C.ABSENT_TRAIT_SD, n) + 0.25 * special_support
    return {
        "student_id": student_id,
        "id_bytes": student_id.astype(f"S{6 + width}"),
        "school": school,
        "gender": gender,
        "birth_year": birth_year.astype(np.int64),
        "newly_arrived": newly,
        "second_language": second_language,
        "years_in_sweden": years,
        "parent_edu": parent_edu,
        "mother_edu": mother_edu,
        "school_moves": school_moves,
        "special_support": special_support,
        "in_care": in_care,
        "ability": ability,
        "year9": year9,
        "eligible": eligible,
        "merit": merit,
        "programme": programme,
        "type_idx": type_idx,
        "target": target,
        "censor_rate": censor_rate,
        "absence_trait": absence_trait,
        "_k0": k0,
    }


def _grade_codes(rel: np.ndarray) -> np.ndarray:
    """Grade codes (0=A .. 5=F) from a score relative to the pass mark."""
    passed_steps = (rel[..., None] >= C.GRADE_STEPS).sum(-1)  # 0 = F, 1 = E, ..., 5 = A
    return (5 - passed_steps).astype(np.int8)


def walk(
    cal: C.Calendar,
    k0: np.ndarray,
    target: np.ndarray,
    type_idx: np.ndarray,
    censor: np.ndarray,
    rng: np.random.Generator,
    start: int = 0,
    hazard_ratio: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the weekly latent walk with dropout and censoring from global week ``start``.

    Each teaching week: censoring with the student's rate, then dropout with
    the hazard of the current level, then one step of the walk (a shock with
    probability ``SHOCK_PROB``, else up / down / stay). ``_truth.py`` mirrors
    this order exactly.

    ``hazard_ratio`` (one per student) multiplies the dropout hazard: the
    planted effect of support (``_support.py``); it changes no random draw.

    Returns the levels at the start of each week from ``start`` on, the exit
    week (``cal.n_weeks`` when none) and the exit kind (``MOVED`` stands for
    any censoring here).
    """
    n, n_weeks = len(k0), cal.n_weeks
    k = C.N_LEVELS
    steps = step_probabilities()
    # cut points on one uniform draw: [0, shock) shock, [shock, up) up, [up, down) down, else stay
    up_cut = (C.SHOCK_PROB + (1 - C.SHOCK_PROB) * steps[..., 0]).reshape(2, -1)
    down_cut = up_cut + (1 - C.SHOCK_PROB) * steps[..., 1].reshape(2, -1)
    hz = hazard_table().reshape(2, C.MAX_YEARS, k).transpose(1, 0, 2).reshape(C.MAX_YEARS, -1)
    base = np.asarray(target, dtype=np.int64) * k  # flat index into [target, level] tables
    type_base = np.asarray(type_idx, dtype=np.int64) * k  # flat index into [type, level]
    censor = np.asarray(censor, dtype=np.float64)
    final = cal.final_week(type_idx)
    levels_t = np.empty((n_weeks - start, n), dtype=np.int8)  # week-major while filling
    cur = np.asarray(k0, dtype=np.int64).copy()
    alive = np.ones(n, dtype=bool)
    exit_week = np.full(n, n_weeks, dtype=np.int32)
    exit_kind = np.zeros(n, dtype=np.int8)
    top = k - 1
    for g in range(start, n_weeks):
        levels_t[g - start] = cur
        school = int(cal.school[g])
        if school:
            in_play = alive & (g <= final)
            u = rng.random((2, n))
            censored = in_play & (u[0] < censor)
            h = hz[cal.year[g]].take(type_base + cur)
            if hazard_ratio is not None:
                h = h * hazard_ratio
            dropped = in_play & ~censored & (u[1] < h)
            left = censored | dropped
            exit_week[left] = g
            exit_kind[dropped] = DROPOUT
            exit_kind[censored] = MOVED
            alive &= ~left
        r = rng.random(n)
        flat = base + cur
        up = r < up_cut[school].take(flat)
        down = ~up & (r < down_cut[school].take(flat))
        shock = np.flatnonzero(r < C.SHOCK_PROB)
        nxt = cur + up - down
        np.clip(nxt, 0, top, out=nxt)
        nxt[shock] = np.maximum(cur[shock] - C.SHOCK_LEVELS, 0)
        cur = nxt
    levels = np.ascontiguousarray(levels_t.T)
    return levels, exit_week, exit_kind


def _latent_paths(cal: C.Calendar, pop: dict, rng: np.random.Generator) -> dict:
    k0 = pop.pop("_k0")
    n = len(k0)
    final = cal.final_week(pop["type_idx"])
    levels, exit_week, exit_kind = walk(
        cal, k0, pop["target"], pop["type_idx"], pop["censor_rate"], rng
    )
    exit_day = rng.integers(0, 5, n).astype(np.int8)
    transfer = (exit_kind == MOVED) & (rng.random(n) >= C.MOVED_SHARE)
    exit_kind[transfer] = TRANSFERRED
    return {
        "levels": levels,
        "final_week": final,
        "exit_week": exit_week,
        "exit_day": exit_day,
        "exit_kind": exit_kind,
    }


def term_end_weeks(cal: C.Calendar) -> np.ndarray:
    """Global week index of the last week of each term, in order."""
    return np.array([cal.index(y, last) for y in range(C.MAX_YEARS) for _, last in C.TERM_WEEKS])


@functools.cache
def _courses(programme: str, second_language: bool) -> tuple[C.Course, ...]:
    return C.programme_courses(programme, second_language)


def _course_grades(cal: C.Calendar, pop: dict, latent: dict, rng: np.random.Generator) -> dict:
    n = len(pop["ability"])
    names: list[str] = []
    name_idx: dict[str, int] = {}
    max_courses = max(len(_courses(p, s)) for p in PROGRAMME_CODES for s in (False, True))
    code = np.full((n, max_courses), -1, dtype=np.int16)
    week = np.zeros((n, max_courses), dtype=np.int32)
    points = np.zeros((n, max_courses))
    core = np.zeros((n, max_courses), dtype=bool)
    for p, prog in enumerate(PROGRAMME_CODES):
        for sl in (False, True):
            rows = np.flatnonzero((pop["programme"] == p) & (pop["second_language"] == sl))
            if len(rows) == 0:
                continue
            for j, course in enumerate(_courses(prog, sl)):
                if course.code not in name_idx:
                    name_idx[course.code] = len(names)
                    names.append(course.code)
                code[rows, j] = name_idx[course.code]
                week[rows, j] = cal.index(course.year, C.TERM_WEEKS[course.term - 1][1])
                points[rows, j] = course.points
                core[rows, j] = course.core
    # mean connectedness over each term of each year, then per course
    levels = latent["levels"]
    term_mean = np.empty((n, C.MAX_YEARS * 2))
    for y in range(C.MAX_YEARS):
        for t, (first, last) in enumerate(C.TERM_WEEKS):
            a, b = cal.index(y, first), cal.index(y, last) + 1
            term_mean[:, 2 * y + t] = levels[:, a:b].mean(1, dtype=np.float64)
    slot = np.clip(np.searchsorted(term_end_weeks(cal), week), 0, C.MAX_YEARS * 2 - 1)
    mean_z = (np.take_along_axis(term_mean, slot, axis=1) - C.ZERO_LEVEL) * C.STEP
    score = (
        C.GRADE_ABILITY * pop["ability"][:, None]
        + C.GRADE_Z * mean_z
        + rng.normal(0.0, C.GRADE_NOISE, code.shape)
        - C.GRADE_PASS
    )
    grade = _grade_codes(score)
    dash = ((mean_z < C.GRADE_DASH_Z) & (rng.random(code.shape) < 0.5)) | (
        rng.random(code.shape) < 0.01
    )
    grade[dash] = DASH_CODE
    # a grade is set only when the student is still enrolled on the Friday it is due
    graded = (code >= 0) & (latent["exit_week"][:, None] > week)
    grade = np.where(graded, grade, -1).astype(np.int8)
    passed = graded & (grade <= 4)
    total = points.sum(1)
    share = np.where(passed, points, 0.0).sum(1) / np.maximum(total, 1)
    core_ok = ~(core & ~passed).any(1)
    diploma = core_ok & (share >= C.DIPLOMA_POINTS_SHARE)
    return {
        "course_code": code,
        "course_week": week,
        "course_grade": grade,
        "course_names": tuple(names),
        "diploma": diploma,
    }
