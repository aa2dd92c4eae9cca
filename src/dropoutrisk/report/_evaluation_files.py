"""EvaluationReport: the result of :func:`~dropoutrisk.report.evaluation_report` and its folder.

The folder holds metrics.json, comparison.json (when there is a reference to
compare with), calibration.png, roc.png and report.html; aggregates only, no
student id. :meth:`EvaluationReport.write` swaps it in whole: a failure leaves the previous
report as it was, and an earlier run's comparison never sits beside this
run's metrics.
"""

from __future__ import annotations

import io
import json
from typing import Any

from dropoutrisk._result import Part, copied
from dropoutrisk.report._folder import FolderReport

__all__ = ["BASELINE_REFERENCE", "PREVIOUS", "EVALUATION_FILES", "EvaluationReport"]

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
EVALUATION_FILES = (*(file for file, _ in _PLOTS), "metrics.json", "comparison.json", "report.html")
#: The name the previous model (``against``) goes by in every output.
PREVIOUS = "previous"
#: The reference of comparison.json without a previous model, when the bundle has it.
BASELINE_REFERENCE = "logistic"
#: Metrics of the comparison summary (plus recall at the flag rate) and of the report's
#: comparison table (plus precision and recall at the flag rate).
COMPARED = ("roc_auc", "pr_auc", "brier")


class EvaluationReport(FolderReport):
    """A model evaluated beside its baselines (and a previous model), ready to be written.

    Build it with :func:`~dropoutrisk.report.evaluation_report`.
    """

    __slots__ = ("_compared", "_comparison", "_evaluation")
    _remedy = "call evaluation_report() again."
    owned, what = EVALUATION_FILES, "an evaluation report"
    evaluation = Part("The :class:`~dropoutrisk.models.Evaluation` of every model (immutable).",
                      convert=None)
    comparison = Part("The :class:`~dropoutrisk.models.ModelComparison` against the reference "
                      "(immutable), or ``None`` without a baseline or previous model.",
                      convert=None)

    def __init__(self, *, header: dict[str, Any], evaluation: Any, comparison: Any,
                 compared: dict[str, Any] | None) -> None:
        self._set(header=copied(header), evaluation=evaluation, comparison=comparison,
                  compared=copied(compared))

    def __repr__(self) -> str:
        return (f"EvaluationReport(model_id={self._header['model_id']!r}, "
                f"n_rows={self._header['n_rows']}, reference={self.reference!r})")

    @property
    def reference(self) -> str | None:
        """The name of the model compared against (``"previous"``, ``"logistic"``...)."""
        return None if self._comparison is None else self._comparison.reference

    def to_dict(self) -> dict[str, Any]:
        """metrics.json as ``"metrics"`` and comparison.json (or ``None``) as ``"comparison"``."""
        return {"metrics": {**copied(self._header), **self._evaluation.to_dict()},
                "comparison": copied(self._compared)}

    def summary_metrics(self) -> list[str]:
        """The metrics a summary compares: the ranking, Brier, recall at the flag rate."""
        rate = self._evaluation.settings["flag_rate"]
        return [*COMPARED, f"recall_at_{round(rate * 100, 6):g}pct"]

    def files(self) -> dict[str, bytes | str]:
        """The report folder: file name -> content (PNG bytes, JSON and HTML text)."""
        document = self.to_dict()
        metrics = document["metrics"]
        files: dict[str, bytes | str] = {}
        plots = (self._evaluation.plot_calibration(), self._evaluation.plot_roc())
        for (file, _), ax in zip(_PLOTS, plots, strict=True):
            buffer = io.BytesIO()
            ax.figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
            files[file] = buffer.getvalue()
            _close(ax.figure)
        files["metrics.json"] = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
        if document["comparison"] is not None:
            files["comparison.json"] = json.dumps(document["comparison"], indent=2,
                                                  allow_nan=False) + "\n"
        files["report.html"] = _html(metrics, document["comparison"])
        return files


def _close(figure: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def _html(document: dict[str, Any], compared: dict[str, Any] | None) -> str:
    from dropoutrisk._templates import render

    metrics = document["metrics"]
    columns = [c for c in _METRIC_COLUMNS if any(c in row for row in metrics.values())]
    return render(
        "dropoutrisk.report", "evaluate.html.j2", trim=False, keep_trailing_newline=True,
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


def _comparison_section(compared: dict[str, Any]) -> dict[str, Any]:
    """Title, rows and note of the report's comparison table (model against the reference)."""
    settings = compared["settings"]
    reference = settings["reference"]
    flag = f"{round(settings['flag_rate'] * 100, 6):g}pct"
    wanted = [*COMPARED, f"precision_at_{flag}", f"recall_at_{flag}"]
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
    section = {"title": title, "reference": reference, "rows": rows,
               "note": f"{whom} {how} All metrics and models: comparison.json.",
               "changes": [], "stability": None}
    if reference == PREVIOUS:
        section["changes"] = [
            {"school_id": r["school_id"],
             **{c: "<10" if r[c] is None else str(r[c])
                for c in ("n_rows", "still_flagged", "newly_flagged", "no_longer_flagged")}}
            for r in compared.get("flag_changes", []) if r["model"] == "model"]
        stable = [r for r in compared.get("reason_stability", []) if r["model"] == "model"]
        if stable:
            r = stable[0]
            if r["same_set"] is None:
                section["stability"] = (f"Reason stability: not computed ({r['n_compared']} rows "
                                        "flagged by both, fewer than 10).")
            else:
                interval = ("" if r["same_set_ci_low"] is None else
                            f" [{r['same_set_ci_low']:.1%}, {r['same_set_ci_high']:.1%}]")
                section["stability"] = (
                    f"Reason stability: {r['same_set']:.1%}{interval} of the {r['n_compared']} "
                    "rows flagged by both models have the same top three reason codes (the same "
                    f"set, order ignored); {r['same_order']:.1%} in the same order, "
                    f"{r['same_first']:.1%} the same first reason.")
    return section


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)
