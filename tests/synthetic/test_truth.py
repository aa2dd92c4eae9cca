"""The truth table: snapshots, labels, and a true risk that is exact."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.schema import snapshot_date
from dropoutrisk.synthetic import make_cohorts, oracle_metrics
from dropoutrisk.synthetic._catalogue import cohort_calendar
from dropoutrisk.synthetic._simulate import DROPOUT, MOVED, walk
from dropoutrisk.synthetic._truth import exact_risk


def test_truth_columns_and_snapshots(cohorts):
    t = cohorts["truth"]
    assert t.columns.tolist() == [
        "student_id",
        "cohort",
        "as_of",
        "horizon_days",
        "true_risk",
        "label",
    ]
    assert t["as_of"].dtype == "datetime64[ns]"
    assert (t["horizon_days"] == 365).all()
    assert t["true_risk"].between(0, 1).all()
    assert set(t["label"].dropna()) == {0.0, 1.0}
    assert t["label"].isna().any()
    expected = {
        pd.Timestamp(snapshot_date(c + y, w))
        for c in range(2020, 2024)
        for y in range(4)
        for w in (6, 10, 20)
    }
    assert set(t["as_of"]) <= expected
    assert not t.duplicated(["student_id", "as_of"]).any()


def test_truth_rows_only_for_enrolled_students(cohorts):
    t = cohorts["truth"].merge(cohorts["outcomes"], on="student_id")
    t = t.merge(cohorts["students"][["student_id", "programme_type"]], on="student_id")
    assert (t["date"] >= t["as_of"]).all()
    # national programmes have three years, introductory four
    years = (t["as_of"].dt.year - t["cohort"] - (t["as_of"].dt.month < 8)).to_numpy()
    assert years[t["programme_type"].to_numpy() == "national"].max() == 2
    assert years[t["programme_type"].to_numpy() == "introductory"].max() == 3
    # a student still enrolled in the final year appears at every snapshot of every year
    counts = t[t["event"].isin(["completed", "no_diploma"])].groupby("student_id").size()
    n_years = (
        t.drop_duplicates("student_id")
        .set_index("student_id")["programme_type"]
        .map({"national": 3, "introductory": 4})
    )
    assert (counts == 3 * n_years[counts.index]).all()


def test_labels_follow_the_outcomes(cohorts):
    t = cohorts["truth"].merge(cohorts["outcomes"], on="student_id")
    in_window = t["date"] < t["as_of"] + pd.to_timedelta(t["horizon_days"], unit="D")
    expect = np.where(in_window & (t["event"] == "dropout"), 1.0, 0.0)
    expect[(in_window & t["event"].isin(["moved", "transferred"])).to_numpy()] = np.nan
    np.testing.assert_array_equal(t["label"].to_numpy(), expect)


@pytest.mark.parametrize(
    ("type_idx", "target", "k0", "year", "week", "censor", "horizon"),
    [
        (0, 16, 10, 0, 6, 0.0006, 365),  # national, year 1, low start
        (1, 12, 9, 1, 20, 0.02, 365),  # introductory with heavy censoring
        (0, 17, 7, 2, 20, 0.01, 365),  # final year: the window ends with completion
        (1, 14, 14, 0, 10, 0.001, 100),  # short horizon ending mid-week
    ],
)
def test_true_risk_is_exact_against_simulation(type_idx, target, k0, year, week, censor, horizon):
    cal = cohort_calendar(2021)
    g0 = cal.index(year, week)
    n = 40_000
    rng = np.random.default_rng(123)
    _, exit_week, kind = walk(
        cal,
        np.full(n, k0),
        np.full(n, target),
        np.full(n, type_idx),
        np.full(n, censor),
        rng,
        start=g0,
    )
    day = rng.integers(0, 5, n).astype("timedelta64[D]")
    left = exit_week < cal.n_weeks
    date = cal.monday[np.minimum(exit_week, cal.n_weeks - 1)] + day
    in_window = left & (date < cal.monday[g0] + np.timedelta64(horizon, "D"))
    observed = ~(in_window & (kind == MOVED))
    empirical = (in_window & (kind == DROPOUT)).sum() / observed.sum()
    exact = exact_risk(cal, type_idx, [target], [k0], [censor], g0, horizon)[0]
    se = np.sqrt(exact * (1 - exact) / observed.sum())
    assert exact > 0.01
    assert abs(empirical - exact) < 4 * se + 1e-4, (empirical, exact, se)


def test_true_risk_is_calibrated_on_labelled_rows(outcome_cohorts):
    t = outcome_cohorts["truth"].dropna(subset=["label"])
    bins = pd.qcut(t["true_risk"], 10, duplicates="drop")
    grouped = t.groupby(bins, observed=True).agg(
        risk=("true_risk", "mean"), rate=("label", "mean"), n=("label", "size")
    )
    se = np.sqrt(grouped["risk"] * (1 - grouped["risk"]) / grouped["n"])
    assert ((grouped["rate"] - grouped["risk"]).abs() < 4 * se + 1e-3).all(), grouped
    assert abs(t["label"].mean() - t["true_risk"].mean()) < 0.003


def test_oracle_is_good_but_not_perfect(outcome_cohorts):
    m = oracle_metrics(outcome_cohorts["truth"])
    assert 0.75 < m["roc_auc"] < 0.97
    assert m["precision_at_0.05"] > 3 * m["prevalence"]
    assert m["brier"] < m["prevalence"] * (1 - m["prevalence"])


def test_observed_attendance_predicts_less_than_the_oracle(cohorts):
    """Indicators are noisy readings: absence before as_of ranks worse than the true risk."""
    from sklearn.metrics import roc_auc_score

    t = cohorts["truth"].dropna(subset=["label"])
    t = t[t["as_of"].dt.month.isin([10, 11])]  # week 10 snapshots
    a = cohorts["attendance"]
    rows = []
    for as_of, snap in t.groupby("as_of"):
        past = a[(a["date"] < as_of) & (a["date"] >= as_of - pd.Timedelta(weeks=10))]
        share = past.groupby("student_id")[["absent_minutes", "scheduled_minutes"]].sum()
        share = (share["absent_minutes"] / share["scheduled_minutes"]).rename("absence")
        rows.append(snap.join(share, on="student_id"))
    df = pd.concat(rows).dropna(subset=["absence"])
    auc_absence = roc_auc_score(df["label"], df["absence"])
    auc_oracle = roc_auc_score(df["label"], df["true_risk"])
    assert 0.55 < auc_absence < auc_oracle - 0.03


def test_horizon_changes_the_risk():
    short = make_cohorts(400, [2022], random_state=5, include_events=False, horizon_days=90)
    long = make_cohorts(400, [2022], random_state=5, include_events=False, horizon_days=365)
    merged = short["truth"].merge(long["truth"], on=["student_id", "as_of"])
    assert (merged["true_risk_x"] <= merged["true_risk_y"] + 1e-12).all()
    assert (merged["horizon_days_x"] == 90).all()


# What an older CPU runs: OpenBLAS's Haswell kernels and numpy without its AVX-512 code paths
# (on a CPU without AVX-512 these change nothing and the test compares two plain runs).
OLDER_CPU = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL "
    "AVX512_SPR",
}
_DIGEST = """
import hashlib
from dropoutrisk.synthetic import make_cohorts
t = make_cohorts(300, [2021, 2022], random_state=9, include_events=False)["truth"]
print(hashlib.sha256(t["true_risk"].to_numpy().tobytes()).hexdigest())
"""


def _risk_digest(cpu_env):
    env = {k: v for k, v in os.environ.items() if k not in OLDER_CPU} | cpu_env
    proc = subprocess.run(
        [sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_true_risk_has_the_same_bits_on_an_older_cpu():
    """The committed truth.parquet must not depend on the CPU (BLAS kernels, SIMD exp)."""
    assert _risk_digest(OLDER_CPU) == _risk_digest({})
