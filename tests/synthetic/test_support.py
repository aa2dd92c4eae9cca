"""make_cohorts(support=...): flags at a capacity cut-off, interventions and a planted effect."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import ParameterError
from dropoutrisk.schema import validate_tables
from dropoutrisk.synthetic import SupportPlan, make_cohorts

ARGS = {"n_students": 1200, "cohorts": [2022, 2023], "n_schools": 4, "random_state": 5}


@pytest.fixture(scope="module")
def supported():
    return make_cohorts(**ARGS, support=SupportPlan(capacity=0.15, hazard_ratio=0.5,
                                                    latent_shift=1))


def test_support_without_effect_changes_no_table():
    plain = make_cohorts(**ARGS)
    recorded = make_cohorts(**ARGS, support=SupportPlan())
    assert list(recorded) == [*plain.table_names[:7], "interventions", "outcomes", "truth",
                              "support_truth"]
    for name in plain:
        pd.testing.assert_frame_equal(recorded[name], plain[name], obj=name)
    assert len(recorded["interventions"]) > 0


def test_flags_follow_the_capacity_cut_off_in_each_school(supported):
    st = supported["support_truth"]
    for (_, _), school in st.groupby(["cohort", "school_id"]):
        assert sorted(school["rank"]) == list(range(1, len(school) + 1))
        k = school["capacity"].iloc[0]
        assert k == int(np.ceil(0.15 * len(school)))
        assert school["flagged"].tolist() == (school["rank"] <= k).tolist()
    assert not (st["supported"] & ~st["flagged"]).any()
    share = st.loc[st["flagged"], "supported"].mean()
    assert 0.6 < share < 0.8  # uptake 0.7
    # the least connected are flagged: their risk without support is far higher
    assert st.loc[st.flagged, "risk_without_support"].mean() > 3 * st.loc[
        ~st.flagged, "risk_without_support"].mean()


def test_every_supported_student_has_a_valid_record_in_the_flag_week(supported):
    st = supported["support_truth"]
    iv = supported["interventions"]
    checked = validate_tables({"students": supported["students"], "interventions": iv})
    assert len(checked["interventions"]) == len(iv)
    first = iv.sort_values("date").groupby("student_id").first()
    sup = st[st.supported].set_index("student_id")
    assert set(first.index) == set(sup.index)
    days = (first.loc[sup.index, "date"] - sup["as_of"]).dt.days
    assert days.between(0, 4).all()
    assert (first.loc[sup.index, "kind"] == sup["kind"]).all()
    assert iv["role"].isin(["mentor", "kurator", "elevcoach", "specialpedagog", "syv"]).all()
    assert (iv["end_date"] >= iv["date"]).all()


def test_the_planted_risk_is_what_happens(supported):
    # exact risks at the flag date against the simulated outcomes within the horizon
    st = supported["support_truth"].merge(supported["outcomes"], on="student_id")
    window = (st["date"] >= st["as_of"]) & (st["date"] < st["as_of"] + pd.Timedelta(days=365))
    censored = window & st["event"].isin(["moved", "transferred"])
    st = st[~censored].assign(label=(window & (st["event"] == "dropout")).astype(float))
    assert (st["risk_with_support"] < st["risk_without_support"]).all()
    for supported_rows, column in ((True, "risk_with_support"), (False, "risk_without_support")):
        rows = st[st["flagged"] & (st["supported"] == supported_rows)]
        p = rows[column].to_numpy()
        se = np.sqrt((p * (1 - p)).sum()) / len(rows)
        assert abs(rows["label"].mean() - p.mean()) < 4 * se, (supported_rows, len(rows))
    sup, unsup = st[st.supported], st[st.flagged & ~st.supported]
    assert sup["label"].mean() < unsup["label"].mean()


def test_a_latent_shift_improves_attendance_of_the_supported_only():
    base = make_cohorts(**ARGS, support=SupportPlan(), attendance_formats="canonical")
    lifted = make_cohorts(**ARGS, support=SupportPlan(latent_shift=4),
                          attendance_formats="canonical")
    sup = set(base["support_truth"].query("supported").student_id)
    flag_date = base["support_truth"]["as_of"].min()

    def absence(tables, ids):
        a = tables["attendance"]
        a = a[a.student_id.isin(ids) & (a.date >= flag_date + pd.Timedelta(days=60))]
        return a.absent_minutes.sum() / a.scheduled_minutes.sum()

    others = set(base["students"].student_id) - sup
    assert absence(lifted, sup) < absence(base, sup) - 0.02
    # the others' paths and outcomes stay; their readings share random blocks, so stay close
    assert abs(absence(lifted, others) - absence(base, others)) < 0.003
    keep = base["outcomes"].student_id.isin(others)
    pd.testing.assert_frame_equal(lifted["outcomes"][keep], base["outcomes"][keep])


@pytest.mark.parametrize("kwargs", [{"capacity": 0}, {"capacity": 1.5}, {"uptake": 0},
                                    {"hazard_ratio": {"mentor_talk": 0.5}}, {"flag_week": 99},
                                    {"latent_shift": 0.5}])
def test_bad_plans_are_parameter_errors(kwargs):
    with pytest.raises(ParameterError, match="SupportPlan"):
        SupportPlan(**kwargs)


def test_support_must_be_a_plan():
    with pytest.raises(ParameterError, match="SupportPlan"):
        make_cohorts(**ARGS, support={"capacity": 10})
