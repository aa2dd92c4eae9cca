"""Plots of explanations. matplotlib is imported here, on first use only.

Figures are built with :class:`matplotlib.figure.Figure` when no ``ax`` is
given, so no pyplot state or GUI backend is touched (Agg renders them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dropoutrisk.explain._codes import DIMENSION_LABELS

__all__ = ["beeswarm", "decimal_formatter", "dimension_bars", "new_axes", "waterfall"]

RISK_COLOUR = "#b2182b"
PROTECTIVE_COLOUR = "#2166ac"
_TEXT = {
    "sv": {"base": "Modellens utgångsläge", "final": "Bedömd risk", "other": "{n} övriga",
           "prob": "Sannolikhet för avhopp", "dim": "Bidrag per dimension",
           "dim_mean": "Genomsnittligt absolut bidrag", "pp": "p.e.",
           "bars": "staplarna i procentenheter, p.e."},
    "en": {"base": "Model baseline", "final": "Estimated risk", "other": "{n} other features",
           "prob": "Probability of dropout", "dim": "Contribution by dimension",
           "dim_mean": "Mean absolute contribution", "pp": "pp",
           "bars": "bars in percentage points, pp"},
}


def decimal_formatter(lang: str, *, percent: bool = False) -> Any:
    """A tick formatter whose labels match their ticks, with a decimal comma in Swedish.

    The decimals are the fewest that print every tick on the axis exactly:
    ticks 5 % apart print "35 %", ticks 2.5 apart "2.5", so a label always
    names its tick and two ticks never share one.
    With ``percent`` the values are fractions shown in percent.
    """
    from matplotlib.ticker import Formatter

    class _Localised(Formatter):
        def __call__(self, x: float, pos: Any = None) -> str:
            scale = 100.0 if percent else 1.0
            locs = (np.asarray(self.axis.get_majorticklocs(), dtype=np.float64)
                    if self.axis is not None else np.array([x])) * scale
            # the fewest decimals that print every tick exactly (2.5 needs one)
            decimals = next((d for d in range(7)
                             if np.all(np.abs(locs * 10**d - np.round(locs * 10**d)) < 1e-6)), 6)
            text = f"{x * scale:.{decimals}f}"
            if text.lstrip("-").strip("0.") == "":
                text = text.lstrip("-")  # no "-0"
            if lang == "sv":
                text = text.replace(".", ",")
            text = text.replace("-", "\u2212")
            if percent:
                text += "\u00a0%" if lang == "sv" else "%"
            return text

    return _Localised()


def new_axes(ax: Any = None, size: tuple[float, float] = (7.0, 4.0)) -> Any:
    """Return ``ax``, or the axes of a new pyplot-free figure."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def _label(ex: Any, feature: str, lang: str) -> str:
    return str(ex._meta.at[feature, f"description_{lang}"])


