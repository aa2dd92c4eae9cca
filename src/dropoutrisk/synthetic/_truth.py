"""The exact true risk: an analytic forward recursion over the future latent distribution.

At a snapshot ``as_of`` (the Monday of week ``w``) the generator knows each
student's latent level ``k0``, target level ``m``, programme type and weekly
censoring rate ``c``. What happens next is a Markov chain on the level grid,
so the future can be propagated exactly, without simulation:

- ``P_j[k0, k]``: probability of being at level ``k`` at the start of window
  week ``j`` and not yet dropped out (censoring aside). It starts as the
  identity matrix and moves by ``P_{j+1} = T_m(P_j * (1 - h_j))``, where ``T_m``
  is the tridiagonal-plus-shock transition of the walk and ``h_j`` the weekly
  hazard (zero outside teaching weeks).
- ``F_j = P_j @ h_j`` is the probability of a dropout in week ``j``, ``S_j``
  the probability of still being enrolled at its start.

The truth table is committed (``data/synthetic``) and must come out the same
bytes on every CPU, so nothing here goes through BLAS or numpy's SIMD
transcendentals, whose summation order and last bits depend on the CPU: ``T_m``
is applied as elementwise shifts of the mass, ``@`` and every sum over levels or
weeks are elementwise adds in one fixed order, powers are repeated products, and
the hazard and step tables use a correctly rounded ``exp``.
- Censoring (moved, transferred) is independent of the latent state, so for
  a student with weekly rate ``c`` and ``n_j`` teaching weeks in the window
  before week ``j``::

      D = sum_j f_j * F_j[k0] * (1 - c) ** (n_j + 1)
      C = sum_j f_j * c * S_j[k0] * (1 - c) ** n_j

  with ``f_j`` the share of the week's five weekdays (events fall uniformly
  on Monday-Friday) that lie inside ``[as_of, as_of + horizon_days)``.

``true_risk = D / (1 - C)``: the probability that the label is 1 given that it
is observed (the student is not censored in the window). It is the exact
expectation of the label on the rows where the label is defined, so the
oracle is perfectly calibrated there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutrisk.synthetic import _catalogue as C
from dropoutrisk.synthetic._simulate import DROPOUT, CohortState, hazard_table, step_probabilities


def _window_fractions(horizon_days: int) -> np.ndarray:
    n_weeks = -(-horizon_days // 7)
    j = np.arange(n_weeks)
    return np.clip(horizon_days - 7 * j, 0, 5) / 5.0


def _fixed_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the first axis in one fixed pairwise order (the same bits on every CPU)."""
    while len(a) > 1:
        half = len(a) // 2
        total = a[:half] + a[half : 2 * half]
        a = np.concatenate([total, a[2 * half :]]) if len(a) % 2 else total
    return a[0]


def _transition(p: np.ndarray, stay: np.ndarray, rise: np.ndarray, fall: np.ndarray) -> np.ndarray:
    """One week of the latent walk applied to mass ``p[level, ...]``.

    ``stay``, ``rise`` and ``fall`` are the probabilities (shock excluded) of
    keeping, raising and lowering the current level, shaped like ``p``.
    """
    up_mass = p * rise
    down_mass = p * fall
    shock = p * C.SHOCK_PROB
    new = p * stay
    new[1:] += up_mass[:-1]
    new[-1] += up_mass[-1]
    new[:-1] += down_mass[1:]
    new[0] += down_mass[0]
    s = C.SHOCK_LEVELS
    new[:-s] += shock[s:]
    new[0] += _fixed_sum(shock[:s])
    return new


