"""Plots and the HTML page of an :class:`~dropoutrisk.fairness.Audit`.

Everything is drawn from the audit's published (already suppressed) tables,
so a suppressed cell can only appear as its marker. Matplotlib is imported
on first use and figures are built with :class:`matplotlib.figure.Figure`
(no pyplot, no global backend change), so this works headless.
"""

from __future__ import annotations

import html
import io
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.fairness._bootstrap import MEASURE_LABELS

# The functions take an Audit (its plot and to_html methods call them); they
# read it through its public properties only, so this module never imports
# fairness._audit or _audit_result, and the modules do not import each other.
__all__ = ["plot_calibration", "plot_rates", "render_html"]


def _new_axes(ax: Any, size: tuple[float, float] = (5.0, 3.6)) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    fig.subplots_adjust(bottom=0.22)
    return ax


def _cells(audit: Any, grouping: str | None) -> tuple[str, pd.DataFrame]:
    table = pd.concat([audit.by_group, audit.by_intersection], ignore_index=True)
    if grouping is None:
        grouping = str(table["grouping"].iloc[0])
    cells = table[table["grouping"] == grouping]
    if cells.empty:
        raise ParameterError(parameter="grouping", message=
            f"grouping={grouping!r} is not in the audit; groupings: "
            f"{list(dict.fromkeys(table['grouping']))}."
        )
    return grouping, cells


def plot_calibration(audit: Any, grouping: str | None = None, *, ax: Any = None) -> Any:
    """Calibration curve of each published group of ``grouping``.

    Bins with fewer than ``min_cell`` students are left out; suppressed
    groups are named in the legend as suppressed, without a curve.

    Returns
    -------
    matplotlib.axes.Axes
    """
    grouping, cells = _cells(audit, grouping)
    ax = _new_axes(ax)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect")
    curves = {c["group"]: c for c in audit.calibration_curves if c["grouping"] == grouping}
    for _, row in cells.iterrows():
        curve = curves.get(row["group"])
        if row["suppressed"] or curve is None:
            ax.plot([], [], linestyle="none", label=f"{row['group']} (n {row['n']}, suppressed)")
            continue
        ax.plot(curve["mean_predicted"], curve["observed"], marker="o", markersize=3,
                label=f"{row['group']} (n={row['n']})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed dropout rate")
    ax.set_title(f"Calibration by {grouping}")
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_rates(
    audit: Any, metric: str = "flag_rate", grouping: str | None = None, *, ax: Any = None
) -> Any:
    """Bars of ``metric`` per group of ``grouping`` with bootstrap interval error bars.

    Suppressed groups get no bar, only their marker (``"<10"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if metric not in MEASURE_LABELS:
        raise ParameterError(parameter="metric", message=
            f"metric={metric!r} must be one of {list(MEASURE_LABELS)}.")
    grouping, cells = _cells(audit, grouping)
    ax = _new_axes(ax)
    x = np.arange(len(cells))
    value = cells[metric].to_numpy(dtype=float)
    lo = cells[f"{metric}_lo"].to_numpy(dtype=float)
    hi = cells[f"{metric}_hi"].to_numpy(dtype=float)
    shown = ~np.isnan(value)
    err = np.vstack([np.where(np.isnan(lo), 0, value - lo), np.where(np.isnan(hi), 0, hi - value)])
    ax.bar(x[shown], value[shown], color="#4C72B0", yerr=err[:, shown], capsize=3)
    overall = float(audit.overall[metric])
    if not np.isnan(overall):
        ax.axhline(overall, color="0.3", linestyle=":", linewidth=1, label="everyone")
        ax.legend(fontsize=7)
    for xi, row in zip(x, cells.itertuples(index=False), strict=True):
        if row.suppressed:
            label = "suppressed" if row.n == "suppressed" else f"n {row.n}\nsuppressed"
            ax.text(xi, 0.02, label, ha="center", va="bottom", fontsize=7,
                    transform=ax.get_xaxis_transform())
    tops = np.r_[hi[~np.isnan(hi)], value[shown], [overall] if not np.isnan(overall) else []]
    ax.set_ylim(0, min(1.0, 1.15 * tops.max()) if tops.size and tops.max() > 0 else 1.0)
    ax.set_xlim(-0.6, len(cells) - 0.4)
    ax.set_xticks(x, [str(g) for g in cells["group"]], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(MEASURE_LABELS[metric])
    ax.set_title(f"{MEASURE_LABELS[metric]} by {grouping} (95% bootstrap intervals)")
    return ax


def _svg(ax: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "dropoutrisk", "svg.fonttype": "none"}):
        ax.figure.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    cols = [c for c in columns if c in frame.columns]
    shown = frame[cols].copy()
    for c in cols:
        if pd.api.types.is_float_dtype(shown[c].dtype):
            shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    return shown.to_html(index=False, escape=True, border=0, classes="audit")


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}
table.audit{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}
table.audit th,table.audit td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots svg{max-width:100%;height:auto}
.note{color:#555;font-size:.9em}
"""


def render_html(audit: Any, *, title: str = "Fairness audit") -> str:
    """A self-contained HTML page of the audit, plots inline as SVG."""
    params = audit.params
    main = ["grouping", "group", "n", "base_rate", "flag_rate", "flag_rate_lo", "flag_rate_hi",
            "tpr", "tpr_lo", "tpr_hi", "fpr", "precision", "mean_predicted", "ece", "roc_auc"]
    findings = audit.findings
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p>Operating point: <b>" + html.escape(str(params["operating_point"])) + "</b>. "
        f"Groups: {html.escape(', '.join(params['groups']))}; intersections up to "
        f"{params['intersections']} groups. {params['n_boot']} bootstrap replicates, "
        f"{params['confidence']:.0%} intervals.</p>",
        "<p class='note'>A finding is a disparity ratio against the reference group "
        f"outside [{params['band'][0]}, {params['band'][1]}]; <i>excludes_parity</i> says "
        "whether its interval excludes 1. Cells with fewer than "
        f"{params['min_cell']} students, and cells that would let them be recovered by "
        "subtraction, are suppressed.</p>",
        f"<h2>Findings ({len(findings)})</h2>",
        _table(findings, list(findings.columns)) if len(findings) else "<p>None.</p>",
        "<h2>Everyone</h2>",
        _table(audit.overall.to_frame().T.assign(grouping="overall", group="all"), main),
        "<h2>By group</h2>",
        _table(audit.by_group, main),
        "<h2>By intersection</h2>",
        _table(audit.by_intersection, main),
        "<h2>Plots</h2>",
    ]
    from matplotlib.figure import Figure

    for grouping in dict.fromkeys(audit.by_group["grouping"]):
        # One figure per grouping: figure set-up dominates the cost of small plots.
        fig = Figure(figsize=(15.0, 4.2))
        axes = fig.subplots(1, 3)
        fig.subplots_adjust(left=0.05, right=0.98, bottom=0.25, top=0.9, wspace=0.28)
        plot_calibration(audit, grouping, ax=axes[0])
        plot_rates(audit, "flag_rate", grouping, ax=axes[1])
        plot_rates(audit, "tpr", grouping, ax=axes[2])
        parts.append(f"<h3>{html.escape(str(grouping))}</h3><div class='plots'>")
        parts.append(_svg(axes[0]))
        parts.append("</div>")
    parts.append("<h2>All disparity ratios</h2>")
    parts.append(_table(audit.disparities, list(audit.disparities.columns)))
    parts.append("</body></html>")
    return "\n".join(parts)
