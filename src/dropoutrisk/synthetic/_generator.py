"""``make_cohorts``: synthetic Swedish upper-secondary cohorts with a known true risk."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from dropoutrisk.errors import ParameterError
from dropoutrisk.synthetic import _catalogue as C
from dropoutrisk.synthetic import _events as E
from dropoutrisk.synthetic._simulate import (
    NO_EXIT,
    PROGRAMME_CODES,
    CohortState,
    Schools,
    make_schools,
    simulate_cohort,
)
from dropoutrisk.synthetic._support import (
    SupportPlan,
    intervention_rows,
    plant,
    support_truth_rows,
)
from dropoutrisk.synthetic._truth import cohort_truth

__all__ = ["SyntheticCohorts", "make_cohorts"]

#: Student-level tables, always built.
STUDENT_TABLES = ("students", "outcomes", "truth")
#: Event tables, built per block of students.
EVENT_TABLES = (
    "attendance",
    "attendance_daily",
    "attendance_weekly",
    "grades",
    "assessments",
    "concerns",
)

_ATTENDANCE = ("attendance", "attendance_daily", "attendance_weekly")
_EVENT_STREAM = {"attendance": 10, "grades": 11, "assessments": 12, "concerns": 13}
_OUTCOME_NAMES = np.array(["", "dropout", "moved", "transferred"], dtype=object)


def _root_seed(random_state: Any) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, bool)
        and random_state >= 0
    ):
        return int(random_state)
    raise TypeError(
        f"random_state must be None, a non-negative int or a numpy Generator; got {random_state!r}. "
        "Pass np.random.default_rng(seed) or an int seed."
    )


def _check_cohorts(cohorts: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(cohorts, numbers.Integral):
        cohorts = [int(cohorts)]
    out = tuple(int(c) for c in cohorts)
    if not out or len(set(out)) != len(out) or any(not 1990 <= c <= 2100 for c in out):
        raise ParameterError(parameter="cohorts", message=
            f"cohorts must be distinct years between 1990 and 2100, e.g. range(2020, 2024); got {out!r}."
        )
    return out


class SyntheticCohorts(Mapping[str, pd.DataFrame]):
    """The generated tables: a read-only mapping from table name to DataFrame.

    Keys are ``students``, ``outcomes``, ``truth`` and, unless event tables
    were skipped, ``attendance``, ``attendance_daily``, ``attendance_weekly``,
    ``grades``, ``assessments`` and ``concerns``. With a support plan there are
    also ``interventions`` (what the schools recorded, a canonical table) and
    ``support_truth`` (one row per student ranked at the flag date: rank,
    cut-off, flag, support and the exact risk with and without support). Student-level tables are built
    at once; event tables on first access (then kept). Use
    :meth:`iter_event_chunks` to stream event tables with bounded memory.

    Build it with :func:`make_cohorts`.

    Examples
    --------
    >>> cohorts = make_cohorts(30, [2023], n_schools=2, random_state=0, include_events=False)
    >>> "truth" in cohorts, len(cohorts)
    (True, 3)
    >>> cohorts.params["cohorts"]
    (2023,)
    """

    def __init__(
        self,
        *,
        states: Iterable[CohortState],
        schools: Schools,
        seed: int,
        params: Mapping[str, Any],
        include_events: bool,
    ) -> None:
        object.__setattr__(self, "_states", tuple(states))
        object.__setattr__(self, "_schools", schools)
        object.__setattr__(self, "_seed", seed)
        object.__setattr__(self, "_params", dict(params))
        object.__setattr__(self, "_include_events", include_events)
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_support", any(s.support is not None for s in self._states))
        self._cache["students"] = self._students()
        self._cache["outcomes"] = self._outcomes()
        self._cache["truth"] = self._truth()
        if self._support:
            ids = self._schools.ids
            self._cache["interventions"] = pd.concat(
                [intervention_rows(s, ids) for s in self._states], ignore_index=True)
            self._cache["support_truth"] = pd.concat(
                [support_truth_rows(s, ids) for s in self._states], ignore_index=True)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SyntheticCohorts is read-only; call make_cohorts again to change it.")

    # Mapping protocol -----------------------------------------------------------------
    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.table_names:
            raise KeyError(f"No table {name!r}; the tables are {', '.join(self.table_names)}.")
        if name not in self._cache:
            family = _ATTENDANCE if name in _ATTENDANCE else (name,)
            parts: dict[str, list[pa.Table]] = {t: [] for t in family}
            for chunk in self.iter_event_chunks(10**9, tables=family):
                for t in family:
                    parts[t].append(chunk[t])
            for t in family:
                self._cache[t] = _to_pandas(pa.concat_tables(parts[t]))
        return self._cache[name].copy()

    def __contains__(self, name: object) -> bool:
        return name in self.table_names

    def __iter__(self) -> Iterator[str]:
        return iter(self.table_names)

    def __len__(self) -> int:
        return len(self.table_names)

    def __repr__(self) -> str:
        n = len(self._cache["students"])
        return f"SyntheticCohorts(n_students={n}, cohorts={self.params['cohorts']}, tables={list(self.table_names)})"

    @property
    def table_names(self) -> tuple[str, ...]:
        """Names of the tables, student-level first."""
        support = ("interventions",) if self._support else ()
        return (
            ("students",) + (EVENT_TABLES if self._include_events else ()) + support
            + ("outcomes", "truth") + (("support_truth",) if self._support else ())
        )

    @property
    def params(self) -> dict[str, Any]:
        """The arguments the tables were generated with (``seed`` is the resolved root seed)."""
        return dict(self._params, seed=self._seed)

    # streaming ------------------------------------------------------------------------
    def iter_event_chunks(
        self, chunk_students: int = 20_000, tables: Iterable[str] | None = None
    ) -> Iterator[dict[str, pa.Table]]:
        """Yield the event tables for successive chunks of students, as pyarrow tables.

        Chunks follow the row order of ``students``; the rows are the same
        whatever ``chunk_students`` is, and whichever tables are asked for.

        Parameters
        ----------
        chunk_students : int
            Roughly how many students per chunk (rounded up to whole blocks
            of 512).
        tables : iterable of str, optional
            Event tables to build; all of them by default.

        Yields
        ------
        dict of str to pyarrow.Table
            One entry per event table.

        Examples
        --------
        >>> cohorts = make_cohorts(60, [2022], n_schools=3, random_state=0)
        >>> chunks = list(cohorts.iter_event_chunks(chunk_students=512))
        >>> sorted(chunks[0])[:3]
        ['assessments', 'attendance', 'attendance_daily']
        >>> sum(c["grades"].num_rows for c in chunks) == len(cohorts["grades"])
        True
        """
        if not self._include_events:
            raise ParameterError(parameter="include_events", message=
                "These cohorts were made with include_events=False; there are no event tables."
            )
        wanted = EVENT_TABLES if tables is None else tuple(tables)
        unknown = sorted(set(wanted) - set(EVENT_TABLES))
        if unknown:
            raise ParameterError(parameter="tables", message=
                f"Unknown event tables {unknown}; choose from {', '.join(EVENT_TABLES)}."
            )
        per_chunk = max(1, -(-int(chunk_students) // E.BLOCK_SIZE))
        formats = self._schools.attendance_format
        builders = {
            "grades": E.grades_block,
            "assessments": E.assessments_block,
            "concerns": E.concerns_block,
        }
        for ci, state in enumerate(self._states):
            n_blocks = -(-state.n // E.BLOCK_SIZE)
            for first in range(0, n_blocks, per_chunk):
                parts: dict[str, list[pa.Table]] = {name: [] for name in wanted}
                for block in range(first, min(first + per_chunk, n_blocks)):
                    rows = np.arange(block * E.BLOCK_SIZE, min((block + 1) * E.BLOCK_SIZE, state.n))
                    if set(wanted) & set(_ATTENDANCE):
                        rng = self._rng("attendance", ci, block)
                        level = self._params["attendance_level"]
                        att = E.attendance_block(state, rows, rng, formats, level)
                        for name, table in att.items():
                            if name in parts:
                                parts[name].append(table)
                    for name, build in builders.items():
                        if name in parts:
                            parts[name].append(build(state, rows, self._rng(name, ci, block)))
                yield {name: pa.concat_tables(t) for name, t in parts.items()}

    def _rng(self, table: str, cohort_idx: int, block: int) -> np.random.Generator:
        return np.random.default_rng(
            np.random.SeedSequence(self._seed, spawn_key=(_EVENT_STREAM[table], cohort_idx, block))
        )

    # student-level tables -------------------------------------------------------------
    def _students(self) -> pd.DataFrame:
        frames = []
        edu = np.array(C.EDUCATION, dtype=object)
        for s in self._states:
            frames.append(
                pd.DataFrame(
                    {
                        "student_id": s.student_id,
                        "cohort": np.full(s.n, s.cohort, dtype=np.int64),
                        "school_id": np.array(self._schools.ids, dtype=object)[s.school],
                        "programme": np.array(PROGRAMME_CODES, dtype=object)[s.programme],
                        "programme_type": np.array(["national", "introductory"], dtype=object)[
                            s.type_idx
                        ],
                        "grade_year": np.ones(s.n, dtype=np.int64),
                        "gender": np.array(C.GENDERS, dtype=object)[s.gender],
                        "birth_year": s.birth_year,
                        "newly_arrived": s.newly_arrived,
                        "years_in_sweden": s.years_in_sweden,
                        "parental_education": edu[s.parent_edu],
                        "mother_education": edu[s.mother_edu],
                        "school_moves": s.school_moves.astype(np.int64),
                        "special_support": s.special_support,
                        "in_care": s.in_care,
                        "merit_value": s.merit,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def _outcomes(self) -> pd.DataFrame:
        frames = []
        for s in self._states:
            cal = s.calendar
            ended = s.exit_kind != NO_EXIT
            week = np.where(ended, s.exit_week, s.final_week)
            day = np.where(ended, s.exit_day, 4)
            event = np.where(
                ended, _OUTCOME_NAMES[s.exit_kind], np.where(s.diploma, "completed", "no_diploma")
            )
            frames.append(
                pd.DataFrame(
                    {
                        "student_id": s.student_id,
                        "event": event.astype(object),
                        "date": (cal.monday[week] + day.astype("timedelta64[D]")).astype(
                            "datetime64[ns]"
                        ),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def _truth(self) -> pd.DataFrame:
        weeks = tuple(self._params["snapshot_weeks"])
        frames = [cohort_truth(s, weeks, self._params["horizon_days"]) for s in self._states]
        return pd.concat(frames, ignore_index=True)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas(date_as_object=False)
    for col in ("date", "week_start"):
        if col in df:
            df[col] = df[col].astype("datetime64[ns]")
    return df


def make_cohorts(
    n_students: int,
    cohorts: int | Iterable[int],
    n_schools: int = 20,
    random_state: int | np.random.Generator | None = None,
    *,
    horizon_days: int = 365,
    snapshot_weeks: Iterable[int] = (6, 10, 20),
    attendance_formats: Literal["mixed", "canonical"] = "mixed",
    attendance_level: Literal["day", "lesson"] = "day",
    include_events: bool = True,
    support: SupportPlan | None = None,
) -> SyntheticCohorts:
    """Generate synthetic upper-secondary cohorts in the canonical tables, with a true risk.

    Each student has a latent school connectedness that moves week by week
    (a random walk with drift towards a personal target, and shocks); school
    climate and programme type set the target, background factors shift it
    only a little. Attendance, grades, survey items and staff concerns are
    noisy readings of it; the weekly dropout hazard depends on it. See
    ``docs/synthetic.md`` for the process and its calibration.

    Parameters
    ----------
    n_students : int
        Total number of students, split evenly over the cohorts (the first
        cohorts get one more when it does not divide).
    cohorts : int or iterable of int
        Start years of the cohorts, e.g. ``range(2020, 2024)``. Each cohort is
        followed for up to four school years.
    n_schools : int, default 20
        Number of schools shared by all cohorts.
    random_state : int, numpy Generator or None
        Seed for everything random. The same int gives the same tables.
    horizon_days : int, default 365
        Horizon of the ``truth`` labels and risks.
    snapshot_weeks : iterable of int, default (6, 10, 20)
        Weeks after the start of each school year at which ``truth`` is taken.
    attendance_formats : {"mixed", "canonical"}, default "mixed"
        ``"mixed"``: with four or more schools, one school exports a daily
        attendance percentage (``attendance_daily``) and one weekly totals
        (``attendance_weekly``); the others canonical day rows. ``"canonical"``:
        every school writes ``attendance``.
    attendance_level : {"day", "lesson"}, default "day"
        Canonical ``attendance`` rows per school day, or per 60-minute lesson
        (with a ``lesson`` column, about six rows a day; the day totals are
        the same).
    include_events : bool, default True
        ``False`` skips the event tables (attendance, grades, assessments,
        concerns): only ``students``, ``outcomes`` and ``truth`` are built.
    support : SupportPlan, optional
        Schools flag students at a capacity cut-off and support some of them,
        with a planted effect (``docs/synthetic.md``, "Planted support"). Adds
        ``interventions`` and ``support_truth``. Without it nothing is flagged
        and every table is the same as before. With support, ``true_risk`` is
        the risk without (further) support: the need a model should see; the
        label is what happened.

    Returns
    -------
    SyntheticCohorts
        A read-only mapping of table name to DataFrame.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> tables = make_cohorts(40, [2022, 2023], n_schools=4, random_state=1)
    >>> list(tables)[:3]
    ['students', 'attendance', 'attendance_daily']
    >>> len(tables["students"])
    40
    >>> sorted(tables["outcomes"]["event"].unique())[:1]
    ['completed']
    >>> tables["truth"].columns.tolist()
    ['student_id', 'cohort', 'as_of', 'horizon_days', 'true_risk', 'label']
    """
    if not isinstance(n_students, numbers.Integral) or n_students < 1:
        raise ParameterError(parameter="n_students", message=
            f"n_students must be a positive int, got {n_students!r}.")
    if not isinstance(n_schools, numbers.Integral) or n_schools < 1:
        raise ParameterError(parameter="n_schools", message=
            f"n_schools must be a positive int, got {n_schools!r}.")
    if attendance_formats not in ("mixed", "canonical"):
        raise ParameterError(parameter="attendance_formats", message=
            f"attendance_formats must be 'mixed' or 'canonical', got {attendance_formats!r}."
        )
    if attendance_level not in ("day", "lesson"):
        raise ParameterError(parameter="attendance_level", message=
            f"attendance_level must be 'day' or 'lesson', got {attendance_level!r}.")
    if not isinstance(horizon_days, numbers.Integral) or horizon_days < 1:
        raise ParameterError(parameter="horizon_days", message=
            f"horizon_days must be a positive int, got {horizon_days!r}.")
    weeks = tuple(int(w) for w in snapshot_weeks)
    if any(not 0 <= w <= C.LAST_WEEK for w in weeks):
        raise ParameterError(parameter="snapshot_weeks", message=
            f"snapshot_weeks must lie in 0..{C.LAST_WEEK}, got {weeks!r}.")
    if support is not None and not isinstance(support, SupportPlan):
        raise ParameterError(parameter="support", message=
            f"support must be a SupportPlan, got {type(support).__name__}; "
            "pass dropoutrisk.synthetic.SupportPlan(capacity=..., hazard_ratio=...).")
    years = _check_cohorts(cohorts)
    seed = _root_seed(random_state)
    schools = make_schools(
        int(n_schools),
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))),
        attendance_formats,
    )
    sizes = np.full(len(years), n_students // len(years))
    sizes[: n_students % len(years)] += 1
    states: list[CohortState] = []
    for ci, (cohort, n) in enumerate(zip(years, sizes, strict=True)):
        seeds = {
            name: np.random.SeedSequence(seed, spawn_key=(k, ci))
            for k, name in ((1, "population"), (2, "latent"), (3, "grades"), (4, "support"))
        }
        hook = plant(support, int(horizon_days)) if support is not None else None
        if n > 0:
            states.append(simulate_cohort(cohort, int(n), schools, seeds, hook))
    params = {
        "n_students": int(n_students),
        "cohorts": years,
        "n_schools": int(n_schools),
        "horizon_days": int(horizon_days),
        "snapshot_weeks": weeks,
        "attendance_formats": attendance_formats,
        "attendance_level": attendance_level,
        "include_events": bool(include_events),
        "support": support.to_dict() if support is not None else None,
    }
    return SyntheticCohorts(
        states=states,
        schools=schools,
        seed=seed,
        params=params,
        include_events=bool(include_events),
    )
