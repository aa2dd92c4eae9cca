"""evaluate(): the metrics schools and researchers need, model beside baselines.

Everything is computed when :class:`Evaluation` is built; the object is
immutable and hands out copies of plain DataFrames.

Ranking versus probability. Ranking metrics (ROC-AUC, PR-AUC, flags at a
flag rate, precision@k, recall@k, lead time) use each model's ranking score:
the score the estimator's own flags follow (the margin of
:class:`~dropoutrisk.models.RiskModel`, reversed if its Platt slope is negative;
indicator count plus absence for :class:`~dropoutrisk.models.ABCRule`), else
``decision_function`` when it has one, else the probability. Calibration
metrics (Brier, log loss, ECE, calibration curve) use ``predict_proba``.

Snapshots. When rows carry an ``as_of`` date, a flag rate is applied within
each snapshot ("each week, the top 10% of the students"), and precision and
recall are computed over all flagged rows together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied
from dropoutrisk.errors import (
    AlignmentError,
    DataError,
    InvalidCategoryError,
    MissingValueError,
    OperatingPointError,
    ParameterError,
)
from dropoutrisk.models._operating_point import OperatingPoint, flags_at
from dropoutrisk.models._reference import BOWERS_2013, BOWERS_2013_CITATION
from dropoutrisk.models._supported import supported_rows
from dropoutrisk.models.evaluation._metrics import (
    calibration_table,
    confusion_at,
    expected_calibration_error,
    top_fraction_flags,
)

__all__ = ["Evaluation", "evaluate"]

_ORACLE = "oracle"
_ROC_POINTS = 201


def _pct(rate: float) -> str:
    return f"{round(rate * 100, 6):g}pct"


def _scores_of(name: str, obj: Any, X: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(probability, ranking score) of one model or score vector."""
    if hasattr(obj, "predict_proba"):
        if X is None:
            raise ParameterError(parameter="X", message=
                f"Model {name!r} needs X to score; pass X=.")
        proba = np.asarray(obj.predict_proba(X))[:, 1].astype(np.float64)
        if hasattr(obj, "rank_score"):  # our estimators: the order their flags follow
            rank = np.asarray(obj.rank_score(X), dtype=np.float64)
        elif hasattr(obj, "decision_function"):
            rank = np.asarray(obj.decision_function(X), dtype=np.float64)
        else:
            rank = proba
    else:
        proba = np.asarray(obj, dtype=np.float64).ravel()
        rank = proba
    if proba.size != n:
        raise AlignmentError(table="scores", problem=
            f"Model {name!r} gives {proba.size} scores for {n} labels.")
    return proba, rank


class _ScoredRows(NamedTuple):
    """Labels and scores of every row, and which rows are labelled (``keep``)."""

    y: np.ndarray  # float labels of all rows, NaN where unlabelled
    keep: np.ndarray  # the labelled rows
    y01: np.ndarray  # int labels of the labelled rows
    as_of: np.ndarray | None  # snapshot date of all rows
    ids: np.ndarray | None  # student id of all rows
    scores: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (probability, rank), all rows


def _scored_rows(entries: Mapping[str, Any], X: Any, labels: Any, *, as_of: Any,
                 student_ids: Any, caller: str) -> _ScoredRows:
    """Resolve labels, snapshot dates, student ids and each model's scores.

    Shared by :func:`evaluate` and :func:`~dropoutrisk.models.compare_models`
    so that both score the same rows the same way. ``as_of`` and
    ``student_ids`` default to ``X``'s ``as_of`` column and its index.
    """
    raw = pd.Series(np.asarray(labels).ravel())
    y_all = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = (np.isnan(y_all) & raw.notna().to_numpy()) | ~(np.isnan(y_all) | np.isin(y_all, (0, 1)))
    if bad.any():
        rows = np.flatnonzero(bad)
        values = sorted({repr(v) for v in raw.iloc[rows[:1000]]})[:5]
        raise InvalidCategoryError(table="labels", problem=
            f"{caller} needs labels 1 (dropout within the horizon), 0 (not) or NaN "
            f"(censored); {rows.size} labels are something else, e.g. {', '.join(values)} "
            f"at row positions {rows[:5].tolist()}. Encode the outcome as 0/1 first, e.g. "
            "(y == 'dropout').astype(int).")
    n_all = y_all.size
    if as_of is None and isinstance(X, pd.DataFrame) and "as_of" in X.columns:
        as_of = X["as_of"].to_numpy()
    if student_ids is None and isinstance(X, pd.DataFrame):
        student_ids = X.index.to_numpy()
    as_of_all = None if as_of is None else pd.to_datetime(pd.Series(np.asarray(as_of))).to_numpy()
    if as_of_all is not None and np.isnat(as_of_all).any():
        rows = np.flatnonzero(np.isnat(as_of_all))
        raise MissingValueError(table="features", problem=
            f"{caller}: {rows.size} rows have no as_of date (row positions "
            f"{rows[:5].tolist()}); flag rates are applied per snapshot, so every row needs "
            "its snapshot date. Drop those rows or fill in as_of.")
    ids_all = None if student_ids is None else np.asarray(student_ids)
    scores = {name: _scores_of(name, obj, X, n_all) for name, obj in entries.items()}
    keep = ~np.isnan(y_all)
    y01 = y_all[keep].astype(int)
    if y01.size == 0 or y01.min() == y01.max():
        n_pos = int(y01.sum())
        raise DataError(table="labels", problem=
            f"{caller} needs labelled rows of both classes (dropout and not); the labels have "
            f"{n_pos} dropouts and {y01.size - n_pos} non-dropouts among {y01.size} labelled "
            f"rows ({int((~keep).sum())} unlabelled rows left out). Pass labels of rows that "
            "include both outcomes.")
    return _ScoredRows(y_all, keep, y01, as_of_all, ids_all, scores)


