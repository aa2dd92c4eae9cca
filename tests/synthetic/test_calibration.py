"""The generator is calibrated to the seed figures of the Plug In material."""

import pandas as pd
import pytest

from dropoutrisk.synthetic import SEED_FIGURES, calibration_figures, eligible_for_national


@pytest.fixture(scope="module")
def figures(outcome_cohorts, cohorts):
    """Outcome and eligibility figures on 16,000 students, attendance figures on 3,000."""
    large = {name: outcome_cohorts[name] for name in ("students", "outcomes", "grades")}
    big = calibration_figures(large).set_index("figure")
    small = calibration_figures(cohorts).set_index("figure")
    attendance = ["absence_over_20pct", "dropout_attendance_decline_pp"]
    big.loc[attendance] = small.loc[attendance]
    return big


@pytest.mark.parametrize("figure", list(SEED_FIGURES))
def test_seed_figure_within_tolerance(figures, figure):
    row = figures.loc[figure]
    assert row["n"] > 100
    assert row["lower"] <= row["generated"] <= row["upper"], row.to_dict()
    assert row["within"]


def test_absence_is_common(figures):
    assert figures.loc["absence_over_20pct", "generated"] > 0.2


def test_dropouts_attendance_declines_week_by_week(cohorts):
    """Absence of dropouts rises gradually over the half year before they leave."""
    o = cohorts["outcomes"]
    leave = o[o["event"] == "dropout"].set_index("student_id")["date"]
    a = cohorts["attendance"]
    a = a[a["student_id"].isin(leave.index)]
    weeks = (a["student_id"].map(leave) - a["date"]).dt.days // 7
    a = a.assign(weeks_before=weeks)

    def absence(first, last):
        rows = a[a["weeks_before"].between(first, last)]
        return rows["absent_minutes"].sum() / rows["scheduled_minutes"].sum()

    last_month, before, long_before = absence(0, 3), absence(8, 15), absence(20, 31)
    assert last_month > before + 0.03
    assert before > long_before + 0.01
    everyone = cohorts["attendance"]
    assert long_before > everyone["absent_minutes"].sum() / everyone["scheduled_minutes"].sum()


def test_background_shifts_risk_only_modestly(outcome_cohorts):
    s = outcome_cohorts["students"].merge(outcome_cohorts["outcomes"], on="student_id")
    national = s[s["programme_type"] == "national"]
    rate = national.groupby("parental_education")["event"].apply(lambda e: (e == "dropout").mean())
    # correlated with risk, but no group is several times another
    assert rate["compulsory"] > rate["post_secondary"]
    assert rate["compulsory"] < 2.5 * rate["post_secondary"]


def test_eligibility_rule():
    g = pd.DataFrame(
        {
            "student_id": ["a"] * 8 + ["b"] * 8 + ["c"] * 8,
            "course": ["GR9SVA", "GR9EN", "GR9MA", "GR9BI", "GR9FY", "GR9KE", "GR9GE", "GR9HI"] * 3,
            "grade": ["E"] * 8 + ["E"] * 7 + ["-"] + ["E", "E", "F"] + ["A"] * 5,
        }
    )
    assert eligible_for_national(g).to_dict() == {"a": True, "b": False, "c": False}
