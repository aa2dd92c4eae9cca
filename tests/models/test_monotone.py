"""RiskModel's monotone constraints: the model agrees with the catalogue's risk directions."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import default_catalogue
from dropoutrisk.models import RiskModel

FAST = {"n_estimators": 60, "min_child_samples": 5, "random_state": 0, "n_jobs": 1}


def _reversed_frame(n=1500, seed=3):
    """failed_courses *lowers* risk given attendance here: the data contradict the catalogue."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    att = np.clip(0.9 - 0.08 * latent + rng.normal(0, 0.03, n), 0.2, 1.0)
    failed = rng.poisson(np.exp(-0.5 + 0.8 * latent)).astype(float)
    X = pd.DataFrame({"school_id": "A", "attendance_rate": att, "failed_courses": failed},
                     index=pd.Index([f"s{i}" for i in range(n)], name="student_id"))
    logit = -1.0 + 2.0 * latent - 0.9 * failed  # suppressor: more Fs, less risk at equal latent
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _margin_along(model, X, feature, grid):
    """Margin of every row as ``feature`` moves along ``grid``, shape (len(grid), n_rows)."""
    out = []
    for v in grid:
        Z = X.copy()
        Z[feature] = v
        out.append(model.decision_function(Z))
    return np.array(out)


def test_catalogue_directions_become_constraints(frame):
    X, y = frame
    model = RiskModel(**FAST).fit(X, y)
    cons = model.monotone_constraints_
    assert list(cons) == list(model.feature_names_in_)
    cat = default_catalogue()
    sign = {"higher": 1, "lower": -1, "none": 0}
    for name, c in cons.items():
        expected = 0 if name == "programme_type" else sign[cat.get(name).risk_direction]
        assert c == expected, name
    assert cons["attendance_rate"] == -1 and cons["failed_courses"] == 1
    assert cons["programme_type"] == 0  # categorical: never constrained


def test_constrained_model_is_monotone_where_the_data_disagree():
    X, y = _reversed_frame()
    grid = np.arange(0.0, 8.0)
    free = RiskModel(**FAST, monotone=None).fit(X, y)
    steps_free = np.diff(_margin_along(free, X, "failed_courses", grid), axis=0)
    assert (steps_free < -1e-9).any(), "fixture must make the free model decrease somewhere"
    assert all(v == 0 for v in free.monotone_constraints_.values())

    tied = RiskModel(**FAST).fit(X, y)
    steps = np.diff(_margin_along(tied, X, "failed_courses", grid), axis=0)
    assert (steps >= -1e-12).all()
    att = np.linspace(0.2, 1.0, 9)
    assert (np.diff(_margin_along(tied, X, "attendance_rate", att), axis=0) <= 1e-12).all()


def test_a_mapping_gives_the_constraints_directly():
    X, y = _reversed_frame()
    model = RiskModel(**FAST, monotone={"failed_courses": -1}).fit(X, y)
    assert model.monotone_constraints_ == {"attendance_rate": 0, "failed_courses": -1}
    steps = np.diff(_margin_along(model, X, "failed_courses", np.arange(0.0, 8.0)), axis=0)
    assert (steps <= 1e-12).all()


def test_a_wide_table_catalogue_counts():
    X, y = _reversed_frame()
    X = X.rename(columns={"failed_courses": "absences"})
    from dropoutrisk.features import Indicator
    from dropoutrisk.features._catalogue import Catalogue

    ind = Indicator(name="absences", dimension="behavioural", description_sv="Frånvaro",
                    description_en="Absences", actionable=True, risk_direction="higher",
                    source_table="wide", window="year", kind="numeric", template_sv="{value}",
                    template_en="{value}")
    cat = Catalogue(indicators=(ind,))
    model = RiskModel(**FAST, catalogue=cat).fit(X, y)
    assert model.monotone_constraints_ == {"absences": 1}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"monotone": "data"}, "monotone='data' is not supported"),
        ({"monotone": {"nope": 1}}, r"not model features: \['nope'\]"),
        ({"monotone": {"failed_courses": 2}}, r"monotone\['failed_courses'\]=2 must be"),
        ({"monotone_method": "fast"}, "monotone_method='fast' is not supported"),
    ],
)
def test_bad_monotone_parameters_are_named(params, match):
    X, y = _reversed_frame(n=200)
    with pytest.raises(ValueError, match=match):
        RiskModel(**FAST, **params).fit(X, y)
