"""MLflow tracking (an edge module): opt-in, SQLite by default, no student-level rows.

Only the command line imports this module; library code never talks to
MLflow. A training run logs:

* the training parameters and the (aggregate) evaluation metrics;
* the plots, as PNG artifacts under ``plots/``;
* the bundle's ``manifest.json`` (versions, catalogue, fingerprint, hashes);
* the model in MLflow's scikit-learn flavour, serialised with skops and the
  explicit trusted types of :func:`dropoutrisk.models.trusted_types`;
* a pyfunc model (``pyfunc/``) that returns ``probability``, ``flag``,
  ``tier`` and the top four reasons of each flagged row (``reason_<k>_code``,
  ``reason_<k>_sv``, ``reason_<k>_en``) for a frame of features. It is
  logged *from code* (no pickled Python object) and reads the verified model
  bundle, stored beside it as an artifact, with :func:`dropoutrisk.load_model`.

No student-level row ever goes into a run: there is no input example, the
signatures are built from the feature names and types alone, and no dataset
is logged. Only the training data's fingerprint is recorded.

MLflow's own loader for the scikit-learn flavour reads the trusted types from
the model's ``MLmodel`` file, so a crafted model could widen them; it refuses
to load unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``. To load the
sklearn-flavour file with dropoutrisk's list instead::

    skops.io.load(".../model.skops", trusted=dropoutrisk.models.trusted_types())
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "default_tracking_uri",
    "log_evaluation_report",
    "log_evaluation_run",
    "log_training_run",
    "make_pyfunc_model",
]

#: Top reasons the served pyfunc model gives each flagged row.
PYFUNC_REASONS = 4
#: The pyfunc model's output columns: probability, flag, tier, then the top
#: reasons of flagged rows (code, Swedish, English; empty for rows not flagged).
PYFUNC_OUTPUT_COLUMNS = (
    "probability",
    "flag",
    "tier",
    *(f"reason_{k}_{part}" for k in range(1, PYFUNC_REASONS + 1) for part in ("code", "sv", "en")),
)

# Logged "from code": MLflow stores this file instead of a pickled object.
_PYFUNC_CODE = '''\
"""dropoutrisk pyfunc model: probability, flag, tier and reasons from the verified bundle."""
import mlflow

from dropoutrisk.tracking import make_pyfunc_model

mlflow.models.set_model(make_pyfunc_model())
'''



def default_tracking_uri(cwd: str | os.PathLike[str] | None = None) -> str:
    """Return the default tracking URI: a SQLite file ``mlruns.db`` in ``cwd``.

    Examples
    --------
    >>> default_tracking_uri("/srv/job")
    'sqlite:////srv/job/mlruns.db'
    """
    folder = Path(cwd) if cwd is not None else Path.cwd()
    return "sqlite:///" + (folder.resolve() / "mlruns.db").as_posix()


def _disable_telemetry() -> None:
    # Before mlflow is first imported; off unless the user explicitly turned it on.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


#: A terminal control sequence (colour, cursor movement).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: MLflow warnings about what a run leaves out on purpose: no input example (it would be
#: a student's row) and no type hints (the signature is built from the feature names).
_EXPECTED_WARNINGS = ("Add type hints to the `predict` method",
                      "An input example was not provided")


@contextlib.contextmanager
def _plain_output() -> Iterator[None]:
    """MLflow calls whose output a log file can hold: no colour codes, no progress bars.

    MLflow colours some warnings with terminal codes and draws progress bars
    when it downloads artifacts. Its warnings are re-issued without the codes
    (the two about what a run leaves out on purpose are dropped), and the bars
    are off unless stderr is a terminal.
    """
    quiet = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    saved = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    if quiet:
        os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        if quiet:
            if saved is None:
                os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
            else:
                os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = saved
    for w in caught:
        text = _ANSI.sub("", str(w.message))
        if not text.startswith(_EXPECTED_WARNINGS):
            warnings.warn_explicit(text, w.category, w.filename, w.lineno)


def _use_experiment(mlflow: Any, tracking_uri: str | None, experiment: str,
                    artifact_location: str | os.PathLike[str] | None) -> None:
    """Point MLflow at the store and the experiment, creating it (artifacts beside SQLite)."""
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = artifact_location
        if location is None and uri.startswith("sqlite:///"):
            location = Path(uri[len("sqlite:///") :]).parent / "mlartifacts"
        mlflow.create_experiment(
            experiment, artifact_location=Path(location).resolve().as_uri() if location else None
        )
    mlflow.set_experiment(experiment)


def make_pyfunc_model():
    """Return the pyfunc model that MLflow serves for dropoutrisk.

    Its ``predict`` takes a frame of feature columns (as the model was trained
    on) and returns one row per input row with the columns
    :data:`PYFUNC_OUTPUT_COLUMNS`. The model itself is loaded, hash- and
    version-checked, from the bundle artifact named ``"bundle"``.

    Returns
    -------
    mlflow.pyfunc.PythonModel
    """
    _disable_telemetry()
    import mlflow.pyfunc
    import pandas as pd

    class RiskPyfuncModel(mlflow.pyfunc.PythonModel):
        """probability, flag and tier from a dropoutrisk model bundle."""

        def load_context(self, context):
            from dropoutrisk.models import load_model

            self.model = load_model(context.artifacts["bundle"])

        def predict(self, context, model_input, params=None):
            import datetime as dt

            from dropoutrisk.scoring import score

            X = pd.DataFrame(model_input)
            rows = X.reset_index(drop=True)
            # positions as zero-padded ids: score returns rows sorted by id, so in input order
            width = len(str(max(len(rows) - 1, 0)))
            rows.index = pd.Index([f"{i:0{width}d}" for i in range(len(rows))], name="student_id")
            # the rows' own as_of when they carry one (score checks it), else today
            as_of = rows["as_of"].iloc[0] if "as_of" in rows.columns and len(rows) else (
                dt.date.today())
            # exact SHAP reasons for the flagged rows; reference values are the
            # medians of the posted batch (per school when it has school_id)
            result = score(self.model, rows, as_of, reasons=PYFUNC_REASONS, drift="off",
                           require_school=False)
            p = result.predictions
            out = pd.DataFrame(
                {
                    "probability": p["probability"].to_numpy(),
                    "flag": p["flag"].to_numpy(dtype=bool),
                    "tier": p["tier"].astype(str).to_numpy(),
                },
                index=X.index,
            )
            for name in PYFUNC_OUTPUT_COLUMNS[3:]:
                out[name] = p[name].to_numpy(dtype=object)
            return out

    return RiskPyfuncModel()


def log_training_run(
    model: Any,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    bundle: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
    experiment: str = "dropoutrisk",
    artifact_location: str | os.PathLike[str] | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log a training run to MLflow and return its run id.

    Parameters
    ----------
    model : RiskModel
        The fitted model.
    params : mapping, optional
        Training parameters; nested mappings are flattened to ``a.b`` keys.
    metrics : mapping, optional
        Aggregate metrics; nested mappings are flattened, non-numeric and
        non-finite values are skipped, and names are made MLflow-safe
        (``precision@10%`` becomes ``precision_at_10pct``).
    figures : mapping of str to Figure or path, optional
        Plots: matplotlib figures or paths to image files, logged under
        ``plots/<name>.png``.
    bundle : path-like, optional
        The model bundle written by :func:`dropoutrisk.models.save_model`. Its
        manifest is logged and the pyfunc model reads it. Without one, a
        bundle is written to a temporary folder.
    tracking_uri : str, optional
        Defaults to :func:`default_tracking_uri` (SQLite in the working directory).
        Sets MLflow's global tracking URI.
    experiment : str, default="dropoutrisk"
    artifact_location : path-like, optional
        Where a *new* experiment stores artifacts; defaults to ``mlartifacts``
        next to a SQLite database.
    run_name : str, optional
    tags : mapping, optional

    Returns
    -------
    str
        The MLflow run id.

    Examples
    --------
    >>> run_id = log_training_run(model, params={"n_estimators": 300},
    ...                           metrics={"roc_auc": 0.81})  # doctest: +SKIP
    """
    _disable_telemetry()
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import ModelSignature

    from dropoutrisk.models import save_model, trusted_types

    with _plain_output():
        return _log_training_run(
            mlflow, ModelSignature, save_model, trusted_types, model, params=params,
            metrics=metrics, figures=figures, bundle=bundle, tracking_uri=tracking_uri,
            experiment=experiment, artifact_location=artifact_location, run_name=run_name,
            tags=tags)


