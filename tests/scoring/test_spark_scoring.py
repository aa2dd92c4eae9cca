"""score_spark: the columns, flags, ranks, reasons and run record of score(), on local Spark."""

import json

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import DataError, DuplicateKeyError, MissingColumnError, ModelError
from dropoutrisk.scoring import PREDICTION_COLUMNS, reason_columns, score, score_spark

AS_OF = "2024-10-01"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from dropoutrisk.features import build_features, build_training_frame, default_catalogue
    from dropoutrisk.models import RiskModel, TrainingProfile, load_bundle, save_model
    from dropoutrisk.schema import snapshot_dates
    from dropoutrisk.synthetic import make_cohorts

    cohorts = make_cohorts(300, [2022, 2023, 2024], 3, 7, attendance_formats="canonical")
    tables = {name: cohorts[name] for name in cohorts if name != "truth"}
    cat = default_catalogue()
    X, y = build_training_frame(tables, snapshot_dates([2022, 2023], [6, 20]), catalogue=cat)
    keep = y.notna().to_numpy()
    model = RiskModel(n_estimators=15, catalogue=cat, random_state=0, n_jobs=1)
    model.fit(X[keep], y[keep].astype(int))
    profile = TrainingProfile.from_features(X[keep], features=list(model.feature_names_in_))
    path = save_model(model, tmp_path_factory.mktemp("bundle") / "model",
                      extra={"profile": profile.to_dict()})
    features = build_features(tables, AS_OF, catalogue=cat)
    return {"bundle": load_bundle(path), "path": path, "features": features}


@pytest.fixture(scope="module")
def spark_features(spark, setup):
    from dropoutrisk.features import SparkEngine

    # the conversion build_features(..., engine=SparkEngine(spark, output="spark")) makes
    return SparkEngine(spark, output="spark").finish(setup["features"]).repartition(3).cache()


def _same(local: pd.DataFrame, distributed, n_reasons: int) -> None:
    got = distributed.toPandas().sort_values("student_id").reset_index(drop=True)
    want = local.reset_index(drop=True)
    assert got.columns.tolist() == [*PREDICTION_COLUMNS[:6], *reason_columns(n_reasons),
                                    *PREDICTION_COLUMNS[6:]]
    assert got["student_id"].tolist() == want["student_id"].tolist()
    np.testing.assert_allclose(got["probability"], want["probability"], rtol=0, atol=1e-12)
    for col in got.columns:
        if col == "probability":
            continue
        left = got[col].astype(object).where(got[col].notna(), None).tolist()
        right = want[col].astype(object).where(want[col].notna(), None).tolist()
        assert left == right, col


@pytest.mark.parametrize("options", [
    {"capacity": 6, "by": "school_id", "reasons": 2},
    {"reasons": 1, "reasons_for": "all"},
])
def test_spark_scores_equal_local_scores(setup, spark_features, options):
    local = score(setup["bundle"], setup["features"], AS_OF, **options)
    distributed = score_spark(str(setup["path"]), spark_features, AS_OF, **options)
    _same(local.predictions, distributed.predictions, options["reasons"])
    assert local.predictions["reason_1_code"].notna().any()
    if "capacity" in options:
        assert local.predictions["flag"].sum() == 6 * local.predictions["school_id"].nunique()
    want, got = local.run_record, distributed.run_record
    # the fields of the local run record, with the same values where they mean the same
    assert set(want) <= set(got)
    for key in ("as_of", "model", "rows", "drift"):
        assert got[key] == want[key], key
    assert {k: v for k, v in got["options"].items() if k != "chunk_size"} == {
        k: v for k, v in want["options"].items() if k != "chunk_size"}
    assert got["inputs"]["features"]["rows"] == len(setup["features"])
    assert set(got["timings_s"]) >= {"checks", "scoring_and_flags", "total"}
    # no student-level row in the record
    text = json.dumps(got)
    assert not any(sid in text for sid in setup["features"].index[:50])
    distributed.predictions.unpersist()


def test_flag_rate(setup, spark_features):
    options = {"operating_point": {"flag_rate": 0.1}}
    local = score(setup["bundle"], setup["features"], AS_OF, **options)
    got = score_spark(setup["bundle"], spark_features, AS_OF, drift="off", **options)
    _same(local.predictions, got.predictions, 0)
    assert got.n_flagged == local.n_flagged == round(0.1 * len(setup["features"]))


def test_fingerprint_follows_the_rows_not_their_order(spark_features):
    from dropoutrisk.scoring._spark import _fingerprint

    a = _fingerprint(spark_features)
    assert a == _fingerprint(spark_features.orderBy("student_id").repartition(5))
    assert a != _fingerprint(spark_features.limit(100))
    assert a != _fingerprint(spark_features.withColumn("attendance_rate", _halved()))


def _halved():
    from pyspark.sql import functions as F

    return F.col("attendance_rate") / 2


def test_bad_feature_rows(setup, spark_features):
    bundle = setup["bundle"]
    with pytest.raises(MissingColumnError, match="school_id"):
        score_spark(bundle, spark_features.drop("school_id"), AS_OF)
    with pytest.raises(DuplicateKeyError, match="more than once"):
        score_spark(bundle, spark_features.unionByName(spark_features.limit(2)), AS_OF)
    with pytest.raises(DataError, match="another date"):
        score_spark(bundle, spark_features, "2024-10-08")
    with pytest.raises(DataError, match="Spark DataFrame"):
        score_spark(bundle, setup["features"], AS_OF)
    with pytest.raises(ModelError):
        score_spark(object(), spark_features, AS_OF)
