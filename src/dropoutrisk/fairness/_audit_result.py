"""The immutable :class:`Audit`: every cell's measures, intervals, ratios and findings.

It computes everything when it is built (see :mod:`dropoutrisk.fairness._audit` for the rules).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied
from dropoutrisk.errors import (
    AlignmentError,
    DataQualityWarning,
    EmptyTableError,
    InvalidCategoryError,
    OutOfRangeError,
    ParameterError,
)
from dropoutrisk.fairness._bootstrap import (
    MEASURES,
    CellData,
    cell_measures,
    stratified_weights,
)
from dropoutrisk.fairness._cells import (
    BAND,
    DISPARITY_METRICS,
    SEP,
    _cell_name,
    _finite_quantiles,
    _labels_of,
    _level_key,
    _point_estimates,
    _records,
)
from dropoutrisk.fairness._suppress import MIN_CELL, complementary_suppression, sums_of

__all__ = ["MIN_EVENTS", "Audit"]

#: A rate needs at least this many events in its denominator to be judged: dropouts
#: for TPR (and ECE, ROC-AUC), flags for precision, non-dropouts for FPR.
MIN_EVENTS = 10

_TOO_FEW = {
    "dropouts": "too few dropouts to judge",
    "non_dropouts": "too few non-dropouts to judge",
    "flagged": "too few flags to judge",
}
_NEEDS = {"dropouts": ("tpr", "ece", "roc_auc"), "non_dropouts": ("fpr", "roc_auc"),
          "flagged": ("precision",)}
_RATIO_COLUMNS = ["kind", "grouping", "group", "reference", "metric", "ratio", "ratio_lo",
                  "ratio_hi", "judged", "note", "outside_band", "excludes_parity", "finding",
                  "suppressed"]


def _events(rows: np.ndarray, y: np.ndarray, f: np.ndarray) -> dict[str, int]:
    dropouts, flagged = int(y[rows].sum()), int(f[rows].sum())
    return {"dropouts": dropouts, "non_dropouts": int(rows.size) - dropouts,
            "flagged": flagged}


def _too_few(events: Mapping[str, int], min_events: int) -> list[tuple[str, tuple[str, ...]]]:
    """The measures a cell cannot judge, with the reason, e.g. too few dropouts for TPR."""
    return [(_TOO_FEW[e], _NEEDS[e]) for e in _TOO_FEW if events[e] < min_events]


def _spread(lo: float, hi: float) -> bool:
    """Whether an interval is finite and has a width (not all replicates alike)."""
    return bool(np.isfinite(lo) and np.isfinite(hi) and hi - lo > 1e-9 * max(1.0, abs(hi)))


def _paired_ratio(rec: dict[str, Any], points: tuple[float, float],
                  reps: tuple[np.ndarray, np.ndarray], q: tuple[float, float],
                  zero_note: str) -> str:
    """Put ``points[0] / points[1]`` and the percentile interval of the replicates'
    ratios into ``rec``; return why not ("" when done)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        point = np.float64(points[0]) / np.float64(points[1])
        rr = reps[0] / reps[1]
    lo = hi = np.nan
    if rr.size:
        lo, hi = (float(v) for v in _finite_quantiles(rr, q))
    if not np.isfinite(point):
        return zero_note
    if rr.size and not _spread(lo, hi):
        return "too few events for an interval"
    rec["ratio"], rec["ratio_lo"], rec["ratio_hi"] = float(point), lo, hi
    return ""


def _judge(rec: dict[str, Any], note: str) -> None:
    """A ratio is judged when it has enough events and a finite interval with spread; a
    finding is a judged ratio outside the band whose interval excludes parity."""
    judged = not note
    ratio, lo, hi = rec["ratio"], rec["ratio_lo"], rec["ratio_hi"]
    rec["judged"] = judged
    rec["note"] = note
    rec["outside_band"] = bool(judged and not BAND[0] <= ratio <= BAND[1])
    rec["excludes_parity"] = bool(judged and (lo > 1 or hi < 1))
    rec["finding"] = rec["outside_band"] and rec["excludes_parity"]


