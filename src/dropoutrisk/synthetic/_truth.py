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


def _transition(p: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """One week of the latent walk applied to mass ``p`` (..., K); ``up``/``down`` broadcast."""
    keep = 1.0 - C.SHOCK_PROB
    up_mass = p * (keep * up)
    down_mass = p * (keep * down)
    shock = p * C.SHOCK_PROB
    new = p * (keep * (1.0 - up - down))
    new[..., 1:] += up_mass[..., :-1]
    new[..., -1] += up_mass[..., -1]
    new[..., :-1] += down_mass[..., 1:]
    new[..., 0] += down_mass[..., 0]
    s = C.SHOCK_LEVELS
    new[..., :-s] += shock[..., s:]
    new[..., 0] += shock[..., :s].sum(-1)
    return new


def transition_matrices(targets: np.ndarray) -> np.ndarray:
    """Weekly transition matrices ``T[school, m, from_level, to_level]`` of the latent walk."""
    steps = step_probabilities()
    eye = np.broadcast_to(np.eye(C.N_LEVELS), (len(targets), C.N_LEVELS, C.N_LEVELS))
    # moving the mass of each starting level one week gives the rows of the matrix
    return np.stack(
        [
            _transition(eye.copy(), sp[targets, :, 0][:, :, None], sp[targets, :, 1][:, :, None])
            for sp in (steps[0], steps[1])
        ]
    )


def dropout_curves(
    cal: C.Calendar, type_idx: int, targets: np.ndarray, g0: int, horizon_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly dropout and enrolment probabilities by target level and starting level.

    Returns ``F`` and ``S`` of shape ``(len(targets), n_window_weeks, N_LEVELS)``
    indexed by ``k0`` on the last axis, and the teaching-week flags of the window.
    """
    frac = _window_fractions(horizon_days)
    hz = hazard_table()
    trans = transition_matrices(targets)
    n_window = len(frac)
    last = min(n_window, int(cal.final_week(type_idx)) - g0 + 1)
    # p[m, k0, k]: the starting level k0 indexes the result, the current level k moves
    p = np.broadcast_to(np.eye(C.N_LEVELS), (len(targets), C.N_LEVELS, C.N_LEVELS)).copy()
    f = np.zeros((len(targets), n_window, C.N_LEVELS))
    s = np.zeros_like(f)
    school = np.zeros(n_window, dtype=bool)
    for j in range(last):
        g = g0 + j
        if cal.school[g]:
            school[j] = True
            h = hz[type_idx, cal.year[g]]
            s[:, j] = p.sum(-1)
            f[:, j] = p @ h
            p *= 1.0 - h
        if j + 1 < last:
            p = p @ trans[int(cal.school[g])]
    return f, s, school


def exact_risk(
    cal: C.Calendar,
    type_idx: int,
    target: np.ndarray,
    k0: np.ndarray,
    censor: np.ndarray,
    g0: int,
    horizon_days: int,
) -> np.ndarray:
    """Exact ``true_risk`` of students of one programme type enrolled at the start of week ``g0``.

    Students with the same target level, starting level and censoring rate
    share one risk, so it is computed once per distinct combination.
    """
    frac = _window_fractions(horizon_days)
    rates, c_idx = np.unique(np.asarray(censor, dtype=float), return_inverse=True)
    key = (np.asarray(target, dtype=np.int64) * C.N_LEVELS + np.asarray(k0, dtype=np.int64)) * len(
        rates
    ) + c_idx.ravel()
    combos, inverse = np.unique(key, return_inverse=True)
    c_of = combos % len(rates)
    k0_of = (combos // len(rates)) % C.N_LEVELS
    m_of = combos // len(rates) // C.N_LEVELS
    targets, m_idx = np.unique(m_of, return_inverse=True)
    f, s, school = dropout_curves(cal, type_idx, targets, g0, horizon_days)
    n_before = np.concatenate([[0], np.cumsum(school)[:-1]])
    c = rates[c_of][:, None]
    surv = (1.0 - c) ** n_before[None, :]
    d = (frac * f[m_idx, :, k0_of] * surv * (1.0 - c)).sum(1)
    cens = (frac * school * s[m_idx, :, k0_of] * surv * c).sum(1)
    return (d / (1.0 - cens))[inverse.ravel()]


def cohort_truth(state: CohortState, weeks: tuple[int, ...], horizon_days: int) -> pd.DataFrame:
    """Truth rows of one cohort: every snapshot of every year a student is enrolled."""
    cal = state.calendar
    frames = []
    exit_date = np.where(
        state.exit_week < cal.n_weeks,
        cal.monday[np.minimum(state.exit_week, cal.n_weeks - 1)]
        + state.exit_day.astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
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
