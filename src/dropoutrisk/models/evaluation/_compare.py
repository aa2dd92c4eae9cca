"""compare_models(): a new model against the previous one, with paired bootstrap intervals.

A difference in recall of 0.003 on 3,000 dropouts is noise. :func:`compare_models`
scores every model on the same labelled rows, computes the metrics of
:func:`~dropoutrisk.models.evaluate`, and puts an interval on each metric and
on each model's difference from a reference model.

**Paired cluster bootstrap.** A replicate draws as many students as there
are, with replacement, and weights each row by how often its student was
drawn: all snapshots of a student go in or out together, so a student seen
at three ``as_of`` dates does not count as three independent rows. Every
model is measured on the same draws, so the differences are paired and the
noise the models share cancels out. The cluster is ``groups`` when given,
else the index of ``X`` when it is named ``student_id`` (or has such a
level), else the row.

**What the intervals cover.** Percentile intervals of ``n_boot`` replicates.
They cover the sampling of students from the population the test rows come
from; not the randomness of training (another seed, another training
cohort), nor a change of population (the next cohort). The flags behind
precision@k and recall@k are fixed from the full sample (the top share of
each snapshot); a replicate re-weights those flags and does not re-estimate
the per-snapshot threshold, so those intervals are conditional on the
flagged set. With few students (below a few hundred) or few dropouts,
percentile intervals are too narrow.

``p_not_better`` is the share of replicates in which a model is not better
than the reference (a tie counts as not better): a bootstrap summary, not a
calibrated p-value. With several models and metrics, some comparisons will
look convincing by chance.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied
from dropoutrisk.errors import (
    AlignmentError,
    MissingValueError,
    OperatingPointError,
    ParameterError,
)
from dropoutrisk.models._operating_point import OperatingPoint
from dropoutrisk.models.evaluation._bootstrap import (
    _divide,
    _draw_counts,
    _Kernel,
    _metric_names,
    bootstrap_quantiles,
)
from dropoutrisk.models.evaluation._changes import (
    ALL_SCHOOLS,
    REASON_DEPTH,
    check_reasons,
    flag_changes,
    reason_agreement,
)
from dropoutrisk.models.evaluation._evaluate import _pct, _scored_rows
from dropoutrisk.models.evaluation._metrics import top_fraction_flags

__all__ = ["ModelComparison", "compare_models"]

#: Metrics where a lower value is better; higher is better for all others.
_LOWER_IS_BETTER = frozenset({"brier", "log_loss"})
#: Replicate x row cells held in memory at once (about 32 MB of float64).
_MAX_CELLS = 1 << 22


class ModelComparison(Result):
    """Immutable paired comparison of models on the same labelled rows.

    Build it with :func:`compare_models`. Properties return copies of plain
    DataFrames; :meth:`to_dict` and :meth:`to_json` hold aggregates only,
    never a student id or a row.
    """

    __slots__ = ("_changes", "_differences", "_intervals", "_metrics", "_settings",
                 "_stability")
    _remedy = "call compare_models() again to recompute."

    def __init__(self, *, metrics: pd.DataFrame, intervals: pd.DataFrame,
                 differences: pd.DataFrame, settings: Mapping[str, Any],
                 changes: pd.DataFrame | None = None,
                 stability: pd.DataFrame | None = None) -> None:
        self._set(metrics=metrics, intervals=intervals, differences=differences,
                  settings=copied(dict(settings)),
                  changes=_empty_changes() if changes is None else changes,
                  stability=_empty_stability() if stability is None else stability)

    def __repr__(self) -> str:
        s = self._settings
        others = [m for m in self.models if m != s["reference"]]
        return (f"ModelComparison(reference={s['reference']!r}, models={others!r}, "
                f"n_rows={s['n_rows']}, n_clusters={s['n_clusters']} "
                f"({s['bootstrap_unit']}), n_boot={s['n_boot']}, "
                f"confidence={s['confidence']:g})")

    @property
    def models(self) -> list[str]:
        """Names of the compared models, in the order given."""
        return list(self._metrics.index)

    reference = Part[str](
        "The model every other model is compared with.",
        attr="_settings", key="reference", convert=str)

    n_boot = Part[int](
        "Bootstrap replicates (0: no intervals).", attr="_settings", key="n_boot", convert=int)

    confidence = Part[float](
        "Coverage of the percentile intervals.", attr="_settings", key="confidence", convert=float)

    n_clusters = Part[int](
        "Units resampled by the bootstrap: students (or ``groups``), else rows.",
        attr="_settings", key="n_clusters", convert=int)

    settings = Part[dict[str, Any]](
        "The settings the comparison ran with, and the sizes of the data.")

    metrics = Part[pd.DataFrame](
        """Point estimates: one row per model, one column per metric.

        Brier and log loss are NaN for a model without probabilities in [0, 1].
        """)

    intervals = Part[pd.DataFrame](
        "Long table: model, metric, estimate, ci_low, ci_high (percentile bootstrap).")

    differences = Part[pd.DataFrame](
        """Long table, one row per model other than the reference and per metric.

        Columns: model, reference, metric, difference (model - reference),
        ci_low, ci_high, ratio (model / reference), ratio_ci_low,
        ratio_ci_high and p_not_better, the share of replicates where the
        model is not better than the reference ("better" is higher, or lower
        for Brier and log loss; a tie is not better).
        """)

    flag_changes = Part[pd.DataFrame](
        """Flags that changed, by school, for each model against the reference.

        One row per model other than the reference and per school, plus a
        totals row per model (``school_id`` ``"(all schools)"``), at the
        comparison's flag rate (the top share of each snapshot). Columns:
        model, reference, school_id, ``n_rows`` (the school's snapshot rows),
        ``still_flagged`` (flagged by both), ``newly_flagged`` (by the model
        only), ``no_longer_flagged`` (by the reference only) and
        ``suppressed``, what was withheld and why. Counts from 1 to 9, every
        count of a school with fewer than 10 rows, and the complementary
        cell that would give one back by subtraction from the total are
        ``<NA>``. No student id is in it. Without school ids (``schools=``
        or a ``school_id`` column of ``X``), only the totals rows.
        """, attr="_changes")

    reason_stability = Part[pd.DataFrame](
        """Whether students flagged by both models keep their top three reasons.

        One row per model other than the reference for which ``reasons`` of
        both were given. Columns: model, reference, ``n_flagged_both``
        (snapshot rows flagged by both), ``n_without_reasons`` (of those,
        rows where neither model narrates a reason; left out), ``n_compared``,
        and three shares of the compared rows with their bootstrap intervals:
        ``same_set`` (the same set of top-3 reason codes, order ignored: the
        reason stability), ``same_order`` (the same codes in the same ranks)
        and ``same_first`` (the same first reason). The shares are NaN when
        fewer than 10 rows are compared. Empty without ``reasons``.
        """, attr="_stability")

    def changes_summary(self, model: str | None = None) -> str:
        """Changed flags by school and reason stability, as lines for a person to read.

        Parameters
        ----------
        model : str, optional
            Only this model against the reference; default every model.

        Returns
        -------
        str
            For each model against the reference: one line per school
            (``<10`` for a suppressed count) and the totals, then the reason
            stability with its interval.
        """
        if model is not None and model not in self.models:
            raise ParameterError(parameter="model", message=
                f"model={model!r} is not one of the compared models {self.models}.")
        lines = []
        c = self._changes
        stability = self._stability
        if model is not None:
            c, stability = c[c["model"] == model], stability[stability["model"] == model]
        for name in dict.fromkeys(c["model"]):
            part = c[c["model"] == name]
            lines.append(f"{name} vs {part['reference'].iloc[0]}: flags at the top "
                         f"{self._settings['flag_rate']:.0%} of each snapshot, counted in "
                         "snapshot rows")
            width = max(len(str(s)) for s in part["school_id"])
            lines.append(f"  {'school':<{width}}  {'rows':>6}  {'kept':>6}  {'new':>6}  "
                         f"{'dropped':>7}")
            for r in part.itertuples(index=False):
                cells = [_count_text(v) for v in (r.n_rows, r.still_flagged, r.newly_flagged,
                                                   r.no_longer_flagged)]
                lines.append(f"  {r.school_id:<{width}}  {cells[0]:>6}  {cells[1]:>6}  "
                             f"{cells[2]:>6}  {cells[3]:>7}")
        for r in stability.itertuples(index=False):
            head = (f"{r.model} vs {r.reference}: reason stability (same top-{REASON_DEPTH} "
                    f"reason codes, order ignored) among {r.n_compared} rows flagged by both")
            if math.isnan(r.same_set):
                lines.append(head + ": not computed (fewer than 10 rows)")
                continue
            interval = ("" if math.isnan(r.same_set_ci_low)
                        else f" [{r.same_set_ci_low:.1%}, {r.same_set_ci_high:.1%}]")
            lines.append(f"{head}: {r.same_set:.1%}{interval}; same order {r.same_order:.1%}, "
                         f"same first reason {r.same_first:.1%}")
        return "\n".join(lines)

    def summary(self, metrics: Sequence[str] | None = None) -> str:
        """One line per model and metric: the difference from the reference and its interval.

        Parameters
        ----------
        metrics : sequence of str, optional
            Only these metrics; default all.

        Returns
        -------
        str
            Lines such as ``"model vs logistic: recall_at_10pct +0.0123 [+0.0040, +0.0210]"``;
            ``n/a`` where a metric is undefined (Brier and log loss without
            probabilities).
        """
        d = self._differences
        if isinstance(metrics, str):
            metrics = [metrics]
        if metrics is not None:
            unknown = sorted(set(metrics) - set(d["metric"]))
            if unknown:
                raise ParameterError(parameter="metrics", message=
                    f"summary(metrics=...) has unknown metrics {unknown}; choose "
                                 f"from {list(dict.fromkeys(d['metric']))}.")
            d = d[d["metric"].isin(list(metrics))]
        lines = []
        for r in d.itertuples(index=False):
            head = f"{r.model} vs {r.reference}: {r.metric} "
            if math.isnan(r.difference):
                lines.append(head + "n/a")
            elif math.isnan(r.ci_low):
                lines.append(head + f"{r.difference:+.4f} (no interval)")
            else:
                lines.append(head + f"{r.difference:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}]")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Settings, point estimates, intervals and differences as plain Python (NaN -> None)."""
        return to_jsonable({
            "settings": self._settings,
            "metrics": self._metrics.to_dict(orient="index"),
            "intervals": self._intervals.to_dict(orient="records"),
            "differences": self._differences.to_dict(orient="records"),
            "flag_changes": self._changes.astype(object).where(
                self._changes.notna(), None).to_dict(orient="records"),
            "reason_stability": self._stability.to_dict(orient="records"),
        })

    def plot_differences(self, metrics: Sequence[str] | None = None, *, ax: Any = None):
        """Each model's difference from the reference, with its interval, per metric.

        Returns the matplotlib Axes (``ax.figure.savefig(...)`` to save).
        """
        d = self._differences
        if metrics is not None:
            d = d[d["metric"].isin(list(metrics))]
        d = d.dropna(subset=["difference"])
        if ax is None:
            from matplotlib.figure import Figure  # object API: renders with Agg, no pyplot state

            ax = Figure(figsize=(6, 0.35 * len(d) + 1.5)).subplots()
        y = np.arange(len(d))[::-1]
        low = (d["difference"] - d["ci_low"]).to_numpy()
        high = (d["ci_high"] - d["difference"]).to_numpy()
        ax.errorbar(d["difference"], y, xerr=np.vstack([low, high]), fmt="o", capsize=3)
        ax.axvline(0.0, color="0.6", linestyle=":")
        ax.set_yticks(y, [f"{m}: {k}" for m, k in zip(d["model"], d["metric"], strict=True)])
        ax.set_xlabel(f"difference from {self.reference} "
                      f"({self.confidence:.0%} paired bootstrap interval)")
        ax.set_title("Model comparison")
        return ax


def _flag_rate_of(operating_point: Any, flag_rate: Any) -> float:
    """The flag rate of the operating point (default 0.10): comparisons are at a share."""
    point = OperatingPoint.from_options(operating_point, flag_rate=flag_rate)
    if point is None:
        return 0.10
    if point.flag_rate is None:
        raise OperatingPointError(
            parameter="operating_point", value=point.describe(),
            problem="compare_models compares models at the same share of each snapshot",
            allowed="an operating point with flag_rate",
            fix="Pass OperatingPoint(flag_rate=0.1), or evaluate() for a threshold or capacity")
    return point.flag_rate


def _check_params(models: Any, reference: Any, flag_rate: Any, k_rates: Any, n_boot: Any,
                  confidence: Any) -> tuple[str, list[float]]:
    if not isinstance(models, Mapping):
        raise TypeError(f"models must be a mapping name -> fitted model or score vector, got "
                        f"{type(models).__name__}; e.g. models={{'logistic': lr, 'model': m}}.")
    if len(models) < 2:
        raise ParameterError(parameter="models", message=
            f"compare_models needs at least 2 models, got {len(models)} "
                         f"({list(models)}); add the previous model or a baseline "
                         "(LogisticBaseline, ABCRule), or use evaluate() for one model.")
    bad_names = [n for n in models if not isinstance(n, str)]
    if bad_names:
        raise TypeError(f"Model names must be strings, got {bad_names!r}.")
    if reference is None:
        reference = next(iter(models))
    if reference not in models:
        raise ParameterError(parameter="reference", message=
            f"reference={reference!r} is not one of the models {list(models)}; "
                         "pass one of their names.")
    rates = []
    for name, rate in [("flag_rate", flag_rate)] + [("k_rates", k) for k in k_rates]:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < rate <= 1:
            raise ParameterError(parameter=name, message=
                f"{name} holds {rate!r}; a flag rate is a share in (0, 1], "
                             "e.g. 0.10 for the top 10% of each snapshot.")
        rates.append(float(rate))
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise ParameterError(parameter="n_boot", message=
            f"n_boot={n_boot!r} must be a whole number >= 0 (1000 is usual; "
                         "0 gives point estimates without intervals).")
    if (isinstance(confidence, bool) or not isinstance(confidence, numbers.Real)
            or not 0 < confidence < 1):
        raise ParameterError(parameter="confidence", message=
            f"confidence={confidence!r} must be strictly between 0 and 1, "
                         "e.g. 0.95 for 95% intervals.")
    by_name: dict[str, float] = {}  # rates that print alike (0.1, 0.1000000001) are one metric
    for rate in sorted(rates):
        by_name.setdefault(_pct(rate), rate)
    return str(reference), sorted(by_name.values())


def _bootstrap_seed(random_state: Any) -> int:
    """An integer seed from an int, a Generator, a RandomState or None."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(parameter="random_state", message=
                f"random_state={random_state!r} must be >= 0.")
        return int(random_state)
    if random_state is None:
        return int(np.random.default_rng().integers(2**32))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**32, dtype=np.int64))
    raise ParameterError(parameter="random_state", message=
        f"random_state={random_state!r} is not supported; pass an int, a "
                     "numpy Generator, a RandomState or None.")


def _check_metrics(metrics: Any, available: list[str]) -> list[str]:
    if metrics is None:
        return list(available)
    wanted = list(dict.fromkeys([metrics] if isinstance(metrics, str) else metrics))
    if not wanted:
        raise ParameterError(parameter="metrics", message=
            f"metrics=[] selects nothing; pass None for all, or some of "
                         f"{available}.")
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise ParameterError(parameter="metrics", message=
            f"metrics={wanted!r} has unknown names {unknown}; choose from "
                         f"{available} (k_rates and flag_rate set the precision_at_ and "
                         "recall_at_ names).")
    return wanted


def _clusters(groups: Any, X: Any, keep: np.ndarray) -> tuple[np.ndarray, str]:
    """Cluster code of each labelled row, and what the cluster is."""
    n_all = keep.size
    if groups is not None:
        labels = np.asarray(groups, dtype=object).ravel()
        if labels.size != n_all:
            raise AlignmentError(
                table="groups", problem=f"{labels.size} cluster labels for {n_all} rows",
                allowed="one label per row of X and y (the student id)",
                fix="Pass groups aligned with the rows, e.g. groups=X.index")
        unit = "groups"
    elif isinstance(X, pd.DataFrame) and "student_id" in (X.index.names or []):
        labels = X.index.get_level_values("student_id").to_numpy()
        unit = "student_id"
    else:
        return np.arange(int(keep.sum())), "row"
    codes, _ = pd.factorize(pd.Series(labels[keep]))
    if (codes < 0).any():
        bad = np.flatnonzero(keep)[codes < 0]
        raise AlignmentError(table=unit, rows=bad[:5].tolist(), n_bad=bad.size,
                             problem="no cluster label", allowed="a student id on every row",
                             fix="Fill the missing ids, or pass groups=")
    return codes, unit


def compare_models(
    models: Mapping[str, Any],
    X: Any = None,
    y: Any = None,
    *,
    reference: str | None = None,
    operating_point: Any = None,
    flag_rate: float | None = None,
    k_rates: Sequence[float] = (0.05, 0.10, 0.20),
    metrics: Sequence[str] | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    groups: Any = None,
    as_of: Any = None,
    schools: Any = None,
    reasons: Mapping[str, Any] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> ModelComparison:
    """Compare models on the same labelled rows, with paired cluster-bootstrap intervals.

    Parameters
    ----------
    models : mapping of str to estimator or array-like
        At least two models: fitted estimators (anything with
        ``predict_proba``; ``decision_function`` ranks when present, as in
        :func:`~dropoutrisk.models.evaluate`) or vectors of probabilities,
        e.g. ``{"previous": old, "model": new, "logistic": lr}``.
    X : DataFrame, optional
        Feature rows for the estimators. Its ``as_of`` column gives the
        snapshots; its index, when named ``student_id``, the bootstrap clusters.
    y : array-like of shape (n,)
        Labels (1 = dropout within the horizon); rows with NaN are left out.
    reference : str, optional
        The model the others are compared with; default the first one.
    operating_point : OperatingPoint or mapping, optional
        The operating point, a flag rate (``OperatingPoint(flag_rate=0.1)``):
        precision and recall at this share of each snapshot are always
        compared (added to ``k_rates`` when missing). Default 0.10.
    flag_rate : float, optional
        The same as ``operating_point=OperatingPoint(flag_rate=...)``.
    k_rates : sequence of float, default=(0.05, 0.10, 0.20)
        Shares of each snapshot for precision@k and recall@k.
    metrics : sequence of str, optional
        The metrics to report, among ``roc_auc``, ``pr_auc``, ``brier``,
        ``log_loss``, ``precision_at_<k>pct`` and ``recall_at_<k>pct``;
        default all.
    n_boot : int, default=1000
        Bootstrap replicates; 0 gives point estimates without intervals
        (interval columns and ``p_not_better`` are NaN).
    confidence : float, default=0.95
        Coverage of the percentile intervals, in (0, 1).
    groups : array-like of shape (n,), optional
        The cluster of each row (resampled together); default ``X``'s
        ``student_id`` index, else each row on its own.
    as_of : array-like of shape (n,), optional
        Snapshot date of each row when ``X`` has no ``as_of`` column.
    schools : array-like of shape (n,), optional
        The school of each row, for :attr:`ModelComparison.flag_changes`;
        default ``X``'s ``school_id`` column. Without either, the changed
        flags are counted for all rows together.
    reasons : mapping of str to DataFrame or array-like, optional
        The top reason codes of each row under some of the models, e.g.
        ``{"previous": reason_codes(old, X), "model": reason_codes(new, X)}``
        (:func:`dropoutrisk.explain.reason_codes`; a frame with
        ``reason_1_code``, ``reason_2_code``, ``reason_3_code`` columns, such
        as ``predict``'s output, or an array of shape (n, 3)). With codes of
        the reference and of another model, :attr:`ModelComparison.reason_stability`
        compares them on the rows flagged by both; only those rows are read.
    random_state : int, Generator, RandomState or None
        Seed of the bootstrap; the same seed gives the same intervals. A
        Generator, RandomState or ``None`` is turned into an integer seed first,
        and ``settings["random_state"]`` records that seed, so every comparison
        can be repeated from its record.

    Returns
    -------
    ModelComparison

    Raises
    ------
    TypeError
        ``models`` that is not a mapping of names.
    ValueError
        Fewer than two models, labels of a single class, an unknown
        reference or metric, ``n_boot < 0`` or ``confidence`` outside (0, 1).
    AlignmentError
        ``groups`` of another length than the rows.

    See Also
    --------
    evaluate : the full set of metrics, plots and lead times for each model.

    Notes
    -----
    The cluster bootstrap, the fixed flags and what the intervals cover are
    described in the module documentation and in ``docs/evaluation.md``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(3000) < 0.1).astype(int)
    >>> def scores(noise):
    ...     return 1 / (1 + np.exp(-(-2.5 + 2 * y + rng.normal(0, noise, y.size))))
    >>> cmp = compare_models({"previous": scores(2.0), "new": scores(1.0)}, y=y,
    ...                      n_boot=200, random_state=0)
    >>> cmp
    ModelComparison(reference='previous', models=['new'], n_rows=3000, n_clusters=3000 (row), n_boot=200, confidence=0.95)
    >>> print(cmp.summary(metrics=["roc_auc", "recall_at_10pct"]))
    new vs previous: roc_auc +0.1288 [+0.0989, +0.1595]
    new vs previous: recall_at_10pct +0.2610 [+0.1858, +0.3378]
    >>> float(cmp.differences.set_index("metric").loc["roc_auc", "p_not_better"])
    0.0
    """
    flag_rate = _flag_rate_of(operating_point, flag_rate)
    reference, k_all = _check_params(models, reference, flag_rate, k_rates, n_boot, confidence)
    wanted = _check_metrics(metrics, _metric_names(k_all))
    if y is None:
        raise ParameterError(parameter="y", message="compare_models needs the labels: pass y=.")
    rows = _scored_rows(models, X, y, as_of=as_of, student_ids=None, caller="compare_models")
    keep, y01 = rows.keep, rows.y01
    scores = {name: (proba[keep], rank[keep]) for name, (proba, rank) in rows.scores.items()}
    for name, (proba, rank) in scores.items():
        bad = int((~np.isfinite(proba) | ~np.isfinite(rank)).sum())
        if bad:
            raise MissingValueError(table="scores", problem=
                f"Model {name!r} gives {bad} missing or infinite scores on "
                             "labelled rows; impute the features it needs or drop those rows.")
    as_of_k = None if rows.as_of is None else rows.as_of[keep]
    clusters, unit = _clusters(groups, X, keep)
    n_clusters = int(clusters.max()) + 1
    flags = {name: {k: top_fraction_flags(rank, k, as_of_k) for k in k_all}
             for name, (_, rank) in scores.items()}
    kernel = _Kernel(y01, clusters, n_clusters, scores, flags, k_all)

    names = list(scores)
    cols = [kernel.metric_names.index(m) for m in wanted]
    at_rate = next(k for k in k_all if _pct(k) == _pct(flag_rate))
    codes = {name: c[keep] for name, c in check_reasons(reasons, names, keep.size).items()}
    stability = _Stability(reference, {n: f[at_rate] for n, f in flags.items()}, codes,
                           clusters, n_clusters)

    point = kernel(np.ones((1, n_clusters)))[0][:, cols]
    reps = np.empty((n_boot, len(names), len(cols)))
    stability_reps = np.empty((n_boot, stability.sums.shape[1]))
    seed = _bootstrap_seed(random_state)
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CELLS // max(y01.size, n_clusters))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = _draw_counts(rng, n_clusters, size)  # the same draws for metrics and reasons
        reps[start:start + size] = kernel(draws)[:, :, cols]
        stability_reps[start:start + size] = draws @ stability.sums
    undefined = np.isnan(reps) & ~np.isnan(point)[None]
    if undefined.any():
        warnings.warn(
            f"{int(undefined.any(axis=(1, 2)).sum())} of {n_boot} bootstrap replicates left a "
            "metric undefined (no dropouts, or no flags, among the drawn students); its "
            "interval uses the other replicates. Compare on more students.",
            UserWarning, stacklevel=2)

    alpha = (1 - confidence) / 2
    qs = (alpha, 1 - alpha)
    ref = names.index(reference)
    ci = bootstrap_quantiles(reps, qs)
    diff = reps - reps[:, [ref]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_reps = reps / reps[:, [ref]]
        ratio_point = point / point[[ref]]
    diff_ci, ratio_ci = bootstrap_quantiles(diff, qs), bootstrap_quantiles(ratio_reps, qs)
    lower = np.array([m in _LOWER_IS_BETTER for m in wanted])
    not_better = np.where(lower, diff >= 0, diff <= 0).astype(np.float64)
    not_better[np.isnan(diff)] = np.nan
    p_not_better = _nanmean(not_better)  # NaN without replicates

    interval_rows, diff_rows = [], []
    for i, name in enumerate(names):
        for j, metric in enumerate(wanted):
            interval_rows.append({"model": name, "metric": metric, "estimate": point[i, j],
                                  "ci_low": ci[0, i, j], "ci_high": ci[1, i, j]})
            if i == ref:
                continue
            diff_rows.append({
                "model": name, "reference": reference, "metric": metric,
                "difference": point[i, j] - point[ref, j],
                "ci_low": diff_ci[0, i, j], "ci_high": diff_ci[1, i, j],
                "ratio": ratio_point[i, j],
                "ratio_ci_low": ratio_ci[0, i, j], "ratio_ci_high": ratio_ci[1, i, j],
                "p_not_better": p_not_better[i, j],
            })
    metrics_frame = pd.DataFrame(point, index=pd.Index(names, name="model"), columns=wanted)
    settings = {
        "reference": reference,
        "n_rows": int(y01.size),
        "n_unlabelled_dropped": int((~keep).sum()),
        "prevalence": float(y01.mean()),
        "n_clusters": n_clusters,
        "bootstrap_unit": unit,
        "n_boot": int(n_boot),
        "confidence": float(confidence),
        "interval": "percentile",
        "flag_rate": float(flag_rate),
        "k_rates": k_all,
        "flags": "top share of each snapshot, fixed from the full sample",
        "per_snapshot": as_of_k is not None,
        "n_snapshots": None if as_of_k is None else int(pd.Series(as_of_k).nunique()),
        "random_state": seed,  # the seed drawn: the run can be repeated from the record
    }
    school_of = _schools(schools, X, keep)
    by = np.full(y01.size, "", dtype=object) if school_of is None else school_of
    changes = [flag_changes(flags[reference][at_rate], flags[name][at_rate], by)
               .assign(model=name, reference=reference) for name in names if name != reference]
    change_frame = pd.concat(changes, ignore_index=True)[_CHANGE_FRAME_COLUMNS]
    if school_of is None:
        change_frame = change_frame[change_frame["school_id"] == ALL_SCHOOLS]
    settings["schools"] = None if school_of is None else int(pd.Series(school_of).nunique())
    settings["reasons_compared"] = REASON_DEPTH
    return ModelComparison(metrics=metrics_frame, intervals=pd.DataFrame(interval_rows),
                           differences=pd.DataFrame(diff_rows), settings=settings,
                           changes=change_frame.reset_index(drop=True),
                           stability=stability.table(stability_reps, qs))


_CHANGE_FRAME_COLUMNS = ["model", "reference", "school_id", "n_rows", "still_flagged",
                         "newly_flagged", "no_longer_flagged", "suppressed"]
_STABILITY_SHARES = ("same_set", "same_order", "same_first")
_STABILITY_COLUMNS = ["model", "reference", "n_flagged_both", "n_without_reasons",
                      "n_compared", *(f"{s}{part}" for s in _STABILITY_SHARES
                                      for part in ("", "_ci_low", "_ci_high"))]


def _empty_changes() -> pd.DataFrame:
    return pd.DataFrame(columns=_CHANGE_FRAME_COLUMNS)


def _empty_stability() -> pd.DataFrame:
    return pd.DataFrame(columns=_STABILITY_COLUMNS)


def _count_text(value: Any) -> str:
    return "<10" if pd.isna(value) else str(int(value))


def _schools(schools: Any, X: Any, keep: np.ndarray) -> np.ndarray | None:
    """The school of each labelled row, or None when there is none."""
    if schools is None:
        if not (isinstance(X, pd.DataFrame) and "school_id" in X.columns):
            return None
        schools = X["school_id"].to_numpy()
    values = np.asarray(schools, dtype=object).ravel()
    if values.size != keep.size:
        raise AlignmentError(
            table="schools", problem=f"{values.size} school ids for {keep.size} rows",
            allowed="one school id per row of X and y",
            fix="Pass schools aligned with the rows, e.g. schools=X['school_id']")
    return values[keep]


class _Stability:
    """Per-cluster sums behind the reason stability of each model with codes, and its table.

    For each model compared with the reference: the rows flagged by both,
    those with a reason under either model, and those of them with the same
    set, the same order and the same first reason. A replicate's shares are
    ratios of its weighted sums, like the kernel's metrics.
    """

    def __init__(self, reference: str, flags: Mapping[str, np.ndarray],
                 codes: Mapping[str, np.ndarray], clusters: np.ndarray, n_clusters: int) -> None:
        self.reference = reference
        self.names = ([n for n in flags if n != reference and n in codes]
                      if reference in codes else [])
        self.counts: dict[str, tuple[int, int]] = {}
        columns = []
        for name in self.names:
            both = flags[reference] & flags[name]
            rows = np.flatnonzero(both)
            has, same_set, same_order, same_first = reason_agreement(
                codes[reference][rows], codes[name][rows])
            compared = np.zeros(both.size, dtype=bool)
            compared[rows[has]] = True
            self.counts[name] = (int(both.sum()), int((~has).sum()))
            for part in (np.ones(rows.size, dtype=bool), same_set, same_order, same_first):
                column = np.zeros(both.size)
                column[rows] = part & has
                columns.append(column)
        self.sums = (np.column_stack([np.bincount(clusters, weights=c, minlength=n_clusters)
                                      for c in columns])
                     if columns else np.zeros((n_clusters, 0)))

    def table(self, replicates: np.ndarray, qs: tuple[float, float]) -> pd.DataFrame:
        point = self.sums.sum(axis=0)
        rows = []
        for m, name in enumerate(self.names):
            base = 4 * m
            n_compared = int(round(point[base]))
            row: dict[str, Any] = {"model": name, "reference": self.reference,
                                   "n_flagged_both": self.counts[name][0],
                                   "n_without_reasons": self.counts[name][1],
                                   "n_compared": n_compared}
            for j, share in enumerate(_STABILITY_SHARES, start=1):
                estimate, low, high = math.nan, math.nan, math.nan
                if n_compared >= MIN_CELL:
                    estimate = float(point[base + j] / point[base])
                    if replicates.shape[0]:
                        reps = _divide(replicates[:, base + j], replicates[:, base])
                        low, high = (float(v) for v in bootstrap_quantiles(reps, qs))
                row.update({share: estimate, f"{share}_ci_low": low, f"{share}_ci_high": high})
            rows.append(row)
        return pd.DataFrame(rows, columns=_STABILITY_COLUMNS)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN; NaN (without a warning) where all are NaN."""
    valid = ~np.isnan(values)
    count = valid.sum(axis=0)
    return _divide(np.where(valid, values, 0.0).sum(axis=0), count.astype(np.float64))