def dropout_curves(
    cal: C.Calendar,
    type_idx: int,
    target: np.ndarray,
    k0: np.ndarray,
    g0: int,
    horizon_days: int,
    hazard_ratio: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly dropout and enrolment probabilities of walks starting at ``(target, k0)`` pairs.

    ``hazard_ratio`` multiplies the weekly hazard (planted support).
    Returns ``F`` and ``S`` of shape ``(n_window_weeks, len(target))`` and the
    teaching-week flags of the window.
    """
    frac = _window_fractions(horizon_days)
    hz = hazard_table() if hazard_ratio == 1.0 else hazard_table() * hazard_ratio
    keep = 1.0 - C.SHOCK_PROB
    moves = []
    for steps in step_probabilities():
        # [level k, pair]: the step probabilities at the current level of each pair's walk
        up, down = steps[target, :, 0].T, steps[target, :, 1].T
        moves.append((keep * (1.0 - up - down), keep * up, keep * down))
    n_window = len(frac)
    last = min(n_window, int(cal.final_week(type_idx)) - g0 + 1)
    # p[k, pair]: the mass of each pair's walk at current level k
    p = np.zeros((C.N_LEVELS, len(target)))
    p[k0, np.arange(len(target))] = 1.0
    f = np.zeros((n_window, len(target)))
    s = np.zeros_like(f)
    school = np.zeros(n_window, dtype=bool)
    for j in range(last):
        g = g0 + j
        if cal.school[g]:
            school[j] = True
            h = hz[type_idx, cal.year[g]][:, None]
            s[j] = _fixed_sum(p)
            f[j] = _fixed_sum(p * h)
            p *= 1.0 - h
        if j + 1 < last:
            p = _transition(p, *moves[int(cal.school[g])])
    return f, s, school


def exact_risk(
    cal: C.Calendar,
    type_idx: int,
    target: np.ndarray,
    k0: np.ndarray,
    censor: np.ndarray,
    g0: int,
    horizon_days: int,
    hazard_ratio: float = 1.0,
) -> np.ndarray:
    """Exact ``true_risk`` of students of one programme type enrolled at the start of week ``g0``.

    Students with the same target level, starting level and censoring rate
    share one risk, so it is computed once per distinct combination.
    ``hazard_ratio`` multiplies the weekly dropout hazard (planted support).
    """
    frac = _window_fractions(horizon_days)[:, None]
    rates, c_idx = np.unique(np.asarray(censor, dtype=float), return_inverse=True)
    key = (np.asarray(target, dtype=np.int64) * C.N_LEVELS + np.asarray(k0, dtype=np.int64)) * len(
        rates
    ) + c_idx.ravel()
    combos, inverse = np.unique(key, return_inverse=True)
    c_of = combos % len(rates)
    pairs, pair_of = np.unique(combos // len(rates), return_inverse=True)
    f, s, school = dropout_curves(
        cal, type_idx, pairs // C.N_LEVELS, pairs % C.N_LEVELS, g0, horizon_days, hazard_ratio
    )
    c = rates[c_of]
    # (1 - c) ** n_j, no censoring in the n_j teaching weeks before week j, by repeated products
    surv = np.ones((len(frac), len(combos)))
    for j in range(1, len(frac)):
        surv[j] = surv[j - 1] * (1.0 - c) if school[j - 1] else surv[j - 1]
    d = _fixed_sum(frac * f[:, pair_of] * surv * (1.0 - c))
    cens = _fixed_sum(frac * school[:, None] * s[:, pair_of] * surv * c)
    return (d / (1.0 - cens))[inverse.ravel()]


def exit_dates(state: CohortState) -> np.ndarray:
    """The day each student left (``NaT`` for those still enrolled at the end of the calendar)."""
    cal = state.calendar
    return np.where(
        state.exit_week < cal.n_weeks,
        cal.monday[np.minimum(state.exit_week, cal.n_weeks - 1)]
        + state.exit_day.astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )


def cohort_truth(state: CohortState, weeks: tuple[int, ...], horizon_days: int) -> pd.DataFrame:
    """Truth rows of one cohort: every snapshot of every year a student is enrolled."""
    cal = state.calendar
    frames = []
    exit_date = exit_dates(state)
    for year in range(C.MAX_YEARS):
        for week in weeks:
            g0 = cal.index(year, week)
            as_of = cal.monday[g0]
            enrolled = (state.exit_week >= g0) & (state.final_week >= g0)
            for t in (0, 1):
                rows = np.flatnonzero(enrolled & (state.type_idx == t))
                if len(rows) == 0:
                    continue
                risk = exact_risk(
                    cal,
                    t,
                    state.target[rows],
                    state.levels[rows, g0],
                    state.censor_rate[rows],
                    g0,
                    horizon_days,
                )
                end = as_of + np.timedelta64(horizon_days, "D")
                ed = exit_date[rows]
                in_window = ~np.isnat(ed) & (ed < end)
                kind = state.exit_kind[rows]
                label = np.where(in_window & (kind == DROPOUT), 1.0, 0.0)
                label[in_window & (kind != DROPOUT)] = np.nan
                frames.append(
                    pd.DataFrame(
                        {
                            "_row": rows,
                            "as_of": np.full(len(rows), as_of),
                            "true_risk": risk,
                            "label": label,
                        }
                    )
                )
    out = pd.concat(frames, ignore_index=True).sort_values(["as_of", "_row"], kind="stable")
    return pd.DataFrame(
        {
            "student_id": state.student_id[out["_row"].to_numpy()],
            "cohort": np.full(len(out), state.cohort, dtype=np.int64),
            "as_of": out["as_of"].to_numpy().astype("datetime64[ns]"),
            "horizon_days": np.full(len(out), horizon_days, dtype=np.int64),
            "true_risk": out["true_risk"].to_numpy(),
            "label": out["label"].to_numpy(),
        }
    )