def _by_column(X: Any, by: str) -> np.ndarray:
    if not isinstance(X, pd.DataFrame) or by not in X.columns:
        raise OperatingPointError(
            parameter="by", value=by, problem="not a column of X",
            allowed="a column of the feature rows X, e.g. 'school_id'",
            fix="Pass X with that column, or a capacity without by")
    return X[by].to_numpy()


def _dropout_dates(dropout_dates: Any) -> pd.Series:
    """Series student_id -> dropout date, from a Series or an outcomes table."""
    if isinstance(dropout_dates, pd.DataFrame):
        d = dropout_dates
        if "event" in d.columns:
            d = d[d["event"] == "dropout"]
        if "student_id" in d.columns:
            d = d.set_index("student_id")
        return pd.to_datetime(d["date"]).groupby(level=0).min()
    s = pd.Series(dropout_dates)
    return pd.to_datetime(s).groupby(level=0).min()


def _align_truth(truth: Any, ids: np.ndarray | None, as_of: np.ndarray | None, n: int):
    if not isinstance(truth, pd.DataFrame):
        values = np.asarray(truth, dtype=np.float64).ravel()
        if values.size != n:
            raise AlignmentError(table="truth", problem=
                f"truth has {values.size} values for {n} rows.")
        return values
    if ids is None or as_of is None:
        raise ParameterError(parameter="truth", message=
            "A truth table is aligned on (student_id, as_of): pass X with an "
                         "'as_of' column and a student_id index, or as_of= and student_ids=.")
    t = truth.reset_index() if "student_id" not in truth.columns else truth
    key = pd.MultiIndex.from_arrays([t["student_id"].to_numpy(),
                                     pd.to_datetime(t["as_of"]).to_numpy()])
    risk = pd.Series(t["true_risk"].to_numpy(dtype=np.float64), index=key)
    risk = risk[~risk.index.duplicated()]
    rows = pd.MultiIndex.from_arrays([ids, pd.to_datetime(as_of)])
    values = risk.reindex(rows).to_numpy()
    if np.isnan(values).any():
        raise MissingValueError(table="truth", problem=
            f"truth has no true_risk for {int(np.isnan(values).sum())} of {n} "
                         "evaluated (student_id, as_of) rows.")
    return values


def _suppress_small_bins(curve: pd.DataFrame) -> pd.DataFrame:
    """Blank calibration bins with fewer than :data:`MIN_CELL` rows."""
    curve = curve.copy()
    small = curve["n"].to_numpy() < MIN_CELL if "n" in curve else np.zeros(len(curve), bool)
    for column in ("n", "mean_predicted", "observed_rate"):
        if column in curve:
            curve[column] = curve[column].astype(np.float64).mask(small)
    curve["suppressed"] = small
    return curve


