"""Batch scoring on Spark: :func:`score_spark`, :func:`score` for a Spark DataFrame of features.

The same columns as :func:`~dropoutrisk.scoring.score` (probability, flag, tier,
rank in school, reasons, model id, as_of) and the same run record, computed in
passes over the feature rows (docs/spark.md):

1. **drift**: each partition counts its rows into a
   :class:`~dropoutrisk.models.DriftAccumulator`; the driver merges them
   (every count is a sum) before any prediction is made, so ``drift="fail"``
   stops the job early;
2. **probabilities** (``mapInPandas``): each Python worker loads and verifies
   the model bundle once (:func:`_worker_model`, cached by path and manifest
   sha256) and scores its partition with the scorer of :func:`score`;
3. **flags and ranks**: Spark windows over the narrow table of scores. The
   rank in school is ``row_number()`` per school by probability (ties by
   student id); a capacity per ``by`` group ranks on the margin per group (a
   capacity without ``by`` and a flag rate, over every student). This is the
   same top-k as :func:`~dropoutrisk.models.group_ranks`;
4. **references**: reason sentences compare a student with the median of the
   school (else the year group, else everyone). The driver collects the
   model's feature columns once (8 bytes a feature and student: 350,000
   students and 40 features are about 110 MB), builds the
   :class:`~dropoutrisk.explain.ReferenceTable` exactly as :func:`score` does,
   and ships its small per-group tables to the workers;
5. **tiers and reasons** (``mapInPandas``): exact SHAP reasons for the
   explained rows of each partition.

The run record has the fields of the local one, plus the fingerprint of the
feature rows (row count and an order-free sum of ``xxhash64`` over every
column) and the Spark version; never a student row.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import time
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk._provenance import package_versions
from dropoutrisk.errors import (
    DataError,
    DuplicateKeyError,
    EmptyTableError,
    MissingColumnError,
    ModelError,
    OperatingPointError,
)
from dropoutrisk.models._operating_point import OperatingPoint
from dropoutrisk.scoring._inputs import (
    act_on_drift,
    as_of_date,
    check_options,
    replay_warnings,
    resolve_model,
)
from dropoutrisk.scoring._reasons import reason_arrays
from dropoutrisk.scoring._result import RecordedResult, reason_columns
from dropoutrisk.scoring._scorer import Scorer

__all__ = ["SparkScoreResult", "score_spark"]

#: Per Python worker: (bundle folder, manifest sha256) -> the verified bundle.
_BUNDLES: dict[tuple[str, str], Any] = {}


def _worker_model(source: tuple) -> Any:
    """The estimator on a worker: a bundle loaded and verified once per process, or as shipped."""
    kind, *rest = source
    if kind == "estimator":
        return rest[0]
    path, sha = rest
    key = (path, sha)
    if key not in _BUNDLES:
        from dropoutrisk.models import load_bundle

        bundle = load_bundle(path)  # every file's sha256, versions, trusted types
        if bundle.manifest_sha256 != sha:
            raise ModelError(
                f"The model bundle at {path} on this Spark worker is not the one the driver "
                f"verified (manifest sha256 {bundle.manifest_sha256} instead of {sha}); give "
                "every node the same bundle (spark-submit --archives, or a shared path).",
                path=path)
        _BUNDLES[key] = bundle
    return _BUNDLES[key].model


class SparkScoreResult(RecordedResult):
    """The result of :func:`score_spark`; immutable.

    :attr:`predictions` is a Spark DataFrame (persisted: unpersist it when written)
    with the columns of :func:`score`'s predictions; :attr:`run_record` and
    :attr:`drift` are those of :class:`~dropoutrisk.scoring.ScoreResult`.
    """

    __slots__ = ("_drift", "_predictions", "_record")
    _remedy = "call score_spark() again."

    def __init__(self, predictions: Any, record: dict[str, Any], drift: Any) -> None:
        self._set(predictions=predictions, record=record, drift=drift)

    @property
    def predictions(self) -> Any:
        """One row per student (a Spark DataFrame, in no particular order)."""
        return self._predictions

    def __repr__(self) -> str:
        return (f"SparkScoreResult(n={self._record['rows']['scored']}, "
                f"flagged={self.n_flagged}, model_id={self._record['model']['model_id']!r}, "
                f"as_of={self._record['as_of']!r})")


def _model_source(model: Any) -> tuple[Any, tuple]:
    """What the driver scores with, and what it ships to the workers."""
    from dropoutrisk.models import ModelBundle, load_bundle

    if isinstance(model, str | os.PathLike):
        model = load_bundle(model)
    if isinstance(model, ModelBundle):
        return model, ("bundle", str(model.path), model.manifest_sha256)
    return model, ("estimator", model)


def _rows(pdf: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """A batch of Spark feature rows as the local feature frame (index student_id)."""
    frame = pdf.set_index("student_id")
    if "as_of" in frame.columns:
        frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    return frame


def _check_columns(features: Any, by: str | None) -> None:
    columns = set(features.columns)
    for column in ("student_id", "school_id"):
        if column not in columns:
            raise MissingColumnError(table="features", column=column, fix=(
                "Keep the student_id and school_id columns of build_features "
                "(SparkEngine(output='spark') gives them)"))
    if by is not None and by not in columns:
        raise OperatingPointError(
            parameter="by", value=by, problem="not a column of the feature rows",
            allowed=", ".join(c for c in ("school_id", "cohort", "as_of") if c in columns),
            fix="Give one of those columns for a capacity per group")


def _check_rows(features: Any, day: dt.date) -> int:
    """Row count, after refusing duplicate ids, missing ids or schools and another as_of."""
    from pyspark.sql import functions as F

    checks = [F.count(F.lit(1)).alias("n"),
              F.countDistinct("student_id").alias("ids"),
              F.sum(F.col("student_id").isNull().cast("int")).alias("no_id"),
              F.sum(F.col("school_id").isNull().cast("int")).alias("no_school")]
    if "as_of" in features.columns:
        checks.append(F.sum((F.to_date("as_of") != F.lit(day)).cast("int")).alias("other_day"))
    got = features.agg(*checks).collect()[0].asDict()
    n = int(got["n"])
    if n == 0:
        raise EmptyTableError(table="features", problem="there are no feature rows",
                              fix="Pass at least one student's feature rows")
    if got["no_id"]:
        raise DataError(table="features", column="student_id", n_bad=int(got["no_id"]),
                        problem="missing student ids", fix="Every feature row needs a student_id")
    if got["no_school"]:
        raise DataError(table="features", column="school_id", n_bad=int(got["no_school"]),
                        problem="no school_id", allowed="a school_id for every student",
                        fix="Fill in school_id: rank_in_school and capacity per school need it")
    if got.get("other_day"):
        raise DataError(
            table="features", column="as_of", n_bad=int(got["other_day"]),
            problem=f"feature rows built at another date than as_of {day.isoformat()}",
            allowed=f"rows built at {day.isoformat()}",
            fix="Build the features at the scoring date, or pass the as_of they were built at")
    if int(got["ids"]) != n:
        dup = (features.groupBy("student_id").count().where("count > 1")
               .orderBy("student_id").limit(5).collect())
        raise DuplicateKeyError(
            table="features", column="student_id", values=[r["student_id"] for r in dup],
            n_bad=n - int(got["ids"]), problem="the same student more than once",
            allowed="one row per student", fix="Remove the duplicate rows")
    return n


def _fingerprint(features: Any) -> dict[str, Any]:
    """The feature rows' fingerprint: count and an order-free sum of row hashes (no rows)."""
    from pyspark.sql import functions as F

    columns = sorted(features.columns)
    row = F.xxhash64(*[F.col(c) for c in columns]).cast("decimal(38,0)")
    got = features.agg(F.sum(row).alias("h"), F.count(F.lit(1)).alias("n")).collect()[0]
    total = int(got["h"] or 0) % (1 << 64)
    return {"rows": int(got["n"]), "columns": len(columns),
            "xxhash64_sum": f"{total:016x}"}


