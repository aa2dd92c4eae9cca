"""The DuckDB engine: the portable feature SQL run in process.

Event tables come in as DataFrames or as Parquet/CSV paths; paths are read by
DuckDB itself, so a 20-million-row log never becomes a pandas frame. Each
table is exposed as a view with the canonical name and columns, and the
feature queries of :mod:`dropoutrisk.features._sql` run against those views.
DuckDB is imported only when the engine is used.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dropoutrisk.errors import DataError, MissingColumnError, MissingTableError, OutOfRangeError
from dropoutrisk.features import _sql
from dropoutrisk.features._catalogue import Catalogue
from dropoutrisk.features._inputs import (
    EVENT_COLUMNS,
    TableSource,
    Windows,
    feature_group,
    parquet_glob,
)


@dataclass(frozen=True)
class DuckDBEngine:
    """Settings for the DuckDB engine; pass an instance as ``engine=``.

    Parameters
    ----------
    memory_limit : str, default "2GB"
        DuckDB's ``memory_limit``; beyond it DuckDB spills to ``temp_directory``.
    threads : int or None, default None
        Worker threads; None lets DuckDB use every core.
    temp_directory : str or None, default None
        Where to spill; None uses a fresh temporary folder per call.

    Examples
    --------
    >>> DuckDBEngine(memory_limit="1GB", threads=2).threads
    2
    """

    memory_limit: str = "2GB"
    threads: int | None = None
    temp_directory: str | None = None


def _source_sql(name: str, source: TableSource, con: Any) -> str:
    """A SELECT that yields the canonical columns of ``name`` from ``source``."""
    required, _ = EVENT_COLUMNS[name]
    if isinstance(source, pd.DataFrame):
        # Registered as is (no copy); the view below casts to the canonical types.
        con.register(f"_frame_{name}", source)
        relation = f"_frame_{name}"
    else:
        path = Path(source)
        if not path.exists():
            raise MissingTableError(table=name, problem=f"the file {str(path)!r} does not exist",
                                    fix="Check the path.")
        literal = "'" + parquet_glob(path).replace("'", "''") + "'"
        suffix = path.suffix.lower()
        if path.is_dir() or suffix in (".parquet", ".pq"):
            relation = f"read_parquet({literal})"
        elif suffix in (".csv", ".txt", ".gz"):
            relation = f"read_csv({literal}, header = true, all_varchar = true)"
        else:
            raise DataError(table=name, problem=f"cannot read {str(path)!r}",
                            allowed="Parquet (.parquet) or CSV (.csv) files",
                            fix="Convert the file, or pass a DataFrame.")
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    missing = [c for c in required if c not in columns]
    if missing:
        raise MissingColumnError(table=name, column=missing[0],
                                 fix=f"The {name} table needs the columns {', '.join(required)}.")
    return _sql.canonical_view(name, columns, relation, _sql.DUCKDB)


class DuckDBSession:
    """One connection with the event tables as views; compute features per ``as_of``."""

    def __init__(
        self,
        sources: Mapping[str, TableSource],
        catalogue: Catalogue,
        settings: DuckDBEngine | None = None,
    ) -> None:
        import duckdb

        self.settings = settings or DuckDBEngine()
        self.catalogue = catalogue
        self._tmp = None
        temp_dir = self.settings.temp_directory
        if temp_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dropoutrisk-duckdb-")
            temp_dir = self._tmp.name
        self.con = duckdb.connect(database=":memory:")
        self.con.execute(f"SET memory_limit = '{self.settings.memory_limit}'")
        self.con.execute(f"SET temp_directory = '{temp_dir}'")
        self.con.execute("SET preserve_insertion_order = false")
        # progress bars belong to the command line, never to library code
        self.con.execute("SET enable_progress_bar = false")
        if self.settings.threads is not None:
            self.con.execute(f"SET threads = {int(self.settings.threads)}")
        self.tables = []
        for name, source in sources.items():
            self.con.execute(f"CREATE VIEW {name} AS {_source_sql(name, source, self.con)}")
            self.tables.append(name)

    def compute(self, w: Windows, enrolled: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The feature groups at ``w.as_of`` for the students of ``enrolled`` (see ``enrolment``)."""
        import duckdb

        self.con.register("_frame_enrolment", enrolled)
        self.con.execute("CREATE OR REPLACE VIEW enrolment AS "
                         + _sql.enrolment_view("_frame_enrolment", _sql.DUCKDB))
        out: dict[str, pd.DataFrame] = {}
        for group, name, sql in _sql.engine_queries(self.tables, self.catalogue, w, _sql.DUCKDB):
            try:
                frame = self.con.execute(sql).df()
            except duckdb.ConversionException as exc:
                raise OutOfRangeError(
                    table=name, problem=f"a value the feature sums cannot hold "
                    f"({str(exc).splitlines()[0]})", allowed=_sql.SUMMABLE.get(name),
                    fix="Correct the file, or read it into a DataFrame first so that "
                    "validate_tables names the rows",
                ) from exc
            out[group] = feature_group(frame)
        return out

    def relative(self, peers: pd.DataFrame, min_count: int) -> pd.DataFrame:
        """The indicators relative to their group (``RELATIVE_SQL``) of one ``as_of``'s features.

        ``peers`` are the ``peer_values`` rows (``features._custom.peer_values``); out come
        ``student_id, feature, relative_value``.
        """
        self.con.register("_frame_peers", peers)
        self.con.execute("CREATE OR REPLACE VIEW peer_values AS "
                         + _sql.peer_values_view("_frame_peers", _sql.DUCKDB))
        frame = self.con.execute(_sql.relative_sql(_sql.DUCKDB, min_count)).df()
        self.con.unregister("_frame_peers")
        frame["student_id"] = frame["student_id"].astype(object)
        return frame

    def max_date(self) -> pd.Timestamp | None:
        """The latest event date over every table (for label censoring)."""
        # fetchall, not fetchone: an unfinished result blocks the next register()
        dates = [self.con.execute(f"SELECT MAX(date) FROM {t}").fetchall()[0][0]
                 for t in self.tables]
        dates = [pd.Timestamp(d) for d in dates if d is not None]
        return max(dates) if dates else None

    def close(self) -> None:
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> DuckDBSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
