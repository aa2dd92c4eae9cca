"""``dropoutrisk evaluate``: the model beside its baselines on a later cohort.

Besides metrics.json, the command writes comparison.json: a paired cluster
bootstrap (:func:`~dropoutrisk.models.compare_models`) of the model against
the previous model (``--against``) or, without one, against the logistic
baseline stored in the bundle. It holds aggregates only.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    cohort_frame,
    parse_cohorts,
    read_data,
    snapshots_of,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import HorizonDays, ModelFolder, TablesFolder

_METRIC_COLUMNS = (
    "n",
    "prevalence",
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "ece_equal_mass",
    "precision_at_10pct",
    "recall_at_10pct",
    "roc_auc_oracle_ratio",
    "recall_at_10pct_oracle_ratio",
    "pr_auc_oracle_ratio",
    "lead_time_median_weeks",
)
_OPERATING_COLUMNS = ("n_flagged", "precision", "sensitivity", "specificity")
_PLOTS = (
    ("calibration.png", "Calibration (equal-mass bins)"),
    ("roc.png", "ROC space with published flags (Bowers et al. 2013)"),
)
#: Every file an evaluation report folder may hold (an earlier report is replaced whole).
REPORT_FILES = (*(file for file, _ in _PLOTS), "metrics.json", "comparison.json", "report.html")
#: The name the previous model (``--against``) goes by in every output.
PREVIOUS = "previous"
#: The reference of comparison.json without ``--against``, when the bundle has it.
BASELINE_REFERENCE = "logistic"
#: Metrics of the stdout summary (plus recall at the flag rate) and of the report's
#: comparison table (plus precision and recall at the flag rate).
_COMPARED = ("roc_auc", "pr_auc", "brier")


@app.command(
    "evaluate",
    help=(
        "Evaluate a model out of time on later cohorts, beside the ABC rule and the logistic "
        "baseline stored in its bundle. Writes metrics.json, calibration.png, roc.png and "
        "report.html into --out; with truth.parquet in --data, adds the oracle and "
        "model/oracle ratios.\n\n"
        "Also writes comparison.json: the model against the logistic baseline or, with "
        "--against PREVIOUS_MODEL_DIR, against the previous model (scored on the same rows, "
        "named 'previous'), with paired bootstrap intervals over students (--n-boot "
        "replicates drawn with --seed) on every metric and difference (model - reference); "
        "aggregates only, no student id.\n\n" + EXIT_CODES_HELP
    ),
)
def evaluate(
    model: ModelFolder,
    data: TablesFolder,
    cohorts: Annotated[str, typer.Option("--cohorts", help="Test cohorts: 2024 or 2023-2024.")],
    out: Annotated[Path, typer.Option("--out", help="Report folder.")],
    weeks: Annotated[
        str | None,
        typer.Option("--weeks", help="Snapshot weeks; default: those the model was trained at."),
    ] = None,
    days: Annotated[
        str | None,
        typer.Option("--days", help="Snapshots at days after each student's start; default: "
                     "those the model was trained at, when it was trained that way."),
    ] = None,
    horizon_days: HorizonDays = None,
    flag_rate: Annotated[
        float, typer.Option("--flag-rate", help="Operating point: the share of each snapshot "
                            "flagged.")
    ] = 0.10,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="Previous model folder: scored on the same rows (its own features) and "
            "compared with the model in comparison.json and report.html.",
        ),
    ] = None,
    n_boot: Annotated[
        int,
        typer.Option("--n-boot", min=0, help="Bootstrap replicates for the intervals of "
                     "comparison.json; 0 = point estimates only."),
    ] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the bootstrap (same seed, same intervals).")
    ] = 0,
) -> None:
    from dropoutrisk._atomic import check_folder_replaceable
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import OperatingPoint, compare_models, load_bundle
    from dropoutrisk.models import evaluate as evaluate_models

    test_cohorts = parse_cohorts(cohorts)
    # checked before any work; an error names --flag-rate
    point = OperatingPoint(flag_rate=flag_rate)
    try:  # before any work: never replace a folder that is not an earlier report
        check_folder_replaceable(out, REPORT_FILES, "an evaluation report")
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    previous = _load_previous(against) if against is not None else None
    trained = dict(bundle.manifest.get("params") or {})
    trained_on = [int(c) for c in trained.get("cohorts") or []]
    _check_out_of_time(test_cohorts, trained_on, "--cohorts")
    if previous is not None:
        previous_on = [int(c) for c in (previous.manifest.get("params") or {}).get("cohorts") or []]
        _check_out_of_time(test_cohorts, previous_on, "--against")
    snapshot_weeks, snapshot_days = snapshots_of(weeks, days, trained)
    horizon = int(horizon_days or trained.get("horizon_days") or 365)
    catalogue = getattr(bundle.model, "catalogue", None) or default_catalogue()

    with warnings_to_stderr():
        tables, truth = read_data(data)
        X, y = cohort_frame(
            tables,
            test_cohorts,
            snapshot_weeks,
            horizon_days=horizon,
            catalogue=catalogue,
            what="test",
            days=snapshot_days,
            model_features=list(bundle.model.feature_names_in_),
        )
        if truth is not None:
            truth = _matching_truth(truth, horizon, X)
        models = {"model": bundle.model}
        if previous is not None:
            _warn_if_other_horizon(previous, horizon)
            models[PREVIOUS] = _previous_scorer(
                previous, tables, X, catalogue=catalogue, cohorts=test_cohorts,
                weeks=snapshot_weeks, horizon=horizon, days=snapshot_days,
            )
        models.update(bundle.baselines)
        result = evaluate_models(
            y,
            models=models,
            X=X,
            truth=truth,
            operating_point=point,
            dropout_dates=tables.get("outcomes"),
        )
        reference = _reference(models)
        comparison = None
        if reference is not None:
            order = [reference, "model", *(m for m in models if m not in (reference, "model"))]
            comparison = compare_models(
                {name: models[name] for name in order},
                X,
                y,
                reference=reference,
                operating_point=point,
                n_boot=n_boot,
                random_state=seed,
            )

    summary = result.to_dict()
    header = {
        "model_id": bundle.model_id,
        "manifest_sha256": bundle.manifest_sha256,
        "trained_on_cohorts": trained_on,
        "cohorts": test_cohorts,
        "weeks": snapshot_weeks,
        "days": snapshot_days,
        "horizon_days": horizon,
        "n_rows": len(X),
        "n_students": int(X.index.nunique()),
        "truth": truth is not None,
    }
    document = {**header, **summary}
    compared = None
    if comparison is not None:
        compared = {
            "model_id": bundle.model_id,
            "manifest_sha256": bundle.manifest_sha256,
            "against": None if previous is None else _about(previous, catalogue),
            "cohorts": test_cohorts,
            "weeks": snapshot_weeks,
            "horizon_days": horizon,
            **comparison.to_dict(),
        }
    _write_report(out, document, result, compared)
    row = result.metrics.loc["model"]
    print(
        f"Evaluated model {bundle.model_id} on cohorts {test_cohorts} ({len(X)} rows): "
        f"ROC-AUC {row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, "
        f"ECE {row['ece_equal_mass']:.4f}. Report in {out}"
    )
    if comparison is None:
        print("The bundle stores no baseline and no --against model was given: "
              "no comparison.json written (an earlier one in --out is removed).", file=sys.stderr)
        return
    s = comparison.settings
    what = (f"the previous model {previous.model_id}" if previous is not None
            else f"the {comparison.reference} baseline")
    spread = (f"{s['confidence']:.0%} paired bootstrap intervals over {s['n_clusters']} "
              f"{'students' if s['bootstrap_unit'] == 'student_id' else s['bootstrap_unit']}, "
              f"{s['n_boot']} replicates, seed {seed}" if s["n_boot"] else "no intervals (--n-boot 0)")
    print(f"Against {what} ({spread}):")
    for line in comparison.summary(metrics=_compared_metrics(flag_rate)).splitlines():
        if line.startswith("model vs "):
            print(f"  {line}")


def _check_out_of_time(test_cohorts: list[int], trained_on: list[int], option: str) -> None:
    late = [c for c in test_cohorts if trained_on and c <= max(trained_on)]
    if late:
        which = ("the training cohorts" if option == "--cohorts"
                 else "the previous model's training cohorts")
        raise typer.BadParameter(
            f"cohorts {late} are not later than {which} {trained_on}: that would "
            "not be an out-of-time evaluation.",
            param_hint=option,
        )


def _warn_if_other_horizon(previous: Any, horizon: int) -> None:
    trained = (previous.manifest.get("params") or {}).get("horizon_days")
    if trained is not None and int(trained) != horizon:
        warnings.warn(
            f"The --against model was trained to predict dropout within {trained} days; it is "
            f"compared on labels of {horizon} days, as the model is.",
            UserWarning,
            stacklevel=2,
        )


def _load_previous(path: Path) -> Any:
    """The ``--against`` bundle, verified like ``--model``; its errors name the option."""
    from dropoutrisk.cli._wide import SPEC_EXTRA
    from dropoutrisk.errors import IncompatibleModelError, ModelError
    from dropoutrisk.models import load_bundle

    try:
        previous = load_bundle(path)
    except ModelError as exc:
        raise type(exc)(f"--against (the previous model): {exc}", path=exc.path) from exc
    if SPEC_EXTRA in previous.extra:
        raise IncompatibleModelError(
            f"--against {path}: the model {previous.model_id} was trained on a wide table with "
            "a dataset spec, so it cannot score rows built from canonical tables. Compare with "
            "a model trained on canonical tables ('dropoutrisk train --data FOLDER').",
            path=str(path),
        )
    return previous


def _previous_scorer(previous: Any, tables: Any, X: Any, *, catalogue: Any, cohorts: list[int],
                     weeks: list[int], horizon: int, days: list[int] | None = None) -> Any:
    """The previous model, ready to score the rows of ``X``.

    A previous model built on the same catalogue scores ``X`` itself. One built on
    another catalogue gets its own feature frame for the same (student, as_of) rows:
    its scores are computed there and handed back in the order of ``X``.
    """
    from dropoutrisk.errors import DataError, IncompatibleModelError
    from dropoutrisk.features import default_catalogue

    own = getattr(previous.model, "catalogue", None) or default_catalogue()
    X_prev = X
    if own != catalogue:
        try:
            X_prev, _ = cohort_frame(tables, cohorts, weeks, horizon_days=horizon,
                                     catalogue=own, what="test", days=days,
                                     model_features=list(previous.model.feature_names_in_))
        except DataError:
            raise
        except ValueError as exc:  # a catalogue of features canonical tables do not have
            raise IncompatibleModelError(
                f"--against {previous.path}: the previous model's features cannot be built "
                f"from the canonical tables: {exc}",
                path=str(previous.path),
            ) from exc
    needed = previous.feature_names or list(getattr(previous.model, "feature_names_in_", []))
    missing = [f for f in needed if f not in X_prev.columns]
    if missing:
        raise IncompatibleModelError(
            f"--against {previous.path}: the previous model {previous.model_id} cannot score "
            f"these rows: {len(missing)} of its {len(needed)} features are missing from the "
            f"feature frame of cohorts {cohorts} at weeks {weeks}: {missing[:10]}"
            f"{' and more' if len(missing) > 10 else ''}. Compare with a model trained on "
            "features that dropoutrisk builds from canonical tables.",
            path=str(previous.path),
        )
    if X_prev is X:
        return previous.model
    rows = _row_keys(X_prev).get_indexer(_row_keys(X))
    if (rows < 0).any():
        raise IncompatibleModelError(
            f"--against {previous.path}: the previous model's feature frame lacks "
            f"{int((rows < 0).sum())} of the {len(X)} evaluated (student, as_of) rows.",
            path=str(previous.path),
        )
    return _Scores(previous.model, X_prev.iloc[rows])


def _row_keys(frame: Any) -> Any:
    import pandas as pd

    return pd.MultiIndex.from_arrays(
        [frame.index.to_numpy(), pd.to_datetime(frame["as_of"]).to_numpy()]
    )


class _Scores:
    """A model's scores on its own feature rows, for a frame with the same rows in that order.

    ``evaluate`` and ``compare_models`` score every model on one ``X``; this stands in
    for a model that needs other columns. Ranking follows the model's own flag order
    (``rank_score``: the margin, reversed for a negative Platt slope), as those
    functions do.
    """

    def __init__(self, model: Any, X_own: Any) -> None:
        import numpy as np

        self._proba = np.asarray(model.predict_proba(X_own), dtype=np.float64)
        if hasattr(model, "rank_score"):
            self._rank = np.asarray(model.rank_score(X_own), dtype=np.float64)
        elif hasattr(model, "decision_function"):
            self._rank = np.asarray(model.decision_function(X_own), dtype=np.float64)
        else:
            self._rank = self._proba[:, 1]

    def _check(self, X: Any) -> None:
        if len(X) != len(self._rank):
            raise ValueError(f"These scores are for {len(self._rank)} rows, not {len(X)}.")

    def predict_proba(self, X: Any) -> Any:
        self._check(X)
        return self._proba

    def rank_score(self, X: Any) -> Any:
        self._check(X)
        return self._rank


def _reference(models: dict[str, Any]) -> str | None:
    """The model the comparison is against: the previous model, else the logistic baseline."""
    if PREVIOUS in models:
        return PREVIOUS
    others = [m for m in models if m != "model"]
    if not others:
        return None
    return BASELINE_REFERENCE if BASELINE_REFERENCE in others else others[0]


def _about(previous: Any, catalogue: Any) -> dict[str, Any]:
    """What comparison.json records of the previous model."""
    from dropoutrisk.features import default_catalogue

    params = dict(previous.manifest.get("params") or {})
    own = getattr(previous.model, "catalogue", None) or default_catalogue()
    return {
        "name": PREVIOUS,
        "model_id": previous.model_id,
        "manifest_sha256": previous.manifest_sha256,
        "trained_on_cohorts": [int(c) for c in params.get("cohorts") or []],
        "trained_at_weeks": list(params.get("weeks") or []),
        "trained_horizon_days": params.get("horizon_days"),
        "features": "same catalogue" if own == catalogue else "own catalogue",
    }


def _compared_metrics(flag_rate: float) -> list[str]:
    """Metrics of the stdout summary: the ranking and Brier, and recall at the flag rate."""
    return [*_COMPARED, f"recall_at_{round(flag_rate * 100, 6):g}pct"]


def _matching_truth(truth: Any, horizon: int, X: Any) -> Any:
    """The truth rows at the evaluation's horizon (a truth table may hold several).

    None when they do not cover every evaluated (student, as_of) row: the
    synthetic truth is written at school-year weeks, not at days after a start.
    """
    import pandas as pd

    if "horizon_days" in truth.columns:
        truth = truth[truth["horizon_days"] == horizon]
    if not len(truth) or not {"student_id", "as_of"} <= set(truth.columns):
        return None if not len(truth) else truth
    have = pd.MultiIndex.from_arrays([truth["student_id"].astype(str),
                                      pd.to_datetime(truth["as_of"]).dt.normalize()])
    rows = pd.MultiIndex.from_arrays([X.index.astype(str),
                                      pd.to_datetime(X["as_of"]).dt.normalize()])
    if not rows.isin(have).all():
        print("The truth table has no true risk at these snapshots: the oracle is left out.",
              file=sys.stderr)
        return None
    return truth


def _write_report(out: Path, document: dict[str, Any], result: Any,
                  compared: dict[str, Any] | None) -> None:
    import io

    from dropoutrisk._atomic import write_folder
    from dropoutrisk._templates import render

    # every file is made first, then the folder is swapped in whole: a failure leaves the
    # previous report, and an earlier run's comparison never sits beside this run's metrics
    files: dict[str, bytes | str] = {}
    for (file, _), ax in zip(_PLOTS, (result.plot_calibration(), result.plot_roc()), strict=True):
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        files[file] = buffer.getvalue()
    files["metrics.json"] = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if compared is not None:
        files["comparison.json"] = json.dumps(compared, indent=2, allow_nan=False) + "\n"

    metrics = document["metrics"]
    columns = [c for c in _METRIC_COLUMNS if any(c in row for row in metrics.values())]
    html = render(
        "dropoutrisk.cli", "evaluate.html.j2", trim=False, keep_trailing_newline=True,
        filters={"fmt": _fmt},
        model_id=document["model_id"],
        cohorts=document["cohorts"],
        trained_on=document["trained_on_cohorts"],
        weeks=document["weeks"],
        horizon_days=document["horizon_days"],
        n=document["n_rows"],
        n_students=document["n_students"],
        metric_columns=columns,
        metrics=list(metrics.items()),
        operating_columns=list(_OPERATING_COLUMNS),
        operating=list(document["operating_point"].items()),
        flag_rate_pct=f"{document['settings']['flag_rate']:.0%}",
        plots=list(_PLOTS),
        has_oracle="oracle" in metrics,
        reference=document["settings"].get("reference", ""),
        comparison=None if compared is None else _comparison_section(compared),
    )
    files["report.html"] = html
    write_folder(out, files)


def _comparison_section(compared: dict[str, Any]) -> dict[str, Any]:
    """Title, rows and note of the report's comparison table (model against the reference)."""
    settings = compared["settings"]
    reference = settings["reference"]
    flag = f"{round(settings['flag_rate'] * 100, 6):g}pct"
    wanted = [*_COMPARED, f"precision_at_{flag}", f"recall_at_{flag}"]
    differences = {d["metric"]: d for d in compared["differences"] if d["model"] == "model"}
    rows = []
    for metric in (m for m in wanted if m in differences):
        d = differences[metric]
        if d["difference"] is None:
            text = "n/a"
        elif d["ci_low"] is None:
            text = f"{d['difference']:+.4f}"
        else:
            text = f"{d['difference']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
        rows.append({"metric": metric, "model": compared["metrics"]["model"].get(metric),
                     "reference": compared["metrics"][reference].get(metric),
                     "difference": text, "p_not_better": d["p_not_better"]})
    if reference == PREVIOUS:
        about = compared["against"]
        title = "Against the previous model"
        features = ("the same features" if about["features"] == "same catalogue"
                    else "features built from its own catalogue")
        whom = (f"The previous model {about['model_id']} (trained on cohorts "
                f"{', '.join(map(str, about['trained_on_cohorts'])) or 'unknown'}) is scored on "
                f"the same rows, with {features}.")
    else:
        title = f"Against the {reference} baseline"
        whom = f"The {reference} baseline is the one stored in the model bundle."
    unit = "students" if settings["bootstrap_unit"] == "student_id" else settings["bootstrap_unit"]
    if settings["n_boot"]:
        how = (f"Intervals: {settings['confidence']:.0%} paired bootstrap over "
               f"{settings['n_clusters']} {unit} ({settings['n_boot']} replicates, seed "
               f"{settings['random_state']}). p_not_better is the share of replicates in which "
               "the model is not better (lower is better for Brier); a bootstrap share, not a "
               "p-value. The intervals cover the sampling of students, not training randomness "
               "or the next cohort being different.")
    else:
        how = "No intervals (--n-boot 0): point estimates only."
    return {"title": title, "reference": reference, "rows": rows,
            "note": f"{whom} {how} All metrics and models: comparison.json."}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)
