"""Hand-made audit data: three background groups, one deliberately tiny group."""

import numpy as np
import pandas as pd
import pytest


def make_frame(n=1200, seed=0, tiny=True):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "gender": rng.choice(["F", "M"], n),
        "newly_arrived": rng.choice([0, 1], n, p=[0.85, 0.15]),
        "special_support": rng.choice([False, True], n, p=[0.8, 0.2]),
    }, index=pd.Index([f"S{i:05d}" for i in range(n)], name="student_id"))
    if tiny:  # 6 students in a category of their own
        frame["care"] = "home"
        frame.iloc[:6, frame.columns.get_loc("care")] = "in_care"
    y = pd.Series((rng.random(n) < 0.2).astype(int), index=frame.index, name="label")
    score = np.clip(0.2 + 0.35 * (y.to_numpy() - 0.2) + rng.normal(0, 0.2, n), 0.001, 0.999)
    return frame, y, score


@pytest.fixture(scope="session")
def frame():
    return make_frame()
