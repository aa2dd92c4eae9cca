"""``dropoutrisk evaluate``: the model beside its baselines on a later cohort."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    cohort_frame,
    parse_cohorts,
    parse_weeks,
    read_data,
    warnings_to_stderr,
)

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


@app.command(
    "evaluate",
    help=(
        "Evaluate a model out of time on later cohorts, beside the ABC rule and the logistic "
        "baseline stored in its bundle. Writes metrics.json, calibration.png, roc.png and "
        "report.html into --out; with truth.parquet in --data, adds the oracle and "
        "model/oracle ratios.\n\n" + EXIT_CODES_HELP
    ),
)
def evaluate(
    model: Annotated[Path, typer.Option("--model", help="Model folder written by 'train'.")],
    data: Annotated[Path, typer.Option("--data", help="Folder of canonical tables.")],
    cohorts: Annotated[str, typer.Option("--cohorts", help="Test cohorts: 2024 or 2023-2024.")],
    out: Annotated[Path, typer.Option("--out", help="Report folder.")],
    weeks: Annotated[
        str | None,
        typer.Option("--weeks", help="Snapshot weeks; default: those the model was trained at."),
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option("--horizon-days", min=1, help="Label horizon; default: the training one."),
    ] = None,
    flag_rate: Annotated[
        float, typer.Option("--flag-rate", min=0.001, max=1.0, help="Operating point.")
    ] = 0.10,
) -> None:
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import evaluate as evaluate_models
    from dropoutrisk.models import load_bundle

    test_cohorts = parse_cohorts(cohorts)
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} exists and is not a folder.", param_hint="--out")

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    trained = dict(bundle.manifest.get("params") or {})
    trained_on = [int(c) for c in trained.get("cohorts") or []]
    late = [c for c in test_cohorts if trained_on and c <= max(trained_on)]
    if late:
        raise typer.BadParameter(
            f"cohorts {late} are not later than the training cohorts {trained_on}: that would "
            "not be an out-of-time evaluation.",
            param_hint="--cohorts",
        )
    snapshot_weeks = parse_weeks(weeks) if weeks else list(trained.get("weeks") or [6, 10, 20])
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
        )
        if truth is not None:
            truth = _matching_truth(truth, horizon)
        result = evaluate_models(
            y,
            models={"model": bundle.model, **bundle.baselines},
            X=X,
            truth=truth,
            flag_rate=flag_rate,
            dropout_dates=tables.get("outcomes"),
        )

    summary = result.to_dict()
    header = {
        "model_id": bundle.model_id,
        "manifest_sha256": bundle.manifest_sha256,
        "trained_on_cohorts": trained_on,
        "cohorts": test_cohorts,
        "weeks": snapshot_weeks,
        "horizon_days": horizon,
        "n_rows": len(X),
        "n_students": int(X.index.nunique()),
        "truth": truth is not None,
    }
    document = {**header, **summary}
    _write_report(out, document, result)
    row = result.metrics.loc["model"]
    print(
        f"Evaluated model {bundle.model_id} on cohorts {test_cohorts} ({len(X)} rows): "
        f"ROC-AUC {row['roc_auc']:.3f}, PR-AUC {row['pr_auc']:.3f}, "
        f"ECE {row['ece_equal_mass']:.4f}. Report in {out}"
    )


def _matching_truth(truth: Any, horizon: int) -> Any:
    """The truth rows at the evaluation's horizon (a truth table may hold several)."""
    if "horizon_days" in truth.columns:
        truth = truth[truth["horizon_days"] == horizon]
    return truth if len(truth) else None


def _write_report(out: Path, document: dict[str, Any], result: Any) -> None:
    import io

    import jinja2

    from dropoutrisk._atomic import write_bytes, write_text

    out.mkdir(parents=True, exist_ok=True)
    for (file, _), ax in zip(_PLOTS, (result.plot_calibration(), result.plot_roc()), strict=True):
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        write_bytes(out / file, buffer.getvalue())
    write_text(out / "metrics.json", json.dumps(document, indent=2, sort_keys=True) + "\n")

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dropoutrisk.cli", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    metrics = document["metrics"]
    columns = [c for c in _METRIC_COLUMNS if any(c in row for row in metrics.values())]
    html = env.get_template("evaluate.html.j2").render(
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
    )
    write_text(out / "report.html", html)


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
