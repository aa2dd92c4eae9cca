"""The activity features: hand-worked values, both engines, the start date, the knowledge date."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import DuckDBEngine, build_features

from .feature_tables import AS_OF, assert_same_features

ACTIVITY = ["activity_count", "activity_count_2w", "activity_count_4w", "activity_days_4w",
            "days_since_activity", "activity_before_start", "activity_trend_8w",
            "activity_change_baseline"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_s1_by_hand(tables, engine):
    X = build_features(tables, AS_OF, engine=engine)
    s1 = X.loc["s1", ACTIVITY]
    # 11 Mondays x 10 clicks + 5 on 2024-11-01; the as_of row (1000) is too late
    assert s1["activity_count"] == 115.0
    assert s1["activity_count_2w"] == 25.0      # Mondays 10-21, 10-28 and 11-01
    assert s1["activity_count_4w"] == 45.0      # four Mondays and 11-01
    assert s1["activity_days_4w"] == 5.0        # the zero-count row is no active day
    assert s1["days_since_activity"] == 3.0
    assert s1["activity_before_start"] == 5.0   # 100 clicks 49 days before are too early
    # weekly counts 10 x 7 then 15: slope 17.5 / 42
    assert s1["activity_trend_8w"] == pytest.approx(17.5 / 42, abs=1e-15)
    assert s1["activity_change_baseline"] == pytest.approx(45 / 28 - 20 / 14, abs=1e-15)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_students_without_activity_have_zero_counts(tables, engine):
    X = build_features(tables, AS_OF, engine=engine)
    s2 = X.loc["s2", ACTIVITY]
    assert s2["activity_count"] == 0.0 and s2["activity_days_4w"] == 0.0
    assert s2["days_since_activity"] == 77.0    # since the school-year start
    assert s2["activity_trend_8w"] == 0.0 and s2["activity_change_baseline"] == 0.0


def test_no_activity_table_leaves_the_features_missing(tables):
    del tables["activity"]
    X = build_features(tables, AS_OF)
    assert X[ACTIVITY].isna().all().all()


def _random_activity(n_students: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"st{i:04d}" for i in range(n_students)]
    students = pd.DataFrame({
        "student_id": ids, "cohort": 2024, "school_id": "A",
        # a quarter start later in the autumn, some after as_of
        "start_date": [pd.NaT if rng.random() < 0.75 else
                       pd.Timestamp("2024-08-19") + pd.Timedelta(days=int(rng.integers(0, 90)))
                       for _ in ids],
    })
    n = 40 * n_students
    activity = pd.DataFrame({
        "student_id": rng.choice(ids, n),
        "date": pd.Timestamp("2024-07-01") + pd.to_timedelta(rng.integers(0, 140, n), "D"),
        "kind": rng.choice(["login", "vle_click"], n),
        # non-integer counts too: the sums are exact on both engines
        "count": np.round(rng.exponential(5.0, n), 3) * (rng.random(n) < 0.9),
    })
    return {"students": students, "activity": activity}


@pytest.mark.parametrize("seed", [0, 1])
def test_engines_agree_on_random_logs(seed):
    tables = _random_activity(300, seed)
    for as_of in ("2024-09-10", AS_OF, "2024-11-20"):
        pandas = build_features(tables, as_of, engine="pandas")
        duck = build_features(tables, as_of, engine=DuckDBEngine(threads=2))
        assert len(pandas) > 200
        assert pandas["activity_trend_8w"].notna().any()
        assert_same_features(pandas[ACTIVITY], duck[ACTIVITY], tol=0.0)