def _log_training_run(mlflow: Any, ModelSignature: Any, save_model: Any, trusted_types: Any,
                      model: Any, *, params: Mapping[str, Any] | None,
                      metrics: Mapping[str, Any] | None, figures: Mapping[str, Any] | None,
                      bundle: Any, tracking_uri: str | None, experiment: str,
                      artifact_location: Any, run_name: str | None,
                      tags: Mapping[str, str] | None) -> str:
    _use_experiment(mlflow, tracking_uri, experiment, artifact_location)
    signature = ModelSignature(inputs=_input_schema(model))
    requirements = _pip_requirements()
    with tempfile.TemporaryDirectory(prefix="dropoutrisk-mlflow-") as scratch:
        scratch_dir = Path(scratch)
        if bundle is None:
            bundle = save_model(model, scratch_dir / "bundle", params=params, metrics=metrics)
        bundle = Path(bundle)
        code = scratch_dir / "dropoutrisk_pyfunc.py"
        code.write_text(_PYFUNC_CODE, encoding="utf-8")

        with mlflow.start_run(run_name=run_name) as run:
            mlflow.set_tags({"dropoutrisk.model_class": type(model).__name__, **(tags or {})})
            manifest = bundle / "manifest.json"
            if manifest.is_file():
                info = json.loads(manifest.read_text("utf-8"))
                mlflow.set_tag("dropoutrisk.model_id", info.get("model_id", ""))
                fingerprint = (info.get("training_data") or {}).get("fingerprint")
                if fingerprint:
                    mlflow.set_tag("dropoutrisk.training_data", fingerprint)
                mlflow.log_artifact(str(manifest), artifact_path="bundle")
            _log_contents(mlflow, params, metrics, figures)

            mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format="skops",
                skops_trusted_types=trusted_types(),
                signature=signature,
                pip_requirements=requirements,
            )
            mlflow.pyfunc.log_model(
                name="pyfunc",
                python_model=str(code),
                artifacts={"bundle": str(bundle)},
                signature=ModelSignature(inputs=signature.inputs, outputs=_output_schema()),
                pip_requirements=requirements,
            )
            return run.info.run_id


