"""Feature sets: the indicator catalogue and leak-free longitudinal features.

Two ways in, one feature matrix out (docs/architecture.md, "Data contract"):

- canonical tables -> :func:`build_features` (pandas, DuckDB or Spark engine,
  the same result), with :func:`build_labels` and :func:`build_training_frame` for
  training, and :class:`FeatureBuilder` as a scikit-learn transformer;
  :func:`feature_sql` gives the portable feature SQL (DuckDB or Spark);
- one wide table plus a dataset spec -> :func:`build_wide_features`.

The :class:`Catalogue` (:func:`default_catalogue`) says what every feature
means and exports the data dictionary (``docs/catalogue.md``).
"""

from dropoutrisk.errors import IndicatorFileError
from dropoutrisk.features._build import (
    AUTO_DUCKDB_ROWS,
    build_features,
    build_labels,
    build_training_frame,
)
from dropoutrisk.features._catalogue import (
    CONTEXT_COLUMNS,
    DEFAULT_ITEM_GROUPS,
    DIMENSIONS,
    Catalogue,
    Computation,
    Indicator,
    default_catalogue,
)
from dropoutrisk.features._custom import load_indicators
from dropoutrisk.features._duckdb_engine import DuckDBEngine
from dropoutrisk.features._optional import inputs_missing_for, left_out_features, require_inputs
from dropoutrisk.features._spark_engine import SparkEngine
from dropoutrisk.features._sql import feature_sql
from dropoutrisk.features._transformer import FeatureBuilder
from dropoutrisk.features._wide import (
    DatasetSpec,
    FeatureSpec,
    LabelSpec,
    WideFeatures,
    build_wide_features,
    load_dataset_spec,
    read_wide_table,
)

__all__ = [
    "AUTO_DUCKDB_ROWS",
    "CONTEXT_COLUMNS",
    "DEFAULT_ITEM_GROUPS",
    "DIMENSIONS",
    "Catalogue",
    "Computation",
    "DatasetSpec",
    "DuckDBEngine",
    "FeatureBuilder",
    "FeatureSpec",
    "Indicator",
    "IndicatorFileError",
    "LabelSpec",
    "SparkEngine",
    "WideFeatures",
    "build_features",
    "build_labels",
    "build_training_frame",
    "build_wide_features",
    "default_catalogue",
    "feature_sql",
    "inputs_missing_for",
    "left_out_features",
    "load_indicators",
    "load_dataset_spec",
    "read_wide_table",
    "require_inputs",
]
