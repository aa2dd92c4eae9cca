"""The Spark engine: the portable feature SQL run on Spark SQL.

The same queries the DuckDB engine runs (:func:`~._sql.engine_queries`, every
event table, ``activity`` and the indicators of your own), rendered for
:data:`~._sql.SPARK`, run through ``spark.sql``. Event tables come in as Spark
DataFrames, names of tables in the session's catalogue, Parquet or CSV paths
(read by Spark), or pandas frames; each is exposed as a temporary view with
the canonical name and columns (:func:`~._sql.canonical_view`) in a session of
its own (``SparkSession.newSession()``), so that the views never replace a
view of yours and the session's time zone is UTC for this work only.

The per-student results (one row per enrolled student and table) come back
to the driver as Arrow, where :func:`~._build.build_features` assembles them
with the student table exactly as for the other engines; ``output="spark"``
returns that frame as a Spark DataFrame. PySpark is imported only when the
engine is used (``pip install dropoutrisk[spark]``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dropoutrisk.errors import (
    DataError,
    MissingColumnError,
    MissingTableError,
    OutOfRangeError,
    ParameterError,
)
from dropoutrisk.features import _sql
from dropoutrisk.features._catalogue import Catalogue
from dropoutrisk.features._inputs import EVENT_COLUMNS, Windows, feature_group, is_path

__all__ = ["SparkEngine", "SparkFeatureSession", "is_spark_frame"]


def is_spark_frame(obj: Any) -> bool:
    """Whether ``obj`` is a PySpark DataFrame (classic or Connect), without importing PySpark."""
    return type(obj).__name__ == "DataFrame" and type(obj).__module__.startswith("pyspark.")


@dataclass(frozen=True)
class SparkEngine:
    """Settings for the Spark engine; pass an instance as ``engine=``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session to run the feature SQL in (local or on a cluster).
    tables : mapping of str to str, optional
        Event tables by the name of a table in the session's catalogue, e.g.
        ``{"attendance": "school.attendance_2024"}``; they join the tables given
        to ``build_features`` (a table given both ways is refused).
    output : {"pandas", "spark"}, default "pandas"
        What ``build_features`` returns: the usual pandas frame, or the same rows
        as a Spark DataFrame (``student_id`` a column, categorical features as
        strings), ready for :func:`dropoutrisk.scoring.score_spark`.

    Examples
    --------
    >>> SparkEngine(spark=None, output="spark").output
    'spark'
    """

    spark: Any
    tables: Mapping[str, str] = field(default_factory=dict)
    output: Literal["pandas", "spark"] = "pandas"

    def check(self) -> None:
        if self.output not in ("pandas", "spark"):
            raise ParameterError(parameter="output", message=
                f"SparkEngine(output={self.output!r}) is not supported; use 'pandas' or 'spark'.")
        if self.spark is None or not hasattr(self.spark, "sql"):
            raise ParameterError(parameter="engine", message=
                "SparkEngine needs a SparkSession: SparkEngine(spark=SparkSession.builder"
                ".getOrCreate()).")
        unknown = sorted(set(self.tables) - set(EVENT_COLUMNS))
        if unknown:
            raise ParameterError(parameter="tables", message=
                f"SparkEngine(tables=...) names {unknown}, which are not event tables; use "
                f"{', '.join(EVENT_COLUMNS)}.")

    def split(self, tables: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Tables for the pandas side (students and outcomes to pandas) and Spark-only sources.

        Student-level tables are small and their work is done in pandas on every
        engine, so Spark DataFrames of ``students`` or ``outcomes`` are collected;
        Spark DataFrames of event tables and the named catalogue tables stay in Spark.
        """
        self.check()
        if not isinstance(tables, Mapping):  # a folder: read as for the other engines
            if self.tables:
                raise ParameterError(parameter="tables", message=
                    "SparkEngine(tables=...) adds to a mapping of tables, not to a folder; "
                    "pass {'students': ..., ...}.")
            return tables, {}
        local: dict[str, Any] = {}
        remote: dict[str, Any] = {}
        for name, source in tables.items():
            if is_spark_frame(source):
                if name in EVENT_COLUMNS:
                    remote[name] = source
                else:
                    local[name] = source.toPandas()
            else:
                local[name] = source
        for name, table in self.tables.items():
            if name in tables:
                raise ParameterError(parameter="tables", message=
                    f"the {name} table is given twice: in the tables and as SparkEngine("
                    f"tables={{{name!r}: {table!r}}}); give it once.")
            remote[name] = _CatalogueTable(str(table))
        return local, remote

    def finish(self, X: pd.DataFrame) -> Any:
        """``X`` as the engine's output (a Spark DataFrame for ``output="spark"``)."""
        if self.output == "pandas":
            return X
        frame = X.reset_index()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        frame["as_of"] = frame["as_of"].dt.date
        return _isolated(self.spark).createDataFrame(frame)


@dataclass(frozen=True)
class _CatalogueTable:
    name: str


def _isolated(spark: Any) -> Any:
    """A session of its own (own temporary views and SQL settings) on the same Spark."""
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    # pandas writes Parquet timestamps in nanoseconds, which Spark refuses to read as
    # timestamps; read them as integers and convert the date column (_nanos_as_dates)
    session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    return session


def _nanos_as_dates(frame: Any) -> Any:
    """A ``date`` column read as nanoseconds since the epoch (see ``_isolated``) as a timestamp."""
    types = dict(frame.dtypes)
    if types.get("date") != "bigint":
        return frame
    from pyspark.sql import functions as F

    return frame.withColumn("date", F.expr("timestamp_micros(date div 1000)"))