def _suppression_table(keys, counts, reasons, min_cell) -> pd.DataFrame:
    """What was withheld and why; no count of a withheld cell."""
    relations = sums_of(keys)
    small = {keys.index(k) for k, r in reasons.items() if r == "small cell"}
    records = []
    for k, reason in reasons.items():
        grouping, group = _cell_name(k)
        if reason == "small cell":
            why = f"fewer than {min_cell} students"
        else:
            i = keys.index(k)
            near = sorted({m for parent, children in relations if i in (parent, *children)
                           for m in (parent, *children) if m in small},
                          key=lambda m: (len(keys[m]), m))
            names = ", ".join(" = ".join(_cell_name(keys[m])) for m in near[:3])
            why = ("withheld so that the small cell" + ("s " if len(near) > 1 else " ")
                   + names + " cannot be recomputed from the published totals"
                   if near else "withheld so that the small cells of this table cannot be "
                   "recomputed from the published totals")
        records.append({"grouping": grouping, "group": group, "level": len(k),
                        "reason": reason, "why": why})
    frame = pd.DataFrame.from_records(records, columns=["grouping", "group", "level",
                                                        "reason", "why"])
    return frame.sort_values(["level", "reason"], kind="stable").reset_index(drop=True)


class Audit(Result):
    """Fairness audit at an operating point, by group and by intersection.

    Build it with :func:`audit`, or directly from scores and flags. All the
    work happens here, once; the object is immutable and its properties
    return copies. Suppressed cells' counts are never stored.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Observed outcome, 1 for dropout. Rows where it is missing
        (censored students) are dropped with a :class:`DataQualityWarning`.
    y_score : array-like of shape (n,)
        Predicted probability of dropout.
    flags : array-like of bool of shape (n,)
        Whether each row is flagged at the operating point.
    groups : DataFrame
        One column per audit grouping, aligned with the rows.
    intersections : bool or int, default=True
        Also audit intersections of 2..k groupings (k = all of them, or the
        given int).
    reference : "largest", "overall" or mapping, default="largest"
        The reference cell of each grouping for disparity ratios (see the
        module docstring). A mapping goes from grouping name (``"gender"``,
        ``"gender × newly_arrived"``) to group (``"F"``, ``"F × 1"``);
        unnamed groupings use the largest cell.
    metrics : sequence of str, default=DISPARITY_METRICS
        Measures compared in ratios.
    n_boot : int, default=1000
        Bootstrap replicates; 0 skips intervals.
    confidence : float, default=0.95
    random_state : int or None
        Seed of the bootstrap.
    min_cell : int, default=10
        Cells with fewer students are suppressed.
    n_bins : int, default=10
        Bins for ECE and calibration curves.
    operating_point : str, default="precomputed flags"
        A description of how ``flags`` were made, for the outputs.
    operating_point_source : str, default="given"
        Why this operating point (given, or the one a bundle records for
        ``predict``), for the outputs.
    clusters : array-like of shape (n,), optional
        A cluster label per row (the student id when a student has several
        ``as_of`` snapshots). The bootstrap then resamples whole clusters,
        within the stratum of each cluster's first row, so that a student's
        correlated snapshots do not make the intervals too narrow.
    min_events : int, default=10
        A rate is only judged with at least this many events in its
        denominator: dropouts for TPR, ECE, ROC-AUC and calibration, flags
        for precision, non-dropouts for FPR. Otherwise the measure, its
        interval and its ratios are NaN and ``note`` says "too few dropouts
        to judge" (or flags, non-dropouts).
    suppress_empty : bool, default=False
        Treat empty cells as small cells (see
        :func:`~dropoutrisk.fairness._suppress.complementary_suppression`);
        by default they are published with ``n`` 0.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> g = pd.DataFrame({"gender": rng.choice(["F", "M"], 400)})
    >>> y = rng.random(400) < 0.2
    >>> s = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.1, 400), 0.01, 0.99)
    >>> a = Audit(y_true=y, y_score=s, flags=s >= 0.3, groups=g, n_boot=50,
    ...           random_state=0)
    >>> a.by_group[["grouping", "group", "n"]].to_dict("records")
    [{'grouping': 'gender', 'group': 'F', 'n': 179}, {'grouping': 'gender', 'group': 'M', 'n': 221}]
    >>> list(a.disparities.columns[:5])
    ['kind', 'grouping', 'group', 'reference', 'metric']
    >>> a.calibration[["group", "judged", "finding"]].to_dict("records")
    [{'group': 'F', 'judged': True, 'finding': False}, {'group': 'M', 'judged': True, 'finding': False}]
    """

    __slots__ = ("_calibration", "_cells", "_curves", "_disparities", "_params",
                 "_suppression")
    _remedy = "build a new one with audit(...)."

    def __init__(
        self,
        *,
        y_true: Any,
        y_score: Any,
        flags: Any,
        groups: pd.DataFrame,
        intersections: bool | int = True,
        reference: str | Mapping[str, str] = "largest",
        metrics: Sequence[str] = DISPARITY_METRICS,
        n_boot: int = 1000,
        confidence: float = 0.95,
        random_state: int | None = None,
        min_cell: int = MIN_CELL,
        n_bins: int = 10,
        operating_point: str = "precomputed flags",
        operating_point_source: str = "given",
        clusters: Any = None,
        min_events: int = MIN_EVENTS,
        suppress_empty: bool = False,
    ) -> None:
        y, s, f, g, keep = self._validate(y_true, y_score, flags, groups)
        cluster_codes = None
        if clusters is not None:
            labels = pd.Series(np.asarray(clusters, dtype=object).ravel())
            if len(labels) != keep.size:
                raise AlignmentError(
                    table="clusters", problem="a length that does not match the rows",
                    allowed=f"one cluster label per row ({keep.size})",
                    fix="Pass the student id of each row.",
                )
            cluster_codes = pd.factorize(labels[keep])[0]
        unknown = [m for m in metrics if m not in MEASURES]
        if unknown:
            raise ParameterError(parameter="metrics", message=
                f"metrics={list(metrics)!r}: unknown {unknown}; allowed: {MEASURES}.")
        if not 0 < confidence < 1:
            raise ParameterError(parameter="confidence", message=
                f"confidence={confidence!r} must lie strictly between 0 and 1.")
        if int(n_boot) != n_boot or n_boot < 0:
            raise ParameterError(parameter="n_boot", message=
                f"n_boot={n_boot!r} must be a whole number >= 0.")
        if int(min_events) != min_events or min_events < 1:
            raise ParameterError(parameter="min_events", message=
                f"min_events={min_events!r} must be a whole number >= 1 (default {MIN_EVENTS}).")
        if isinstance(reference, str) and reference not in ("largest", "overall"):
            raise ParameterError(parameter="reference", message=
                f"reference={reference!r} must be 'largest', 'overall' or a mapping "
                "{grouping: group}."
            )
        variables = list(g.columns)
        k_max = len(variables) if intersections is True else int(intersections or 1)
        k_max = max(1, min(k_max, len(variables)))
        groupings: list[tuple[str, ...]] = [()]
        for k in range(1, k_max + 1):
            groupings.extend(itertools.combinations(variables, k))

        levels = {v: sorted(g[v].unique(), key=_level_key) for v in variables}
        keys: list[tuple[tuple[str, str], ...]] = []
        rows: list[np.ndarray] = []
        points: list[dict[str, float]] = []
        empty = np.zeros(0, dtype=np.intp)
        nan_point = dict.fromkeys(MEASURES, np.nan)
        for grouping in groupings:
            if grouping:
                indices = g.groupby(list(grouping), sort=False).indices
                # MetricFrame for groups; intersections (2**k - 1 - k groupings, each
                # a MetricFrame costing ~0.3 s) use the bootstrap kernel with unit
                # weights, which the tests check against MetricFrame.
                by_group = (
                    _point_estimates(y, s, f, g[list(grouping)], n_bins)
                    if len(grouping) == 1 else None
                )
                combos = itertools.product(*(levels[v] for v in grouping))
            else:
                indices = {(): np.arange(y.size)}
                overall = _point_estimates(y, s, f, None, n_bins)
                combos = iter([()])
            for combo in combos:
                lookup = combo[0] if len(combo) == 1 else combo
                idx = indices.get(lookup, empty)
                keys.append(tuple(zip(grouping, combo, strict=True)))
                rows.append(np.asarray(idx, dtype=np.intp))
                if not grouping:
                    points.append({m: float(overall[m]) for m in MEASURES})
                elif len(idx) and by_group is not None:
                    rec = by_group.loc[lookup]
                    points.append({m: float(rec[m]) for m in MEASURES})
                elif len(idx):
                    unit = CellData(np.asarray(idx, dtype=np.intp), y, s, f, n_bins)
                    res = cell_measures(unit, np.ones((1, unit.rows.size)))
                    points.append({m: float(res[m][0]) for m in MEASURES})
                else:
                    points.append(dict(nan_point))

        counts = {k: int(r.size) for k, r in zip(keys, rows, strict=True)}
        reasons = complementary_suppression(counts, min_cell=min_cell,
                                            suppress_empty=suppress_empty)
        events = {k: _events(r, y, f) for k, r in zip(keys, rows, strict=True)}

        # Bootstrap every published, non-empty cell in one pass over the replicates.
        alpha = (1 - confidence) / 2
        q = (alpha, 1 - alpha)
        cell_data = [
            CellData(r, y, s, f, n_bins) if (r.size and k not in reasons) else None
            for k, r in zip(keys, rows, strict=True)
        ]
        reps = np.full((len(keys), len(MEASURES), n_boot), np.nan)
        if n_boot:
            from threadpoolctl import threadpool_limits

            atoms = g.groupby(variables, sort=False).ngroup().to_numpy()
            if cluster_codes is not None:  # resample clusters (students), not rows
                first = np.unique(cluster_codes, return_index=True)[1]
                unit_atoms, expand = atoms[first], cluster_codes
            else:
                unit_atoms, expand = atoms, None
            rng = np.random.default_rng(random_state)
            done = 0
            with threadpool_limits(limits=1):  # many small products: threads only contend
                for weights in stratified_weights(unit_atoms, n_boot, rng):
                    weights = weights.astype(np.float64)
                    if expand is not None:
                        weights = weights[:, expand]
                    b = weights.shape[0]
                    for i, cell in enumerate(cell_data):
                        if cell is None:
                            continue
                        res = cell_measures(cell, weights[:, cell.rows])
                        for j, m in enumerate(MEASURES):
                            reps[i, j, done : done + b] = res[m]
                    done += b
        intervals = _finite_quantiles(reps, q) if n_boot else np.full((len(keys), len(MEASURES), 2), np.nan)

        # Cells table: suppressed cells lose their count and every measure here.
        records = []
        for i, key in enumerate(keys):
            grouping, group = _cell_name(key)
            reason = reasons.get(key, "")
            rec: dict[str, Any] = {"grouping": grouping, "group": group, "level": len(key)}
            if reason == "small cell":
                rec["n"] = f"<{min_cell}"
            elif reason:
                rec["n"] = "suppressed"
            else:
                rec["n"] = counts[key]
            rec["suppressed"] = bool(reason)
            rec["suppression"] = reason
            hide = bool(reason)
            ev = events[key]
            rec["dropouts"] = np.nan if hide else float(ev["dropouts"])
            rec["flagged"] = np.nan if hide else float(ev["flagged"])
            short = [] if hide or not counts[key] else _too_few(ev, min_events)
            for j, m in enumerate(MEASURES):
                gated = hide or any(m in ms for _, ms in short)
                lo, hi = intervals[i, j]
                if not _spread(lo, hi):  # every replicate alike (0 of n, n of n): no interval
                    lo = hi = np.nan
                rec[m] = np.nan if gated else points[i][m]
                rec[f"{m}_lo"] = np.nan if gated else lo
                rec[f"{m}_hi"] = np.nan if gated else hi
            rec["note"] = "; ".join(f"{text} ({', '.join(ms)})" for text, ms in short)
            records.append(rec)
        cells = pd.DataFrame.from_records(records)
        cells["n"] = cells["n"].astype(object)

        judged = {
            k: set() if (k in reasons or not counts[k]) else
            set(MEASURES) - {m for _, ms in _too_few(events[k], min_events) for m in ms}
            for k in keys
        }
        disparities = self._ratios(
            keys, counts, reasons, points, reps, q, groupings, reference, list(metrics),
            judged, events, min_events,
        )
        calibration = self._calibration_of(keys, counts, reasons, points, reps, q, events,
                                        min_events)
        curves = self._curves_of(keys, cell_data, min_cell)

        params = {
            "groups": variables,
            "intersections": k_max,
            "operating_point": operating_point,
            "operating_point_source": operating_point_source,
            "reference": reference if isinstance(reference, str) else dict(reference),
            "metrics": list(metrics),
            "n_boot": int(n_boot),
            "confidence": float(confidence),
            "random_state": random_state,
            "min_cell": int(min_cell),
            "n_bins": int(n_bins),
            "band": list(BAND),
            "bootstrap_unit": "row" if cluster_codes is None else "cluster",
            "min_events": int(min_events),
            "suppress_empty": bool(suppress_empty),
        }
        suppression = _suppression_table(keys, counts, reasons, min_cell)
        self._set(cells=cells, disparities=disparities, calibration=calibration, curves=curves,
                  params=params, suppression=suppression)

    def __repr__(self) -> str:
        n_find = len(self.findings)
        return (
            f"Audit(groups={self._params['groups']}, operating_point="
            f"{self._params['operating_point']!r}, findings={n_find})"
        )

    # ---- construction helpers --------------------------------------------------------
    @staticmethod
    def _validate(y_true, y_score, flags, groups):
        if isinstance(groups, pd.Series):
            groups = groups.to_frame()
        if not isinstance(groups, pd.DataFrame) or groups.shape[1] == 0:
            raise TypeError("groups must be a DataFrame with one column per audit grouping.")
        y = pd.to_numeric(pd.Series(np.asarray(y_true, dtype=object)), errors="coerce")
        s = np.asarray(y_score, dtype=np.float64).ravel()
        f = np.asarray(flags).ravel()
        n = len(y)
        if not (s.size == f.size == len(groups) == n):
            raise AlignmentError(
                table="audit input", problem="rows that do not line up",
                allowed=f"y_true, y_score, flags and groups of equal length (got {n}, "
                f"{s.size}, {f.size}, {len(groups)})",
                fix="Pass labels, scores, flags and groups for the same rows, in the same order.",
            )
        keep = y.notna().to_numpy()
        if not keep.all():
            warnings.warn(
                f"{int((~keep).sum())} rows without an outcome (censored or unlabelled) "
                "were left out of the audit.",
                DataQualityWarning,
                stacklevel=3,
            )
        y = y.to_numpy(dtype=np.float64)[keep]
        if not np.isin(y, (0.0, 1.0)).all():
            raise InvalidCategoryError(table="labels", problem=
                "y_true must be 0/1 (or boolean): 1 for dropout, 0 otherwise.")
        s = s[keep]
        if not np.isfinite(s).all() or s.min(initial=0) < 0 or s.max(initial=0) > 1:
            raise OutOfRangeError(table="scores", problem=
                "y_score must be probabilities in [0, 1] without missing values.")
        f = f[keep].astype(bool)
        g = groups.reset_index(drop=True).loc[keep].reset_index(drop=True)
        g = pd.DataFrame({str(c): _labels_of(g[c]) for c in g.columns})
        if y.size == 0:
            raise EmptyTableError(table="labels", problem="No labelled rows to audit.")
        return y.astype(np.int8), s, f, g, keep

    @staticmethod
    def _ratios(keys, counts, reasons, points, reps, q, groupings, reference, metrics,
                judged, events, min_events):
        index = {k: i for i, k in enumerate(keys)}
        mpos = {m: j for j, m in enumerate(MEASURES)}
        records = []
        for grouping in groupings:
            if not grouping:
                continue
            name = SEP.join(grouping)
            members = [k for k in keys if tuple(v for v, _ in k) == grouping]
            published = [k for k in members if k not in reasons]
            if reference == "overall":
                ref = ()
            elif isinstance(reference, Mapping) and name in reference:
                wanted = str(reference[name])
                match = [k for k in members if _cell_name(k)[1] == wanted]
                if not match:
                    raise ParameterError(parameter="reference", message=
                        f"reference[{name!r}]={wanted!r} is not a group of {name!r}; "
                        f"groups: {[_cell_name(k)[1] for k in members]}."
                    )
                ref = match[0]
                if ref in reasons:
                    raise ParameterError(parameter="reference", message=
                        f"reference[{name!r}]={wanted!r} is a suppressed (small) cell; "
                        "choose a larger reference group."
                    )
            else:
                ref = max(published, key=lambda k: counts[k], default=None)
            ref_label = "overall" if ref == () else (_cell_name(ref)[1] if ref else "")
            for k in members:
                if k == ref:
                    continue
                hide = k in reasons or ref is None
                for m in metrics:
                    rec = {
                        "kind": "disparity",
                        "grouping": name, "group": _cell_name(k)[1], "reference": ref_label,
                        "metric": m, "ratio": np.nan, "ratio_lo": np.nan, "ratio_hi": np.nan,
                    }
                    note = ""
                    if hide:
                        note = "suppressed" if k in reasons else "no published reference"
                    elif not counts[k]:
                        note = "no students"
                    elif m not in judged[k] or m not in judged[ref]:
                        short = _too_few(events[k if m not in judged[k] else ref], min_events)
                        text = next(t for t, ms in short if m in ms)
                        note = text if m not in judged[k] else f"{text} in the reference"
                    else:
                        i, r, j = index[k], index[ref], mpos[m]
                        note = _paired_ratio(rec, (points[i][m], points[r][m]),
                                             (reps[i, j], reps[r, j]), q,
                                             "the reference rate is 0")
                    _judge(rec, note)
                    rec["suppressed"] = hide
                    records.append(rec)
        return pd.DataFrame.from_records(records, columns=_RATIO_COLUMNS)

    @staticmethod
    def _calibration_of(keys, counts, reasons, points, reps, q, events, min_events):
        """Observed over mean predicted dropout rate per published cell (calibration in
        the large), with its paired bootstrap interval."""
        b, p = MEASURES.index("base_rate"), MEASURES.index("mean_predicted")
        records = []
        for i, key in enumerate(keys):
            if not key:
                continue
            grouping, group = _cell_name(key)
            rec = {"kind": "calibration", "grouping": grouping, "group": group,
                   "reference": "predicted", "metric": "calibration", "ratio": np.nan,
                   "ratio_lo": np.nan, "ratio_hi": np.nan}
            note = ""
            if key in reasons:
                note = "suppressed"
            elif not counts[key]:
                note = "no students"
            elif events[key]["dropouts"] < min_events:
                note = _TOO_FEW["dropouts"]
            else:
                note = _paired_ratio(rec, (points[i]["base_rate"], points[i]["mean_predicted"]),
                                     (reps[i, b], reps[i, p]), q,
                                     "the mean predicted probability is 0")
            rec["observed"] = np.nan if key in reasons else points[i]["base_rate"]
            rec["predicted"] = np.nan if key in reasons else points[i]["mean_predicted"]
            _judge(rec, note)
            rec["suppressed"] = key in reasons
            records.append(rec)
        return pd.DataFrame.from_records(
            records, columns=[*_RATIO_COLUMNS[:8], "observed", "predicted", *_RATIO_COLUMNS[8:]])

    @staticmethod
    def _curves_of(keys, cell_data, min_cell):
        curves = []
        for key, cell in zip(keys, cell_data, strict=True):
            if cell is None:
                continue
            onehot = cell.bin_onehot
            count = onehot.sum(axis=0)
            keep = count >= min_cell
            with np.errstate(invalid="ignore", divide="ignore"):
                pred = (cell.score @ onehot) / count
                obs = (cell.y @ onehot) / count
            grouping, group = _cell_name(key)
            curves.append({
                "grouping": grouping, "group": group,
                "mean_predicted": [float(v) for v in pred[keep]],
                "observed": [float(v) for v in obs[keep]],
            })
        return curves

    # ---- results ---------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """The settings the audit ran with."""
        return to_jsonable(self._params)

    @property
    def overall(self) -> pd.Series:
        """Measures and intervals for everyone, with ``n``."""
        row = self._cells[self._cells["level"] == 0].iloc[0]
        return copied(row.drop(["grouping", "group", "level", "suppressed", "suppression"]))

    @property
    def by_group(self) -> pd.DataFrame:
        """One row per group of each grouping: ``n``, measures, ``<measure>_lo/_hi``.

        Suppressed cells have ``n`` ``"<10"`` (or ``"suppressed"`` for
        complementary suppression), NaN measures and ``suppressed=True``.
        """
        return copied(self._cells[self._cells["level"] == 1].reset_index(drop=True))

    @property
    def by_intersection(self) -> pd.DataFrame:
        """Like :attr:`by_group`, for every intersection of two or more groupings."""
        return copied(self._cells[self._cells["level"] >= 2].reset_index(drop=True))

    disparities = Part[pd.DataFrame](
        "Every disparity ratio against its grouping's reference, with its interval.")

    calibration = Part[pd.DataFrame](
        """Calibration in the large per cell: observed over mean predicted dropout rate.

        One row per group and intersection: ``observed`` (the base rate),
        ``predicted`` (the mean predicted probability), ``ratio`` (observed /
        predicted; above 1 the model under-predicts the group's risk) with
        its paired bootstrap interval, and the same ``judged``, ``note``,
        ``outside_band``, ``excludes_parity`` and ``finding`` columns as
        :attr:`disparities`. A cell with fewer than ``min_events`` dropouts
        is not judged (``note`` says so).
        """)

    @property
    def findings(self) -> pd.DataFrame:
        """Disparity and calibration findings, largest departure from parity first.

        A finding is a ratio (a cell's rate over its reference's, or a cell's
        observed over predicted dropout rate, ``kind="calibration"``) that
        has enough events to be judged, lies outside ``[0.8, 1.25]`` and
        whose bootstrap interval excludes 1.
        """
        cal = self._calibration.drop(columns=["observed", "predicted"])
        d = pd.concat([self._disparities, cal], ignore_index=True)
        d = d[d["finding"].astype(bool)].copy()
        order = np.abs(np.log(d["ratio"].astype(float)))
        d = d.assign(_o=order).sort_values("_o", ascending=False, kind="stable")
        return d.drop(columns="_o").reset_index(drop=True)

    suppression = Part[pd.DataFrame](
        """Every withheld cell and why: ``reason`` is ``"small cell"`` (fewer than
        ``min_cell`` students) or ``"complementary"`` (withheld so that a small cell
        cannot be recomputed from the published totals; ``why`` names it).""")

    calibration_curves = Part(
        "Per published cell, bin means of predicted and observed (bins with >= min_cell).",
        attr="_curves")

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-safe Python: NaN -> None, infinity -> ``"inf"``."""
        return {
            "schema": "dropoutrisk.audit/1",
            "params": self.params,
            "rules": {
                "finding": "a ratio (a group's rate over its reference group's, or a group's "
                "observed over mean predicted dropout rate) outside [0.8, 1.25] whose "
                "bootstrap interval excludes 1, with enough events to judge",
                "events": f"a rate is judged with at least {self._params['min_events']} events "
                "in its denominator: dropouts for TPR, ECE, ROC-AUC and calibration, flags "
                "for precision, non-dropouts for FPR; otherwise it is null with a note",
                "reference": "largest published group of each grouping unless set",
                "suppression": f"cells with 1 to {self._params['min_cell'] - 1} students"
                + (" (and empty cells)" if self._params["suppress_empty"] else "")
                + " and only the complementary cells that would let them be recomputed from "
                "the published totals are suppressed in every output",
            },
            "overall": _records(self._cells[self._cells["level"] == 0])[0],
            "by_group": _records(self.by_group),
            "by_intersection": _records(self.by_intersection),
            "disparities": _records(self._disparities),
            "calibration": _records(self._calibration),
            "findings": _records(self.findings),
            "suppression": _records(self._suppression),
            "calibration_curves": self.calibration_curves,
        }

    def to_html(self, *, title: str = "Fairness audit") -> str:
        """A self-contained HTML page: the verdict first (what was checked, at which operating
        point, what was found, in English and Swedish), then tables and plots (inline SVG)."""
        from dropoutrisk.fairness._html import render_html

        return render_html(self, title=title)

    def plot_calibration(self, grouping: str | None = None, *, ax: Any = None) -> Any:
        """Calibration curves of each published group of ``grouping``; returns the Axes."""
        from dropoutrisk.fairness._plots import plot_calibration

        return plot_calibration(self, grouping, ax=ax)

    def plot_rates(
        self, metric: str = "flag_rate", grouping: str | None = None, *, ax: Any = None
    ) -> Any:
        """Bars of ``metric`` by group with interval error bars; returns the Axes."""
        from dropoutrisk.fairness._plots import plot_rates

        return plot_rates(self, metric, grouping, ax=ax)
