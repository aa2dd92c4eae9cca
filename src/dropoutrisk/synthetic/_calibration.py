"""The seed figures (Plug In material) and the same figures measured on generated tables."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dropoutrisk.schema import school_year_start

__all__ = ["SEED_FIGURES", "calibration_figures", "eligible_for_national"]

#: figure -> (published, lower, upper, description). The tests check ``lower <= generated <= upper``.
SEED_FIGURES: dict[str, tuple[str, float, float, str]] = {
    "year1_dropout_national": (
        "about 2%",
        0.01,
        0.03,
        "Share of national-programme students who drop out during year 1",
    ),
    "year1_dropout_introductory": (
        "about 11%",
        0.08,
        0.14,
        "Share of introductory-programme students who drop out during year 1",
    ),
    "not_completed_4y": (
        "about 1 in 4",
        0.22,
        0.28,
        "Share without a diploma four years after starting (moved/transferred left out)",
    ),
    "eligible_post_secondary": (
        "about 95%",
        0.93,
        0.97,
        "Eligible for a national programme when a parent has post-secondary education",
    ),
    "eligible_other": ("about 78%", 0.75, 0.81, "Eligible for a national programme otherwise"),
    "absence_over_20pct": (
        "more than 1 in 5",
        0.20,
        0.32,
        "Share of students with over 20% absence in year 1",
    ),
    "dropout_attendance_decline_pp": (
        "declines before leaving",
        2.0,
        30.0,
        "Dropouts: absence in the 4 weeks before leaving minus weeks 9-12 before (percentage points)",
    ),
}

_CORE9 = ("GR9EN", "GR9MA")


def eligible_for_national(grades: pd.DataFrame) -> pd.Series:
    """Eligibility for a national programme from the year-9 leaving grades.

    A student is eligible (vocational-programme minimum) with E or better in
    Swedish or Swedish as a second language (``GR9SV``/``GR9SVA``), English
    (``GR9EN``) and mathematics (``GR9MA``) and in at least five other year-9
    subjects (course codes starting ``GR9``).

    Parameters
    ----------
    grades : DataFrame
        The ``grades`` table.

    Returns
    -------
    Series of bool
        Indexed by ``student_id`` (students with year-9 grades only).

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"student_id": ["a"] * 8 + ["b"] * 8,
    ...     "course": ["GR9SV", "GR9EN", "GR9MA", "GR9BI", "GR9FY", "GR9KE", "GR9GE", "GR9HI"] * 2,
    ...     "grade": ["C"] * 8 + ["C", "F"] + ["C"] * 6})
    >>> eligible_for_national(g).to_dict()
    {'a': True, 'b': False}
    """
    g = grades[grades["course"].str.startswith("GR9")]
    passed = g["grade"].isin(["A", "B", "C", "D", "E"])
    course = g["course"].replace({"GR9SVA": "GR9SV"})
    table = pd.DataFrame(
        {
            "student_id": g["student_id"].to_numpy(),
            "course": course.to_numpy(),
            "passed": passed.to_numpy(),
        }
    )
    wide = table.groupby(["student_id", "course"])["passed"].max().unstack(fill_value=False)
    core = [c for c in ("GR9SV", *_CORE9) if c in wide]
    core_ok = wide[core].all(axis=1) if len(core) == 3 else pd.Series(False, index=wide.index)
    others = wide.drop(columns=core).sum(axis=1)
    return (core_ok & (others >= 5)).rename("eligible")


def calibration_figures(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Measure the seed figures on a set of canonical tables.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        ``students``, ``outcomes``, ``grades`` and ``attendance`` (for
        example the result of :func:`make_cohorts`). Figures whose tables are
        missing come out as NaN.

    Returns
    -------
    DataFrame
        One row per figure: ``figure``, ``published``, ``tolerance``,
        ``generated``, ``n`` (students it is measured on) and ``description``.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> figs = calibration_figures(make_cohorts(200, [2021], n_schools=4, random_state=3))
    >>> figs.columns.tolist()
    ['figure', 'published', 'lower', 'upper', 'generated', 'within', 'n', 'description']
    """
    students = tables["students"]
    outcomes = tables["outcomes"]
    measured: dict[str, tuple[float, int]] = {}
    merged = students[["student_id", "cohort", "programme_type", "parental_education"]].merge(
        outcomes, on="student_id", how="left"
    )
    year2 = pd.to_datetime(merged["cohort"].map(lambda y: school_year_start(int(y) + 1)))
    early_dropout = (merged["event"] == "dropout") & (pd.to_datetime(merged["date"]) < year2)
    for ptype in ("national", "introductory"):
        sel = merged["programme_type"] == ptype
        measured[f"year1_dropout_{ptype}"] = (float(early_dropout[sel].mean()), int(sel.sum()))
    four = pd.to_datetime(merged["cohort"].map(lambda y: school_year_start(int(y) + 4)))
    censored = merged["event"].isin(["moved", "transferred"])
    done = (merged["event"] == "completed") & (pd.to_datetime(merged["date"]) < four)
    measured["not_completed_4y"] = (float(1 - done[~censored].mean()), int((~censored).sum()))
    if "grades" in tables:
        elig = eligible_for_national(tables["grades"])
        e = merged.set_index("student_id")["parental_education"].to_frame().join(elig, how="inner")
        post = e["parental_education"] == "post_secondary"
        measured["eligible_post_secondary"] = (
            float(e.loc[post, "eligible"].mean()),
            int(post.sum()),
        )
        measured["eligible_other"] = (float(e.loc[~post, "eligible"].mean()), int((~post).sum()))
    if "attendance" in tables and len(tables["attendance"]):
        measured.update(_attendance_figures(tables["attendance"], merged))
    rows = []
    for name, (published, lower, upper, desc) in SEED_FIGURES.items():
        value, n = measured.get(name, (np.nan, 0))
        rows.append(
            {
                "figure": name,
                "published": published,
                "lower": lower,
                "upper": upper,
                "generated": value,
                "within": bool(lower <= value <= upper),
                "n": n,
                "description": desc,
            }
        )
    return pd.DataFrame(rows)