def _drift(features: Any, profile: Any, day: dt.date) -> Any:
    """The drift report of every row: one accumulator per partition, merged on the driver."""

    def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        acc = profile.accumulator(day)
        for pdf in batches:
            acc.update(_rows(pdf, day))
        yield pd.DataFrame({"state": [pickle.dumps(acc)]})

    parts = features.mapInPandas(count, "state binary").collect()
    total = profile.accumulator(day)
    for part in parts:
        total.merge(pickle.loads(part["state"]))
    return total.report()


def _scorer(estimator: Any, day: dt.date) -> Scorer:
    return Scorer(estimator, day, point=None, reasons=0, reasons_for="flagged",
                  chunk_size=1, drift="off", profile=None, model_id="", engine=None,
                  progress=None, timings={}, require_school=True, allow_missing=())


def _flag_column(point: OperatingPoint | None, n: int) -> Any:
    """The flag of every row, over the narrow table of scores (windows for top-k)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if point is None:
        return F.col("default_flag")
    if point.threshold is not None:
        return F.col("probability") >= F.lit(float(point.threshold))
    if point.cost is not None:
        return F.col("probability") > F.lit(float(point.cost_threshold))
    by = point.by if point.capacity is not None else None
    window = (Window.partitionBy(by) if by is not None else Window.partitionBy()).orderBy(
        F.col("margin").desc(), F.col("student_id").asc())
    rank = F.row_number().over(window) - 1
    if point.flag_rate is not None:
        k = F.floor(F.lit(float(point.flag_rate)) * F.lit(float(n)) + F.lit(0.5))
        return rank < k
    return rank < F.lit(int(point.capacity))


def score_spark(
    model: Any,
    features: Any,
    as_of: Any,
    *,
    operating_point: Any = None,
    threshold: float | None = None,
    capacity: int | None = None,
    by: str | None = None,
    reasons: int = 0,
    reasons_for: Literal["flagged", "all"] = "flagged",
    drift: Literal["warn", "fail", "off"] = "warn",
    profile: Any = None,
    model_id: str | None = None,
) -> SparkScoreResult:
    """Score a Spark DataFrame of feature rows: the columns and run record of :func:`score`.

    Parameters
    ----------
    model : str, path, ModelBundle or RiskModel
        A model bundle folder (every worker reads and verifies it once: put it on
        a path all nodes see, or ship it with ``spark-submit --archives``), a
        bundle from :func:`~dropoutrisk.models.load_bundle`, or a fitted model
        (pickled with the tasks; for notebooks).
    features : pyspark.sql.DataFrame
        One row per student: ``student_id``, ``school_id``, the model's features
        (``build_features(..., engine=SparkEngine(spark, output="spark"))``).
    as_of : date-like
        The prediction date; an ``as_of`` column must match it.
    operating_point, threshold, capacity, by, reasons, reasons_for, drift, profile, model_id
        As for :func:`score`.

    Returns
    -------
    SparkScoreResult
        ``predictions`` (a persisted Spark DataFrame with the columns of
        ``score(...).predictions``), ``run_record`` and ``drift``.

    Raises
    ------
    DataError, ModelError, DriftError
        As :func:`score` does.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    started = time.perf_counter()
    timings: dict[str, float] = {}

    def tick(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - since
        return now

    point = OperatingPoint.from_options(operating_point, threshold=threshold, capacity=capacity,
                                        by=by)
    check_options(reasons, reasons_for, 1, drift)
    day = as_of_date(as_of)
    resolved, source = _model_source(model)
    estimator, model_id, manifest_sha, profile = resolve_model(resolved, profile, model_id)
    if drift == "fail" and profile is None:
        raise ModelError(
            "Failing on drift was asked for, but the model has no training profile to compare "
            "with. Train the model again with this version of dropoutrisk, or pass profile=.")
    if not hasattr(features, "mapInPandas"):
        raise DataError(table="features", problem=f"cannot score a {type(features).__name__} "
                        "on Spark", allowed="a Spark DataFrame of feature rows",
                        fix="Pass a Spark DataFrame, or call score() for pandas")
    t = time.perf_counter()
    _check_columns(features, None if point is None else point.by)
    n = _check_rows(features, day)
    fingerprint = _fingerprint(features)
    t = tick("checks", t)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = None
        if profile is not None and drift != "off":
            report = _drift(features, profile, day)
            act_on_drift(report, drift, stacklevel=3)
            t = tick("drift", t)

        # ---- probabilities, one pass per partition -------------------------------------
        by_col = None if point is None else point.by
        keep = ["student_id", "school_id"] + ([by_col] if by_col not in (None, "school_id")
                                              else [])

        def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            scorer = _scorer(_worker_model(source), day)
            for pdf in batches:
                rows = _rows(pdf, day)
                p, m = scorer._predict(rows)
                est = scorer.model
                default = (np.asarray(est.default_flags(rows, p), dtype=bool)
                           if hasattr(est, "default_flags") else p >= 0.2)
                out = pdf[keep].copy()
                out["probability"], out["margin"], out["default_flag"] = p, m, default
                yield out

        narrow_schema = T.StructType(
            [features.schema[c] for c in keep]
            + [T.StructField("probability", T.DoubleType()),
               T.StructField("margin", T.DoubleType()),
               T.StructField("default_flag", T.BooleanType())])
        scores = features.mapInPandas(predict, narrow_schema)
        school_window = _school_window()
        flagged = scores.select(
            "student_id", "probability",
            _flag_column(point, n).alias("flag"),
            F.row_number().over(school_window).alias("rank_in_school"),
        ).persist()
        flagged.count()
        t = tick("scoring_and_flags", t)

        # ---- references for the reasons: one collect of the model's features ------------
        references = None
        n_reasons = int(reasons)
        if n_reasons:
            from dropoutrisk.explain import ReferenceTable

            names = [str(c) for c in estimator.feature_names_in_]
            context = [c for c in ("school_id", "grade_year", "as_of") if c in features.columns]
            wanted = ["student_id", *context, *[c for c in names if c not in context
                                                and c in features.columns]]
            local = _rows(features.select(*wanted).toPandas(), day).sort_index()
            references = ReferenceTable.for_model(estimator, local).detached()
            del local
            t = tick("references", t)

        # ---- tiers and reasons, one pass per partition ---------------------------------
        columns = reason_columns(n_reasons)
        out_schema = T.StructType(
            [T.StructField("student_id", T.StringType()),
             T.StructField("school_id", T.StringType()),
             T.StructField("probability", T.DoubleType()),
             T.StructField("flag", T.BooleanType()),
             T.StructField("tier", T.StringType()),
             T.StructField("rank_in_school", T.LongType())]
            + [T.StructField(c, T.StringType()) for c in columns]
            + [T.StructField("model_id", T.StringType()),
               T.StructField("as_of", T.StringType())])
        every = reasons_for == "all"

        def finish(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from dropoutrisk.models import TIER_LABELS
            from dropoutrisk.models._flagging import tier_scores

            est = _worker_model(source) if n_reasons else None
            labels = np.array(list(TIER_LABELS), dtype=object)
            for pdf in batches:
                proba = pdf["probability"].to_numpy(dtype=np.float64)
                flags = pdf["flag"].to_numpy(dtype=bool)
                codes = tier_scores(proba, pd.RangeIndex(proba.size),
                                    flags=flags).cat.codes.to_numpy()
                out = pd.DataFrame({
                    "student_id": pdf["student_id"].astype(str),
                    "school_id": pdf["school_id"].astype(str),
                    "probability": proba, "flag": flags, "tier": labels[codes],
                    "rank_in_school": pdf["rank_in_school"].to_numpy(dtype=np.int64)})
                if n_reasons:
                    rows = _rows(pdf.drop(columns=["probability", "flag", "rank_in_school"]), day)
                    explained = np.ones(flags.size, bool) if every else flags
                    arrays = reason_arrays(est, rows, np.flatnonzero(explained), n_reasons,
                                           flags=flags, references=references)
                    for name in columns:
                        out[name] = arrays[name]
                out["model_id"] = model_id
                out["as_of"] = day.isoformat()
                yield out

        wide = features.join(flagged, "student_id") if n_reasons else flagged.join(
            features.select("student_id", "school_id"), "student_id")
        predictions = wide.mapInPandas(finish, out_schema).persist()
        summary = (predictions.groupBy("tier")
                   .agg(F.count(F.lit(1)).alias("n"), F.sum(F.col("flag").cast("int")).alias("f"),
                        F.sum(F.col(columns[0]).isNotNull().cast("int")).alias("e")
                        if columns else F.lit(0).alias("e"))
                   .collect())
        flagged.unpersist()
        t = tick("reasons" if n_reasons else "tiers", t)

    messages = replay_warnings(caught)
    from dropoutrisk.models import TIER_LABELS

    tiers = {r["tier"]: int(r["n"]) for r in summary}
    flagged_n = sum(int(r["f"] or 0) for r in summary)
    counts = {"in": n, "dropped": {}, "scored": n, "dropped_total": 0, "flagged": flagged_n,
              "explained": (n if every else flagged_n) if n_reasons else 0,
              "tiers": {label: tiers.get(label, 0) for label in TIER_LABELS}}
    timings["total"] = time.perf_counter() - started
    chosen = {} if point is None else point.to_dict()
    options = {"threshold": chosen.get("threshold"), "capacity": chosen.get("capacity"),
               "by": chosen.get("by"), "reasons": n_reasons, "reasons_for": reasons_for,
               "chunk_size": None, "drift": drift}
    for extra in ("flag_rate", "cost"):
        if chosen.get(extra) is not None:
            options[extra] = chosen[extra]
    spark = features.sparkSession
    record = {
        "as_of": day.isoformat(),
        "model": {"model_id": model_id, "manifest_sha256": manifest_sha,
                  "model_class": type(estimator).__name__},
        "options": options,
        "inputs": {"features": fingerprint},
        "rows": counts,
        "drift": report.to_dict() if report is not None else
        {"checked": False, "reason": "off" if drift == "off" else
         "the model has no training profile (train it again to store one)"},
        "warnings": messages,
        "versions": {**package_versions(), "spark": spark.version},
        "engine": {"name": "spark", "master": spark.sparkContext.master,
                   "default_parallelism": spark.sparkContext.defaultParallelism},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return SparkScoreResult(predictions, record, report)


def _school_window() -> Any:
    """Rank in school: highest probability first, ties by student id (as ``group_ranks``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return Window.partitionBy("school_id").orderBy(F.col("probability").desc(),
                                                   F.col("student_id").asc())