class Evaluation(Result):
    """Immutable evaluation of one or more models on the same rows.

    Build it with :func:`evaluate`. Properties return copies of plain
    DataFrames; :meth:`to_dict` and :meth:`to_json` hold aggregates only,
    never a student-level row.
    """

    __slots__ = ("_by_support", "_calibration", "_lead_times", "_metrics", "_operating", "_roc",
                 "_settings")
    _remedy = "call evaluate() again to recompute."

    def __init__(self, *, metrics, operating_point, calibration_curve, roc_curve, lead_times,
                 settings, by_support=None) -> None:
        self._set(metrics=metrics, operating=operating_point,
                  calibration=_suppress_small_bins(calibration_curve), roc=roc_curve,
                  lead_times=lead_times, settings=copied(dict(settings)),
                  by_support=by_support if by_support is not None else pd.DataFrame())

    def __repr__(self) -> str:
        models = ", ".join(self._metrics.index)
        return f"Evaluation(models=[{models}], n={self._settings['n']})"

    @property
    def models(self) -> list[str]:
        """Names of the evaluated models, in order (``"oracle"`` last when a truth was given)."""
        return list(self._metrics.index)

    metrics = Part[pd.DataFrame](
        """One row per model: ROC-AUC, PR-AUC, Brier, log loss, ECE, precision@k,
        recall@k, lead time and, with a truth table, model/oracle ratios.""")

    operating_point = Part[pd.DataFrame](
        """Flags at the operating point, per model, in the Bowers et al. (2013) format:
        precision, sensitivity, specificity, with counts.""",
        attr="_operating")

    calibration_curve = Part[pd.DataFrame](
        """Per model and bin strategy: bin, n, mean predicted, observed rate.

        Bins with fewer than 10 rows are suppressed (n, mean predicted and observed
        rate are NaN, ``suppressed`` is True), so no small group is ever printed.
        """,
        attr="_calibration")

    roc_curve = Part[pd.DataFrame](
        "Per model: false and true positive rates on a fixed grid of 201 points.", attr="_roc")

    lead_times = Part[pd.DataFrame](
        """Student-level lead times (model, student_id, first_flag_as_of, dropout_date,
        weeks). Empty without ``dropout_dates``. Not part of :meth:`to_dict`.""")

    settings = Part[dict[str, Any]]("The settings the evaluation ran with.")

    by_support = Part[pd.DataFrame](
        """With ``interventions``: the metrics again for the rows of students with an
        intervention before the end of their label window (``support`` = ``"with"``) and
        for the others (``"without"``), one row per (support, model). Where support
        worked, a model looks worse on the supported rows than it is: their outcomes are
        partly the school's doing. Empty without ``interventions``.""")

    def to_dict(self) -> dict[str, Any]:
        """Aggregates as plain Python (NaN becomes None)."""

        return to_jsonable({
            "settings": self._settings,
            "metrics": self._metrics.to_dict(orient="index"),
            "operating_point": self._operating.to_dict(orient="index"),
            "calibration_curve": self._calibration.to_dict(orient="records"),
            **({"by_support": self._by_support.reset_index().to_dict(orient="records")}
               if len(self._by_support) else {}),
        })

    # ---- plots ----------------------------------------------------------------------
    @staticmethod
    def _axes(ax):
        if ax is not None:
            return ax
        from matplotlib.figure import Figure  # object API: renders with Agg, no pyplot state

        return Figure(figsize=(5.5, 5)).subplots()

    def plot_calibration(self, *, strategy: str = "equal_mass", ax: Any = None):
        """Reliability diagram: observed dropout rate against mean predicted probability.

        Returns the matplotlib Axes (``ax.figure.savefig(...)`` to save).
        """
        ax = self._axes(ax)
        curve = self._calibration[(self._calibration["strategy"] == strategy)
                                  & ~self._calibration["suppressed"]]
        ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="perfect calibration")
        for name, part in curve.groupby("model", sort=False):
            ax.plot(part["mean_predicted"], part["observed_rate"], marker="o", label=name)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed dropout rate")
        ax.set_title(f"Calibration ({strategy.replace('_', '-')} bins)")
        ax.legend(loc="upper left", fontsize="small")
        return ax

    def plot_roc(self, *, references: bool = True, ax: Any = None):
        """ROC curves of the models, with published flags as reference points.

        The points are the Bowers, Sprott & Taff (2013) rows in
        :data:`~dropoutrisk.models.BOWERS_2013`: other populations and
        outcome definitions, shown for orientation. Stars mark each model's
        operating point.
        """
        ax = self._axes(ax)
        ax.plot([0, 1], [0, 1], color="0.6", linestyle=":")
        for name, part in self._roc.groupby("model", sort=False):
            line, = ax.plot(part["fpr"], part["tpr"], label=name)
            if name in self._operating.index:
                op = self._operating.loc[name]
                ax.plot(1 - op["specificity"], op["sensitivity"], marker="*", markersize=12,
                        color=line.get_color(), linestyle="none")
        if references:
            ax.scatter([r.false_positive_rate for r in BOWERS_2013],
                       [r.sensitivity for r in BOWERS_2013], marker="s", color="0.3", s=18,
                       label="published flags (Bowers et al. 2013)", zorder=3)
            for r in BOWERS_2013:
                ax.annotate(r.flag, (r.false_positive_rate, r.sensitivity), fontsize=6,
                            xytext=(3, -3), textcoords="offset points", color="0.3")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("false positive rate (1 - specificity)")
        ax.set_ylabel("sensitivity (recall)")
        ax.set_title("ROC space")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def evaluate(
    y_true: Any = None,
    scores_or_model: Any = None,
    X: Any = None,
    *,
    models: Mapping[str, Any] | None = None,
    y: Any = None,
    truth: Any = None,
    operating_point: Any = None,
    flag_rate: float | None = None,
    threshold: float | None = None,
    k_rates: Sequence[float] = (0.05, 0.10, 0.20),
    n_bins: int = 10,
    dropout_dates: Any = None,
    as_of: Any = None,
    student_ids: Any = None,
    interventions: Any = None,
    horizon_days: int = 365,
) -> Evaluation:
    """Evaluate one or more models (or score vectors) on the same labelled rows.

    Parameters
    ----------
    y_true : array-like of shape (n,), optional
        Labels (1 = dropout within the horizon); rows with NaN are left out.
        Same as ``y=``.
    scores_or_model : estimator, array-like or mapping, optional
        One fitted model (anything with ``predict_proba``), one vector of
        probabilities, or a mapping name -> either. Same as ``models=``.
    X : DataFrame, optional
        Feature rows for the models. Its ``as_of`` column and its index
        (student ids) are used for snapshots, lead times and the truth.
    models : mapping of str to estimator or array-like, optional
        Several models to report side by side, e.g.
        ``{"model": m, "abc": abc, "logistic": lr}``.
    y : array-like, optional
        Alias of ``y_true``.
    truth : DataFrame or array-like, optional
        The true risk per row, or a table with ``student_id``, ``as_of`` and
        ``true_risk`` (e.g. the synthetic ``truth`` table). Adds an
        ``"oracle"`` row and model/oracle ratios.
    operating_point : OperatingPoint, mapping or float, optional
        Where the operating-point metrics are taken (see
        :class:`~dropoutrisk.models.OperatingPoint`). A flag rate or a
        capacity applies per snapshot (``as_of``), a capacity ``by`` a column
        of ``X`` per group too. Default: ``flag_rate=0.10``.
    flag_rate : float, optional
        The same as ``operating_point=OperatingPoint(flag_rate=...)``: the top
        share of each snapshot is flagged.
    threshold : float, optional
        The same as ``operating_point=OperatingPoint(threshold=...)``.
    k_rates : sequence of float, default=(0.05, 0.10, 0.20)
        Shares for precision@k and recall@k.
    n_bins : int, default=10
        Bins for ECE and the calibration curve.
    dropout_dates : Series or DataFrame, optional
        Dropout date per student (Series indexed by student_id, or an
        ``outcomes`` table with ``student_id``, ``event``, ``date``), for lead
        times: for each student who dropped out and was flagged at a
        snapshot whose label is 1, the weeks between the first such
        snapshot and the dropout date.
    as_of, student_ids : array-like, optional
        Snapshot date and student id per row when ``X`` does not carry them.
    interventions : DataFrame, optional
        The ``interventions`` table: adds :attr:`Evaluation.by_support`, the metrics
        for the rows with and without an intervention before the end of the label
        window (``as_of + horizon_days``).
    horizon_days : int, default 365
        The label horizon, for ``interventions``.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 1])
    >>> good = np.array([.1, .2, .8, .7, .3, .9, .1, .2, .4, .6])
    >>> ev = evaluate(y, {"good": good, "coin": np.full(10, 0.4)}, flag_rate=0.3)
    >>> float(ev.metrics.loc["good", "roc_auc"]), float(ev.metrics.loc["coin", "roc_auc"])
    (1.0, 0.5)
    >>> ev.operating_point.loc["good", ["precision", "sensitivity", "specificity"]].tolist()
    [1.0, 0.75, 1.0]
    """
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score, roc_curve

    if y_true is not None and y is not None:
        raise ParameterError(parameter="y", message="Pass the labels once: y_true or y=, not both.")
    labels = y_true if y_true is not None else y
    if labels is None:
        raise ParameterError(parameter="y_true", message=
            "evaluate needs the labels: pass y_true (or y=).")
    if scores_or_model is not None and models is not None:
        raise ParameterError(parameter="models", message=
            "Pass the models once: scores_or_model or models=, not both.")
    entries = models if models is not None else scores_or_model
    if entries is None:
        raise ParameterError(parameter="models", message=
            "evaluate needs something to evaluate: pass scores_or_model or models=.")
    if not isinstance(entries, Mapping):
        entries = {"model": entries}
    if _ORACLE in entries:
        raise ParameterError(parameter="models", message=
            "'oracle' is reserved for the truth table; rename that model.")

    point = OperatingPoint.from_options(operating_point, threshold=threshold,
                                        flag_rate=flag_rate) or OperatingPoint(flag_rate=0.10)
    rows = _scored_rows(entries, X, labels, as_of=as_of, student_ids=student_ids,
                        caller="evaluate")
    y_all, keep, y01, as_of_all, ids_all, scores = rows
    n_all = y_all.size
    if truth is not None:
        t = _align_truth(truth, ids_all, as_of_all, n_all)
        scores[_ORACLE] = (t, t)

    as_of_k = None if as_of_all is None else as_of_all[keep]
    ids_k = None if ids_all is None else ids_all[keep]
    by_k = None if point.by is None else _by_column(X, point.by)[keep]
    dates = None if dropout_dates is None else _dropout_dates(dropout_dates)
    if dates is not None and (as_of_k is None or ids_k is None):
        raise ParameterError(parameter="X", message=
            "Lead times need as_of and student ids per row (X with an 'as_of' "
                         "column and a student_id index, or as_of= and student_ids=).")

    metric_rows, op_rows, cal_parts, roc_parts, lead_parts = {}, {}, [], [], []
    grid = np.linspace(0, 1, _ROC_POINTS)
    for name, (proba_all, rank_all) in scores.items():
        proba, rank = proba_all[keep], rank_all[keep]
        row: dict[str, Any] = {"n": int(y01.size), "prevalence": float(y01.mean())}
        row["roc_auc"] = float(roc_auc_score(y01, rank))
        row["pr_auc"] = float(average_precision_score(y01, rank))
        is_proba = bool(np.all((proba >= 0) & (proba <= 1)))
        if is_proba:
            row["brier"] = float(np.mean((proba - y01) ** 2))
            row["log_loss"] = float(log_loss(y01, np.clip(proba, 1e-15, 1 - 1e-15)))
            for strategy in ("equal_width", "equal_mass"):
                row[f"ece_{strategy}"] = expected_calibration_error(
                    y01, proba, n_bins=n_bins, strategy=strategy)
                cal_parts.append(calibration_table(y01, proba, n_bins=n_bins, strategy=strategy)
                                 .assign(model=name, strategy=strategy))
        else:
            row.update(brier=np.nan, log_loss=np.nan, ece_equal_width=np.nan,
                       ece_equal_mass=np.nan)
        for k in k_rates:
            f = top_fraction_flags(rank, k, as_of_k)
            c = confusion_at(y01, f)
            row[f"precision_at_{_pct(k)}"] = c["precision"]
            row[f"recall_at_{_pct(k)}"] = c["sensitivity"]
        fpr, tpr, _ = roc_curve(y01, rank)
        roc_parts.append(pd.DataFrame({"model": name, "fpr": grid,
                                       "tpr": np.interp(grid, fpr, tpr)}))
        flags = flags_at(point, proba, rank, groups=by_k, snapshots=as_of_k)
        op_rows[name] = confusion_at(y01, flags)
        if dates is not None:
            lead = _lead_times(name, flags, y01, ids_k, as_of_k, dates)
            lead_parts.append(lead)
            row["lead_time_median_weeks"] = float(lead["weeks"].median()) if len(lead) else np.nan
            row["lead_time_mean_weeks"] = float(lead["weeks"].mean()) if len(lead) else np.nan
            positive_ids = pd.Series(ids_k[y01 == 1])
            n_dropouts = int(positive_ids[positive_ids.isin(dates.index)].nunique())
            row["lead_time_n_students"] = int(len(lead))
            row["dropouts_flagged_share"] = len(lead) / n_dropouts if n_dropouts else np.nan
        metric_rows[name] = row

    metrics = pd.DataFrame.from_dict(metric_rows, orient="index")
    if _ORACLE in metrics.index:
        rate = point.flag_rate if point.flag_rate is not None else 0.10
        ratio_of = ["roc_auc", "pr_auc", f"recall_at_{_pct(rate)}"]
        for col in ratio_of:
            if col in metrics.columns:
                metrics[f"{col}_oracle_ratio"] = metrics[col] / metrics.loc[_ORACLE, col]
    operating = pd.DataFrame.from_dict(op_rows, orient="index")
    calibration = (pd.concat(cal_parts, ignore_index=True)
                   [["model", "strategy", "bin", "n", "mean_predicted", "observed_rate"]]
                   if cal_parts else pd.DataFrame(columns=["model", "strategy", "bin", "n",
                                                           "mean_predicted", "observed_rate"]))
    lead_times = (pd.concat(lead_parts, ignore_index=True) if lead_parts else
                  pd.DataFrame(columns=["model", "student_id", "first_flag_as_of",
                                        "dropout_date", "weeks"]))
    settings = {
        "n": int(y01.size), "n_unlabelled_dropped": int((~keep).sum()),
        "flag_rate": point.flag_rate,
        "threshold": point.threshold,
        "k_rates": [float(k) for k in k_rates], "n_bins": int(n_bins),
        "per_snapshot": as_of_k is not None,
        "n_snapshots": None if as_of_k is None else int(pd.Series(as_of_k).nunique()),
        "reference": BOWERS_2013_CITATION,
    }
    if point.kind in ("capacity", "cost"):
        settings["operating_point"] = point.to_dict()
    by_support = None
    if interventions is not None:
        if as_of_k is None or ids_k is None:
            raise ParameterError(parameter="interventions", message=(
                "Metrics by support need as_of and student ids per row (X with an 'as_of' "
                "column and a student_id index, or as_of= and student_ids=)."))
        mask = supported_rows(interventions, ids_k, as_of_k, horizon_days)
        by_support = _metrics_by_support(mask, y01, scores, keep, as_of_k, ids_k,
                                         point if point.by is None else None, k_rates, n_bins)
        settings["n_supported"] = int(mask.sum())
    return Evaluation(metrics=metrics, operating_point=operating, calibration_curve=calibration,
                      roc_curve=pd.concat(roc_parts, ignore_index=True), lead_times=lead_times,
                      settings=settings, by_support=by_support)