def _attendance_figures(att: pd.DataFrame, merged: pd.DataFrame) -> dict[str, tuple[float, int]]:
    att = att[["student_id", "date", "scheduled_minutes", "absent_minutes"]]
    info = merged.set_index("student_id")
    start = pd.to_datetime(info["cohort"].map(lambda y: school_year_start(int(y))))
    year2 = pd.to_datetime(info["cohort"].map(lambda y: school_year_start(int(y) + 1)))
    date = pd.to_datetime(att["date"])
    sid = att["student_id"]
    in_y1 = (date >= sid.map(start)) & (date < sid.map(year2))
    y1 = att[in_y1.to_numpy()].groupby("student_id")[["scheduled_minutes", "absent_minutes"]].sum()
    share = y1["absent_minutes"] / y1["scheduled_minutes"]
    out = {"absence_over_20pct": (float((share > 0.2).mean()), int(len(share)))}
    drop = info[info["event"] == "dropout"]
    if len(drop):
        left = sid.map(pd.to_datetime(drop["date"]))
        ok = left.notna().to_numpy()
        weeks_before = ((left[ok] - date[ok]).dt.days // 7).to_numpy()
        a = att[ok]
        late = (weeks_before >= 0) & (weeks_before < 4)
        early = (weeks_before >= 8) & (weeks_before < 12)

        def rate(mask):
            per = a[mask].groupby("student_id")[["scheduled_minutes", "absent_minutes"]].sum()
            return per["absent_minutes"] / per["scheduled_minutes"]

        both = pd.concat([rate(early).rename("early"), rate(late).rename("late")], axis=1).dropna()
        decline = 100.0 * float((both["late"] - both["early"]).mean()) if len(both) else np.nan
        out["dropout_attendance_decline_pp"] = (decline, int(len(both)))
    return out
