"""A small fitted RiskModel and a feature frame shaped like build_features output."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import default_catalogue


def make_frame(n: int = 600, seed: int = 0, schools=("A", "B", "C")) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = default_catalogue()
    X = pd.DataFrame(index=pd.Index([f"st{i:04d}" for i in range(n)], name="student_id"))
    X["as_of"] = pd.Timestamp("2024-10-07")
    X["school_id"] = rng.choice(list(schools), n)
    X["cohort"] = 2024
    for name in cat.names:
        ind = cat.get(name)
        if ind.source_table == "activity":  # no activity table, as in the synthetic data
            X[name] = np.nan
        elif ind.kind == "categorical":
            X[name] = pd.Categorical(rng.choice(list(ind.categories), n),
                                     categories=list(ind.categories))
        elif ind.kind == "binary":
            X[name] = (rng.random(n) < 0.2).astype(np.float64)
        elif ind.unit == "fraction":
            X[name] = rng.uniform(0.4, 1.0, n)
        else:
            X[name] = rng.poisson(3, n).astype(np.float64)
    X.loc[rng.random(n) < 0.15, "attendance_rate_4w"] = np.nan
    logit = (
        4.0 * (0.8 - X["attendance_rate"])
        + 0.8 * (X["programme_type"] == "introductory")
        + 0.3 * X["failed_courses"]
        - 0.2 * X["grade_point_mean"]
        + 0.6 * (X["gender"] == "male")
        + 1.0 * X["attendance_rate_4w"].isna()
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


@pytest.fixture(scope="session")
def frame():
    return make_frame()


def _fit(frame, **kw):
    from dropoutrisk.models import RiskModel

    X, y = frame
    params = dict(n_estimators=40, num_leaves=15, min_child_samples=10, random_state=0, n_jobs=1,
                  catalogue=default_catalogue())
    params.update(kw)
    return RiskModel(**params).fit(X.iloc[:450], y[:450], X_calib=X.iloc[450:], y_calib=y[450:])


@pytest.fixture(scope="session")
def platt_model(frame):
    return _fit(frame)


@pytest.fixture(scope="session")
def isotonic_model(frame):
    return _fit(frame, calibration="isotonic")


@pytest.fixture(scope="session")
def background_model(frame):
    return _fit(frame, include_background=True)


@pytest.fixture(scope="session")
def explained(platt_model, frame):
    from dropoutrisk.explain import explain_students

    return explain_students(platt_model, frame[0], top_n=4, lang="sv")
