"""Fixed ingredients of the generator: calendar weeks, programmes, courses, items, parameters.

Every number that shapes the generated data lives here, named, so that
the calibration in ``docs/synthetic.md`` can point at it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from dropoutrisk.schema import school_year_start

# --- the latent scale --------------------------------------------------------------
#: Number of levels of latent connectedness (0 = most disconnected).
N_LEVELS = 28
#: The level whose connectedness ``z`` is 0.
ZERO_LEVEL = 18
#: Connectedness per level step.
STEP = 0.25
#: ``z`` of every level.
Z_GRID = (np.arange(N_LEVELS) - ZERO_LEVEL) * STEP

# weekly dynamics: z_{t+1} = z_t + kappa * (mu - z_t) + drift + noise, on the level grid
KAPPA = 0.04
STEP_VAR = 0.03
DRIFT_SCHOOL = -0.006  # engagement erodes a little during term
DRIFT_BREAK = 0.02  # and recovers over breaks
SPIRAL_DRIFT = 0.03  # extra downward drift in term once connectedness is low...
SPIRAL_Z = -1.0  # ...centred here (a smooth step one level wide)
SHOCK_PROB = 0.007  # weekly chance of a shock (illness, family event)
SHOCK_LEVELS = 3  # a shock drops connectedness by this many levels

# weekly dropout hazard: logit h = A_TYPE[type] + A_YEAR[year] - BETA * z (school weeks only)
BETA = 2.0
A_TYPE = np.array([-9.2, -8.95])  # national, introductory
A_YEAR = np.array([0.0, 0.0, -0.1, -0.2])

# weekly censoring (moved / transferred), independent of the latent state
CENSOR_BASE = 0.0006
CENSOR_PER_MOVE = 0.3  # relative increase per earlier school move (capped at 4)
CENSOR_NEWLY_ARRIVED = 1.5  # factor for newly arrived students
MOVED_SHARE = 0.45  # share of censoring events that are moves (the rest are transfers)

# --- the school calendar --------------------------------------------------------------
#: Weeks of a school year that hold teaching (0 = the first week, ``LAST_WEEK`` the last).
LAST_WEEK = 41
#: Weeks without teaching: autumn break, Christmas, winter sports break, Easter.
BREAK_WEEKS = frozenset({10, 18, 19, 20, 27, 33})
#: Last week of each term: term grades are set on its Friday.
TERM_END_WEEKS = (17, LAST_WEEK)
#: First and last weeks of each term, used to average connectedness over a course.
TERM_WEEKS = ((0, 17), (21, LAST_WEEK))
#: Weeks of the termly student survey and of the teacher ratings.
SURVEY_WEEKS = (4, 24)
RATING_WEEKS = (8, 15, 25, 35)
#: Years of study: national programmes take three years, introductory four.
N_YEARS = {0: 3, 1: 4}
MAX_YEARS = 4


@dataclass(frozen=True)
class Calendar:
    """Weekly grid of one cohort, from its first Monday to the end of year four."""

    cohort: int
    monday: np.ndarray  # datetime64[D] per global week
    year: np.ndarray  # year of study (0-based) per global week
    week: np.ndarray  # week within the school year
    school: np.ndarray  # teaching week?
    offsets: tuple[int, ...]  # global index of week 0 of each year

    @property
    def n_weeks(self) -> int:
        return len(self.monday)

    def index(self, year: int, week: int) -> int:
        return self.offsets[year] + week

    def final_week(self, type_idx: np.ndarray | int) -> np.ndarray:
        """Global index of the last teaching week for national (0) / introductory (1)."""
        finals = np.array(
            [self.index(N_YEARS[0] - 1, LAST_WEEK), self.index(N_YEARS[1] - 1, LAST_WEEK)]
        )
        return finals[type_idx]


def cohort_calendar(cohort: int) -> Calendar:
    """Build the weekly grid of a cohort (pure function of the year)."""
    mondays, years, weeks, offsets = [], [], [], []
    n = 0
    for y in range(MAX_YEARS):
        start = school_year_start(cohort + y)
        length = (school_year_start(cohort + y + 1) - start).days // 7
        if y == MAX_YEARS - 1:
            length = LAST_WEEK + 1
        offsets.append(n)
        base = np.datetime64(start, "D")
        wk = np.arange(length)
        mondays.append(base + 7 * wk)
        years.append(np.full(length, y))
        weeks.append(wk)
        n += length
    week = np.concatenate(weeks)
    school = (week <= LAST_WEEK) & ~np.isin(week, sorted(BREAK_WEEKS))
    return Calendar(
        cohort=cohort,
        monday=np.concatenate(mondays),
        year=np.concatenate(years).astype(np.int8),
        week=week.astype(np.int16),
        school=school,
        offsets=tuple(offsets),
    )


def year9_grade_date(cohort: int) -> dt.date:
    """Date of the compulsory-school leaving grades: a Friday in June before the start."""
    return school_year_start(cohort) - dt.timedelta(days=66)


# --- background ------------------------------------------------------------------
EDUCATION = ("compulsory", "upper_secondary", "post_secondary", "unknown")
PARENT_EDU_P = np.array([0.10, 0.38, 0.45, 0.07])
PARENT_EDU_P_NEW = np.array([0.30, 0.20, 0.15, 0.35])  # newly arrived
ABILITY_BY_EDU = np.array([-0.55, -0.12, 0.70, -0.45])
CONNECT_BY_EDU = np.array([-0.08, 0.0, 0.08, -0.05])  # modest: background is not a cause
GENDERS = ("female", "male", "other")
GENDER_P = np.array([0.49, 0.50, 0.01])
FOREIGN_BORN = 0.16
NEWLY_ARRIVED_OF_FOREIGN = 0.45

# --- compulsory school (year 9) grades --------------------------------------------------
#: Year-9 subjects; Swedish is SV or SVA (Swedish as a second language).
YEAR9_SUBJECTS = (
    "SV", "EN", "MA", "BI", "FY", "KE", "GE", "HI", "RE", "SH", "BL", "HKK", "IDH", "MU", "SL", "TK",
)  # fmt: skip
YEAR9_DIFFICULTY = np.array(
    [0.0, -0.2, 0.35, 0.1, 0.2, 0.2, 0.0, 0.0, -0.1, 0.0, -0.4, -0.4, -0.5, -0.4, -0.3, -0.2]
)
YEAR9_NOISE = 0.7
YEAR9_PASS = -2.1  # score above which a subject is passed (E or better)
#: Grade cut points above the pass mark: E, D, C, B, A.
GRADE_STEPS = np.array([0.0, 0.55, 1.05, 1.6, 2.1])
#: Passed subjects besides SV/SVA, EN and MA needed for a vocational programme.
ELIGIBLE_OTHER_PASSES = 5

# --- programmes and courses --------------------------------------------------------
#: Programme code -> (programme_type, track). Tracks: "hp" higher-education preparatory,
#: "voc" vocational, "im" introductory.
PROGRAMMES: dict[str, tuple[str, str]] = {
    "NA": ("national", "hp"),
    "SA": ("national", "hp"),
    "EK": ("national", "hp"),
    "TE": ("national", "hp"),
    "ES": ("national", "hp"),
    "BF": ("national", "voc"),
    "EE": ("national", "voc"),
    "VO": ("national", "voc"),
    "HA": ("national", "voc"),
    "FT": ("national", "voc"),
    "BA": ("national", "voc"),
    "IMSPR": ("introductory", "im"),
    "IMYRK": ("introductory", "im"),
    "IMPRO": ("introductory", "im"),
    "IMAN": ("introductory", "im"),
}
HP_PROGRAMMES = ("NA", "SA", "EK", "TE", "ES")
HP_WEIGHTS = np.array([0.22, 0.30, 0.25, 0.15, 0.08])
VOC_PROGRAMMES = ("BF", "EE", "VO", "HA", "FT", "BA")
VOC_WEIGHTS = np.array([0.16, 0.18, 0.17, 0.15, 0.16, 0.18])
CONNECT_BY_TRACK = {"hp": 0.05, "voc": -0.05, "im": -0.55}
CONNECT_IMSPR = 0.25  # language introduction: newly arrived, often motivated

# (code, year of study, term 1|2, points); SVE/SVA, ENG and MAT are the core courses.
_CORE = [
    ("{SV}01", 0, 2, 100), ("ENGENG05", 0, 2, 100), ("{MA}", 0, 2, 100),
    ("IDRIDR01", 0, 1, 100), ("HISHIS01a1", 0, 1, 50), ("SAMSAM01a1", 1, 1, 50),
    ("RELREL01", 1, 2, 50), ("NAKNAK01a1", 1, 1, 50),
]  # fmt: skip
_PROGRAMME_COURSES: dict[str, list[tuple[str, int, int, int]]] = {
    "NA": [("BIOBIO01", 0, 2, 100), ("KEMKEM01", 0, 1, 100), ("FYSFYS01a", 1, 2, 150), ("MATMAT02c", 1, 2, 100),
           ("BIOBIO02", 2, 1, 100), ("KEMKEM02", 1, 1, 100), ("MATMAT03c", 2, 2, 100), ("SVESVE02", 1, 2, 100),
           ("SVESVE03", 2, 2, 100), ("ENGENG06", 1, 1, 100), ("GYARNA", 2, 2, 100), ("MODSPA01", 0, 1, 100)],
    "SA": [("PSKPSY01", 0, 1, 50), ("GEOGEO01", 0, 1, 100), ("FIOFIO01", 1, 1, 50), ("SAMSAM02", 1, 2, 100),
           ("MATMAT02b", 1, 2, 100), ("SVESVE02", 1, 2, 100), ("SVESVE03", 2, 2, 100), ("ENGENG06", 1, 1, 100),
           ("SOCSOC01", 2, 1, 100), ("HISHIS02a", 2, 1, 100), ("GYARSA", 2, 2, 100), ("MODSPA01", 0, 2, 100)],
    "EK": [("FORFOR01", 0, 1, 100), ("PRIPRI01", 0, 2, 100), ("FIOFIO01", 1, 1, 50), ("MATMAT02b", 1, 2, 100),
           ("SVESVE02", 1, 2, 100), ("SVESVE03", 2, 2, 100), ("ENGENG06", 1, 1, 100), ("ENTENT01", 2, 1, 100),
           ("MARMAR01", 1, 1, 100), ("GYAREK", 2, 2, 100), ("MODSPA01", 0, 2, 100)],
    "TE": [("TEKTEK01", 0, 1, 150), ("FYSFYS01a", 0, 2, 150), ("KEMKEM01", 1, 1, 100), ("MATMAT02c", 1, 2, 100),
           ("MATMAT03c", 2, 1, 100), ("SVESVE02", 1, 2, 100), ("SVESVE03", 2, 2, 100), ("ENGENG06", 1, 1, 100),
           ("CADCAD01", 1, 1, 50), ("GYARTE", 2, 2, 100)],
    "ES": [("ESTEST01", 0, 1, 100), ("KOMKOM01", 0, 2, 100), ("MATMAT02b", 1, 2, 100), ("SVESVE02", 1, 2, 100),
           ("SVESVE03", 2, 2, 100), ("ENGENG06", 1, 1, 100), ("ESTEST02", 1, 1, 100), ("GYARES", 2, 2, 100)],
}  # fmt: skip
_VOC_SHARED = [("{P}YRK01", 0, 1, 200), ("{P}YRK02", 0, 2, 200), ("{P}YRK03", 1, 1, 200),
               ("{P}YRK04", 1, 2, 200), ("{P}APL01", 2, 1, 200), ("{P}YRK05", 2, 2, 200),
               ("GYAR{P}", 2, 2, 100), ("ENTENT01", 2, 1, 100)]  # fmt: skip
_IM_COURSES = [("{SV}01", 1, 2, 100), ("ENGENG05", 1, 2, 100), ("{MA}", 1, 2, 100),
               ("GRNSVA02", 0, 2, 100), ("GRNENG02", 0, 2, 100), ("GRNMAT02", 0, 2, 100),
               ("IDRIDR01", 1, 1, 100), ("HISHIS01a1", 2, 1, 50), ("SAMSAM01a1", 2, 1, 50),
               ("RELREL01", 2, 2, 50), ("NAKNAK01a1", 1, 1, 50), ("YRKYRK01", 1, 1, 200),
               ("YRKYRK02", 2, 1, 200), ("YRKYRK03", 2, 2, 200), ("YRKAPL01", 3, 1, 200),
               ("YRKYRK04", 3, 2, 200), ("GYARIM", 3, 2, 100)]  # fmt: skip


@dataclass(frozen=True)
class Course:
    code: str
    year: int
    term: int
    points: int
    core: bool


def programme_courses(programme: str, second_language: bool) -> tuple[Course, ...]:
    """Courses of a programme; Swedish is SVA for second-language students."""
    track = PROGRAMMES[programme][1]
    sv = "SVASVA" if second_language else "SVESVE"
    ma = {"hp": "MATMAT01c" if programme in ("NA", "TE") else "MATMAT01b"}.get(track, "MATMAT01a")
    if track == "im":
        raw = list(_IM_COURSES)
    else:
        raw = list(_CORE) + (
            _PROGRAMME_COURSES[programme]
            if track == "hp"
            else [(c.replace("{P}", programme), y, t, p) for c, y, t, p in _VOC_SHARED]
        )
    out = []
    for code, y, t, p in raw:
        code = code.replace("{SV}", sv).replace("{MA}", ma)
        if second_language and code.startswith("SVESVE0"):
            code = code.replace("SVESVE", "SVASVA")
        core = code in (sv + "01", "ENGENG05", ma)
        out.append(Course(code, y, t, p, core))
    return tuple(out)


#: A diploma needs the core courses passed and this share of the course points passed.
DIPLOMA_POINTS_SHARE = 0.9
# course grade score: GRADE_ABILITY * ability + GRADE_Z * mean z over the term + noise
GRADE_ABILITY = 0.8
GRADE_Z = 0.55
GRADE_NOISE = 0.75
GRADE_PASS = -2.4
GRADE_DASH_Z = -2.0  # below this mean connectedness a course often gets "-"

# --- attendance ----------------------------------------------------------------------
#: Scheduled minutes per weekday (Mon-Fri); vocational programmes add 30 minutes.
SCHEDULED_MINUTES = np.array([390, 360, 330, 360, 270])
ABSENT_DAY_A0 = -2.8
ABSENT_DAY_BETA = 1.1
ABSENT_TRAIT_SD = 0.95
PARTIAL_A0 = -2.5
PARTIAL_BETA = 0.6
LATE_A0 = -2.2
LATE_BETA = 0.35
ILLNESS_WEEKLY = 0.05

# --- assessments -----------------------------------------------------------------------
#: Assessment item -> dimension. Survey items are answered by the student (1-5), the
#: ``beh_`` and ``aca_`` items are teacher ratings (1-5).
ASSESSMENT_ITEMS: dict[str, str] = {
    "cog_future_link": "cognitive",
    "cog_learning_strategies": "cognitive",
    "psy_school_meaningful": "psychological",
    "psy_values_school": "psychological",
    "soc_belonging": "socio_emotional",
    "soc_friends": "socio_emotional",
    "soc_teacher_relation": "socio_emotional",
    "soc_peer_relation": "socio_emotional",
    "beh_participation": "behavioural",
    "aca_tasks_completed": "academic",
}
SURVEY_ITEMS = tuple(k for k in ASSESSMENT_ITEMS if k[:3] in ("cog", "psy", "soc"))
RATING_ITEMS = ("beh_participation", "aca_tasks_completed")
# loading on z, loading on ability
ITEM_LOADINGS = {
    "cog_future_link": (0.55, 0.15),
    "cog_learning_strategies": (0.35, 0.35),
    "psy_school_meaningful": (0.6, 0.05),
    "psy_values_school": (0.45, 0.1),
    "soc_belonging": (0.6, 0.0),
    "soc_friends": (0.35, 0.0),
    "soc_teacher_relation": (0.45, 0.05),
    "soc_peer_relation": (0.4, 0.0),
    "beh_participation": (0.6, 0.2),
    "aca_tasks_completed": (0.5, 0.45),
}
ITEM_NOISE = 0.85
RESPONSE_A0 = 1.5  # logit of answering the survey at z = 0
RESPONSE_BETA = 0.6
ITEM_MISSING = 0.04
RATING_MISSING = 0.1

# --- concerns -----------------------------------------------------------------------------
CONCERN_CATEGORIES = ("absence", "wellbeing", "study_results", "social", "family")
CONCERN_A0 = -6.1
CONCERN_BETA = 1.2
LATE_RECORD_SHARE = 0.12  # grades and concerns recorded 1-4 weeks after the event
