"""Did the support help? Descriptive comparisons, with their limits said.

Two estimates (docs/follow-up.md, "Did the support help?"):

- :func:`support_effects`: per kind of intervention, supported students against
  flagged students who were not supported, of the same school and a similar
  predicted risk (strata of school x risk quantile; the difference is averaged
  over the supported students' strata). Descriptive, not causal: staff choose
  whom to support, on what the model does not see.
- :func:`cutoff_effect`: where flags come from a capacity cut-off, the students
  ranked just inside and just outside it are alike but for the flag. A local
  linear regression on each side of the cut-off (triangular kernel, bandwidth in
  ranks) gives the jump in the outcome at the cut-off (the effect of being
  flagged) and, divided by the jump in the share supported, the effect of the
  support on the students near the cut-off (a fuzzy regression discontinuity).

Intervals are percentile intervals of a Bayesian bootstrap (each replicate
weights the students by independent exponential draws, Rubin 1981), computed
in blocks of replicates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Result, copied
from dropoutrisk.errors import MissingColumnError, ParameterError
from dropoutrisk.models.evaluation import bootstrap_quantiles

__all__ = ["CutoffEstimate", "SupportEffects", "cutoff_effect", "support_effects"]

MATCHED_STATEMENT = (
    "Descriptive, not a causal effect: supported students are compared with flagged students of "
    "the same school and a similar predicted risk who were not supported. Staff choose whom to "
    "support, often on what the model does not see, so the difference mixes the support with "
    "who was chosen."
)
CUTOFF_CAVEATS = (
    "Local: it says what being flagged (and the support) did for students ranked near the "
    "cut-off, not for the highest-risk students.",
    "It assumes nothing else changes at the cut-off and that ranks were not adjusted to move "
    "students across it.",
    "Only support recorded in the interventions table counts as support.",
    "The interval resamples students, not schools; with few schools, school-level shocks make "
    "it too narrow.",
    "The capacity must have bound: in a school with fewer students than places everyone is "
    "flagged and the school adds nothing.",
)
_BLOCK = 100


def _weights(rng: np.random.Generator, n_boot: int, n: int):
    """Blocks of Bayesian-bootstrap weights, ``(block, n)``."""
    done = 0
    while done < n_boot:
        size = min(_BLOCK, n_boot - done)
        yield rng.exponential(1.0, (size, n))
        done += size


def _require(frame: pd.DataFrame, columns: dict[str, str], what: str) -> None:
    for role, name in columns.items():
        if name not in frame.columns:
            raise MissingColumnError(
                table=what, column=name,
                allowed=f"a {role} column ({name!r}, or name it with {role}=)",
                fix=f"Add the column or pass {role}='<your column>'")


def _check_boot(n_boot: int, level: float) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 50:
        raise ParameterError(parameter="n_boot", message=(
            f"n_boot must be a whole number >= 50, got {n_boot!r}; 500 or more for a report."))
    if not 0.5 < float(level) < 1:
        raise ParameterError(parameter="level", message=(
            f"level must lie in (0.5, 1), got {level!r}; 0.95 is the usual."))


# ----------------------------------------------------------------------------- matched


class SupportEffects(Result):
    """Supported vs matched flagged-not-supported students, per kind: build with :func:`support_effects`."""

    __slots__ = ("_table", "_settings")
    _remedy = "call support_effects again."

    def __init__(self, table: pd.DataFrame, settings: dict) -> None:
        self._set(table=table, settings=settings)

    @property
    def table(self) -> pd.DataFrame:
        """One row per kind (and ``all``): counts, rates, difference and its interval."""
        return copied(self._table)

    @property
    def statement(self) -> str:
        return MATCHED_STATEMENT

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"statement": MATCHED_STATEMENT, "settings": self._settings,
                            "effects": self._table.reset_index().to_dict("records")})


def support_effects(
    frame: pd.DataFrame,
    *,
    outcome: str = "dropout",
    probability: str = "probability",
    school: str = "school_id",
    supported: str = "supported",
    kind: str = "kind",
    extra: tuple[str, ...] = (),
    n_bins: int = 5,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> SupportEffects:
    """Compare supported with matched flagged students who were not supported, per kind.

    Parameters
    ----------
    frame : DataFrame
        One row per flagged student: ``probability`` at the flag, ``school``,
        ``supported`` (bool), ``kind`` (of the first intervention; ignored for the
        not supported) and ``outcome`` (1 dropout, 0 not; NaN, for censored
        students, is left out). ``extra`` names further numeric columns to compare
        the same way (e.g. ``attendance_change`` from :func:`follow_up`).
    n_bins : int, default 5
        Risk strata: quantiles of ``probability`` among the flagged, within school.
    n_boot, level, random_state
        Bayesian-bootstrap replicates, interval level and seed.

    Returns
    -------
    SupportEffects
        ``table`` has per kind ``n_supported``, ``n_controls``, ``n_matched``
        (supported students in a stratum that has controls), ``<y>_supported``,
        ``<y>_controls`` (the controls re-weighted to the supported students'
        strata), ``<y>_difference``, ``<y>_low`` and ``<y>_high`` for the outcome
        and each ``extra``. Kinds with fewer than ``MIN_CELL`` supported or
        matched controls show counts only.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> f = pd.DataFrame({"probability": rng.uniform(0.1, 0.4, n), "school_id": "A",
    ...                   "supported": rng.random(n) < 0.6, "kind": "mentor_talk"})
    >>> f["dropout"] = (rng.random(n) < f.probability * np.where(f.supported, 0.5, 1.0)).astype(float)
    >>> row = support_effects(f, n_boot=200).table.loc["mentor_talk"]
    >>> bool(row["dropout_low"] < row["dropout_difference"] < 0 and row["dropout_high"] < 0.05)
    True
    """
    _check_boot(n_boot, level)
    _require(frame, {"outcome": outcome, "probability": probability, "school": school,
                     "supported": supported, "kind": kind}, "flagged students")
    _require(frame, {f"extra[{i}]": c for i, c in enumerate(extra)}, "flagged students")
    data = frame[frame[outcome].notna()].reset_index(drop=True)
    treat = data[supported].astype(bool).to_numpy()
    strata = _strata(data, probability, school, n_bins)
    names = [outcome, *extra]
    values = data[names].to_numpy(dtype=float)
    kinds = sorted(data.loc[treat, kind].dropna().astype(str).unique())
    rng = np.random.default_rng(random_state)
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    rows = {}
    for label in [*kinds, "all"]:
        t = treat & ((data[kind].astype(str) == label).to_numpy() if label != "all" else True)
        rows[label] = _matched(values, t, ~treat, strata, names, rng, n_boot, q)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "kind"
    settings = {"outcome": outcome, "extra": list(extra), "n_bins": n_bins, "n_boot": n_boot,
                "level": level, "random_state": random_state, "min_cell": MIN_CELL,
                "n_flagged": len(data), "n_left_out_unlabelled": int(len(frame) - len(data))}
    return SupportEffects(table, settings)


def _strata(data: pd.DataFrame, probability: str, school: str, n_bins: int) -> np.ndarray:
    p = data[probability].to_numpy(dtype=float)
    bins = np.zeros(len(data), dtype=np.int64)
    for _, rows in data.groupby(school, sort=True).indices.items():
        ranks = pd.Series(p[rows]).rank(method="first").to_numpy()
        bins[rows] = np.minimum(((ranks - 1) * n_bins / max(len(rows), 1)).astype(int), n_bins - 1)
    codes = pd.factorize(pd.Series(data[school].astype(str)).str.cat(bins.astype(str), sep="|"))[0]
    return codes


def _matched(values, t, c, strata, names, rng, n_boot, q) -> dict[str, Any]:
    n_s = strata.max() + 1 if len(strata) else 0
    t_per = np.bincount(strata[t], minlength=n_s)
    c_per = np.bincount(strata[c], minlength=n_s)
    usable = (t_per > 0) & (c_per > 0)
    keep_t = t & usable[strata]
    keep_c = c & usable[strata]
    row: dict[str, Any] = {"n_supported": int(t.sum()), "n_controls": int(c.sum()),
                           "n_matched": int(keep_t.sum())}
    small = keep_t.sum() < MIN_CELL or keep_c.sum() < MIN_CELL
    rows_t, rows_c = np.flatnonzero(keep_t), np.flatnonzero(keep_c)
    for j, name in enumerate(names):
        if small:
            row.update({f"{name}_supported": np.nan, f"{name}_controls": np.nan,
                        f"{name}_difference": np.nan, f"{name}_low": np.nan,
                        f"{name}_high": np.nan})
            continue
        y = values[:, j]
        point = _att(y, rows_t, rows_c, strata, n_s, None, None)
        reps = []
        for w in _weights(rng, n_boot, len(y)):
            reps.append(_att(y, rows_t, rows_c, strata, n_s, w[:, rows_t], w[:, rows_c])[2])
        low, high = bootstrap_quantiles(np.concatenate(reps), q)
        row.update({f"{name}_supported": point[0], f"{name}_controls": point[1],
                    f"{name}_difference": point[2], f"{name}_low": float(low),
                    f"{name}_high": float(high)})
    if small:
        row["note"] = f"fewer than {MIN_CELL} supported or matched controls: not estimated"
    return row


def _att(y, rows_t, rows_c, strata, n_s, wt, wc):
    """Supported mean, re-weighted control mean and their difference (per replicate if weighted)."""
    st, sc = strata[rows_t], strata[rows_c]
    if wt is None:
        wt, wc = np.ones((1, len(rows_t))), np.ones((1, len(rows_c)))
    yt, yc = y[rows_t], y[rows_c]
    tw = _group_sums(wt, st, n_s)
    ty = _group_sums(wt * yt, st, n_s)
    cw = _group_sums(wc, sc, n_s)
    cy = _group_sums(wc * yc, sc, n_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = tw / tw.sum(axis=1, keepdims=True)
        mean_t = ty.sum(axis=1) / tw.sum(axis=1)
        mean_c = np.nansum(share * (cy / cw), axis=1)
    diff = mean_t - mean_c
    if diff.size == 1:
        return float(mean_t[0]), float(mean_c[0]), float(diff[0])
    return mean_t, mean_c, diff


def _group_sums(w: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((w.shape[0], n))
    np.add.at(out.T, groups, w.T)
    return out


# ----------------------------------------------------------------------------- cut-off


class CutoffEstimate(Result):
    """The regression discontinuity at a capacity cut-off: build with :func:`cutoff_effect`."""

    __slots__ = ("_estimate",)
    _remedy = "call cutoff_effect again."

    def __init__(self, estimate: dict) -> None:
        self._set(estimate=estimate)

    def __getitem__(self, key: str) -> Any:
        return copied(self._estimate[key])

    @property
    def caveats(self) -> tuple[str, ...]:
        return CUTOFF_CAVEATS

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({**self._estimate, "caveats": list(CUTOFF_CAVEATS)})


def cutoff_effect(
    frame: pd.DataFrame,
    *,
    outcome: str = "dropout",
    rank: str = "rank_in_school",
    capacity: str = "capacity",
    supported: str | None = "supported",
    bandwidth: float | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> CutoffEstimate:
    """Estimate the jump at a capacity cut-off: the effect of being flagged, and of the support.

    Parameters
    ----------
    frame : DataFrame
        One row per ranked student of a flag round: ``rank`` within the school
        (1 = highest risk), ``capacity`` (the school's cut-off: ranks up to it
        were flagged), ``outcome`` (1/0; NaN for censored students, left out) and,
        for the effect of the support, ``supported`` (bool).
    bandwidth : float, optional
        Ranks on each side of the cut-off that count, with triangular weights
        falling to 0 at the bandwidth. Default: half the median capacity. The risk
        rises steeply towards rank 1, so a bandwidth reaching the top of the list
        bends the line inside and biases the jump (measured on the synthetic
        cohorts: -0.009 with no effect at the whole capacity, 0.000 at half of it).
    n_boot, level, random_state
        Bayesian-bootstrap replicates, interval level and seed.

    Returns
    -------
    CutoffEstimate
        ``estimate["flagged"]`` (jump in the outcome, inside minus outside, with
        ``low``/``high``), ``estimate["support_share"]`` (jump in the share
        supported) and ``estimate["supported"]`` (their ratio: the effect of the
        support near the cut-off), with the bandwidth and the counts; ``caveats``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> rank = np.tile(np.arange(1, 401), 10)
    >>> f = pd.DataFrame({"rank_in_school": rank, "capacity": 100, "supported": rank <= 100})
    >>> f["dropout"] = (rng.random(rank.size) < np.where(f.supported, 0.1, 0.2)).astype(float)
    >>> est = cutoff_effect(f, n_boot=200)
    >>> e = est["supported"]
    >>> bool(e["low"] < -0.1 < e["high"]), est["bandwidth"]
    (True, 50.0)
    """
    _check_boot(n_boot, level)
    need = {"outcome": outcome, "rank": rank, "capacity": capacity}
    if supported is not None:
        need["supported"] = supported
    _require(frame, need, "ranked students")
    data = frame[frame[outcome].notna()]
    r = data[rank].to_numpy(dtype=float) - data[capacity].to_numpy(dtype=float) - 0.5
    h = float(np.median(data[capacity])) / 2 if bandwidth is None else float(bandwidth)
    if not h >= 2:
        raise ParameterError(parameter="bandwidth", message=(
            f"bandwidth must be at least 2 ranks, got {h!r}."))
    near = np.abs(r) < h
    x = r[near]
    kernel = 1.0 - np.abs(x) / h
    inside = x < 0
    y = data[outcome].to_numpy(dtype=float)[near]
    d = data[supported].astype(bool).to_numpy()[near].astype(float) if supported else None
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    if min(n_in, n_out) < MIN_CELL:
        raise ParameterError(parameter="bandwidth", message=(
            f"only {n_in} students inside and {n_out} outside the cut-off within {h:g} ranks; "
            f"each side needs {MIN_CELL}. Widen the bandwidth or pool more flag rounds."))
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    rng = np.random.default_rng(random_state)
    jump_y = _jump(x, y, kernel, inside, None)
    jump_d = _jump(x, d, kernel, inside, None) if d is not None else np.nan
    reps_y, reps_d = [], []
    for w in _weights(rng, n_boot, len(x)):
        reps_y.append(_jump(x, y, kernel, inside, w))
        if d is not None:
            reps_d.append(_jump(x, d, kernel, inside, w))
    ry = np.concatenate(reps_y)
    estimate: dict[str, Any] = {
        "outcome": outcome, "bandwidth": h, "kernel": "triangular", "n_inside": n_in,
        "n_outside": n_out, "n_boot": n_boot, "level": level,
        "flagged": _interval(jump_y, ry, q),
    }
    if d is not None:
        rd = np.concatenate(reps_d)
        estimate["support_share"] = _interval(jump_d, rd, q)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.abs(rd) >= 0.05, ry / rd, np.nan)
        point = jump_y / jump_d if abs(jump_d) >= 0.05 else np.nan
        estimate["supported"] = _interval(point, ratio, q)
        if not abs(jump_d) >= 0.05:
            estimate["supported"]["note"] = (
                "the share supported barely changes at the cut-off: no effect of the support "
                "can be read from it")
    return CutoffEstimate(estimate)


def _interval(point: float, reps: np.ndarray, q) -> dict[str, float]:
    low, high = bootstrap_quantiles(reps, q, min_valid_share=0.9)
    return {"estimate": float(point), "low": float(low), "high": float(high),
            "width": float(high - low)}


def _jump(x, y, kernel, inside, w):
    """Local linear intercepts at the cut-off: inside minus outside (per replicate if weighted)."""
    out = []
    for side in (inside, ~inside):
        k = kernel[side] if w is None else kernel[side] * w[:, side]
        k = np.atleast_2d(k)
        xs, ys = x[side], y[side]
        s0, s1, s2 = k.sum(1), k @ xs, k @ (xs * xs)
        t0, t1 = k @ ys, k @ (xs * ys)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append((s2 * t0 - s1 * t1) / (s0 * s2 - s1 * s1))
    jump = out[0] - out[1]
    return float(jump[0]) if w is None else jump
