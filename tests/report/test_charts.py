"""The report's charts: tick labels name their ticks, dates fall on Mondays, decimal commas."""

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import num2date

from dropoutrisk.report import weekly_attendance
from dropoutrisk.report._charts import trajectory_figure


def _labels(ax, axis="x"):
    FigureCanvasAgg(ax.figure).draw()
    get = ax.get_xticklabels if axis == "x" else ax.get_yticklabels
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    keep = (ticks >= lo - 1e-12) & (ticks <= hi + 1e-12)
    return ticks[keep], [t.get_text() for t, k in zip(get(), keep, strict=True) if k]


def _number(label, lang):
    text = label.replace("\u2212", "-").replace("\u00a0", "").replace("%", "")
    if lang == "sv":
        assert "." not in text, label  # Swedish charts use a decimal comma
        text = text.replace(",", ".")
    return float(text)


def _narrowest(ex):
    """The student whose waterfall spans the smallest range (ticks a fraction of 1 % apart)."""
    return str(ex.contributions.abs().sum(axis=1).idxmin())


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("which", ["flagged", "narrow"])
def test_waterfall_ticks_print_their_values(explained_synth, flagged_id, lang, which):
    student = flagged_id if which == "flagged" else _narrowest(explained_synth)
    ax = explained_synth.plot_waterfall(student, lang=lang)
    ticks, labels = _labels(ax)
    if which == "narrow":
        assert np.diff(ticks).min() < 0.01  # the case whole percents cannot label
    assert len(set(labels)) == len(labels) > 2
    np.testing.assert_allclose([_number(t, lang) for t in labels], ticks * 100, atol=1e-9)
    assert all(t.endswith("%") for t in labels)
    bars = [t.get_text() for t in ax.texts]
    unit = "p.e." if lang == "sv" else "pp"
    assert bars and all(t.endswith(unit) for t in bars)  # every bar label has its unit
    if lang == "sv":
        assert all("." not in t.replace("p.e.", "") for t in bars)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_dimension_ticks_print_their_values(explained_synth, flagged_id, lang):
    ax = explained_synth.plot_dimension_importance(flagged_id, lang=lang)
    ticks, labels = _labels(ax)
    np.testing.assert_allclose([_number(t, lang) for t in labels], ticks, atol=1e-9)
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_attendance_ticks_fall_on_the_mondays_they_name(synth, flagged_id, lang):
    t = synth["tables"]
    weekly = weekly_attendance(t["attendance"], t["students"], flagged_id, synth["as_of"])
    ax = trajectory_figure(weekly, lang=lang).axes[0]
    ticks, labels = _labels(ax)
    assert len(labels) >= 5
    for value, label in zip(ticks, labels, strict=True):
        day = num2date(value).date()
        assert day.weekday() == 0, (day, label)  # a Monday
        assert label == day.isoformat()
    assert set(pd.to_datetime(labels)) <= set(pd.to_datetime(weekly["week"]))
    _, y_labels = _labels(ax, "y")
    assert all(re.fullmatch(r"\d+", t) for t in y_labels)
