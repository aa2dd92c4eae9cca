"""Planted support: schools flag students at a capacity cut-off and some flagged students get help.

Each school flags, once per cohort in the first school year (the Monday of week
``flag_week``), the ``capacity`` students it reads as least connected: a noisy
reading of the latent state (``screen_noise``), ranked within the school. A share
``uptake`` of the flagged students gets an intervention that week. From then on
the supported student's weekly dropout hazard is multiplied by ``hazard_ratio``
and the target of the latent walk rises by ``latent_shift`` levels (so attendance,
grades and surveys improve too). The supported students' futures are walked again
from the flag week with their own random stream. The other students' paths and
outcomes do not change; their event rows are drawn again when they share a block
of 512 students with a supported student (the draws follow the enrolled days).

The ranks, the cut-off and both exact risks at the flag date (without support and
with it, from the recursion in ``_truth.py``) are kept, so that estimates of the
effect can be checked against the planted one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.schema import INTERVENTION_KINDS
from dropoutrisk.synthetic import _catalogue as C
from dropoutrisk.synthetic._simulate import MOVED, TRANSFERRED, walk
from dropoutrisk.synthetic._truth import exact_risk, exit_dates

__all__ = ["SupportPlan"]

#: The staff role and the length in weeks (0: one day) of each suggested kind.
_KIND_ROLE = {
    "mentor_talk": ("mentor", 0),
    "attendance_team": ("kurator", 8),
    "student_coach": ("elevcoach", 16),
    "special_support": ("specialpedagog", 20),
    "study_plan_change": ("syv", 0),
}
#: Share of supported students who get a follow-up mentor talk 2-6 weeks later (no extra effect).
_FOLLOW_UP_SHARE = 0.5


@dataclass(frozen=True)
class SupportPlan:
    """How schools flag and support students in :func:`make_cohorts` (planted effects).

    Parameters
    ----------
    capacity : int or float, default 0.15
        Students flagged per school and cohort: a whole number, or a share of the
        school's first-year students enrolled at the flag date (rounded up).
    flag_week : int, default 6
        Week of the first school year in which each school flags (its Monday is
        the flag date, a snapshot date of ``truth`` with the default weeks).
    uptake : float, default 0.7
        Probability that a flagged student gets an intervention. Below 1 there
        are flagged students without support to compare with.
    hazard_ratio : float or mapping of kind to float, default 1.0
        Multiplies the weekly dropout hazard of a supported student from the flag
        week on (0.5 roughly halves the risk). 1.0 with ``latent_shift=0`` plants
        no effect: interventions are recorded and change nothing.
    latent_shift : int, default 0
        Levels (0.25 each on the connectedness scale) added to a supported
        student's target: the support also improves what the indicators read.
    screen_noise : float, default 0.5
        Standard deviation of the school's reading of connectedness that it ranks by.
    kinds : tuple of str
        Kinds of intervention, one drawn uniformly per supported student.

    Examples
    --------
    >>> plan = SupportPlan(capacity=20, hazard_ratio=0.5)
    >>> plan.ratio("mentor_talk"), plan.planted
    (0.5, True)
    >>> SupportPlan().planted
    False
    """

    capacity: float = 0.15
    flag_week: int = 6
    uptake: float = 0.7
    hazard_ratio: float | Mapping[str, float] = 1.0
    latent_shift: int = 0
    screen_noise: float = 0.5
    kinds: tuple[str, ...] = field(default=INTERVENTION_KINDS)

    def __post_init__(self) -> None:
        cap = self.capacity
        if isinstance(cap, bool) or not isinstance(cap, numbers.Real) or cap <= 0 or (
            not isinstance(cap, numbers.Integral) and cap >= 1
        ):
            _bad("capacity", cap, "a whole number of students (>= 1) or a share in (0, 1)")
        if not isinstance(self.flag_week, numbers.Integral) or not 0 <= self.flag_week <= C.LAST_WEEK:
            _bad("flag_week", self.flag_week, f"a week of the school year, 0..{C.LAST_WEEK}")
        if not 0 < float(self.uptake) <= 1:
            _bad("uptake", self.uptake, "a probability in (0, 1]")
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            _bad("kinds", self.kinds, "distinct kind codes, e.g. ('mentor_talk', 'student_coach')")
        ratios = self.hazard_ratio if isinstance(self.hazard_ratio, Mapping) else {
            k: self.hazard_ratio for k in self.kinds}
        missing = sorted(set(self.kinds) - set(ratios))
        if missing or any(not 0 < float(r) <= 10 for r in ratios.values()):
            _bad("hazard_ratio", self.hazard_ratio,
                 f"a ratio in (0, 10], or one per kind (missing: {missing or 'none'})")
        if not isinstance(self.latent_shift, numbers.Integral) or abs(self.latent_shift) > 8:
            _bad("latent_shift", self.latent_shift, "a whole number of levels, -8..8")
        if not float(self.screen_noise) >= 0:
            _bad("screen_noise", self.screen_noise, "a standard deviation >= 0")

    def ratio(self, kind: str) -> float:
        """The hazard ratio planted for ``kind``."""
        if isinstance(self.hazard_ratio, Mapping):
            return float(self.hazard_ratio[kind])
        return float(self.hazard_ratio)

    @property
    def planted(self) -> bool:
        """Whether support changes anything (a ratio other than 1 or a latent shift)."""
        return self.latent_shift != 0 or any(self.ratio(k) != 1.0 for k in self.kinds)

    def to_dict(self) -> dict[str, Any]:
        ratio = dict(self.hazard_ratio) if isinstance(self.hazard_ratio, Mapping) else self.hazard_ratio
        return {"capacity": self.capacity, "flag_week": int(self.flag_week), "uptake": self.uptake,
                "hazard_ratio": ratio, "latent_shift": int(self.latent_shift),
                "screen_noise": self.screen_noise, "kinds": list(self.kinds)}


def _bad(name: str, value: Any, allowed: str) -> None:
    raise ParameterError(parameter=f"support.{name}", message=(
        f"SupportPlan({name}={value!r}) is not allowed: expected {allowed}."))


def plant(plan: SupportPlan, horizon_days: int):
    """Return the hook ``simulate_cohort`` calls after the latent walk."""

    def hook(cal: C.Calendar, pop: dict, latent: dict, rng: np.random.Generator) -> dict:
        return _plant(plan, horizon_days, cal, pop, latent, rng)

    return hook


def _plant(plan: SupportPlan, horizon_days: int, cal: C.Calendar, pop: dict, latent: dict,
           rng: np.random.Generator) -> dict:
    n = len(pop["student_id"])
    g = cal.index(0, int(plan.flag_week))
    # draws for every student, in a fixed order, whoever is ranked
    noise = rng.normal(0.0, 1.0, n) * float(plan.screen_noise)
    take = rng.random(n) < float(plan.uptake)
    kind_idx = rng.integers(0, len(plan.kinds), n)
    day = rng.integers(0, 5, n)
    follow = rng.random(n) < _FOLLOW_UP_SHARE
    follow_weeks = rng.integers(2, 7, n)

    ranked = (latent["exit_week"] >= g) & (latent["final_week"] >= g)
    score = C.Z_GRID[latent["levels"][:, g]] + noise
    rank = np.zeros(n, dtype=np.int64)
    capacity = np.zeros(n, dtype=np.int64)
    for school in np.unique(pop["school"][ranked]):
        rows = np.flatnonzero(ranked & (pop["school"] == school))
        order = rows[np.lexsort((rows, score[rows]))]  # least connected first, ties by row
        rank[order] = np.arange(1, len(order) + 1)
        cap = plan.capacity
        k = int(cap) if isinstance(cap, numbers.Integral) else math.ceil(float(cap) * len(rows))
        capacity[rows] = min(k, len(rows))
    flagged = ranked & (rank <= capacity)
    supported = flagged & take
    kinds = np.array(plan.kinds, dtype=object)[kind_idx]
    ratio = np.array([plan.ratio(k) for k in plan.kinds])[kind_idx]

    target = pop["target"]
    shifted = np.clip(target.astype(np.int64) + int(plan.latent_shift), 0, C.N_LEVELS - 1)
    k0 = latent["levels"][:, g]
    risk_without = np.full(n, np.nan)
    risk_with = np.full(n, np.nan)
    for t in (0, 1):
        rows = np.flatnonzero(ranked & (pop["type_idx"] == t))
        if len(rows) == 0:
            continue
        risk_without[rows] = exact_risk(cal, t, target[rows], k0[rows], pop["censor_rate"][rows],
                                        g, horizon_days)
        for j, kind in enumerate(plan.kinds):
            sub = rows[kind_idx[rows] == j]
            if len(sub):
                risk_with[sub] = exact_risk(cal, t, shifted[sub], k0[sub], pop["censor_rate"][sub],
                                            g, horizon_days, plan.ratio(kind))

    sup = np.flatnonzero(supported)
    if plan.planted and len(sup):
        levels, exit_week, exit_kind = walk(
            cal, k0[sup], shifted[sup], pop["type_idx"][sup], pop["censor_rate"][sup], rng,
            start=g, hazard_ratio=ratio[sup],
        )
        latent["levels"][sup, g:] = levels
        latent["exit_week"][sup] = exit_week
        transfer = (exit_kind == MOVED) & (rng.random(len(sup)) >= C.MOVED_SHARE)
        exit_kind[transfer] = TRANSFERRED
        latent["exit_kind"][sup] = exit_kind
    return {
        "week": g,
        "ranked": np.flatnonzero(ranked),
        "rank": rank,
        "capacity": capacity,
        "flagged": flagged,
        "supported": supported,
        "kind": kinds,
        "day": day,
        "follow_up": supported & follow,
        "follow_up_week": g + follow_weeks,
        "risk_without": risk_without,
        "risk_with": risk_with,
    }


def intervention_rows(state: Any, school_ids: tuple[str, ...]) -> pd.DataFrame:
    """The ``interventions`` table of one cohort: what the generator's schools recorded."""
    rec, cal = state.support, state.calendar
    exit_date = exit_dates(state)
    sup = np.flatnonzero(rec["supported"])
    start = cal.monday[rec["week"]] + rec["day"][sup].astype("timedelta64[D]")
    # a student who left in the flag week was seen on the last day, not after it
    start = np.where(np.isnat(exit_date[sup]), start, np.minimum(start, exit_date[sup]))
    length = np.array([_KIND_ROLE.get(k, ("staff", 0))[1] for k in rec["kind"][sup]])
    end = start + (7 * length).astype("timedelta64[D]")
    end = np.minimum(end, np.where(np.isnat(exit_date[sup]), end, exit_date[sup]))
    main = pd.DataFrame({
        "student_id": state.student_id[sup],
        "date": start,
        "kind": rec["kind"][sup],
        "end_date": end,
        "role": [_KIND_ROLE.get(k, ("staff", 0))[0] for k in rec["kind"][sup]],
    })
    fol = np.flatnonzero(rec["follow_up"])
    week = rec["follow_up_week"][fol]
    talk = cal.monday[np.minimum(week, cal.n_weeks - 1)] + rec["day"][fol].astype("timedelta64[D]")
    enrolled = state.exit_week[fol] > week  # a talk needs the student still there
    extra = pd.DataFrame({
        "student_id": state.student_id[fol][enrolled],
        "date": talk[enrolled],
        "kind": "mentor_talk",
        "end_date": talk[enrolled],
        "role": "mentor",
    })
    # a follow-up talk on the day of a first mentor talk would repeat the key; it cannot (2+ weeks)
    out = pd.concat([main, extra], ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    out["end_date"] = out["end_date"].astype("datetime64[ns]")
    return out.sort_values(["date", "student_id", "kind"], kind="stable").reset_index(drop=True)


def support_truth_rows(state: Any, school_ids: tuple[str, ...]) -> pd.DataFrame:
    """One row per student ranked at the flag date: rank, cut-off, flag, support, both exact risks."""
    rec, cal = state.support, state.calendar
    rows = rec["ranked"]
    return pd.DataFrame({
        "student_id": state.student_id[rows],
        "school_id": np.array(school_ids, dtype=object)[state.school[rows]],
        "cohort": np.full(len(rows), state.cohort, dtype=np.int64),
        "as_of": np.full(len(rows), cal.monday[rec["week"]]).astype("datetime64[ns]"),
        "rank": rec["rank"][rows],
        "capacity": rec["capacity"][rows],
        "flagged": rec["flagged"][rows],
        "supported": rec["supported"][rows],
        "kind": np.where(rec["supported"][rows], rec["kind"][rows], None).astype(object),
        "risk_without_support": rec["risk_without"][rows],
        "risk_with_support": rec["risk_with"][rows],
    })
