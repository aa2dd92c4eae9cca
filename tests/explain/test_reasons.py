"""Reason codes, references, sentences and the ranking rule."""

import re

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.explain import explain_students, format_values, reason_stems, school_references
from dropoutrisk.explain._reasons import select_reasons
from dropoutrisk.features import default_catalogue


def test_code_stems_are_unique_stable_and_readable():
    cat = default_catalogue()
    dims = [cat.dimension_of(n) for n in cat.names]
    stems = reason_stems(cat.names, dims)
    assert len(set(stems.values())) == len(stems)
    assert stems == reason_stems(cat.names, dims)
    assert stems["attendance_rate_4w"] == "BEH-ATT4W"
    assert all(re.fullmatch(r"(BEH|ACA|COG|PSY|SOC|BKG)-[A-Z0-9]+", s) for s in stems.values())


def test_colliding_stems_get_a_checksum():
    stems = reason_stems(["late_minutes", "lat_min"], ["behavioural", "behavioural"])
    assert stems["late_minutes"] != stems["lat_min"]
    assert all(s.startswith("BEH-LATMIN") for s in stems.values())


@pytest.mark.parametrize(("values", "kind", "unit", "lang", "expected"), [
    ([0.62, 0.91], "numeric", "fraction", "sv", ["62 %", "91 %"]),
    ([0.62, 0.91], "numeric", "fraction", "en", ["62%", "91%"]),
    ([0.055, -0.031], "numeric", "fraction", "sv", ["5,5 %", "\u22123,1 %"]),
    ([12.34, 3.0, np.nan], "numeric", "points", "sv", ["12,3", "3", "saknas"]),
    ([12.34, 3.0, np.nan], "numeric", "score", "en", ["12.3", "3", "missing"]),
    ([4.4, 0.0], "numeric", "days", "sv", ["4", "0"]),
    ([1.0, 0.0], "binary", "none", "sv", ["ja", "nej"]),
    (["introductory", None], "categorical", "none", "en", ["introductory programme", "missing"]),
    ([0.1, 0.1001, 0.25, 0.4999, 0.5, 0.75, 0.9, np.nan], "numeric", "percentile", "en",
     ["lowest 10%", "lowest 25%", "lowest 25%", "lower half", "upper half", "highest 25%",
      "highest 10%", "missing"]),
    ([0.03, 0.97], "numeric", "percentile", "sv", ["lägsta 10 %", "högsta 10 %"]),
])
def test_format_values(values, kind, unit, lang, expected):
    assert format_values(values, kind, unit, lang).tolist() == expected


