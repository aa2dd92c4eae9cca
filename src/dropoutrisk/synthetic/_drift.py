"""plant_concept_drift(): later cohorts whose dropouts follow another indicator.

The generated cohorts share one process: the same indicators predict dropout
every year. A backtest on them shows no ageing. This moves, in each cohort
from ``from_cohort`` on, a growing share of the dropouts to the students
with the lowest values of a ``students`` column (``merit_value`` by default):
the relation between the features and the outcome changes (concept drift),
while every feature stays as it was. A model trained before the drift keeps
ranking by the old signals and loses the moved dropouts; a model trained on
drifted cohorts learns the new one.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = ["plant_concept_drift"]

#: Outcomes a moved dropout may be swapped with: known, and not censored.
_SWAPPABLE = ("completed", "no_diploma")


def plant_concept_drift(
    tables: Mapping[str, pd.DataFrame],
    *,
    from_cohort: int,
    step: float = 0.5,
    driver: str = "merit_value",
    random_state: int = 0,
) -> dict[str, pd.DataFrame]:
    """Tables whose later cohorts drop out by another indicator than the earlier ones.

    In cohort ``from_cohort + k`` (k = 0, 1, ...), a share
    ``min(1, step * (k + 1))`` of the dropouts, drawn at random, swap their
    outcome row (event and date) with the students of the same cohort who
    have the lowest ``driver`` values among those who completed or left
    without a diploma. Nothing else changes.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables with ``students`` (``student_id``, ``cohort`` and
        ``driver``) and ``outcomes``, e.g. from :func:`make_cohorts`.
    from_cohort : int
        The first drifted cohort.
    step : float, default 0.5
        The share moved grows by this much per cohort, up to 1.
    driver : str, default "merit_value"
        The ``students`` column whose lowest values get the moved dropouts.
    random_state : int, default 0
        Seed of the draw of the moved dropouts.

    Returns
    -------
    dict of str to DataFrame
        The same tables with new ``outcomes``; ``truth`` is left out (its
        true risk describes the process before the drift).

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> tables = make_cohorts(600, [2021, 2022], n_schools=2, random_state=0,
    ...                       include_events=False)
    >>> drifted = plant_concept_drift(tables, from_cohort=2022, step=1.0)
    >>> "truth" in drifted
    False
    >>> students = drifted["students"].set_index("student_id")
    >>> out = drifted["outcomes"].assign(cohort=lambda o: o["student_id"].map(students["cohort"]),
    ...                                  merit=lambda o: o["student_id"].map(students["merit_value"]))
    >>> late = out[out["cohort"] == 2022]
    >>> bool(late.loc[late["event"] == "dropout", "merit"].max()
    ...      <= late.loc[late["event"] == "completed", "merit"].median())
    True
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step <= 1:
        raise ParameterError(parameter="step", value=step, problem="is not a share per cohort",
                             allowed="a number in (0, 1]")
    students = tables["students"]
    if driver not in students.columns:
        raise ParameterError(parameter="driver", value=driver,
                             problem="is not a column of the students table",
                             allowed=f"one of {sorted(students.columns)}")
    rng = np.random.default_rng(random_state)
    by_id = students.set_index("student_id")
    outcomes = tables["outcomes"].copy()
    ids = outcomes["student_id"].to_numpy(dtype=object).copy()
    cohort = pd.Series(ids).map(by_id["cohort"]).to_numpy()
    value = pd.to_numeric(pd.Series(ids).map(by_id[driver]), errors="coerce").to_numpy()
    event = outcomes["event"].to_numpy()
    for c in sorted({int(v) for v in pd.unique(cohort[pd.notna(cohort)]) if v >= from_cohort}):
        share = min(1.0, float(step) * (c - int(from_cohort) + 1))
        here = cohort == c
        dropouts = np.flatnonzero(here & (event == "dropout"))
        others = np.flatnonzero(here & np.isin(event, _SWAPPABLE) & ~np.isnan(value))
        k = min(int(round(share * dropouts.size)), others.size)
        if k == 0:
            continue
        moved = np.sort(rng.choice(dropouts, k, replace=False))
        lowest = others[np.argsort(value[others], kind="stable")[:k]]
        ids[moved], ids[lowest] = ids[lowest].copy(), ids[moved].copy()
    outcomes["student_id"] = ids
    out = {name: table for name, table in tables.items() if name not in ("outcomes", "truth")}
    out["outcomes"] = outcomes.sort_values("student_id", kind="stable").reset_index(drop=True)
    return out
