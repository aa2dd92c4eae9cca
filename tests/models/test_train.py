"""train_model(): one training workflow for canonical tables and wide tables."""

import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import DataError, ParameterError
from dropoutrisk.models import TrainingResult, load_bundle, train_model

FAST = {"n_estimators": 20}


@pytest.fixture(scope="module")
def tables():
    from dropoutrisk.schema import validate_tables
    from dropoutrisk.synthetic import make_cohorts

    cohorts = make_cohorts(n_students=400, cohorts=[2021, 2022], n_schools=4, random_state=3)
    return validate_tables({k: v for k, v in cohorts.items() if k != "truth"})


@pytest.fixture(scope="module")
def trained(tables, tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "model"
    return train_model(tables, folder, cohorts=[2021], calib_cohort=2022, weeks=[6, 10],
                       model_params=FAST, created_at="2025-01-01T00:00:00+00:00")


def test_the_result_is_the_bundle_on_disk(trained):
    assert isinstance(trained, TrainingResult)
    loaded = load_bundle(trained.bundle.path)
    assert loaded.model_id == trained.model_id
    assert dict(loaded.manifest) == dict(trained.bundle.manifest)
    assert sorted(loaded.baselines) == sorted(trained.bundle.baselines) == ["abc_rule", "logistic"]
    assert set(trained.bundle.extra) == {"profile"}


def test_params_and_held_out_metrics_are_recorded(trained):
    params = trained.params
    assert params["cohorts"] == [2021] and params["calib_cohort"] == 2022
    assert params["weeks"] == [6, 10] and params["model"]["n_estimators"] == 20
    metrics = trained.bundle.metrics
    assert metrics["data"] == "calibration cohort 2022"
    assert list(trained.evaluation.metrics.index) == ["model", "abc_rule", "logistic"]


def test_params_are_a_copy(trained):
    trained.params["cohorts"].append(1999)
    assert trained.params["cohorts"] == [2021]


def test_same_inputs_give_the_same_model_id(tables, trained, tmp_path):
    again = train_model(tables, tmp_path / "m", cohorts=[2021], calib_cohort=2022, weeks=[6, 10],
                        model_params=FAST, created_at="2025-01-01T00:00:00+00:00")
    assert again.model_id == trained.model_id
    assert (again.bundle.path / "manifest.json").read_bytes() == (
        trained.bundle.path / "manifest.json").read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({}, "cohorts"),
        ({"cohorts": [2021], "calib_cohort": 2021}, "calib_cohort"),
        ({"cohorts": [2021], "weeks": [60]}, "weeks"),
        ({"cohorts": [2021], "horizon_days": 0}, "horizon_days"),
        ({"cohorts": [2021], "calib_share": 0.9}, "calib_share"),
    ],
)
def test_bad_parameters_name_themselves_before_any_work(tables, tmp_path, kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        train_model(tables, tmp_path / "m", **kwargs)
    assert info.value.parameter == parameter and info.value.exit_code == 2
    assert f"'{parameter}'" in str(info.value)
    assert not (tmp_path / "m").exists()


def test_a_folder_that_is_not_a_model_is_refused_untouched(tables, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a dropoutrisk model"):
        train_model(tables, tmp_path, cohorts=[2021])
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_cohorts_without_rows_are_a_data_error(tables, tmp_path):
    with pytest.raises(DataError, match="cohort"):
        train_model(tables, tmp_path / "m", cohorts=[2030], model_params=FAST)


WIDE_SPEC = """
name = "wide-test"
[label]
column = "outcome"
rule = "== 1"
[features]
absences = { dimension = "behavioural", actionable = true, risk_direction = "higher" }
studytime = { dimension = "academic", actionable = true, risk_direction = "lower" }
"""


def _wide(n=300, seed=1):
    from dropoutrisk.features._wide import DatasetSpec

    rng = np.random.default_rng(seed)
    absences = rng.poisson(4, n)
    studytime = rng.integers(1, 5, n)
    risk = 1 / (1 + np.exp(-(-1.5 + 0.2 * absences - 0.5 * (studytime - 2))))
    frame = pd.DataFrame({"absences": absences, "studytime": studytime,
                          "outcome": (rng.random(n) < risk).astype(int)})
    return frame, DatasetSpec.model_validate(tomllib.loads(WIDE_SPEC))


def test_a_wide_table_holds_out_a_share_and_skips_the_abc_rule(tmp_path):
    frame, spec = _wide()
    result = train_model(frame, tmp_path / "m", spec=spec, calib_share=0.25, model_params=FAST)
    params = result.params
    assert params["n_rows"] + params["n_calibration_rows"] == len(frame)
    assert params["n_calibration_rows"] == 75
    assert params["abc_rule"].startswith("skipped") and "attendance_rate" in params["abc_rule"]
    assert sorted(result.bundle.baselines) == ["logistic"]
    stored = json.loads((result.bundle.path / "dataset_spec.json").read_text("utf-8"))
    assert stored["feature_columns"] == ["absences", "studytime"]


def test_a_wide_table_with_share_0_calibrates_out_of_fold(tmp_path):
    frame, spec = _wide()
    result = train_model(frame, tmp_path / "m", spec=spec, calib_share=0, model_params=FAST)
    assert result.evaluation is None and result.params["n_calibration_rows"] == 0


@pytest.mark.parametrize("parameter", ["cohorts", "calib_cohort"])
def test_cohort_parameters_do_not_apply_to_a_wide_table(tmp_path, parameter):
    frame, spec = _wide()
    with pytest.raises(ParameterError, match="wide table") as info:
        train_model(frame, tmp_path / "m", spec=spec, **{parameter: 2021})
    assert info.value.parameter == parameter


def test_a_single_table_without_a_spec_is_refused(tmp_path):
    frame, _ = _wide()
    with pytest.raises(ParameterError, match="dataset") as info:
        train_model(frame, tmp_path / "m", cohorts=[2021])
    assert info.value.parameter == "data"


def test_a_table_with_one_outcome_names_the_label_column(tmp_path):
    frame, spec = _wide()
    with pytest.raises(DataError, match="only one label") as info:
        train_model(frame.assign(outcome=0), tmp_path / "m", spec=spec, calib_share=0)
    assert info.value.column == "outcome" and info.value.exit_code == 2
    assert not (tmp_path / "m").exists()


def test_manifest_records_the_rounds_and_the_baseline_comparison(trained):
    model, checks = trained.bundle.model, trained.bundle.manifest["model_checks"]
    assert checks["n_estimators"] == model.n_estimators_ == model.booster_.num_trees()
    assert checks["round_selection"] == model.round_selection_
    assert checks["round_selection"]["strategy"] == "held_out_students"
    assert checks["round_selection"]["max_rounds"] == 20
    comparison = checks["baseline_comparison"]
    assert comparison == json.loads(json.dumps(model.baseline_comparison_))
    # 200 training students: too few dropouts for every fold, so the reason is recorded
    assert set(comparison["differences"]) | set(comparison["not_compared"]) == {"logistic", "abc"}
    assert comparison["held_out_students"] == trained.params["n_students"]


def test_without_a_calibration_cohort_the_out_of_fold_scores_are_evaluated(tables, tmp_path):
    import pickle

    from dropoutrisk.models import RiskModel

    result = train_model(tables, tmp_path / "m", cohorts=[2021, 2022], weeks=[6, 10],
                         model_params=FAST)
    assert result.evaluation is None  # the manifest records no metrics, as before
    assert result.bundle.metrics["data"] is None
    oof = result.out_of_fold
    row = oof.metrics.loc["model"]
    assert list(oof.metrics.index) == ["model"]
    assert row["n"] == result.params["n_rows"]  # every training row, scored out of fold
    assert 0.5 < row["roc_auc"] < 1.0
    # the scores are the boosters' held-out margins: below the final model's in-sample fit
    from sklearn.metrics import roc_auc_score

    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models._train import cohort_frame

    X, y = cohort_frame(tables, [2021, 2022], [6, 10], horizon_days=365,
                        catalogue=default_catalogue(), what="training")
    model = result.bundle.model
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > row["roc_auc"] + 0.02
    # nothing of the training rows is saved with the model
    assert not hasattr(pickle.loads(pickle.dumps(model)), "_held_out_scores")
    assert not hasattr(load_bundle(result.bundle.path).model, "_held_out_scores")
    assert isinstance(model, RiskModel)


def test_with_a_calibration_cohort_there_is_no_out_of_fold_evaluation(trained):
    assert trained.out_of_fold is None and trained.evaluation is not None


def test_a_wide_table_out_of_fold_is_evaluated_on_its_rows(tmp_path):
    frame, spec = _wide()
    result = train_model(frame, tmp_path / "m", spec=spec, calib_share=0, model_params=FAST)
    assert result.out_of_fold.metrics.loc["model", "n"] == len(frame)
