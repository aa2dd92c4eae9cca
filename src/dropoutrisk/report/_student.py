"""The per-student report: one self-contained HTML page (Jinja2) and its JSON twin."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

__all__ = ["StudentReport", "student_report"]

TEMPLATE = "student_report.html.j2"

TEXT: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Elevrapport: risk för studieavbrott",
        "student": "Elev",
        "school": "Skola",
        "as_of": "Bedömningsdatum",
        "probability": "Bedömd sannolikhet för avbrott",
        "tier": "Stödnivå",
        "reasons": "Det som höjer den bedömda risken",
        "protective": "Skyddsfaktorer: det som sänker den bedömda risken",
        "none": "Inga.",
        "dimensions": "Bidrag per dimension",
        "waterfall": "Från modellens utgångsläge till elevens bedömning",
        "attendance": "Närvaro vecka för vecka, med skolans median",
        "no_attendance": "Ingen närvarotabell gavs, så närvaron per vecka visas inte.",
        "background": ("Bakgrundsfaktorer (till exempel kön eller föräldrarnas utbildning) visas "
                       "aldrig som något att åtgärda; de räknas bara in i dimensionen Bakgrund."),
        "model": "Modell",
        "fingerprint": "Datafingeravtryck",
        "contribution": "Bidrag (procentenheter)",
        "not_causes": ("Bidragen beskriver hur modellen kom fram till sin bedömning. De är inte "
                       "orsaker, och de säger inte vad som händer om något ändras."),
        "tier_universal": "Generell nivå",
        "tier_targeted": "Riktad nivå",
        "tier_intensive": "Intensiv nivå",
        "tier_note": "Stödnivån är en etikett för uppföljning, inte en föreskrift.",
        "unknown": "okänd",
    },
    "en": {
        "title": "Student report: risk of dropping out",
        "student": "Student",
        "school": "School",
        "as_of": "Assessment date",
        "probability": "Estimated probability of dropping out",
        "tier": "Support level",
        "reasons": "What raises the estimated risk",
        "protective": "Protective factors: what lowers the estimated risk",
        "none": "None.",
        "dimensions": "Contribution by dimension",
        "waterfall": "From the model's baseline to this student's estimate",
        "attendance": "Attendance week by week, with the school median",
        "no_attendance": "No attendance table was given, so weekly attendance is not shown.",
        "background": ("Background factors (such as gender or parents' education) are never shown "
                       "as something to act on; they only count in the Background dimension."),
        "model": "Model",
        "fingerprint": "Data fingerprint",
        "contribution": "Contribution (percentage points)",
        "not_causes": ("The contributions describe how the model arrived at its estimate. They are "
                       "not causes, and they do not say what would happen if something changed."),
        "tier_universal": "Universal level",
        "tier_targeted": "Targeted level",
        "tier_intensive": "Intensive level",
        "tier_note": "The support level is a label for follow-up, not a prescription.",
        "unknown": "unknown",
    },
}


def _percent(p: float, lang: str) -> str:
    if p != p:  # NaN
        return TEXT[lang]["unknown"]
    text = f"{p * 100:.0f}" if p >= 0.1 else f"{p * 100:.1f}"
    return text.replace(".", ",") + " %" if lang == "sv" else text + "%"


def _points(p: float, lang: str) -> str:
    text = f"{p * 100:+.1f}".replace("-", "\u2212")
    return text.replace(".", ",") if lang == "sv" else text


@dataclass(frozen=True)
class StudentReport:
    """One student's report; immutable. Build it with :func:`student_report`.

    Attributes
    ----------
    content : mapping
        Everything the report says, JSON-ready (see :meth:`to_dict`).
    charts : mapping of str to str
        Inline SVG charts (``dimensions``, ``waterfall``, ``attendance``).
    """

    content: Any
    charts: Any = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The report content as plain data (no charts)."""
        return json.loads(json.dumps(dict(self.content)))

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report content as JSON."""
        return json.dumps(dict(self.content), indent=indent, ensure_ascii=False)

    def to_html(self) -> str:
        """The report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.PackageLoader("dropoutrisk.report", "templates"),
            autoescape=jinja2.select_autoescape(["j2", "html"], default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        lang = self.content["lang"]
        return env.get_template(TEMPLATE).render(
            r=self.content, t=TEXT[lang], charts=dict(self.charts),
        )


def _reason_items(table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    cols = ["rank", "code", "feature", "dimension", "actionable", "value_text", "reference_text",
            "contribution", "contribution_log_odds", f"sentence_{lang}"]
    out = []
    for rec in table[cols].to_dict("records"):
        rec["sentence"] = rec.pop(f"sentence_{lang}")
        rec["contribution_text"] = _points(float(rec["contribution"]), lang)
        out.append(rec)
    return out


def student_report(
    explanations: Any,
    student_id: Any,
    *,
    attendance: pd.DataFrame | None = None,
    students: pd.DataFrame | None = None,
    model_id: str | None = None,
    data_fingerprint: str | None = None,
    lang: Literal["sv", "en"] | None = None,
    max_display: int = 10,
) -> StudentReport:
    """Build one student's report from explanations (and, optionally, the attendance table).

    The report holds that student's data only: their probability, tier,
    reasons, protective factors, dimension totals and contributions, and,
    when ``attendance`` and ``students`` are given, their weekly attendance
    with the school median beside it (aggregated over the school, withheld
    for weeks with fewer than 10 students).

    Parameters
    ----------
    explanations : Explanations
        From :func:`dropoutrisk.explain.explain_students`.
    student_id : str
    attendance, students : DataFrame, optional
        Canonical ``attendance`` and ``students`` tables, for the weekly
        attendance chart. Only events before the student's ``as_of`` count.
    model_id : str, optional
        Shown in the footer (the bundle's model id).
    data_fingerprint : str, optional
        Shown in the footer; default the fingerprint of the student's model
        input row (the data this explanation was computed from).
    lang : {"sv", "en"}, optional
        Default the explanations' language.
    max_display : int, default 10
        Bars in the waterfall.

    Returns
    -------
    StudentReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.explain import explain_students
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"school_id": "s", "attendance_rate_4w": rng.uniform(0.5, 1, 200)},
    ...                  index=pd.Index([f"id{i}" for i in range(200)], name="student_id"))
    >>> y = (rng.random(200) < 1.3 - X["attendance_rate_4w"]).astype(int)
    >>> model = RiskModel(n_estimators=10, random_state=0).fit(X, y)
    >>> report = student_report(explain_students(model, X), "id1", model_id="abc", lang="en")
    >>> report.content["student_id"], "id2" in report.to_html()
    ('id1', False)
    """
    from dropoutrisk.explain import DIMENSION_LABELS
    from dropoutrisk.report._attendance import weekly_attendance
    from dropoutrisk.report._charts import figure_svg, trajectory_svg

    one = explanations.student(student_id)
    lang = lang or one.lang
    if lang not in TEXT:
        raise ValueError(f"lang={lang!r} is not supported. Allowed: 'sv' or 'en'.")
    text = TEXT[lang]
    context = one.context
    as_of = context["as_of"].iat[0]
    as_of_text = pd.Timestamp(as_of).date().isoformat() if as_of is not None else None
    if data_fingerprint is None:
        from dropoutrisk.models._bundle import fingerprint_frame

        data_fingerprint = fingerprint_frame(one.feature_values.reset_index(drop=True))
    proba = float(one.probability.iat[0])
    tier = str(one.tier.iat[0])
    dims = one.dimension_totals.iloc[0]

    weekly = None
    if attendance is not None and students is not None and as_of is not None:
        weekly = weekly_attendance(attendance, students, student_id, as_of)

    content = {
        "student_id": str(student_id),
        "school_id": None if context["school_id"].iat[0] is None else str(context["school_id"].iat[0]),
        "as_of": as_of_text,
        "lang": lang,
        "model_id": model_id,
        "data_fingerprint": data_fingerprint,
        "calibration": one.calibration,
        "probability": proba,
        "probability_text": _percent(proba, lang),
        "base_value": one.base_value,
        "base_value_text": _percent(one.base_value, lang),
        "tier": tier,
        "tier_text": text.get(f"tier_{tier}", tier),
        "reasons": _reason_items(one.reasons, lang),
        "protective": _reason_items(one.protective, lang),
        "dimension_totals": [
            {"dimension": d, "label": DIMENSION_LABELS[lang][d], "contribution": float(v),
             "contribution_text": _points(float(v), lang)}
            for d, v in dims.items()
        ],
        "contributions": {k: float(v) for k, v in one.contributions.iloc[0].items()},
        "attendance_weekly": None if weekly is None else [
            {"week": w.isoformat(), "student": _num(s), "school_median": _num(m)}
            for w, s, m in weekly[["week", "student", "school_median"]].itertuples(index=False)
        ],
        "note": text["not_causes"],
    }
    import dropoutrisk

    content["dropoutrisk_version"] = dropoutrisk.__version__
    charts = {
        "dimensions": figure_svg(one.plot_dimension_importance(student_id, lang=lang).figure,
                                 name="dimensions", title=text["dimensions"]),
        "waterfall": figure_svg(one.plot_waterfall(student_id, lang=lang,
                                                   max_display=max_display).figure,
                                name="waterfall", title=text["waterfall"]),
    }
    if weekly is not None:
        charts["attendance"] = trajectory_svg(weekly, lang=lang)
    return StudentReport(content=MappingProxyType(content), charts=MappingProxyType(charts))


def _num(x: Any) -> float | None:
    x = float(x)
    return None if x != x else x