def log_evaluation_run(
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes | str] | None = None,
    tracking_uri: str | None = None,
    experiment: str = "dropoutrisk",
    artifact_location: str | os.PathLike[str] | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log an evaluation (or comparison, or backtest) run to MLflow and return its run id.

    Only aggregates go in: the caller passes metrics, plots and the report's
    files (``metrics.json``, ``comparison.json``, ``report.html``), which hold
    no student-level row. No model is logged.

    Parameters
    ----------
    params : mapping, optional
        What was evaluated (model id, cohorts, weeks, ...); nested mappings are
        flattened to ``a.b`` keys.
    metrics : mapping, optional
        Aggregate metrics, flattened and made MLflow-safe as in
        :func:`log_training_run`; non-numeric and non-finite values are skipped.
    figures : mapping of str to Figure or path, optional
        Plots, logged under ``plots/<name>.png``.
    files : mapping of str to bytes or str, optional
        Report files, logged under ``report/<name>``.
    tracking_uri, experiment, artifact_location, run_name, tags
        As in :func:`log_training_run`.

    Returns
    -------
    str
        The MLflow run id.

    Examples
    --------
    >>> run_id = log_evaluation_run(params={"model_id": "abc"},
    ...                             metrics={"model": {"roc_auc": 0.8}})  # doctest: +SKIP
    """
    _disable_telemetry()
    import mlflow

    with _plain_output():
        _use_experiment(mlflow, tracking_uri, experiment, artifact_location)
        with tempfile.TemporaryDirectory(prefix="dropoutrisk-mlflow-") as scratch, \
                mlflow.start_run(run_name=run_name) as run:
            mlflow.set_tags({"dropoutrisk.run": "evaluation", **(tags or {})})
            _log_contents(mlflow, params, metrics, figures)
            for name, content in sorted((files or {}).items()):
                path = Path(scratch) / Path(name).name
                if isinstance(content, bytes):
                    path.write_bytes(content)
                else:
                    path.write_text(content, encoding="utf-8")
                mlflow.log_artifact(str(path), artifact_path="report")
            return run.info.run_id


def log_evaluation_report(report: Any, *, tracking_uri: str | None = None,
                          experiment: str = "dropoutrisk", run_name: str | None = None) -> str:
    """Log what ``dropoutrisk evaluate`` wrote to MLflow and return the run id.

    Parameters are what was evaluated (model, previous model, cohorts,
    snapshots, flag rate, bootstrap); metrics are every model's metrics
    (``<model>.<metric>``), each difference from the reference with its interval
    (``vs_<reference>.<model>.<metric>``, ``..._ci_low``, ``..._ci_high``), the
    changed flags of all schools together (``flag_changes.<model>.newly_flagged``,
    ...; suppressed counts are not logged) and the reason stability
    (``reason_stability.<model>.same_set`` with its interval, ``same_order``,
    ``same_first``). Artifacts: the report folder (``report/``: metrics.json,
    comparison.json with the changed flags by school, report.html, the plots),
    ``flag_changes.json`` and ``reason_stability.json``, and the comparison's plot.
    Aggregates only: no student id or row goes in.

    Parameters
    ----------
    report : EvaluationReport
        From :func:`dropoutrisk.report.evaluation_report`.
    tracking_uri, experiment, run_name
        As in :func:`log_training_run`.

    Returns
    -------
    str
        The MLflow run id.
    """
    document = report.to_dict()
    header = document["metrics"]
    params = {key: header.get(key) for key in ("model_id", "cohorts", "weeks", "days",
                                               "horizon_days", "n_rows", "n_students")}
    params["flag_rate"] = header["settings"]["flag_rate"]
    metrics: dict[str, Any] = dict(header["metrics"])
    files = dict(report.files())
    figures: dict[str, Any] = {}
    tags = {"dropoutrisk.model_id": str(header["model_id"])}
    comparison = report.comparison
    if comparison is not None:
        compared = document["comparison"]
        reference = comparison.reference
        params.update(reference=reference, n_boot=comparison.n_boot,
                      seed=comparison.settings["random_state"])
        if compared.get("against"):
            params["against_model_id"] = compared["against"]["model_id"]
            tags["dropoutrisk.against_model_id"] = str(compared["against"]["model_id"])
        for r in comparison.differences.itertuples(index=False):
            key = f"vs_{reference}.{r.model}.{r.metric}"
            metrics.update({key: r.difference, f"{key}_ci_low": r.ci_low,
                            f"{key}_ci_high": r.ci_high})
        changes = comparison.flag_changes
        totals = changes[changes["school_id"] == changes["school_id"].iloc[-1]]
        for r in totals.itertuples(index=False):
            for column in ("n_rows", "still_flagged", "newly_flagged", "no_longer_flagged"):
                value = getattr(r, column)
                if not _is_missing(value):
                    metrics[f"flag_changes.{r.model}.{column}"] = int(value)
        for r in comparison.reason_stability.itertuples(index=False):
            for column in ("n_flagged_both", "n_compared", "same_set", "same_set_ci_low",
                           "same_set_ci_high", "same_order", "same_first"):
                metrics[f"reason_stability.{r.model}.{column}"] = getattr(r, column)
        files["flag_changes.json"] = json.dumps(compared["flag_changes"], indent=2) + "\n"
        files["reason_stability.json"] = json.dumps(compared["reason_stability"],
                                                    indent=2) + "\n"
        figures["comparison"] = comparison.plot_differences().figure
    try:
        return log_evaluation_run(params=params, metrics=metrics, figures=figures, files=files,
                                  tracking_uri=tracking_uri, experiment=experiment,
                                  run_name=run_name, tags=tags)
    finally:
        for figure in figures.values():
            figure.clear()


def _is_missing(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _input_schema(model: Any):
    from mlflow.types import ColSpec, Schema

    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    if not names:
        raise ValueError("The model has no feature_names_in_: fit it on a DataFrame first.")
    categorical = set(getattr(model, "categorical_features_", ()) or ())
    return Schema([ColSpec("string" if n in categorical else "double", n) for n in names])


def _output_schema():
    from mlflow.types import ColSpec, Schema

    reasons = [ColSpec("string", name, required=False) for name in PYFUNC_OUTPUT_COLUMNS[3:]]
    return Schema(
        [ColSpec("double", "probability"), ColSpec("boolean", "flag"), ColSpec("string", "tier"),
         *reasons]
    )


def _pip_requirements() -> list[str]:
    # Explicit pins skip MLflow's requirement inference, which re-imports the model
    # in a subprocess; dropoutrisk itself is pinned to the version that trained it.
    from dropoutrisk._provenance import package_versions

    return [f"{dist}=={version}" for dist, version in package_versions().items()
            if dist != "python" and version is not None]


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def _metric_name(name: str) -> str:
    name = name.replace("@", "_at_").replace("%", "pct")
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)


def _numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    import math
    import numbers

    out = {}
    for key, value in _flatten(metrics).items():
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
            if math.isfinite(value):
                out[_metric_name(key)] = value
    return out


def _log_contents(mlflow: Any, params: Any, metrics: Any, figures: Any) -> None:
    """Log the flattened parameters, the numeric metrics and the figures of a run."""
    flat_params = _flatten(params or {})
    if flat_params:
        mlflow.log_params({k: _param_text(v) for k, v in flat_params.items()})
    flat_metrics = _numeric_metrics(metrics or {})
    if flat_metrics:
        mlflow.log_metrics(flat_metrics)
    for name, figure in sorted((figures or {}).items()):
        _log_figure(mlflow, name, figure)


def _log_figure(mlflow: Any, name: str, figure: Any) -> None:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    if isinstance(figure, str | os.PathLike):
        path = Path(figure)
        mlflow.log_artifact(str(path), artifact_path="plots")
    else:
        mlflow.log_figure(figure, f"plots/{safe}.png")
