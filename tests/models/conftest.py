"""Small hand-made feature frames with the columns of the features contract."""

import numpy as np
import pandas as pd
import pytest


def make_frame(n_students: int = 300, weeks=(6, 10), seed: int = 0):
    """Snapshot rows (student, as_of) with a known logistic risk."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:05d}" for i in range(n_students)])
    latent = rng.normal(size=n_students)
    school = rng.choice(["A", "B", "C"], size=n_students)
    frames, ys = [], []
    for w in weeks:
        att = np.clip(0.93 - 0.06 * latent + rng.normal(0, 0.04, n_students), 0.3, 1.0)
        failed = rng.poisson(np.exp(-1.0 + 0.6 * latent)).astype(float)
        concerns = rng.poisson(np.exp(-1.5 + 0.5 * latent)).astype(float)
        prog = np.where(latent + rng.normal(size=n_students) > 1.2, "introductory", "national")
        X = pd.DataFrame(
            {
                "as_of": pd.Timestamp("2024-08-19") + pd.Timedelta(weeks=w),
                "school_id": school,
                "cohort": 2024,
                "attendance_rate": att,
                "attendance_rate_4w": np.clip(att + rng.normal(0, 0.03, n_students), 0, 1),
                "failed_courses": failed,
                "failed_core_course": (failed > 0).astype(float),
                "concerns_30d": concerns,
                "concerns_90d": concerns + rng.poisson(0.3, n_students),
                "programme_type": pd.Categorical(prog, categories=["introductory", "national"]),
            },
            index=pd.Index(ids, name="student_id"),
        )
        X.loc[X.index[rng.random(n_students) < 0.05], "attendance_rate_4w"] = np.nan
        risk = 1 / (1 + np.exp(-(-1.8 + 1.3 * latent + 0.1 * w / 10)))
        frames.append(X)
        ys.append(pd.Series((rng.random(n_students) < risk).astype(float), index=X.index,
                            name="label"))
    return pd.concat(frames), pd.concat(ys)


@pytest.fixture(scope="session")
def frame():
    return make_frame()


@pytest.fixture(scope="session")
def fitted_model(frame):
    from dropoutrisk.models import RiskModel

    X, y = frame
    return RiskModel(n_estimators=30, min_child_samples=10, random_state=0, n_jobs=1).fit(X, y)
