"""Predict's configuration in the bundle: recorded at training, used by score and the audit."""

import json
import warnings

import numpy as np
import pytest

from dropoutrisk.errors import OperatingPointError, ParameterError
from dropoutrisk.models import OperatingPoint, PredictSettings, load_bundle, train_model

FAST = {"n_estimators": 20}


@pytest.fixture(scope="module")
def tables():
    from dropoutrisk.schema import validate_tables
    from dropoutrisk.synthetic import make_cohorts

    made = make_cohorts(n_students=400, cohorts=[2021, 2022], n_schools=4, random_state=3)
    return validate_tables({k: v for k, v in made.items() if k != "truth"})


@pytest.fixture(scope="module")
def bundle(tables, tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict") / "model"
    train_model(tables, folder, cohorts=[2021], weeks=[6, 10], model_params=FAST,
                operating_point={"capacity": 5, "by": "school_id"}, predict_weeks=[10])
    return load_bundle(folder)


def test_training_records_the_operating_point_and_snapshot(bundle):
    entry = bundle.manifest["params"]["predict"]
    assert entry == {"operating_point": {"threshold": None, "capacity": 5, "by": "school_id",
                                         "flag_rate": None, "cost": None},
                     "description": "capacity 5 per school_id", "weeks": [10], "days": None}
    s = bundle.predict_settings
    assert s.recorded and s.operating_point == OperatingPoint(capacity=5, by="school_id")
    assert s.weeks == (10,) and s.describe() == "capacity 5 per school_id at week 10"


def test_without_options_the_model_default_at_the_first_week_is_recorded(tables, tmp_path):
    folder = tmp_path / "m"
    train_model(tables, folder, cohorts=[2021], weeks=[6, 10], model_params=FAST)
    s = load_bundle(folder).predict_settings
    assert s.recorded and s.operating_point is None and s.weeks == (6,)


def test_an_old_bundle_falls_back_with_a_note():
    s = PredictSettings.from_params({"weeks": [6, 10, 20], "cohorts": [2021]})
    assert not s.recorded and s.operating_point is None and s.weeks == (6,)
    assert "does not record predict's configuration" in s.note and "week (6)" in s.note
    days = PredictSettings.from_params({"weeks": None, "days": [30, 60]})
    assert days.days == (30,) and days.weeks is None


@pytest.mark.parametrize(("kwargs", "error", "name"), [
    ({"operating_point": {"capacity": 0}}, OperatingPointError, "capacity"),
    ({"predict_weeks": [60]}, ParameterError, "predict_weeks"),
    ({"predict_days": [30]}, ParameterError, "predict_days"),
])
def test_bad_settings_are_refused_before_any_work(tables, tmp_path, kwargs, error, name):
    with pytest.raises(error) as info:
        train_model(tables, tmp_path / "m", cohorts=[2021], weeks=[6, 10], **kwargs)
    assert info.value.parameter == name
    assert not (tmp_path / "m").exists()


def test_score_flags_at_the_recorded_operating_point(bundle, tables):
    from dropoutrisk.scoring import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(bundle, dict(tables), "2021-10-25", drift="off")
        given = score(bundle, dict(tables), "2021-10-25", drift="off", threshold=0.99)
    flagged = result.predictions[result.predictions["flag"]]
    assert flagged.groupby("school_id").size().max() == 5
    assert result.run_record["options"]["capacity"] == 5
    assert result.run_record["options"]["operating_point_from"].startswith("model bundle")
    assert "operating_point_from" not in given.run_record["options"]  # an option wins


def test_audit_of_a_bundle_uses_its_recorded_operating_point(bundle, tables):
    from dropoutrisk.fairness import audit
    from dropoutrisk.models._train import cohort_frame

    X, y = cohort_frame(tables, [2021], [10], horizon_days=365,
                        catalogue=bundle.model.catalogue, what="audit")
    a = audit(bundle, X, y, groups=["gender"], n_boot=0)
    assert a.params["operating_point"] == "capacity 5 per school_id"
    assert "recorded in the model bundle" in a.params["operating_point_source"]
    expected = bundle.model.flag(X[list(bundle.model.feature_names_in_)], capacity=5,
                                 by=X["school_id"].to_numpy())
    assert float(a.overall["flag_rate"]) == pytest.approx(np.mean(expected))
    given = audit(bundle, X, y, groups=["gender"], n_boot=0, operating_point=0.5)
    assert given.params["operating_point_source"] == "given"
    json.dumps(a.to_dict())  # the source is plain text in the JSON