def _metrics_by_support(mask, y01, scores, keep, as_of_k, ids_k, point, k_rates,
                        n_bins) -> pd.DataFrame:
    """The metrics on the supported rows and on the others (NaN where a group has one class)."""
    parts = []
    for label, rows in (("with", mask), ("without", ~mask)):
        models = {name: proba[keep][rows] for name, (proba, _) in scores.items() if name != _ORACLE}
        truth = scores[_ORACLE][0][keep][rows] if _ORACLE in scores else None
        n, positives = int(rows.sum()), int(y01[rows].sum())
        if 0 < positives < n:
            sub = evaluate(y01[rows], models, truth=truth, operating_point=point,
                           k_rates=k_rates, n_bins=n_bins, as_of=as_of_k[rows],
                           student_ids=ids_k[rows]).metrics
        else:  # one class only: no ranking metric is defined
            names = [*models, *([_ORACLE] if truth is not None else [])]
            sub = pd.DataFrame({"n": n, "prevalence": positives / n if n else np.nan},
                               index=pd.Index(names))
        parts.append(sub.assign(support=label))
    out = pd.concat(parts).rename_axis("model").reset_index().set_index(["support", "model"])
    return out


def _lead_times(name, flags, y01, ids, as_of, dates) -> pd.DataFrame:
    rows = pd.DataFrame({"student_id": ids, "as_of": as_of, "flag": flags, "y": y01})
    rows = rows[rows["flag"] & (rows["y"] == 1)]
    rows = rows.assign(dropout_date=rows["student_id"].map(dates)).dropna(subset=["dropout_date"])
    rows = rows[rows["as_of"] < rows["dropout_date"]]
    first = rows.groupby("student_id", sort=True).agg(first_flag_as_of=("as_of", "min"),
                                                      dropout_date=("dropout_date", "first"))
    weeks = (first["dropout_date"] - first["first_flag_as_of"]).dt.days / 7.0
    return first.assign(weeks=weeks, model=name).reset_index()[
        ["model", "student_id", "first_flag_as_of", "dropout_date", "weeks"]]
