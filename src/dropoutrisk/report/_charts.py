"""Charts as inline SVG strings, so a report is one self-contained HTML file.

matplotlib is imported on first use and only through :class:`~matplotlib.figure.Figure`
(no pyplot, no GUI backend). Every SVG gets its own id salt, so several charts
can share one page without clashing ids, and no date, so output is reproducible.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["figure_svg", "trajectory_figure", "trajectory_svg"]

_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def figure_svg(fig: Any, *, name: str, title: str) -> str:
    """Render a matplotlib figure as an inline ``<svg>`` element that scales to its container."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "none",
                                "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = _METADATA.sub("", svg, count=1)  # RDF boilerplate with external namespace URLs
    # Drop the fixed size in points: the viewBox keeps the aspect ratio and CSS caps the width.
    svg = _SIZE.sub(lambda m: f'<svg{m.group(1)} class="chart" data-chart="{name}" role="img" '
                              f'style="max-width:{float(m.group(2)) * 4 / 3:.0f}px"', svg, count=1)
    # matplotlib numbers its ids per figure (figure_1, axes_1, ...): prefix them per chart.
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{name}-{m.group(1)}"', svg)
    title = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return svg.replace(">", f"><title>{title}</title>", 1)


def trajectory_svg(weekly: pd.DataFrame, *, lang: str, name: str = "attendance",
                   markers: list[dict] | None = None) -> str:
    """Line chart of the student's weekly attendance and the school median, as inline SVG."""
    title = {"sv": "Närvaro per vecka", "en": "Weekly attendance"}[lang]
    return figure_svg(trajectory_figure(weekly, lang=lang, markers=markers), name=name,
                      title=title)


def trajectory_figure(weekly: pd.DataFrame, *, lang: str, markers: list[dict] | None = None) -> Any:
    """The figure of :func:`trajectory_svg`: one tick per week shown, on the Monday it names.

    ``markers`` are vertical lines: ``{"date", "kind", "legend", "label"}``
    with kind ``flag`` (the first flag) or ``intervention`` (its ``label``, a
    number, is written at the top of the line); the first of each kind puts
    its ``legend`` in the legend.
    """
    from matplotlib.figure import Figure

    text = {
        "sv": ("Närvaro per vecka", "Eleven", "Skolans median", "Vecka (måndag)"),
        "en": ("Weekly attendance", "Student", "School median", "Week (Monday)"),
    }[lang]
    fig = Figure(figsize=(7.0, 2.8), layout="constrained")
    ax = fig.add_subplot()
    x = pd.to_datetime(weekly["week"]) if len(weekly) else pd.to_datetime(pd.Series([], dtype=object))
    if len(weekly):
        ax.plot(x, weekly["school_median"].to_numpy(dtype=np.float64) * 100, color="#888888",
                lw=1.5, ls="--", marker="o", ms=3, label=text[2])
        ax.plot(x, weekly["student"].to_numpy(dtype=np.float64) * 100, color="#b2182b", lw=2,
                marker="o", ms=4, label=text[1])
        if markers:
            _draw_markers(ax, markers)
            # above the plot, so the lines and their numbers never hide a legend entry
            ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=4,
                      frameon=False, borderaxespad=0.0)
        else:
            ax.legend(fontsize=8, loc="lower left", frameon=False)
    else:
        ax.text(0.5, 0.5, "Ingen närvarodata" if lang == "sv" else "No attendance data",
                ha="center", va="center", transform=ax.transAxes)
    # with markers, room above 100 % for the interventions' numbers, clear of the lines
    ax.set_ylim(0, 114 if markers else 102)
    if markers:
        ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_ylabel("%", fontsize=8)
    ax.set_xlabel(text[3], fontsize=8)
    if len(weekly):
        # one tick per week shown (every k-th when many), each on the Monday it names
        step = max(1, -(-len(x) // 10))
        ticks = pd.DatetimeIndex(x).sort_values()[::step]
        ax.set_xticks(ticks, labels=[t.date().isoformat() for t in ticks])
    from dropoutrisk.explain import decimal_formatter

    ax.yaxis.set_major_formatter(decimal_formatter(lang))
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate(rotation=30)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


_FLAG_COLOUR = "#1a1a1a"
_INTERVENTION_COLOUR = "#1b7837"


def _draw_markers(ax: Any, markers: list[dict]) -> None:
    """The first flag (dash-dot) and each intervention (dotted, numbered) as vertical lines."""
    shown_intervention = False
    days: dict[pd.Timestamp, int] = {}
    for m in markers:
        day = pd.Timestamp(m["date"])
        if m["kind"] == "flag":
            ax.axvline(day, color=_FLAG_COLOUR, lw=1.2, ls="-.", label=m["legend"])
            continue
        ax.axvline(day, color=_INTERVENTION_COLOUR, lw=1.2, ls=":",
                   label=None if shown_intervention else m["legend"])
        shown_intervention = True
        # several on one day: their numbers stack down instead of overprinting
        level = days.get(day, 0)
        days[day] = level + 1
        ax.annotate(m["label"], (day, 106), xytext=(3, -9 * level), textcoords="offset points",
                    fontsize=7, color=_INTERVENTION_COLOUR, fontweight="bold", va="center")
