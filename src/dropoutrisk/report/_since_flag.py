"""The student report's "since the flag" section, from the follow-up's :class:`SinceFlag`.

Formatting only: what changed since the first flag is computed once, by
:mod:`dropoutrisk.followup`, for this page and for ``dropoutrisk follow-up`` alike.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.report._student import _percent, _points

__all__ = ["SINCE_FLAG_TEXT", "attendance_start", "since_flag_content"]

SINCE_FLAG_TEXT: dict[str, dict[str, str]] = {
    "sv": {
        "since_flag": "Sedan flaggningen",
        "first_flagged": "Först flaggad",
        "first_flagged_value": "{date}, för {days} dagar sedan",
        "times_flagged": "Flaggad i {n} tidigare körningar, senast {date}.",
        "times_flagged_one": "Flaggad i 1 tidigare körning, {date}.",
        "interventions": "Insatser sedan flaggningen",
        "no_intervention": "Ingen insats är registrerad sedan flaggningen ({days} dagar).",
        "first_after": "Första insatsen kom {days} dagar efter flaggningen.",
        "before_flag": "En insats var också registrerad före den första flaggningen.",
        "until": "till {date}",
        "ongoing": "pågår",
        "indicator": "Indikator",
        "before": "Före flaggningen",
        "since": "Sedan flaggningen",
        "change": "Förändring",
        "periods": ("Före: närvaro och orosanmälningar de {window} dagarna före flaggningen, betyg "
                    "året före. Sedan: från flaggningen till bedömningsdatumet ({days} dagar)."),
        "indicator_attendance": "Närvaro",
        "indicator_grade_points": "Betygspoäng i snitt (F och streck räknas som 0)",
        "indicator_failed_grades": "Underkända betyg (F eller streck)",
        "indicator_concerns": "Orosanmälningar",
        "no_records": "inga uppgifter",
        "not_effect": ("Förändringen sedan flaggningen är inte insatsens effekt: elever rör sig ofta "
                       "tillbaka mot sin vanliga nivå med eller utan stöd, och skolan väljer vilka "
                       "som får stöd."),
        "chart_note": ("Lodräta linjer i närvarodiagrammet: den första flaggningen och insatserna, "
                       "numrerade som i listan."),
        "no_runs": ("Inga tidigare körningar före bedömningsdatumet lästes, så det finns ingen "
                    "utveckling sedan en flaggning att visa."),
        "never_flagged": "Eleven flaggades inte i någon tidigare körning ({runs}).",
        "first_flag_now": ("Eleven flaggades inte i någon tidigare körning ({runs}): detta är den "
                           "första flaggningen, så utvecklingen sedan flaggningen visas från nästa "
                           "körning."),
        "one_run": "1 körning, {first}",
        "many_runs": "{n} körningar, {first} till {last}",
        "progress_improving": ("Förbättring: närvaron sedan flaggningen är minst {c} procentenheter "
                               "högre än de {window} dagarna före."),
        "progress_worsening": ("Försämring: närvaron sedan flaggningen är minst {c} procentenheter "
                               "lägre än de {window} dagarna före."),
        "progress_no_clear_change": ("Ingen tydlig förändring: närvaron sedan flaggningen ligger "
                                     "inom {c} procentenheter från de {window} dagarna före."),
        "progress_too_early": ("För tidigt att bedöma: färre än {min_days} dagar sedan "
                               "flaggningen."),
        "progress_no_data": ("Utvecklingen kan inte bedömas: ingen närvaro är registrerad före "
                             "eller sedan flaggningen."),
        "progress_left": "Eleven har lämnat skolan ({event}).",
        "event_dropout": "studieavbrott",
        "event_no_diploma": "utan examen",
        "event_moved": "flyttat",
        "event_transferred": "bytt skola",
        "kind_mentor_talk": "Mentorssamtal",
        "kind_attendance_team": "Närvaroteam",
        "kind_student_coach": "Elevcoach",
        "kind_special_support": "Särskilt stöd",
        "kind_study_plan_change": "Ändrad studieplan",
        "role_mentor": "mentor",
        "role_kurator": "kurator",
        "role_specialpedagog": "specialpedagog",
        "role_elevcoach": "elevcoach",
        "role_syv": "studie- och yrkesvägledare",
        "role_staff": "personal",
        "marker_flag": "Första flaggningen",
        "marker_intervention": "Insats (nummer som i listan)",
    },
    "en": {
        "since_flag": "Since the flag",
        "first_flagged": "First flagged",
        "first_flagged_value": "{date}, {days} days ago",
        "times_flagged": "Flagged in {n} earlier runs, last on {date}.",
        "times_flagged_one": "Flagged in 1 earlier run, on {date}.",
        "interventions": "Interventions since the flag",
        "no_intervention": "No intervention has been recorded since the flag ({days} days).",
        "first_after": "The first intervention came {days} days after the flag.",
        "before_flag": "An intervention was also recorded before the first flag.",
        "until": "until {date}",
        "ongoing": "ongoing",
        "indicator": "Indicator",
        "before": "Before the flag",
        "since": "Since the flag",
        "change": "Change",
        "periods": ("Before: attendance and concern reports in the {window} days before the flag, "
                    "grades in the year before. Since: from the flag to the assessment date "
                    "({days} days)."),
        "indicator_attendance": "Attendance",
        "indicator_grade_points": "Mean grade points (F and no grade count 0)",
        "indicator_failed_grades": "Failed grades (F or no grade)",
        "indicator_concerns": "Concern reports",
        "no_records": "no records",
        "not_effect": ("The change since the flag is not the effect of the support: students often "
                       "drift back towards their usual level with or without help, and the school "
                       "chooses whom to support."),
        "chart_note": ("Vertical lines on the attendance chart: the first flag and the "
                       "interventions, numbered as in the list."),
        "no_runs": ("No earlier run before the assessment date was read, so there is no progress "
                    "since a flag to show."),
        "never_flagged": "No earlier run flagged the student ({runs}).",
        "first_flag_now": ("No earlier run flagged the student ({runs}): this is the first flag, "
                           "so progress since the flag shows from the next run on."),
        "one_run": "1 run, {first}",
        "many_runs": "{n} runs, {first} to {last}",
        "progress_improving": ("Improving: attendance since the flag is at least {c} percentage "
                               "points above the {window} days before."),
        "progress_worsening": ("Worsening: attendance since the flag is at least {c} percentage "
                               "points below the {window} days before."),
        "progress_no_clear_change": ("No clear change: attendance since the flag is within {c} "
                                     "percentage points of the {window} days before."),
        "progress_too_early": "Too early to judge: fewer than {min_days} days since the flag.",
        "progress_no_data": ("Progress cannot be judged: no attendance was recorded before or "
                             "since the flag."),
        "progress_left": "The student has left school ({event}).",
        "event_dropout": "dropped out",
        "event_no_diploma": "without a diploma",
        "event_moved": "moved",
        "event_transferred": "changed school",
        "kind_mentor_talk": "Mentor talk",
        "kind_attendance_team": "Attendance team",
        "kind_student_coach": "Student coach",
        "kind_special_support": "Special support",
        "kind_study_plan_change": "Study plan change",
        "role_mentor": "mentor",
        "role_kurator": "school counsellor",
        "role_specialpedagog": "special needs teacher",
        "role_elevcoach": "student coach",
        "role_syv": "study and careers adviser",
        "role_staff": "staff",
        "marker_flag": "First flag",
        "marker_intervention": "Intervention (numbered as in the list)",
    },
}


def attendance_start(follow_up: Any, student_id: str, default: pd.Timestamp) -> pd.Timestamp:
    """The first day of the attendance chart: early enough to show the period before the flag."""
    mine = None if follow_up is None else follow_up.student(student_id)
    if mine is None:
        return default
    before = mine.first_flagged - pd.Timedelta(days=int(mine.periods["window_days"]))
    return min(default, before)


def since_flag_content(follow_up: Any, student_id: str, as_of: str | None, flagged: bool,
                       lang: str) -> dict[str, Any]:
    """The section's content, JSON-ready: the student's follow-up, or the sentence saying why not.

    ``markers`` are the attendance chart's vertical lines (the first flag, then
    each intervention by its number in the list).
    """
    text = SINCE_FLAG_TEXT[lang]
    record = follow_up.record
    if as_of is None or record["as_of"] != as_of:
        raise ParameterError(parameter="follow_up", message=(
            f"the follow-up is at {record['as_of']} but the report at {as_of}; call follow_up "
            "with the report's as_of, so that 'since the flag' ends where the report does."))
    mine = follow_up.student(student_id)
    if mine is None:
        runs = record["runs"]
        if not runs:
            sentence = text["no_runs"]
        else:
            key = "first_flag_now" if flagged else "never_flagged"
            read = text["one_run" if len(runs) == 1 else "many_runs"].format(
                n=len(runs), first=runs[0]["as_of"], last=runs[-1]["as_of"])
            sentence = text[key].format(runs=read)
        return {"flagged_before": False, "runs": len(runs), "text": sentence}
    status = mine.status
    days = mine.days_since_flag
    first = mine.first_flagged.date().isoformat()
    params = record["parameters"]
    interventions = [_intervention(i, r, text) for i, r in
                     enumerate(mine.interventions.to_dict("records"), start=1)]
    notes = []
    if interventions:
        notes.append(text["first_after"].format(days=status["days_without_intervention"]))
    if status["supported_before_flag"]:
        notes.append(text["before_flag"])
    return {
        "flagged_before": True,
        "first_flagged": first,
        "days_since_flag": days,
        "first_flagged_text": text["first_flagged_value"].format(date=first, days=days),
        "times_flagged": status["times_flagged"],
        "last_flagged": status["last_flagged"].date().isoformat(),
        "times_flagged_text": text["times_flagged_one" if status["times_flagged"] == 1
                                   else "times_flagged"].format(
            n=status["times_flagged"], date=status["last_flagged"].date().isoformat()),
        "interventions": interventions,
        "no_intervention_text": (None if interventions
                                 else text["no_intervention"].format(days=days)),
        "intervention_notes": notes,
        "indicators": _indicators(mine.indicators, lang),
        "periods_text": text["periods"].format(window=mine.periods["window_days"], days=days),
        "progress": status["progress"],
        "progress_text": _progress_text(status, params, lang),
        "note": text["not_effect"],
        "markers": [{"date": first, "kind": "flag", "legend": text["marker_flag"], "label": ""}]
        + [{"date": i["date"], "kind": "intervention", "legend": text["marker_intervention"],
            "label": str(i["number"])} for i in interventions],
    }


def _intervention(number: int, row: dict, text: dict) -> dict[str, Any]:
    date = row["date"].date().isoformat()
    end = None if pd.isna(row["end_date"]) else row["end_date"].date().isoformat()
    role = None if pd.isna(row["role"]) else str(row["role"])
    kind = str(row["kind"])
    if end is None:
        period = text["ongoing"]
    elif end == date:
        period = None
    else:
        period = text["until"].format(date=end)
    # a school's own code is shown as it is: only the suggested kinds and roles are translated
    return {"number": number, "date": date, "end_date": end, "kind": kind,
            "kind_text": text.get(f"kind_{kind}", kind), "role": role,
            "role_text": None if role is None else text.get(f"role_{role}", role),
            "period_text": period}


def _indicators(table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    text = SINCE_FLAG_TEXT[lang]
    decimals = {"grade_points": 1}
    out = []
    for name, row in table.iterrows():
        if pd.isna(row["before"]) and pd.isna(row["since"]):
            continue  # the table was not given: nothing to compare

        def shown(v: float, *, change: bool = False, name: str = str(name)) -> str:
            if pd.isna(v):
                return "" if change else text["no_records"]
            if name == "attendance":
                return _points(v, lang) if change else _percent(v, lang)
            return _number(v, lang, decimals.get(name, 0), sign=change)

        out.append({
            "indicator": name, "label": text[f"indicator_{name}"],
            **{k: None if pd.isna(row[k]) else float(row[k]) for k in ("before", "since", "change")},
            "before_text": shown(row["before"]), "since_text": shown(row["since"]),
            "change_text": shown(row["change"], change=True),
        })
    return out


def _number(x: float, lang: str, decimals: int, *, sign: bool = False) -> str:
    text = f"{x:{'+' if sign else ''}.{decimals}f}".replace("-", "\u2212")
    if sign and float(f"{x:.{decimals}f}") == 0:
        text = "\u00b1" + text[1:]
    return text.replace(".", ",") if lang == "sv" else text


def _progress_text(status: dict, params: dict, lang: str) -> str:
    text = SINCE_FLAG_TEXT[lang]
    progress = status["progress"]
    if progress == "left":
        event = status["left"]
        return text["progress_left"].format(event=text.get(f"event_{event}", event))
    c = format(round(100 * float(params["change"]), 4), "g")
    c = c.replace(".", ",") if lang == "sv" else c
    return text[f"progress_{progress}"].format(c=c, window=params["window_days"],
                                               min_days=params["min_days"])