def waterfall(ex: Any, i: int, *, max_display: int, ax: Any, lang: str) -> Any:
    """Horizontal waterfall for row ``i`` in probability, largest contributions on top."""
    text = _TEXT[lang]
    contrib = ex._contrib.iloc[i]
    order = np.argsort(-np.abs(contrib.to_numpy()), kind="stable")
    # a bar that would print "+0,0" says nothing: it joins the others
    visible = order[np.abs(contrib.to_numpy()[order]) >= 0.0005]
    limit = max(1, max_display - 1) if len(order) > max_display else max_display
    shown = visible[:limit] if visible.size else order[:1]
    rest = np.setdiff1d(order, shown)
    labels = [_label(ex, contrib.index[j], lang) for j in shown]
    values = [float(contrib.iat[j]) for j in shown]
    if rest.size:
        labels.append(text["other"].format(n=rest.size))
        values.append(float(contrib.iloc[rest].sum()))
    labels, values = labels[::-1], values[::-1]  # draw from the bottom up
    n = len(values)
    ax = new_axes(ax, (7.5, 0.45 * n + 1.6))
    start = ex.base_value + np.concatenate([[0.0], np.cumsum(values)[:-1]])
    colours = [RISK_COLOUR if v > 0 else PROTECTIVE_COLOUR for v in values]
    ax.barh(np.arange(n), values, left=start, color=colours, height=0.6)
    for y, (s, v) in enumerate(zip(start, values, strict=True)):
        ax.text(max(s, s + v) + 0.004, y, f"{_points(v, lang)} {text['pp']}", va="center",
                fontsize=8)
    ax.set_yticks(np.arange(n), labels=[_wrap(t) for t in labels], fontsize=8)
    ax.axvline(ex.base_value, color="#777777", lw=0.8, ls="--")
    final = float(ex._proba.iat[i])
    ax.axvline(final, color="#222222", lw=1.0)
    ax.set_xlabel(f"{text['prob']} ({text['base']} {_pct(ex.base_value, lang)} \u2192 "
                  f"{text['final']} {_pct(final, lang)})\n{text['bars'].capitalize()}", fontsize=8)
    ax.xaxis.set_major_formatter(decimal_formatter(lang, percent=True))
    lo = min(ex.base_value, final, float(start.min()), float((start + values).min()))
    hi = max(ex.base_value, final, float(start.max()), float((start + values).max()))
    pad = 0.12 * (hi - lo) + 0.01
    ax.set_xlim(max(0.0, lo - pad), min(1.0, hi + pad))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _points(v: float, lang: str) -> str:
    """Percentage points with a sign: "+12,1" in Swedish, "+12.1" in English."""
    text = f"{v * 100:+.1f}".replace("-", "\u2212")
    return text.replace(".", ",") if lang == "sv" else text


def _pct(p: float, lang: str) -> str:
    text = f"{p * 100:.0f}" if p >= 0.1 else f"{p * 100:.1f}"
    return text.replace(".", ",") + " %" if lang == "sv" else text + "%"


def _wrap(text: str, width: int = 42) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return text[: cut if cut > 0 else width] + "\u2026"


def dimension_bars(ex: Any, i: int | None, *, ax: Any, lang: str) -> Any:
    """Signed totals per dimension for row ``i``, or mean absolute totals for the cohort."""
    text = _TEXT[lang]
    dims = list(ex._dim.columns)
    if i is None:
        values = ex._dim.abs().mean().to_numpy()
        colours = ["#555555"] * len(dims)
        xlabel = text["dim_mean"]
    else:
        values = ex._dim.iloc[i].to_numpy()
        colours = [RISK_COLOUR if v > 0 else PROTECTIVE_COLOUR for v in values]
        xlabel = text["dim"]
    ax = new_axes(ax, (6.0, 2.8))
    y = np.arange(len(dims))[::-1]
    ax.barh(y, values * 100, color=colours, height=0.6)
    ax.set_yticks(y, labels=[DIMENSION_LABELS[lang][d] for d in dims], fontsize=8)
    ax.axvline(0, color="#222222", lw=0.8)
    ax.set_xlabel(xlabel + " (procentenheter)" if lang == "sv" else xlabel + " (percentage points)",
                  fontsize=8)
    ax.xaxis.set_major_formatter(decimal_formatter(lang))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def beeswarm(ex: Any, *, max_display: int, ax: Any) -> Any:
    """shap's beeswarm of the log-odds contributions; categories are coloured by code."""
    import shap

    data = ex._values.copy()
    for c in data.columns:
        if hasattr(data[c], "cat"):
            data[c] = data[c].cat.codes.where(data[c].notna()).astype(np.float64)
    explanation = shap.Explanation(
        values=ex._contrib_lo.to_numpy(),
        base_values=np.full(len(data), ex.base_value_log_odds),
        data=data.to_numpy(dtype=np.float64),
        feature_names=list(data.columns),
    )
    ax = new_axes(ax, (8.0, 0.4 * min(max_display, data.shape[1]) + 1.5))
    shap.plots.beeswarm(explanation, max_display=max_display, ax=ax, show=False, plot_size=None)
    return ax
