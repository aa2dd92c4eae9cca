"""Every output of an audit: tables, dict, JSON, HTML, plots; small cells never appear."""

import json
import re

import numpy as np
import pytest

from dropoutrisk.fairness import audit

GROUPS = ["gender", "newly_arrived", "care"]


@pytest.fixture(scope="module")
def tiny_audit(frame):
    X, y, p = frame
    return audit(features=X, labels=y, scores=p, groups=GROUPS, operating_point=0.3,
                 n_boot=60, random_state=0)


def _small_cells(X):
    """Exact sizes of every cell under 10 students (which must never be printed)."""
    sizes = set()
    for cols in (["care"], ["gender", "care"], ["newly_arrived", "care"],
                 ["gender", "newly_arrived", "care"]):
        counts = X.groupby(cols).size()
        sizes |= {int(c) for c in counts if c < 10}
    return sizes


def test_tiny_group_is_suppressed_in_the_tables(tiny_audit):
    g = tiny_audit.by_group.set_index(["grouping", "group"])
    row = g.loc[("care", "in_care")]
    assert row["n"] == "<10"
    assert row["suppressed"]
    assert row["suppression"] == "small cell"
    measures = [c for c in g.columns if c.endswith(("_lo", "_hi")) or c in ("tpr", "flag_rate")]
    assert row[measures].isna().all()
    # Its complement cannot stay published: home = everyone - in_care.
    assert g.loc[("care", "home"), "n"] == "suppressed"
    assert np.isnan(g.loc[("care", "home"), "flag_rate"])


def test_suppressed_cells_have_no_ratio_and_no_finding(tiny_audit):
    d = tiny_audit.disparities
    care = d[d["grouping"].str.contains("care")]
    hidden = care[care["suppressed"]]
    assert len(hidden) > 0
    assert hidden[["ratio", "ratio_lo", "ratio_hi"]].isna().all().all()
    assert not hidden["outside_band"].any()
    f = tiny_audit.findings
    assert not f["group"].str.contains("in_care").any()


def test_unsuppressed_groups_keep_their_counts(tiny_audit, frame):
    X, _, _ = frame
    g = tiny_audit.by_group.set_index(["grouping", "group"])
    assert g.loc[("gender", "F"), "n"] == int((X["gender"] == "F").sum())


def _numbers_in(text):
    return {int(m) for m in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}


def test_json_is_strict_and_has_no_small_count(tiny_audit, frame):
    X, _, _ = frame
    text = tiny_audit.to_json()
    doc = json.loads(text)
    assert "NaN" not in text
    assert doc["schema"] == "dropoutrisk.audit/1"
    cells = doc["by_group"] + doc["by_intersection"]
    for cell in cells:
        if cell["suppressed"]:
            assert cell["n"] in ("<10", "suppressed")
            assert cell["tpr"] is None and cell["flag_rate_lo"] is None
        else:  # an empty cell holds no student and is published as 0
            assert cell["n"] >= 10 or (cell["n"] == 0 and cell["tpr"] is None)
    published_n = {c["n"] for c in cells if isinstance(c["n"], int)}
    assert not published_n & _small_cells(X)
    curves = [c for c in doc["calibration_curves"] if "in_care" in c["group"]]
    assert curves == []


def test_html_and_plots_show_only_markers(tiny_audit, frame):
    X, _, _ = frame
    html = tiny_audit.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 3 * len(GROUPS)  # calibration, flag rate, TPR per grouping
    assert "in_care" in html and "&lt;10" in html
    # The verdict comes first, in English and Swedish.
    assert html.index("id='verdict'") < html.index("<table")
    assert "<div lang='sv'><h2>Slutsats</h2>" in html
    # The rows of the in_care cells show no measure: only the marker and dashes.
    body, ratios = html.split("Every disparity ratio")
    tables = body.split("What was withheld")[0]
    rows = re.findall(r"<tr>(?:(?!</tr>).)*in_care(?:(?!</tr>).)*</tr>", tables, re.S)
    assert rows
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[1] in ("&lt;10", "suppressed", "0")  # 0: an empty cell, no student
        assert set(cells[2:]) <= {"–", "0"}  # "0" dropouts and flags of an empty cell only
    for row in re.findall(r"<tr>(?:(?!</tr>).)*in_care(?:(?!</tr>).)*</tr>", ratios, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[4:6] == ["–", ""]  # no ratio and no interval
    withheld = body.split("What was withheld")[1].split("<h2>")[0]
    assert "fewer than 10 students" in withheld and "cannot be recomputed" in withheld
    ax = tiny_audit.plot_rates("tpr", "care")
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "<10" in texts
    assert len(ax.patches) == 0  # both care groups suppressed: no bars
    ax = tiny_audit.plot_calibration("gender")
    assert len(ax.get_lines()) == 1 + 2  # diagonal plus F and M


def test_plot_rates_error_bars_follow_intervals(tiny_audit):
    ax = tiny_audit.plot_rates("flag_rate", "gender")
    heights = sorted(p.get_height() for p in ax.patches)
    expected = sorted(tiny_audit.by_group.query("grouping == 'gender'")["flag_rate"])
    assert heights == pytest.approx(expected)
    with pytest.raises(ValueError, match="grouping='school'"):
        tiny_audit.plot_rates("tpr", "school")


def test_to_dict_round_trips_params(tiny_audit):
    d = tiny_audit.to_dict()
    assert d["params"]["groups"] == GROUPS
    assert d["params"]["min_cell"] == 10
    assert d["params"]["band"] == [0.8, 1.25]
    assert d["overall"]["n"] == 1200