class SparkFeatureSession:
    """The event tables as views of an isolated session; compute features per ``as_of``."""

    def __init__(self, sources: Mapping[str, Any], catalogue: Catalogue,
                 settings: SparkEngine) -> None:
        settings.check()
        self.settings = settings
        self.catalogue = catalogue
        self.spark = _isolated(settings.spark)
        self._prefix = f"dropoutrisk_{uuid.uuid4().hex}"
        self.tables = []
        for name, source in sources.items():
            frame = self._frame(name, source)
            required, _ = EVENT_COLUMNS[name]
            missing = [c for c in required if c not in frame.columns]
            if missing:
                raise MissingColumnError(table=name, column=missing[0], fix=
                    f"The {name} table needs the columns {', '.join(required)}.")
            # a global view: a DataFrame of another session registers in that session, and
            # global views are seen by every session of the application
            source_view = f"{self._prefix}_{name}"
            frame.createOrReplaceGlobalTempView(source_view)
            view = _sql.canonical_view(name, set(frame.columns), f"global_temp.{source_view}",
                                       _sql.SPARK)
            self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {view}")
            self.tables.append(name)

    def _frame(self, name: str, source: Any) -> Any:
        spark = self.spark
        if is_spark_frame(source):
            return source
        if isinstance(source, _CatalogueTable):
            if not spark.catalog.tableExists(source.name):
                raise MissingTableError(table=name, problem=
                    f"the Spark catalogue has no table {source.name!r}",
                    fix="Check the name (database.table) given in SparkEngine(tables=...).")
            return spark.table(source.name)
        if isinstance(source, pd.DataFrame):
            return spark.createDataFrame(_spark_ready(source))
        if is_path(source):
            path = Path(source)
            if not path.exists():
                raise MissingTableError(table=name, problem=
                    f"the file {str(path)!r} does not exist", fix="Check the path.")
            suffix = path.suffix.lower()
            if path.is_dir() or suffix in (".parquet", ".pq"):
                return _nanos_as_dates(
                    spark.read.option("recursiveFileLookup", "true").parquet(str(path)))
            if suffix in (".csv", ".txt", ".gz"):
                return spark.read.option("header", "true").csv(str(path))
            raise DataError(table=name, problem=f"cannot read {str(path)!r}",
                            allowed="Parquet (.parquet) or CSV (.csv) files",
                            fix="Convert the file, or pass a DataFrame.")
        raise DataError(table=name, problem=f"cannot read a {type(source).__name__} on Spark",
                        allowed="a Spark DataFrame, a catalogue table name "
                        "(SparkEngine(tables=...)), a Parquet or CSV path, or a pandas DataFrame",
                        fix="Pass one of those.")

    def compute(self, w: Windows, enrolled: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The feature groups at ``w.as_of`` for the students of ``enrolled`` (see ``enrolment``)."""
        from pyspark.errors import ArithmeticException, NumberFormatException

        self.spark.createDataFrame(_spark_ready(enrolled)).createOrReplaceTempView(
            "_frame_enrolment")
        self.spark.sql("CREATE OR REPLACE TEMPORARY VIEW enrolment AS "
                       + _sql.enrolment_view("_frame_enrolment", _sql.SPARK))
        out: dict[str, pd.DataFrame] = {}
        for group, name, sql in _sql.engine_queries(self.tables, self.catalogue, w, _sql.SPARK):
            try:
                frame = self.spark.sql(sql).toPandas()
            except (ArithmeticException, NumberFormatException) as exc:
                raise OutOfRangeError(
                    table=name, problem="a value the feature sums cannot hold, or that is "
                    f"not a number ({str(exc).splitlines()[0][:200]})",
                    allowed=_sql.SUMMABLE.get(name, "the canonical column types"),
                    fix="Correct the table, or read it into a pandas DataFrame first so that "
                    "validate_tables names the rows",
                ) from exc
            out[group] = feature_group(frame)
        return out

    def relative(self, peers: pd.DataFrame, min_count: int) -> pd.DataFrame:
        """The indicators relative to their group (``RELATIVE_SQL``), as the DuckDB engine has them."""
        from pyspark.sql import types as T

        schema = T.StructType([T.StructField(c, T.StringType()) for c in
                               ("student_id", "grp", "feature", "how")]
                              + [T.StructField("v", T.DoubleType())])
        rows = _spark_ready(peers[["student_id", "grp", "feature", "how", "v"]])
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView("_frame_peers")
        self.spark.sql("CREATE OR REPLACE TEMPORARY VIEW peer_values AS "
                       + _sql.peer_values_view("_frame_peers", _sql.SPARK))
        frame = self.spark.sql(_sql.relative_sql(_sql.SPARK, min_count)).toPandas()
        self.spark.catalog.dropTempView("_frame_peers")
        self.spark.catalog.dropTempView("peer_values")
        frame["student_id"] = frame["student_id"].astype(object)
        return frame

    def max_date(self) -> pd.Timestamp | None:
        """The latest event date over every table (for label censoring)."""
        dates = [self.spark.sql(f"SELECT MAX(date) AS d FROM {t}").collect()[0]["d"]
                 for t in self.tables]
        dates = [pd.Timestamp(d) for d in dates if d is not None]
        return max(dates) if dates else None

    def close(self) -> None:
        for name in self.tables:
            self.spark.catalog.dropTempView(name)
            self.spark.catalog.dropGlobalTempView(f"{self._prefix}_{name}")
        self.spark.catalog.dropTempView("enrolment")
        self.spark.catalog.dropTempView("_frame_enrolment")

    def __enter__(self) -> SparkFeatureSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A pandas frame Spark's Arrow path takes: nullable extension types as plain objects."""
    out = frame.copy(deep=False)
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.BooleanDtype | pd.StringDtype | pd.CategoricalDtype):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out
