"""The model card: Markdown and HTML from a bundle manifest and a fairness audit.

The card is built only from aggregates: the manifest (versions, training
cohorts, recorded metrics) and the audit's published tables, in which
small cells are already suppressed. It never sees a student-level row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from dropoutrisk.errors import ParameterError

__all__ = ["MODEL_CARD_TEMPLATES", "model_card"]

#: Template file names in ``dropoutrisk/report/templates``, by format.
MODEL_CARD_TEMPLATES: dict[str, str] = {
    "markdown": "model_card.md.j2",
    "html": "model_card.html.j2",
}

_PERFORMANCE = ("roc_auc", "ece", "mean_predicted", "base_rate", "flag_rate", "tpr", "fpr",
                "precision")
_RECORDED = ("roc_auc", "pr_auc", "brier", "ece", "ece_equal_mass", "ece_equal_width",
             "log_loss", "precision", "recall", "flag_rate")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def _interval(row: Mapping[str, Any], name: str) -> str:
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    if lo is None or hi is None:
        return _fmt(row.get(name))
    return f"{_fmt(row.get(name))} [{_fmt(lo)}, {_fmt(hi)}]"


def _recorded_metrics(manifest: Mapping[str, Any]) -> dict[str, Any]:
    block = dict(manifest.get("metrics") or {})
    table = block.get("metrics")
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    if isinstance(table, Mapping):
        present = [c for c in _RECORDED if any(c in (r or {}) for r in table.values())]
        columns = present
        for name, values in table.items():
            values = values or {}
            rows.append({"model": str(name), "values": [_fmt(values.get(c)) for c in present]})
    flat = {k: v for k, v in block.items()
            if k not in ("metrics", "data", "note") and isinstance(v, int | float)}
    return {"data": block.get("data"), "note": block.get("note"), "columns": columns,
            "rows": rows, "flat": {k: _fmt(v) for k, v in flat.items()}}


def _audit_context(audit: Any) -> dict[str, Any] | None:
    if audit is None:
        return None
    doc = audit.to_dict() if hasattr(audit, "to_dict") else dict(audit)
    params = doc["params"]
    overall = doc["overall"]
    performance = [{"measure": m, "value": _interval(overall, m)} for m in _PERFORMANCE
                   if m in overall]
    findings = [{
        "grouping": f["grouping"], "group": f["group"], "reference": f["reference"],
        "metric": f["metric"], "ratio": _fmt(f["ratio"], 2),
        "interval": f"[{_fmt(f['ratio_lo'], 2)}, {_fmt(f['ratio_hi'], 2)}]",
        "excludes_parity": "yes" if f["excludes_parity"] else "no",
    } for f in doc["findings"]]
    groups = [{
        "grouping": c["grouping"], "group": c["group"], "n": _fmt(c["n"]),
        "flag_rate": _interval(c, "flag_rate"), "tpr": _interval(c, "tpr"),
        "calibration": f"{_fmt(c.get('mean_predicted'))} vs {_fmt(c.get('base_rate'))}",
        "ece": _fmt(c.get("ece")),
    } for c in doc["by_group"]]
    n_suppressed = sum(1 for c in doc["by_group"] + doc["by_intersection"] if c["suppressed"])
    return {
        "params": params,
        "n": _fmt(overall.get("n")),
        "performance": performance,
        "findings": findings,
        "n_confirmed": sum(1 for f in doc["findings"] if f["excludes_parity"]),
        "groups": groups,
        "n_suppressed": n_suppressed,
        "n_cells": len(doc["by_group"]) + len(doc["by_intersection"]),
    }


def model_card(
    manifest: Mapping[str, Any],
    audit: Any = None,
    *,
    format: str = "markdown",
    audit_cohorts: list[int] | None = None,
    generated_at: str | None = None,
) -> str:
    """Render the model card.

    Parameters
    ----------
    manifest : mapping
        The bundle manifest (``manifest.json`` of a model folder, or
        ``ModelBundle.manifest``).
    audit : Audit or dict, optional
        The fairness audit (or its :meth:`~dropoutrisk.fairness.Audit.to_dict`);
        its overall measures are the card's out-of-time metrics when it ran
        on cohorts later than the training ones.
    format : {"markdown", "html"}, default "markdown"
    audit_cohorts : list of int, optional
        The cohorts the audit ran on, for the card's text.
    generated_at : str, optional
        The card's date (ISO); default today (UTC).

    Returns
    -------
    str

    Examples
    --------
    >>> manifest = {"model_id": "abc123", "model_class": "RiskModel",
    ...             "versions": {"dropoutrisk": "0.1.0"},
    ...             "params": {"cohorts": [2021, 2022], "weeks": [6, 10],
    ...                        "horizon_days": 365, "include_background": False}}
    >>> card = model_card(manifest, generated_at="2025-01-01")
    >>> card.splitlines()[0]
    '# Model card: dropoutrisk model abc123'
    >>> "never for sanctions, admission or grading" in card
    True
    """
    from dropoutrisk._templates import render

    if format not in MODEL_CARD_TEMPLATES:
        raise ParameterError(parameter="format", message=
            f"format={format!r} must be one of {sorted(MODEL_CARD_TEMPLATES)}.")
    params = dict(manifest.get("params") or {})
    training = dict(manifest.get("training_data") or {})
    trained_on = [int(c) for c in params.get("cohorts") or []]
    out_of_time = bool(audit_cohorts and trained_on and min(audit_cohorts) > max(trained_on))
    calibration = params.get("calibration") or {}
    context = {
        "model_id": manifest.get("model_id", "unknown"),
        "model_class": manifest.get("model_class", "unknown"),
        "created_at": manifest.get("created_at", "unknown"),
        "generated_at": generated_at or dt.datetime.now(dt.UTC).date().isoformat(),
        "versions": sorted((str(k), str(v)) for k, v in (manifest.get("versions") or {}).items()),
        "cohorts": trained_on,
        "calib_cohort": params.get("calib_cohort"),
        "weeks": params.get("weeks"),
        "horizon_days": params.get("horizon_days"),
        "include_background": bool(params.get("include_background", False)),
        "n_rows": params.get("n_rows", training.get("n_rows")),
        "n_students": params.get("n_students"),
        "fingerprint": training.get("fingerprint"),
        "n_features": len(manifest.get("feature_names") or []),
        "calibration": calibration.get("strategy") if isinstance(calibration, Mapping) else None,
        "recorded": _recorded_metrics(manifest),
        "audit": _audit_context(audit),
        "audit_cohorts": audit_cohorts,
        "out_of_time": out_of_time,
    }
    return render("dropoutrisk.report", MODEL_CARD_TEMPLATES[format], autoescape=format == "html",
                  keep_trailing_newline=True, **context)
