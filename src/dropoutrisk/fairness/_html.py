"""The HTML page of an :class:`~dropoutrisk.fairness.Audit`: the verdict first, then tables and plots.

The page opens with the verdict in plain English and Swedish: what was
checked (rows, dropouts, groups), at which operating point and why that one,
what was found (each finding as a sentence), what could not be judged and
what was withheld. Then one readable table per grouping (a value and its
interval in one cell, "too few dropouts" where a rate has too few events),
what was suppressed and why, the plots, and every ratio in a closed section.

Like :mod:`~dropoutrisk.fairness._plots`, it reads the audit through its public
(already suppressed) tables only, so a suppressed cell can only appear as its
marker.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from dropoutrisk.fairness._bootstrap import MEASURE_LABELS
from dropoutrisk.fairness._cells import SEP

__all__ = ["render_html"]

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5em;max-width:72em;color:#222;
line-height:1.45}
h1{font-size:1.5em;margin:.2em 0 .6em}h2{font-size:1.2em;margin:1.6em 0 .4em}
h3{font-size:1.02em;margin:1.2em 0 .3em}
.verdict{border:2px solid #4C72B0;border-radius:6px;padding:.6em 1.2em;background:#f5f8fc}
.verdict.found{border-color:#c0392b;background:#fdf5f4}
.verdict h2{margin:.4em 0}.verdict p,.verdict li{margin:.3em 0}
.langs{display:grid;grid-template-columns:repeat(auto-fit,minmax(22em,1fr));gap:0 2em}
.scroll{max-width:100%;overflow-x:auto}
table.audit{border-collapse:collapse;font-size:.85em;margin:.4em 0 1em}
table.audit th,table.audit td{padding:.25em .55em;border-bottom:1px solid #ddd;text-align:right;
vertical-align:top}
table.audit th{background:#f2f2f2;font-weight:600}
table.audit td:first-child,table.audit th:first-child{text-align:left;white-space:nowrap}
table.audit td.text,table.audit th.text{text-align:left;max-width:28em}
.ci{color:#666;font-size:.9em;white-space:nowrap}.na{color:#888;font-style:italic}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(26em,1fr));gap:1em}
.plots svg{width:100%;height:auto}
.note{color:#555;font-size:.9em}
"""

# Sentences of a finding: (English, Swedish), with {r} the ratio and {ref} the reference.
_SAYS = {
    "flag_rate": ("are flagged {r} times as often as {ref}",
                  "flaggas {r} gånger så ofta som {ref}"),
    "tpr": ("have {r} times the share of their dropouts flagged (TPR) of {ref}",
            "får {r} gånger så stor andel av sina avhopp flaggade (TPR) som {ref}"),
    "fpr": ("are flagged without dropping out {r} times as often as {ref} (FPR)",
            "flaggas utan att hoppa av {r} gånger så ofta som {ref} (FPR)"),
    "precision": ("have flags that are right {r} times as often as those of {ref} (precision)",
                  "har flaggor som stämmer {r} gånger så ofta som för {ref} (precision)"),
}
_UNDER = ("drop out more often than the model predicts: observed {obs} against predicted {pred} "
          "(the model under-predicts their risk)",
          "hoppar av oftare än modellen förutsäger: observerat {obs} mot förutsagt {pred} "
          "(modellen underskattar deras risk)")
_OVER = ("drop out less often than the model predicts: observed {obs} against predicted {pred} "
         "(the model over-predicts their risk)",
         "hoppar av mer sällan än modellen förutsäger: observerat {obs} mot förutsagt {pred} "
         "(modellen överskattar deras risk)")


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _who(grouping: str, group: str) -> str:
    """``gender × newly_arrived``, ``female × 1`` -> ``gender = female, newly_arrived = 1``."""
    if grouping == "overall":
        return "everyone"
    return ", ".join(f"{v} = {g}" for v, g in zip(grouping.split(SEP), group.split(SEP),
                                                  strict=True))


