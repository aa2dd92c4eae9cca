"""The per-student report: one self-contained HTML page (Jinja2) and its JSON twin."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from dropoutrisk._json import to_jsonable
from dropoutrisk._result import Part, Result, copied, read_only
from dropoutrisk.errors import ParameterError

__all__ = ["StudentReport", "student_report"]

TEMPLATE = "student_report.html.j2"

TEXT: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Elevrapport: risk för studieavbrott",
        "student": "Elev",
        "school": "Skola",
        "as_of": "Bedömningsdatum",
        "probability": "Bedömd sannolikhet för avbrott inom {horizon}",
        "probability_no_horizon": "Bedömd sannolikhet för avbrott",
        "flag": "Flaggad för uppföljning",
        "flag_yes": "Ja",
        "flag_no": "Nej",
        "rank": "Plats {rank} av {n} på skolan, räknat från högst bedömd risk",
        "rank_no_size": "Plats {rank} på skolan, räknat från högst bedömd risk",
        "op_capacity": "De {k} elever med högst bedömd risk på varje skola flaggas.",
        "op_capacity_all": "De {k} elever med högst bedömd risk flaggas.",
        "op_threshold": "Elever med en bedömd sannolikhet på minst {p} flaggas.",
        "op_flag_rate": "De {r} av eleverna med högst bedömd risk flaggas.",
        "op_cost": "Elever flaggas där en missad elev kostar mer än en onödig flaggning.",
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
        "tier_note": ("Stödnivån är en etikett för uppföljning, inte en föreskrift. Elever som "
                      "inte är flaggade har generell nivå; flaggade elever har riktad nivå, eller "
                      "intensiv nivå från en bedömd sannolikhet på {cut}."),
        "not_saved": "ej sparad",
        "points": "procentenheter",
    },
    "en": {
        "title": "Student report: risk of dropping out",
        "student": "Student",
        "school": "School",
        "as_of": "Assessment date",
        "probability": "Estimated probability of dropping out within {horizon}",
        "probability_no_horizon": "Estimated probability of dropping out",
        "flag": "Flagged for follow-up",
        "flag_yes": "Yes",
        "flag_no": "No",
        "rank": "Rank {rank} of {n} at the school, counted from the highest estimated risk",
        "rank_no_size": "Rank {rank} at the school, counted from the highest estimated risk",
        "op_capacity": "The {k} students with the highest estimated risk at each school are flagged.",
        "op_capacity_all": "The {k} students with the highest estimated risk are flagged.",
        "op_threshold": "Students with an estimated probability of at least {p} are flagged.",
        "op_flag_rate": "The {r} of students with the highest estimated risk are flagged.",
        "op_cost": "Students are flagged where missing them would cost more than an unneeded flag.",
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
        "tier_note": ("The support level is a label for follow-up, not a prescription. Students "
                      "who are not flagged are at the universal level; flagged students are at the "
                      "targeted level, or the intensive level from an estimated probability of "
                      "{cut}."),
        "not_saved": "not saved",
        "points": "percentage points",
    },
}


def _percent(p: float, lang: str, *, cuts: tuple[float, ...] = ()) -> str:
    """A probability in percent: whole percents from 10 %, one decimal below.

    Near a cut (a flag threshold or a tier boundary) more decimals are shown
    where the whole percent would print the same as the cut on the wrong side
    of it: 19.9 % is not shown as "20 %" beside "flagged from 20 %".
    """
    decimals = 0 if p >= 0.1 else 1
    for cut in cuts:
        while decimals < 4 and p != cut and round(p * 100, decimals) == round(cut * 100, decimals):
            decimals += 1
    text = f"{p * 100:.{decimals}f}"
    return text.replace(".", ",") + " %" if lang == "sv" else text + "%"


def _points(p: float, lang: str, *, unit: bool = True) -> str:
    """A contribution in percentage points, with its sign and unit ("+10,8 procentenheter")."""
    text = f"{p * 100:+.1f}".replace("-", "\u2212")
    number = text.replace(".", ",") if lang == "sv" else text
    return f"{number} {TEXT[lang]['points']}" if unit else number


def horizon_text(days: int | None, lang: str) -> str | None:
    """The probability's horizon in words: 365 days -> "12 months" ("12 månader").

    Examples
    --------
    >>> horizon_text(365, "en"), horizon_text(183, "sv"), horizon_text(90, "en")
    ('12 months', '6 månader', '90 days')
    """
    if days is None:
        return None
    months = {365: 12, 366: 12, 730: 24, 731: 24, 182: 6, 183: 6, 184: 6}.get(int(days))
    if months is not None:
        return f"{months} {'månader' if lang == 'sv' else 'months'}"
    return f"{int(days)} {'dagar' if lang == 'sv' else 'days'}"


def operating_point_text(point: Any, lang: str) -> str:
    """One sentence saying how students are flagged, for the report's flag card.

    Examples
    --------
    >>> operating_point_text({"capacity": 10, "by": "school_id"}, "en")
    'The 10 students with the highest estimated risk at each school are flagged.'
    >>> operating_point_text({"threshold": 0.2}, "sv")
    'Elever med en bedömd sannolikhet på minst 20 % flaggas.'
    """
    text = TEXT[lang]
    point = dict(point or {})
    if point.get("capacity") is not None:
        key = "op_capacity" if point.get("by") else "op_capacity_all"
        return text[key].format(k=int(point["capacity"]))
    if point.get("flag_rate") is not None:
        return text["op_flag_rate"].format(r=_percent(float(point["flag_rate"]), lang))
    if point.get("cost") is not None:
        return text["op_cost"]
    from dropoutrisk.models import DEFAULT_TIER_CUTS

    threshold = point.get("threshold")
    return text["op_threshold"].format(
        p=_percent(float(DEFAULT_TIER_CUTS[0] if threshold is None else threshold), lang))


class StudentReport(Result):
    """One student's report; immutable. Build it with :func:`student_report`.

    Attributes
    ----------
    content : mapping
        Everything the report says, JSON-ready (see :meth:`to_dict`); a
        read-only copy.
    charts : mapping of str to str
        Inline SVG charts (``dimensions``, ``waterfall``, ``attendance``).
    """

    __slots__ = ("_charts", "_content")
    _remedy = "call student_report() again."

    def __init__(self, *, content: Mapping[str, Any], charts: Mapping[str, str]) -> None:
        self._set(content=copied(dict(content)), charts=dict(charts))

    def __repr__(self) -> str:
        return f"StudentReport(content={self._content!r})"

    content = Part("Everything the report says (a read-only copy).", convert=read_only)

    charts = Part("Inline SVG charts by name (read-only).", convert=MappingProxyType)

    def to_dict(self) -> dict[str, Any]:
        """The report content as plain data (no charts)."""
        return to_jsonable(self._content)

    def to_html(self) -> str:
        """The report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
        from dropoutrisk._templates import render
        from dropoutrisk.report._since_flag import SINCE_FLAG_TEXT

        lang = self._content["lang"]
        return render("dropoutrisk.report", TEMPLATE, r=self._content,
                      t={**TEXT[lang], **SINCE_FLAG_TEXT[lang]}, charts=dict(self._charts))