def test_select_reasons_puts_actionable_first_and_respects_sign():
    lo = np.array([[0.9, 0.1, 0.2, -0.5, 0.0],
                   [-0.1, -0.2, 0.0, 0.0, 0.3]])
    eligible = np.array([True, True, True, True, False])
    actionable = np.array([False, True, True, True, True])
    rows, cols = select_reasons(lo, eligible, actionable, 4, protective=False)
    assert rows.tolist() == [0, 0, 0]
    assert cols.tolist() == [2, 1, 0]  # actionable by size, then the non-actionable one
    rows, cols = select_reasons(lo, eligible, actionable, 1, protective=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [3, 1]


def test_references_are_school_medians_at_the_same_as_of():
    f = pd.DataFrame({
        "school_id": ["a", "a", "a", "a", "b", "b"],
        "as_of": pd.to_datetime(["2024-10-01"] * 3 + ["2024-11-01"] + ["2024-10-01"] * 2),
        "x": [0.5, 0.7, np.nan, 0.1, 0.2, 0.4],
        "flag": [1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        "c": pd.Categorical(["u", "v", "v", "u", "u", None]),
    })
    ref = school_references(f, ["x", "flag", "c"], ["numeric", "binary", "categorical"], min_count=1)
    assert ref["x"].tolist() == [0.6, 0.6, 0.6, 0.1, pytest.approx(0.3), pytest.approx(0.3)]
    assert ref["flag"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # a tie is "no"
    assert ref["c"].tolist() == ["v", "v", "v", "u", "u", "u"]


def test_reasons_follow_the_rules(explained, frame):
    X, _ = frame
    r, p = explained.reasons, explained.protective
    assert (r["contribution"] > 0).all() and (r["contribution_log_odds"] > 0).all()
    assert (p["contribution"] < 0).all()
    assert r.groupby("student_id").size().max() == 4
    assert (r.groupby("student_id")["rank"].apply(lambda s: s.tolist() == list(range(1, len(s) + 1)))).all()
    # actionable ones come first within a student
    first_non = r[~r["actionable"]].groupby("student_id")["rank"].min()
    last_act = r[r["actionable"]].groupby("student_id")["rank"].max()
    both = first_non.index.intersection(last_act.index)
    assert (first_non[both] > last_act[both]).all()
    # a value line's reference is the school median, or the training median it fell back to
    numeric = r[r["reference_level"].notna() & r["reference"].map(lambda v: isinstance(v, float))]
    assert set(numeric["reference_level"]) <= {"school", "training"}
    row = numeric[numeric["reference_level"] == "school"].iloc[0]
    feature, sid = row["feature"], row["student_id"]
    school = X.at[sid, "school_id"]
    assert row["reference"] == pytest.approx(X.loc[X["school_id"] == school, feature].median())
    assert row["code"].startswith(explained.features.at[feature, "stem"] + "-")
    assert not explained.check_lines()[["contradicts", "uninformative"]].any().any()


def test_the_issue_example_sentence(platt_model, frame):
    X, _ = frame
    X = X.copy()
    same = X["school_id"] == X.at["st0000", "school_id"]
    X.loc[same, "attendance_rate"] = 0.91
    X.loc["st0000", ["attendance_rate_4w", "attendance_rate", "attendance_rate_2w"]] = 0.62
    ex = explain_students(platt_model, X, ["st0000"], top_n=30)
    rows = ex.reasons[ex.reasons["feature"] == "attendance_rate"]
    assert rows["sentence_sv"].iat[0] == ("Närvaron sedan läsårets start var 62 % "
                                          "(skolans median 91 %).")
    assert rows["sentence_en"].iat[0] == ("Attendance since the start of the school year was 62% "
                                          "(school median 91%).")
    assert rows["code"].iat[0] == "BEH-ATT-LOW"
    assert rows["reference_level"].iat[0] == "school"


def test_background_is_never_a_reason(background_model, frame):
    X, _ = frame
    ex = explain_students(background_model, X, top_n=10)
    background = set(ex.features.index[ex.features["dimension"] == "background"])
    assert "gender" in background and "gender" in ex.contributions.columns
    assert ex.contributions["gender"].abs().max() > 0  # the model does use it
    assert not set(ex.reasons["feature"]) & background
    assert not set(ex.protective["feature"]) & background
    np.testing.assert_allclose(ex.dimension_totals["background"],
                               ex.contributions[sorted(background)].sum(axis=1))


def test_lang_picks_the_sentence_column(platt_model, frame):
    X, _ = frame
    en = explain_students(platt_model, X, ["st0001", "st0002"], lang="en")
    assert (en.reasons["sentence"] == en.reasons["sentence_en"]).all()
    assert en.reasons["value_text"].str.contains("%|\\d|yes|no|missing|programme").all()


def test_small_schools_get_no_reference():
    f = pd.DataFrame({"school_id": ["a"] * 12 + ["b"] * 3, "x": np.arange(15, dtype=float),
                      "c": pd.Categorical(["u"] * 15)})
    ref = school_references(f, ["x", "c"], ["numeric", "categorical"])
    assert ref["x"].iloc[:12].notna().all() and ref["x"].iloc[12:].isna().all()
    assert ref["c"].iloc[12:].isna().all()


def test_negligible_contributions_are_not_reasons():
    from dropoutrisk.explain._codes import MIN_REASON_LOG_ODDS
    from dropoutrisk.explain._reasons import select_reasons

    lo = np.array([[0.5, MIN_REASON_LOG_ODDS / 2, -MIN_REASON_LOG_ODDS / 2, -0.3]])
    eligible, actionable = np.ones(4, bool), np.ones(4, bool)
    _, raising = select_reasons(lo, eligible, actionable, 4, protective=False)
    _, protecting = select_reasons(lo, eligible, actionable, 4, protective=True)
    assert raising.tolist() == [0]
    assert protecting.tolist() == [3]


def test_a_percentile_among_the_school_reads_as_its_band():
    """A relative indicator's reason prints the student's band of the school, on the risky side."""
    from dropoutrisk.features import load_indicators
    from dropoutrisk.models import RiskModel

    from .conftest import make_frame

    cat = load_indicators([{
        "name": "attendance_pct_school", "dimension": "behavioural", "actionable": True,
        "description_en": "Attendance, against the school's other students",
        "description_sv": "Närvaro, jämfört med skolans andra elever",
        "template_en": "Attendance: in the {value} of the school's students.",
        "template_sv": "Närvaro: bland skolans {value}.",
        "risk_direction": "lower", "source": {"relative": "percentile", "of": "attendance_rate"}}])
    X, y = make_frame(900, seed=2)
    X["attendance_pct_school"] = X.groupby("school_id")["attendance_rate"].rank(pct=True)
    model = RiskModel(catalogue=cat, n_estimators=80, random_state=0).fit(X, y)
    assert model.monotone_constraints_["attendance_pct_school"] == -1
    top = X.iloc[np.argsort(-model.predict_proba(X)[:, 1])[:60]]
    for lang, pattern in (("en", r"Attendance: in the (lowest 10%|lowest 25%|lower half) of the "
                                 r"school's students\.$"),
                          ("sv", r"Närvaro: bland skolans (lägsta 10 %|lägsta 25 %|nedre halvan)\.$")):
        reasons = explain_students(model, top, lang=lang).reasons
        lines = reasons.loc[reasons["feature"] == "attendance_pct_school"]
        risky = lines.loc[lines["contribution"] > 0, "sentence"]
        assert len(risky) > 5
        assert risky.str.match(pattern).all(), risky.head().tolist()
