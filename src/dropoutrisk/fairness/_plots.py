"""Plots of an :class:`~dropoutrisk.fairness.Audit` (the HTML page is :mod:`._html`).

Everything is drawn from the audit's published (already suppressed) tables,
so a suppressed cell can only appear as its marker. Matplotlib is imported
on first use and figures are built with :class:`matplotlib.figure.Figure`
(no pyplot, no global backend change), so this works headless.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.fairness._bootstrap import MEASURE_LABELS

# The functions take an Audit (its plot and to_html methods call them); they
# read it through its public properties only, so this module never imports
# fairness._audit or _audit_result, and the modules do not import each other.
__all__ = ["figure_svgs", "plot_calibration", "plot_rates"]


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


def figure_svgs(audit: Any) -> list[tuple[str, list[str]]]:
    """Per grouping of single groups: its calibration curves and its flag-rate and TPR bars,
    each as an inline SVG large enough to read at half a page's width."""
    from matplotlib.figure import Figure

    out = []
    for grouping in dict.fromkeys(audit.by_group["grouping"]):
        svgs = []
        for metric in (None, "flag_rate", "tpr"):
            fig = Figure(figsize=(6.0, 4.0))
            ax = fig.add_subplot()
            fig.subplots_adjust(left=0.12, right=0.97, bottom=0.2, top=0.9)
            if metric is None:
                plot_calibration(audit, grouping, ax=ax)
            else:
                plot_rates(audit, metric, grouping, ax=ax)
            svgs.append(_svg(ax))
        out.append((str(grouping), svgs))
    return out