def _num(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    return "–" if math.isnan(v) else f"{v:.{digits}f}"


def _pct(value: float) -> str:
    return f"{100 * float(value):.1f}%"


def _interval(lo: Any, hi: Any, digits: int = 2) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{float(lo):.{digits}f}–{float(hi):.{digits}f}"


def _sentences(row: pd.Series) -> tuple[str, str]:
    """One finding in plain English and Swedish."""
    who = _who(row["grouping"], row["group"])
    ci = _interval(row["ratio_lo"], row["ratio_hi"])
    r = f"{float(row['ratio']):.2f}"
    if row["kind"] == "calibration":
        en, sv = _UNDER if row["ratio"] > 1 else _OVER
        obs, pred = _pct(row["observed"]), _pct(row["predicted"])
        tail_en = f" (observed / predicted {r}, 95% interval {ci})."
        tail_sv = f" (observerat / förutsagt {r}, 95 % intervall {ci})."
        return (f"Students with {who} " + en.format(obs=obs, pred=pred) + tail_en,
                f"Elever med {who} " + sv.format(obs=obs, pred=pred) + tail_sv)
    en, sv = _SAYS[row["metric"]]
    ref = _who(row["grouping"], row["reference"]) if row["reference"] != "overall" \
        else "everyone"
    return (f"Students with {who} " + en.format(r=r, ref=f"students with {ref}")
            + f" (95% interval {ci}).",
            f"Elever med {who} " + sv.format(r=r, ref=f"elever med {ref}")
            + f" (95 % intervall {ci}).")


def _verdict(audit: Any) -> str:
    p = audit.params
    overall = audit.overall
    findings = audit.findings
    cal = audit.calibration
    d = audit.disparities
    cells = pd.concat([audit.by_group, audit.by_intersection], ignore_index=True)
    supp = audit.suppression
    n_small = int((supp["reason"] == "small cell").sum())
    n_comp = int((supp["reason"] == "complementary").sum())
    checked = pd.concat([d, cal.drop(columns=["observed", "predicted"])], ignore_index=True)
    checked = checked[~checked["suppressed"].astype(bool)]
    judged = int(checked["judged"].sum())
    not_judged = checked[~checked["judged"].astype(bool) & (checked["note"] != "no students")]
    reasons = not_judged["note"].str.replace(" in the reference", "", regex=False)
    common = reasons.value_counts()
    groups = ", ".join(p["groups"])
    inter = (f" and their intersections (up to {p['intersections']} at a time)"
             if p["intersections"] > 1 else "")
    inter_sv = (f" och deras kombinationer (upp till {p['intersections']} åt gången)"
                if p["intersections"] > 1 else "")
    point = p["operating_point"]
    source = p.get("operating_point_source", "")
    n, dropouts, flagged = overall["n"], overall["dropouts"], overall["flagged"]
    band = f"[{p['band'][0]}, {p['band'][1]}]"
    en = [
        f"<p><b>Checked:</b> {_esc(n)} students, {_num(dropouts, 0)} of whom dropped out and "
        f"{_num(flagged, 0)} were flagged, by {_esc(groups)}{inter}: flag rate, TPR, FPR, "
        "precision against the largest group, and calibration (observed against predicted "
        f"dropout rate) of every group; {judged} comparisons had enough events to judge.</p>",
        f"<p><b>Operating point:</b> {_esc(point)}" + (f" ({_esc(source)})" if source else "")
        + ".</p>",
    ]
    sv = [
        f"<p><b>Granskat:</b> {_esc(n)} elever, varav {_num(dropouts, 0)} hoppade av och "
        f"{_num(flagged, 0)} flaggades, efter {_esc(groups)}{inter_sv}: andel flaggade, TPR, "
        "FPR och precision jämfört med den största gruppen, samt kalibrering (observerad mot "
        f"förutsagd avhoppsandel) för varje grupp; {judged} jämförelser kunde bedömas.</p>",
        f"<p><b>Arbetspunkt:</b> {_esc(point)}.</p>",
    ]
    if len(findings):
        en.append(f"<p><b>Found:</b> {len(findings)} finding(s): ratios outside {band} whose "
                  "95% interval excludes 1, with enough events to judge.</p><ul>")
        sv.append(f"<p><b>Fynd:</b> {len(findings)} fynd: kvoter utanför {band} vars "
                  "95 %-intervall utesluter 1, med tillräckligt många händelser.</p><ul>")
        for _, row in findings.head(8).iterrows():
            e, s = _sentences(row if row["kind"] != "calibration" else
                              row.combine_first(_cal_row(cal, row)))
            en.append(f"<li>{_esc(e)}</li>")
            sv.append(f"<li>{_esc(s)}</li>")
        if len(findings) > 8:
            en.append(f"<li>… and {len(findings) - 8} more in the table below.</li>")
            sv.append(f"<li>… och {len(findings) - 8} till i tabellen nedan.</li>")
        en.append("</ul>")
        sv.append("</ul>")
    else:
        en.append(f"<p><b>Found:</b> no finding: no judged ratio lies outside {band} with an "
                  "interval that excludes 1.</p>")
        sv.append(f"<p><b>Fynd:</b> inga: ingen bedömd kvot ligger utanför {band} med ett "
                  "intervall som utesluter 1.</p>")
    if len(not_judged):
        why = "; ".join(f"{c} × {w}" for w, c in common.items())
        en.append(f"<p><b>Not judged:</b> {len(not_judged)} comparisons ({_esc(why)}). "
                  f"A rate needs at least {p['min_events']} events in its denominator.</p>")
        sv.append(f"<p><b>Ej bedömt:</b> {len(not_judged)} jämförelser hade för få händelser "
                  f"(minst {p['min_events']} avhopp, flaggor eller icke-avhopp behövs).</p>")
    en.append(f"<p><b>Withheld:</b> {n_small + n_comp} of {len(cells)} cells: {n_small} with "
              f"1 to {p['min_cell'] - 1} students, and {n_comp} more only so that those cannot "
              "be recomputed from the published totals.</p>")
    sv.append(f"<p><b>Dolt:</b> {n_small + n_comp} av {len(cells)} celler: {n_small} med 1 "
              f"till {p['min_cell'] - 1} elever, och {n_comp} till enbart för att de inte ska "
              "kunna räknas fram ur de publicerade summorna.</p>")
    cls = "verdict found" if len(findings) else "verdict"
    return (f"<section class='{cls}' id='verdict'><div class='langs'>"
            "<div lang='en'><h2>Verdict</h2>" + "".join(en) + "</div>"
            "<div lang='sv'><h2>Slutsats</h2>" + "".join(sv) + "</div></div></section>")


def _cal_row(cal: pd.DataFrame, row: pd.Series) -> pd.Series:
    match = cal[(cal["grouping"] == row["grouping"]) & (cal["group"] == row["group"])]
    return match.iloc[0]


def _table(head: list[str], rows: list[list[str]], text_cols: tuple[int, ...] = ()) -> str:
    def cell(tag: str, i: int, v: str) -> str:
        cls = " class='text'" if i in text_cols else ""
        return f"<{tag}{cls}>{v}</{tag}>"

    out = ["<div class='scroll'><table class='audit'><thead><tr>"]
    out += [cell("th", i, _esc(h)) for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _value(row: pd.Series, m: str, short: dict[str, str]) -> str:
    v = row[m]
    if pd.isna(v):
        if row["suppressed"]:
            return "–"
        why = next((t for t, ms in short.items() if m in ms), "")
        return f"<span class='na'>{_esc(why)}</span>" if why else "–"
    ci = _interval(row.get(f"{m}_lo"), row.get(f"{m}_hi"))
    return f"{float(v):.3f}" + (f" <span class='ci'>({ci})</span>" if ci else "")


_COLUMNS = ["flag_rate", "tpr", "fpr", "precision", "base_rate", "mean_predicted", "ece",
            "roc_auc"]


def _cells_table(cells: pd.DataFrame) -> str:
    head = ["group", "n", "dropouts", "flagged", *(MEASURE_LABELS[m] for m in _COLUMNS)]
    rows = []
    for _, row in cells.iterrows():
        short = {}
        note = str(row.get("note") or "")
        for part in note.split("; ") if note else []:
            text, _, ms = part.partition(" (")
            short[text.replace(" to judge", "")] = ms.rstrip(")").split(", ")
        n = row["n"]
        rows.append([
            _esc(row["group"]), _esc(n),
            _num(row["dropouts"], 0), _num(row["flagged"], 0),
            *(_value(row, m, short) for m in _COLUMNS),
        ])
    return _table(head, rows)


def render_html(audit: Any, *, title: str = "Fairness audit") -> str:
    """A self-contained HTML page of the audit: verdict, tables, plots (inline SVG)."""
    from dropoutrisk.fairness._plots import figure_svgs

    p = audit.params
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        _verdict(audit),
    ]
    findings = audit.findings
    if len(findings):
        cal = audit.calibration
        rows = []
        for _, row in findings.iterrows():
            if row["kind"] == "calibration":
                c = _cal_row(cal, row)
                measure = (f"calibration: observed {_pct(c['observed'])}, predicted "
                           f"{_pct(c['predicted'])}")
                against = "predicted"
            else:
                measure, against = MEASURE_LABELS[row["metric"]], row["reference"]
            rows.append([_esc(row["grouping"]), _esc(row["group"]), _esc(against),
                         _esc(measure), f"{float(row['ratio']):.2f}",
                         _interval(row["ratio_lo"], row["ratio_hi"])])
        parts += ["<h2>Findings</h2>",
                  _table(["grouping", "group", "compared with", "measure", "ratio",
                          "95% interval"], rows, text_cols=(0, 1, 2, 3))]
    parts.append("<h2>Everyone</h2>")
    overall = audit.overall.to_frame().T.assign(grouping="overall", group="all",
                                                suppressed=False)
    parts.append(_cells_table(overall))
    parts.append("<h2>By group and intersection</h2><p class='note'>Each value with its "
                 f"{p['confidence']:.0%} bootstrap interval ({p['n_boot']} replicates). "
                 "“&lt;10”: a small cell; “suppressed”: withheld so that a small cell cannot be "
                 "recomputed. Compare mean predicted with the base rate: calibration.</p>")
    cells = pd.concat([audit.by_group, audit.by_intersection], ignore_index=True)
    for grouping in dict.fromkeys(cells["grouping"]):
        parts.append(f"<h3>{_esc(grouping)}</h3>")
        parts.append(_cells_table(cells[cells["grouping"] == grouping]))
    supp = audit.suppression
    parts.append("<h2>What was withheld, and why</h2>")
    if len(supp):
        parts.append(_table(["grouping", "group", "reason", "why"],
                            [[_esc(r.grouping), _esc(r.group), _esc(r.reason), _esc(r.why)]
                             for r in supp.itertuples()], text_cols=(0, 1, 2, 3)))
    else:
        parts.append("<p>Nothing: every cell has at least "
                     f"{p['min_cell']} students (or none).</p>")
    parts.append("<h2>Plots</h2>")
    for grouping, svgs in figure_svgs(audit):
        parts.append(f"<h3>{_esc(grouping)}</h3><div class='plots'>{''.join(svgs)}</div>")
    d = audit.disparities
    parts.append("<details><summary>Every disparity ratio</summary>")
    parts.append(_table(
        ["grouping", "group", "reference", "measure", "ratio", "95% interval", "finding",
         "note"],
        [[_esc(r.grouping), _esc(r.group), _esc(r.reference), _esc(MEASURE_LABELS[r.metric]),
          _num(r.ratio, 2), _interval(r.ratio_lo, r.ratio_hi), "yes" if r.finding else "",
          _esc(r.note)] for r in d.itertuples()], text_cols=(0, 1, 2, 3, 7)))
    parts.append("</details>")
    parts.append(f"<p class='note'>Rules: {_esc(audit.to_dict()['rules']['finding'])}. "
                 f"{_esc(audit.to_dict()['rules']['events'])}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
