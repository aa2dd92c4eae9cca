"""backtest(): a rolling-origin backtest across cohorts, to see how a model ages.

A municipality that retrains every year and one that retrains every third
year use models of different ages. The backtest answers "how much worse is a
model trained k years ago than last year's?" on the data at hand:

* **Origins.** For each cohort ``Y`` (with at least ``min_train_cohorts``
  cohorts up to it) a model is trained on the cohorts up to ``Y`` (or the
  last ``window`` of them) exactly as ``dropoutrisk train --cohorts`` does:
  their students at the snapshot weeks of those school years, calibrated out
  of fold.
* **Tests.** Each later cohort ``T`` is scored by every model trained before
  it, as ``dropoutrisk evaluate --cohorts T`` does: the students of cohort
  ``T`` at the snapshot weeks of school year ``T``. The model's **age** is
  ``T - Y`` years.
* **Intervals.** The models scored on one test cohort are compared with
  :func:`~dropoutrisk.models.compare_models` (paired cluster bootstrap over
  students), so each model's metric has an interval, and its difference from
  the freshest model on the same cohort has a paired one. The difference
  separates the model's age from how hard the test cohort is; a metric alone
  mixes both.

The labels of the newest training cohort look one horizon ahead, into the
first test year, as in ``docs/evaluation.md``: the cohorts are disjoint, but
a model deployed in autumn ``Y + 1`` would not yet know all of them
(``docs/retraining.md``, "Outcome lag").
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied
from dropoutrisk.errors import ParameterError
from dropoutrisk.models._risk_model import RiskModel
from dropoutrisk.models._train import _check_both_classes, cohort_frame
from dropoutrisk.models.evaluation import compare_models

__all__ = ["Backtest", "backtest"]

#: Metrics of a backtest unless told otherwise.
DEFAULT_METRICS = ("roc_auc", "pr_auc", "brier", "recall_at_10pct")


class Backtest(Result):
    """Immutable result of :func:`backtest`: each model on each later cohort, by age.

    Properties return copies of plain DataFrames; :meth:`to_dict` and
    :meth:`to_json` hold aggregates only.
    """

    __slots__ = ("_decay", "_origins", "_scores", "_settings")
    _remedy = "call backtest() again to recompute."

    def __init__(self, *, scores: pd.DataFrame, decay: pd.DataFrame, origins: pd.DataFrame,
                 settings: Mapping[str, Any]) -> None:
        self._set(scores=scores, decay=decay, origins=origins, settings=copied(dict(settings)))

    def __repr__(self) -> str:
        s = self._settings
        return (f"Backtest(cohorts={s['cohorts']}, origins={s['origins']}, "
                f"max_age={s['max_age_seen']}, n_boot={s['n_boot']})")

    settings = Part[dict[str, Any]]("The settings the backtest ran with.")

    origins = Part[pd.DataFrame](
        """One row per trained model: origin (its last training cohort), train_cohorts,
        n_rows, n_students, n_dropouts and the rounds kept.""")

    scores = Part[pd.DataFrame](
        """Long table: each model on each later cohort.

        Columns: origin, test_cohort, age (``test_cohort - origin``, years),
        n_rows, n_students, n_dropouts (of the test cohort), metric, estimate,
        ci_low, ci_high (percentile bootstrap over the test students).
        """)

    decay = Part[pd.DataFrame](
        """Long table: each older model against the freshest one on the same test cohort.

        Columns: test_cohort, origin, age, fresh_origin, fresh_age, metric,
        difference (older - freshest; negative is worse, except for Brier
        where positive is worse), ci_low, ci_high (paired bootstrap).
        """)

    def by_age(self, metric: str = "roc_auc") -> pd.DataFrame:
        """One row per age: how many (origin, test cohort) pairs, and their metric.

        Columns: age, n_pairs, mean, min, max of the estimate over the pairs
        of that age, and the mean difference from the freshest model on the
        same test cohort (``mean_difference``; NaN at the freshest age).
        Intervals are per pair, in :attr:`scores` and :attr:`decay`.
        """
        self._check_metric(metric)
        s = self._scores[self._scores["metric"] == metric]
        out = s.groupby("age")["estimate"].agg(n_pairs="size", mean="mean", min="min",
                                                max="max").reset_index()
        d = self._decay[self._decay["metric"] == metric]
        diff = d.groupby("age")["difference"].mean().rename("mean_difference")
        return out.merge(diff, on="age", how="left")

    def table(self, metric: str = "roc_auc") -> pd.DataFrame:
        """The metric with its interval as text, origins as rows and test cohorts as columns."""
        self._check_metric(metric)
        s = self._scores[self._scores["metric"] == metric]
        text = [f"{e:.3f} [{lo:.3f}, {hi:.3f}]" if not np.isnan(lo) else f"{e:.3f}"
                for e, lo, hi in zip(s["estimate"], s["ci_low"], s["ci_high"], strict=True)]
        return (s.assign(text=text).pivot(index="origin", columns="test_cohort", values="text")
                .fillna(""))

    def to_dict(self) -> dict[str, Any]:
        """Settings, origins, scores and decay as plain Python (NaN -> None)."""
        return to_jsonable({
            "settings": self._settings,
            "origins": self._origins.to_dict(orient="records"),
            "scores": self._scores.to_dict(orient="records"),
            "decay": self._decay.to_dict(orient="records"),
        })

    def plot(self, metric: str = "roc_auc", *, ax: Any = None):
        """The metric against the model's age, one line per test cohort, with intervals.

        Returns the matplotlib Axes (``ax.figure.savefig(...)`` to save).
        """
        self._check_metric(metric)
        if ax is None:
            from matplotlib.figure import Figure  # object API: renders with Agg, no pyplot state

            ax = Figure(figsize=(6.5, 4)).subplots()
        s = self._scores[self._scores["metric"] == metric]
        cohorts = sorted(s["test_cohort"].unique())
        for k, cohort in enumerate(cohorts):
            part = s[s["test_cohort"] == cohort].sort_values("age")
            x = part["age"].to_numpy() + (k - (len(cohorts) - 1) / 2) * 0.06
            err = np.vstack([part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]])
            ax.errorbar(x, part["estimate"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                        label=f"cohort {cohort}")
        ax.set_xticks(sorted(s["age"].unique()))
        ax.set_xlabel("model age (years since its last training cohort)")
        ax.set_ylabel(metric)
        ax.set_title(f"Backtest: {metric} by model age "
                     f"({self._settings['confidence']:.0%} bootstrap intervals)")
        ax.legend(title="test cohort", fontsize="small", loc="best")
        return ax

    def _check_metric(self, metric: str) -> None:
        if metric not in self._settings["metrics"]:
            raise ParameterError(parameter="metric", message=
                f"metric={metric!r} was not computed; choose from {self._settings['metrics']} "
                "or run backtest(metrics=...) with it.")


def _check_int(name: str, value: Any, low: int, *, none: bool = False) -> None:
    if none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(parameter=name, value=value, problem="is not a whole number "
                             f">= {low}", allowed=f"an int >= {low}" + (" or None" if none else ""))


def backtest(
    tables: Mapping[str, pd.DataFrame],
    *,
    cohorts: Sequence[int],
    weeks: Sequence[int] = (6, 10, 20),
    horizon_days: int = 365,
    min_train_cohorts: int = 1,
    window: int | None = None,
    max_age: int | None = None,
    catalogue: Any = None,
    include_background: bool = False,
    model_params: Mapping[str, Any] | None = None,
    flag_rate: float = 0.10,
    metrics: Sequence[str] = DEFAULT_METRICS,
    n_boot: int = 500,
    confidence: float = 0.95,
    random_state: int = 0,
) -> Backtest:
    """Train on the cohorts up to each year and test on every later one (rolling origin).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Validated canonical tables (:func:`~dropoutrisk.schema.validate_tables`).
    cohorts : sequence of int
        The cohorts (school-year starts) to use, at least two; every origin
        and every test cohort is one of them.
    weeks : sequence of int, default (6, 10, 20)
        Snapshot weeks of each school year, for training and testing.
    horizon_days : int, default 365
        The label: dropout within this many days of the snapshot.
    min_train_cohorts : int, default 1
        The first origin is the cohort with this many cohorts up to it.
    window : int, optional
        Train on the last ``window`` cohorts up to the origin (a sliding
        window) instead of all of them (an expanding one, the default).
    max_age : int, optional
        Test a model only on cohorts at most this many years after its origin.
    catalogue : Catalogue, optional
        The indicator catalogue; default the built-in one.
    include_background : bool, default False
        Use background features in the model.
    model_params : mapping, optional
        Further :class:`RiskModel` parameters, the same for every origin.
    flag_rate : float, default 0.10
        The share of each snapshot flagged, for ``precision_at_``/``recall_at_``.
    metrics : sequence of str, default ("roc_auc", "pr_auc", "brier", "recall_at_10pct")
        Metric names of :func:`~dropoutrisk.models.compare_models`.
    n_boot : int, default 500
        Bootstrap replicates per test cohort; 0 gives no intervals.
    confidence : float, default 0.95
        Coverage of the intervals.
    random_state : int, default 0
        Seed of every model and of the bootstrap.

    Returns
    -------
    Backtest

    Raises
    ------
    ParameterError
        Fewer than two cohorts, no origin with a later cohort, or a bad
        setting (named).
    DataError
        A training or test cohort without labelled rows of both outcomes.

    See Also
    --------
    compare_models : the paired comparison behind each test cohort.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> from dropoutrisk.schema import validate_tables
    >>> synthetic = make_cohorts(900, range(2020, 2023), n_schools=3, random_state=0)
    >>> tables = validate_tables({k: v for k, v in synthetic.items() if k != "truth"})
    >>> bt = backtest(tables, cohorts=[2020, 2021, 2022], weeks=[10], n_boot=50,
    ...               model_params={"n_estimators": 20, "baseline_check": False})
    >>> bt.scores.query("metric == 'roc_auc'")[["origin", "test_cohort", "age"]].values.tolist()
    [[2020, 2021, 1], [2021, 2022, 1], [2020, 2022, 2]]
    >>> bt.by_age()["age"].tolist()
    [1, 2]
    """
    from dropoutrisk.schema import school_year_of

    years = _check_cohorts(cohorts)
    _check_int("min_train_cohorts", min_train_cohorts, 1)
    _check_int("window", window, 1, none=True)
    _check_int("max_age", max_age, 1, none=True)
    _check_int("n_boot", n_boot, 0)
    origins = [y for i, y in enumerate(years[:-1]) if i + 1 >= min_train_cohorts]
    if not origins:
        raise ParameterError(
            parameter="min_train_cohorts", value=min_train_cohorts,
            problem=f"leaves no origin with a later cohort among {years}",
            fix="Use more cohorts or a smaller min_train_cohorts")
    if catalogue is None:
        from dropoutrisk.features import default_catalogue

        catalogue = default_catalogue()
    X, y = cohort_frame(tables, years, list(weeks), horizon_days=horizon_days,
                        catalogue=catalogue, what="backtest")
    days = pd.to_datetime(X["as_of"])
    year_of = {d: school_year_of(d) for d in days.unique()}
    school_year = days.map(year_of).to_numpy()
    cohort = X["cohort"].to_numpy()

    models: dict[int, RiskModel] = {}
    origin_rows = []
    for origin in origins:
        used = [c for c in years if c <= origin][-window:] if window else \
            [c for c in years if c <= origin]
        rows = np.isin(cohort, used) & np.isin(school_year, used)
        _check_both_classes(y[rows], "outcomes", "event",
                            f"training cohorts {used} (origin {origin})")
        model = RiskModel(**dict(model_params or {}), catalogue=catalogue,
                          include_background=include_background, random_state=random_state)
        models[origin] = model.fit(X[rows], y[rows])
        origin_rows.append({"origin": origin, "train_cohorts": used, "n_rows": int(rows.sum()),
                            "n_students": int(X.index[rows].nunique()),
                            "n_dropouts": int(y[rows].sum()), "rounds": model.n_estimators_})

    score_rows, decay_rows = [], []
    for test in years:
        ages = {o: test - o for o in models if o < test and (max_age is None or test - o <= max_age)}
        if not ages:
            continue
        rows = (cohort == test) & (school_year == test)
        _check_both_classes(y[rows], "outcomes", "event", f"test cohort {test}")
        X_test, y_test = X[rows], y[rows]
        order = sorted(ages, reverse=True)  # the freshest model first: the reference
        sizes = {"n_rows": int(rows.sum()), "n_students": int(X_test.index.nunique()),
                 "n_dropouts": int(y_test.sum())}
        scored = {str(o): models[o] for o in order}
        if len(scored) == 1:  # one model: its intervals alone (compare_models needs two)
            scored["_copy"] = models[order[0]]
        cmp = compare_models(scored, X_test, y_test, reference=str(order[0]),
                             flag_rate=flag_rate, metrics=list(metrics), n_boot=n_boot,
                             confidence=confidence, random_state=random_state)
        for r in cmp.intervals.itertuples(index=False):
            if r.model == "_copy":
                continue
            origin = int(r.model)
            score_rows.append({"origin": origin, "test_cohort": test, "age": ages[origin],
                               **sizes, "metric": r.metric, "estimate": r.estimate,
                               "ci_low": r.ci_low, "ci_high": r.ci_high})
        for r in cmp.differences.itertuples(index=False):
            if r.model == "_copy":
                continue
            origin = int(r.model)
            decay_rows.append({"test_cohort": test, "origin": origin, "age": ages[origin],
                               "fresh_origin": order[0], "fresh_age": ages[order[0]],
                               "metric": r.metric, "difference": r.difference,
                               "ci_low": r.ci_low, "ci_high": r.ci_high})
    scores = (pd.DataFrame(score_rows).sort_values(["metric", "age", "origin"], kind="stable")
              .reset_index(drop=True))
    decay = pd.DataFrame(decay_rows, columns=["test_cohort", "origin", "age", "fresh_origin",
                                              "fresh_age", "metric", "difference", "ci_low",
                                              "ci_high"])
    settings = {
        "cohorts": years, "origins": origins, "weeks": [int(w) for w in weeks],
        "horizon_days": int(horizon_days), "min_train_cohorts": int(min_train_cohorts),
        "window": window, "max_age": max_age, "max_age_seen": int(scores["age"].max()),
        "training": "expanding" if window is None else f"sliding, {window} cohorts",
        "calibration": "out of fold (RiskModel default)",
        "include_background": bool(include_background),
        "model_params": dict(model_params or {}), "flag_rate": float(flag_rate),
        "metrics": list(metrics), "n_boot": int(n_boot), "confidence": float(confidence),
        "random_state": int(random_state),
        "interval": "percentile, paired cluster bootstrap over the test cohort's students",
    }
    return Backtest(scores=scores, decay=decay, origins=pd.DataFrame(origin_rows),
                    settings=settings)


def _check_cohorts(cohorts: Any) -> list[int]:
    try:
        years = sorted({int(c) for c in cohorts})
    except (TypeError, ValueError):
        years = []
    if len(years) < 2:
        raise ParameterError(
            parameter="cohorts", value=cohorts, problem="a backtest needs at least two cohorts",
            allowed="school-year starts such as [2019, 2020, 2021, 2022]",
            fix="Pass every cohort with known outcomes")
    return years