def _reason_items(table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    cols = ["rank", "code", "feature", "dimension", "actionable", f"value_text_{lang}",
            f"reference_text_{lang}", "reference_level", "contribution", "contribution_log_odds",
            f"sentence_{lang}"]
    out = []
    for rec in table[cols].to_dict("records"):
        rec["sentence"] = rec.pop(f"sentence_{lang}")
        rec["value_text"] = rec.pop(f"value_text_{lang}")
        rec["reference_text"] = rec.pop(f"reference_text_{lang}")
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
    horizon_days: int | None = 365,
    operating_point: Any = None,
    rank_in_school: int | None = None,
    school_size: int | None = None,
    follow_up: Any = None,
) -> StudentReport:
    """Build one student's report from explanations (and, optionally, the attendance table).

    The report holds that student's data only: their probability and its
    horizon, whether they are flagged (and their rank in the school), their
    tier, reasons, protective factors, dimension totals and contributions,
    and, when ``attendance`` and ``students`` are given, their weekly
    attendance with the school median beside it (aggregated over the school,
    withheld for weeks with fewer than 10 students).

    Parameters
    ----------
    explanations : Explanations
        From :func:`dropoutrisk.explain.explain_students` (with the ``flags``
        of the operating point in use, so that flag and tier agree with it).
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
    horizon_days : int or None, default 365
        The label horizon the model was trained for (the bundle's
        ``params["horizon_days"]``): the probability is "within 12 months".
    operating_point : mapping, optional
        How students were flagged, e.g. ``{"capacity": 10, "by": "school_id"}``
        or ``{"threshold": 0.2}`` (default: the models' default threshold).
    rank_in_school, school_size : int, optional
        The student's rank by estimated risk in the school (1 = highest) and
        the number of students scored there, as ``score`` gives them.
    follow_up : FollowUp, optional
        :func:`dropoutrisk.followup.follow_up` at the report's ``as_of``: the
        report then has a "since the flag" section (first flag, days since,
        the interventions recorded with their kind, date and staff role, and
        attendance, grades and concerns before vs since the flag), and the
        attendance chart marks the first flag and each intervention. A
        student no earlier run flagged gets a sentence saying so instead.
        Without it, the section is left out.

    Returns
    -------
    StudentReport

    Examples
    --------
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.explain import explain_students
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features()
    >>> ex = explain_students(RiskModel(n_estimators=10).fit(X, y), X)
    >>> report = student_report(ex, "id1", model_id="abc", lang="en")
    >>> report.content["student_id"], "id2" in report.to_html()
    ('id1', False)
    >>> report.content["probability_label"]
    'Estimated probability of dropping out within 12 months'
    """
    from dropoutrisk.explain import DIMENSION_LABELS
    from dropoutrisk.models import DEFAULT_TIER_CUTS
    from dropoutrisk.report._attendance import weekly_attendance
    from dropoutrisk.report._charts import figure_svg, trajectory_svg

    one = explanations.student(student_id)
    lang = lang or one.lang
    if lang not in TEXT:
        raise ParameterError(parameter="lang", message=
            f"lang={lang!r} is not supported. Allowed: 'sv' or 'en'.")
    text = TEXT[lang]
    context = one.context
    as_of = context["as_of"].iat[0]
    as_of_text = pd.Timestamp(as_of).date().isoformat() if as_of is not None else None
    if data_fingerprint is None:
        from dropoutrisk.models import fingerprint_frame

        data_fingerprint = fingerprint_frame(one.feature_values.reset_index(drop=True))
    proba = float(one.probability.iat[0])
    flagged = bool(one.flag.iat[0])
    tier = str(one.tier.iat[0])
    dims = one.dimension_totals.iloc[0]
    horizon = horizon_text(horizon_days, lang)
    rank_text = None
    if rank_in_school is not None:
        key = "rank" if school_size is not None else "rank_no_size"
        rank_text = text[key].format(rank=int(rank_in_school), n=school_size)

    since_flag = None
    if follow_up is not None:
        from dropoutrisk.report._since_flag import since_flag_content

        since_flag = since_flag_content(follow_up, str(student_id), as_of_text, flagged, lang)
    weekly = None
    if attendance is not None and students is not None and as_of is not None:
        start = None
        if since_flag is not None and since_flag["flagged_before"]:
            from dropoutrisk.report._since_flag import attendance_start
            from dropoutrisk.schema import school_year_of, school_year_start

            year_start = pd.Timestamp(school_year_start(school_year_of(pd.Timestamp(as_of))))
            start = attendance_start(follow_up, str(student_id), year_start)
        weekly = weekly_attendance(attendance, students, student_id, as_of, since=start)

    content = {
        "student_id": str(student_id),
        "school_id": None if context["school_id"].iat[0] is None else str(context["school_id"].iat[0]),
        "as_of": as_of_text,
        "lang": lang,
        "model_id": model_id,
        "data_fingerprint": data_fingerprint,
        "calibration": one.calibration,
        "probability": proba,
        "probability_text": _percent(proba, lang, cuts=_cuts(operating_point)),
        "probability_label": (text["probability"].format(horizon=horizon) if horizon
                              else text["probability_no_horizon"]),
        "horizon_days": None if horizon_days is None else int(horizon_days),
        "flag": flagged,
        "flag_text": text["flag_yes"] if flagged else text["flag_no"],
        "operating_point": None if operating_point is None else {
            k: v for k, v in dict(operating_point).items() if v is not None},
        "operating_point_text": operating_point_text(operating_point, lang),
        "rank_in_school": None if rank_in_school is None else int(rank_in_school),
        "school_size": None if school_size is None else int(school_size),
        "rank_text": rank_text,
        "base_value": one.base_value,
        "base_value_text": _percent(one.base_value, lang),
        "tier": tier,
        "tier_text": text.get(f"tier_{tier}", tier),
        "tier_note": text["tier_note"].format(cut=_percent(DEFAULT_TIER_CUTS[1], lang)),
        "reasons": _reason_items(one.reasons, lang),
        "protective": _reason_items(one.protective, lang),
        "dimension_totals": [
            {"dimension": d, "label": DIMENSION_LABELS[lang][d], "contribution": float(v),
             "contribution_text": _points(float(v), lang, unit=False)}
            for d, v in dims.items()
        ],
        "contributions": {k: float(v) for k, v in one.contributions.iloc[0].items()},
        "attendance_weekly": None if weekly is None else [
            {"week": w.isoformat(), "student": _num(s), "school_median": _num(m)}
            for w, s, m in weekly[["week", "student", "school_median"]].itertuples(index=False)
        ],
        "note": text["not_causes"],
    }
    if since_flag is not None:
        content["since_flag"] = since_flag
    from dropoutrisk._version import __version__

    content["dropoutrisk_version"] = __version__
    charts = {
        "dimensions": figure_svg(one.plot_dimension_importance(student_id, lang=lang).figure,
                                 name="dimensions", title=text["dimensions"]),
        "waterfall": figure_svg(one.plot_waterfall(student_id, lang=lang,
                                                   max_display=max_display).figure,
                                name="waterfall", title=text["waterfall"]),
    }
    if weekly is not None:
        markers = (since_flag or {}).get("markers") or None
        charts["attendance"] = trajectory_svg(weekly, lang=lang, markers=markers)
    return StudentReport(content=content, charts=charts)


def _cuts(operating_point: Any) -> tuple[float, ...]:
    from dropoutrisk.models import DEFAULT_TIER_CUTS

    point = dict(operating_point or {})
    threshold = point.get("threshold")
    if point.get("capacity") is None and point.get("flag_rate") is None and threshold is None:
        threshold = DEFAULT_TIER_CUTS[0]
    return tuple(float(c) for c in (threshold, DEFAULT_TIER_CUTS[1]) if c is not None)


def _num(x: Any) -> float | None:
    x = float(x)
    return None if x != x else x
