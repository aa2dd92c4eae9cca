"""Batch scoring: :func:`score`, the library core of ``dropoutrisk predict``.

``score`` takes frames and returns an immutable :class:`ScoreResult`; files
are read and written by the command line (or a job script). The same inputs
give the same predictions, row for row and bit for bit.

Memory stays bounded by scoring in chunks of ``chunk_size`` students:

* feature rows given as an iterable of DataFrames (for example Parquet row
  groups read one at a time) are never held together; only the per-student
  output columns are (ids as Arrow strings, a few numbers per student);
* capacity flags and ``rank_in_school`` need the whole column of
  probabilities, which is cheap (8 bytes a student);
* reasons need school medians over every student of a school, so they are
  computed from an in-memory feature frame, ``chunk_size`` students at a time.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk._provenance import package_versions
from dropoutrisk._result import Result, copied
from dropoutrisk.errors import (
    ColumnTypeError,
    DataError,
    DriftError,
    DriftWarning,
    DuplicateKeyError,
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    ModelError,
)

__all__ = ["PREDICTION_COLUMNS", "ScoreResult", "reason_arrays", "reason_columns", "score"]

#: The columns of a prediction table, in order, without reasons; reasons
#: (``reason_<k>_code``, ``reason_<k>_sv``, ``reason_<k>_en``) go before ``model_id``.
PREDICTION_COLUMNS: tuple[str, ...] = (
    "student_id",
    "school_id",
    "probability",
    "flag",
    "tier",
    "rank_in_school",
    "model_id",
    "as_of",
)
_CONTEXT = ("as_of", "school_id", "cohort")
_MAX_REASONS = 20


def reason_columns(n: int) -> list[str]:
    """Names of the reason columns for ``n`` reasons.

    Examples
    --------
    >>> reason_columns(1)
    ['reason_1_code', 'reason_1_sv', 'reason_1_en']
    """
    return [f"reason_{k}_{part}" for k in range(1, n + 1) for part in ("code", "sv", "en")]


class ScoreResult(Result):
    """The result of :func:`score`; immutable.

    Properties return copies: :attr:`predictions` (one row per student,
    sorted by ``student_id``), :attr:`run_record` (what was scored, with
    which model, on which data: counts, warnings, drift, versions, timings;
    no student-level rows) and :attr:`drift` (a
    :class:`~dropoutrisk.models.DriftReport`, or ``None`` when not checked).
    """

    __slots__ = ("_drift", "_record", "_table")
    _remedy = "call score() again."

    def __init__(self, table: Any, record: dict[str, Any], drift: Any) -> None:
        self._set(table=table, record=record, drift=drift)

    @property
    def predictions(self) -> pd.DataFrame:
        """One row per student: see :data:`PREDICTION_COLUMNS` and :func:`reason_columns`."""
        return self._table.to_pandas()

    @property
    def run_record(self) -> dict[str, Any]:
        """A deep copy of the run record (JSON types only)."""
        return copied(self._record)

    def to_dict(self) -> dict[str, Any]:
        """The run record (aggregates only, never a student row)."""
        return copied(self._record)

    @property
    def drift(self) -> Any:
        """The drift report, or ``None`` when no check was made."""
        return self._drift

    @property
    def n_flagged(self) -> int:
        """Number of flagged students."""
        return int(self._record["rows"]["flagged"])

    def to_arrow(self) -> Any:
        """The predictions as an (immutable) ``pyarrow.Table``, without copying."""
        return self._table

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        return (f"ScoreResult(n={self._table.num_rows}, flagged={self.n_flagged}, "
                f"model_id={self._record['model']['model_id']!r}, "
                f"as_of={self._record['as_of']!r})")


# --------------------------------------------------------------------------- options


def _as_of_date(as_of: Any) -> dt.date:
    from dropoutrisk.schema import parse_as_of

    return parse_as_of(as_of).date()


def _check_options(threshold, capacity, by, reasons, reasons_for, chunk_size, drift) -> None:
    if threshold is not None and capacity is not None:
        raise ValueError("Pass either threshold= or capacity=, not both.")
    if by is not None and capacity is None:
        raise ValueError("by= only applies with capacity=K (flag the top K per group).")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold={threshold!r} must be a probability in [0, 1].")
    if capacity is not None and (isinstance(capacity, bool) or int(capacity) != capacity
                                 or capacity < 1):
        raise ValueError(f"capacity={capacity!r} must be a whole number of students >= 1.")
    if isinstance(reasons, bool) or not isinstance(reasons, int | np.integer) or not (
            0 <= reasons <= _MAX_REASONS):
        raise ValueError(f"reasons={reasons!r} must be a whole number from 0 to {_MAX_REASONS}.")
    if reasons_for not in ("flagged", "all"):
        raise ValueError(f"reasons_for={reasons_for!r} must be 'flagged' or 'all'.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a whole number >= 1.")
    if drift not in ("warn", "fail", "off"):
        raise ValueError(f"drift={drift!r} must be 'warn', 'fail' or 'off'.")


def _resolve_model(model: Any, profile: Any, model_id: str | None):
    from dropoutrisk.models import ModelBundle, TrainingProfile

    manifest_sha = None
    if isinstance(model, ModelBundle):
        bundle = model
        estimator = bundle.model
        model_id = model_id or bundle.model_id
        manifest_sha = bundle.manifest_sha256
        if profile is None and "profile" in bundle.extra:
            try:
                profile = TrainingProfile.from_dict(bundle.extra["profile"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ModelError(
                    f"The training profile in {bundle.path} cannot be read ({exc}); train the "
                    "model again.", path=str(bundle.path)) from exc
    else:
        estimator = model
    if isinstance(profile, Mapping):
        profile = TrainingProfile.from_dict(profile)
    if not all(hasattr(estimator, a) for a in ("predict_proba", "feature_names_in_")):
        raise ModelError(
            f"{type(estimator).__name__} is not a fitted dropoutrisk model: score needs a fitted "
            "RiskModel or a ModelBundle from dropoutrisk.models.load_bundle.")
    return estimator, (model_id or "unsaved"), manifest_sha, profile


# --------------------------------------------------------------------------- inputs


def _feature_frame(chunk: Any, as_of: dt.date, offset: int,
                   table: str = "features") -> pd.DataFrame:
    """Check one frame of feature rows and index it by ``student_id``."""
    if not isinstance(chunk, pd.DataFrame):
        raise DataError(table="features", problem=f"a chunk is a {type(chunk).__name__}, "
                        "not a pandas DataFrame", fix="Yield DataFrames of feature rows")
    if chunk.index.name != "student_id":
        if "student_id" not in chunk.columns:
            raise MissingColumnError(table="features", column="student_id",
                                     fix="Index the feature rows by student_id, or add the column")
        # a shallow copy: set_index would copy every feature column of a million rows
        ids = chunk["student_id"].to_numpy()
        chunk = chunk.copy(deep=False)
        del chunk["student_id"]
        chunk.index = pd.Index(ids, name="student_id")
    if "school_id" not in chunk.columns:
        raise MissingColumnError(table="features", column="school_id",
                                 fix="Keep the school_id column of build_features in the rows")
    ids = chunk.index
    no_school = chunk["school_id"].isna().to_numpy()
    if no_school.any():
        bad = np.flatnonzero(no_school)
        raise MissingValueError(
            table=table, column="school_id", rows=(bad + offset)[:5],
            values=[str(v) for v in ids[bad[:5]]], n_bad=bad.size,
            problem="no school_id (the values shown are the student ids)",
            allowed="a school_id for every student",
            fix="Fill in school_id: rank_in_school and capacity per school need it")
    if ids.hasnans:
        bad = np.flatnonzero(pd.isna(ids))
        raise DataError(table="features", column="student_id", rows=(bad + offset)[:5],
                        n_bad=bad.size, problem="missing student ids",
                        fix="Every feature row needs a student_id")
    if "as_of" in chunk.columns:
        days = pd.to_datetime(chunk["as_of"], errors="coerce").dt.normalize()
        bad = np.flatnonzero((days != pd.Timestamp(as_of)).to_numpy())
        if bad.size:
            raise DataError(
                table="features", column="as_of", rows=(bad + offset)[:5],
                values=[str(v)[:10] for v in chunk["as_of"].to_numpy()[bad[:5]]], n_bad=bad.size,
                problem=f"feature rows built at another date than as_of {as_of.isoformat()}",
                allowed=f"rows built at {as_of.isoformat()}",
                fix="Build the features at the scoring date, or pass the as_of they were built at")
    return chunk


def _check_numeric(chunk: pd.DataFrame, names: Iterable[str], categorical: set[str],
                   offset: int) -> None:
    for name in names:
        if name in categorical or name not in chunk.columns:
            continue
        col = chunk[name]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            continue
        coerced = pd.to_numeric(col, errors="coerce")
        bad = np.flatnonzero((coerced.isna() & col.notna()).to_numpy())
        if bad.size:
            raise ColumnTypeError(
                table="features", column=name, rows=(bad + offset)[:5],
                values=col.to_numpy()[bad[:5]], n_bad=bad.size,
                allowed="numbers (missing values are allowed)",
                fix="Correct the feature file; it must come from build_features")


def _chunks_of(X: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(X), size):
        yield X.iloc[start:start + size]


# --------------------------------------------------------------------------- main


def score(
    model: Any,
    data: Any,
    as_of: Any,
    *,
    threshold: float | None = None,
    capacity: int | None = None,
    by: str | None = None,
    reasons: int = 0,
    reasons_for: Literal["flagged", "all"] = "flagged",
    chunk_size: int = 100_000,
    drift: Literal["warn", "fail", "off"] = "warn",
    profile: Any = None,
    model_id: str | None = None,
    engine: Any = "auto",
    progress: Callable[[int, int | None], None] | None = None,
) -> ScoreResult:
    """Score every student enrolled at ``as_of``: probability, flag, tier, rank, reasons.

    This is what ``dropoutrisk predict`` runs; the command line adds reading
    the files, writing the outputs atomically and the input hashes of the run
    record. ``RiskModel.predict`` stays the scikit-learn ``predict`` (class
    labels), so that the model keeps the estimator contract; ``score`` is the
    one entry point with the batch semantics.

    Parameters
    ----------
    model : RiskModel or ModelBundle
        A fitted model, or a verified bundle from
        :func:`~dropoutrisk.models.load_bundle` (which brings its model id and
        its training profile for the drift check).
    data : mapping of tables, DataFrame of feature rows, or iterable of DataFrames
        * canonical tables (``{"students": ..., "attendance": ...}``, frames or
          paths): validated at ``as_of`` (later events dropped with a warning)
          and turned into features with
          :func:`~dropoutrisk.features.build_features`;
        * feature rows (index or column ``student_id``, with ``school_id``);
        * an iterable of such frames, scored one at a time (streaming).
    as_of : date-like
        The prediction date. Feature rows with an ``as_of`` column must match it.
    threshold : float, optional
        Flag where the probability is at or above it.
    capacity : int, optional
        Flag the ``capacity`` highest-risk students (per ``by`` group). Ties
        are broken by student id.
    by : str, optional
        A column of the feature rows (e.g. ``"school_id"``) for ``capacity``.
    reasons : int, default 0
        Top reasons per explained student (exact SHAP), as
        ``reason_<k>_code``, ``reason_<k>_sv`` and ``reason_<k>_en``.
    reasons_for : {"flagged", "all"}, default "flagged"
        Which students get reasons; the others get missing values.
    chunk_size : int, default 100000
        Students scored (and explained) at a time.
    drift : {"warn", "fail", "off"}, default "warn"
        Compare the rows with the training profile; ``"warn"`` records the
        findings (and emits :class:`~dropoutrisk.errors.DriftWarning`),
        ``"fail"`` raises :class:`~dropoutrisk.errors.DriftError` when a check
        reaches its drift threshold, before any prediction is returned.
    profile : TrainingProfile or dict, optional
        The training profile; by default the bundle's.
    model_id : str, optional
        The id written in every row; by default the bundle's, else ``"unsaved"``.
    engine : str or DuckDBEngine, default "auto"
        Feature engine for canonical tables (see ``build_features``).
    progress : callable, optional
        Called as ``progress(rows_done, rows_total_or_None)`` after each chunk.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        Invalid tables or feature rows (the message names table, column, rows).
    ModelError
        The model is not a fitted dropoutrisk model.
    DriftError
        With ``drift="fail"``, when the input drifted from the training profile.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dropoutrisk.models import RiskModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"school_id": ["A", "B"] * 150,
    ...                   "attendance_rate_4w": rng.uniform(0.5, 1, 300)},
    ...                  index=pd.Index([f"s{i:03d}" for i in range(300)], name="student_id"))
    >>> y = (rng.random(300) < 1.3 - X["attendance_rate_4w"]).astype(int)
    >>> model = RiskModel(n_estimators=10, random_state=0).fit(X, y)
    >>> result = score(model, X, "2024-10-01", capacity=2, by="school_id", reasons=1)
    >>> result.predictions.groupby("school_id")["flag"].sum().tolist()
    [2, 2]
    >>> result.predictions.columns[:6].tolist()
    ['student_id', 'school_id', 'probability', 'flag', 'tier', 'rank_in_school']
    >>> int(result.predictions["reason_1_code"].notna().sum())
    4
    """
    started = time.perf_counter()
    _check_options(threshold, capacity, by, reasons, reasons_for, chunk_size, drift)
    day = _as_of_date(as_of)
    estimator, model_id, manifest_sha, profile = _resolve_model(model, profile, model_id)
    if drift == "fail" and profile is None:
        raise ModelError(
            "Failing on drift was asked for, but the model has no training profile to compare "
            "with. Train the model again with this version of dropoutrisk (it stores "
            "profile.json in the model folder), or pass profile=.")
    timings: dict[str, float] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        core = _Scorer(estimator, day, threshold=threshold, capacity=capacity, by=by,
                       reasons=int(reasons), reasons_for=reasons_for, chunk_size=int(chunk_size),
                       drift=drift, profile=profile, model_id=model_id, engine=engine,
                       progress=progress, timings=timings)
        table, counts, report = core.run(data)
    messages = []
    for w in caught:
        text = " ".join(str(w.message).split())
        line = f"{w.category.__name__}: {text}"
        if line not in messages:
            messages.append(line)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    timings["total"] = time.perf_counter() - started
    record = {
        "as_of": day.isoformat(),
        "model": {"model_id": model_id, "manifest_sha256": manifest_sha,
                  "model_class": type(estimator).__name__},
        "options": {"threshold": threshold, "capacity": capacity, "by": by,
                    "reasons": int(reasons), "reasons_for": reasons_for,
                    "chunk_size": int(chunk_size), "drift": drift},
        "rows": counts,
        "drift": report.to_dict() if report is not None else
        {"checked": False, "reason": "off" if drift == "off" else
         "the model has no training profile (train it again to store one)"},
        "warnings": messages,
        "versions": package_versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return ScoreResult(table, record, report)


class _Scorer:
    """One scoring run: pass over the chunks, then flags, ranks and reasons."""

    def __init__(self, model: Any, day: dt.date, **options: Any) -> None:
        self.model = model
        self.day = day
        self.__dict__.update(options)
        features = getattr(model, "_features", None)
        self.categorical = set(getattr(features, "categories", {}) or {})
        self.names = [str(n) for n in model.feature_names_in_]

    def _tick(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - since)
        return now

    # ---- inputs ----
    def _inputs(self, data: Any) -> tuple[Iterable[pd.DataFrame], pd.DataFrame | None, dict]:
        t = time.perf_counter()
        dropped: dict[str, int] = {}
        if isinstance(data, pd.DataFrame):
            X = _feature_frame(data, self.day, 0)
            rows_in = len(X)
        elif isinstance(data, Mapping):
            from dropoutrisk.features import build_features, default_catalogue
            from dropoutrisk.schema import validate_tables

            tables = dict(data)
            frames = {k: v for k, v in tables.items() if isinstance(v, pd.DataFrame)}
            if "students" in frames:
                rest = {k: v for k, v in tables.items() if k not in frames}
                tables = {**rest, **validate_tables(frames, as_of=self.day)}
            catalogue = getattr(self.model, "catalogue", None) or default_catalogue()
            X = build_features(tables, self.day, catalogue=catalogue, engine=self.engine)
            students = tables.get("students")
            rows_in = len(students) if isinstance(students, pd.DataFrame) else len(X)
            if rows_in > len(X):
                dropped["not enrolled at as_of (cohort starts later, or an outcome such as "
                        "dropout, move or transfer is dated before as_of)"] = rows_in - len(X)
            X = _feature_frame(X, self.day, 0, table="students")
            self._tick("features", t)
        elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
            return data, None, {"in": None, "dropped": dropped}
        else:
            raise DataError(table="features", problem=f"cannot score a {type(data).__name__}",
                            allowed="a mapping of canonical tables, a DataFrame of feature rows "
                            "or an iterable of such DataFrames",
                            fix="Pass tables or feature rows")
        if len(X) == 0:
            raise EmptyTableError(
                table="students", problem=f"no student is enrolled at {self.day.isoformat()}",
                fix="Check as_of against the cohorts in the students table")
        return _chunks_of(X, self.chunk_size), X, {"in": rows_in, "dropped": dropped}

    # ---- pass over the chunks ----
    def run(self, data: Any):
        import pyarrow as pa

        chunks, X, counts = self._inputs(data)
        if X is None and self.reasons:
            raise ValueError(
                "reasons need the whole feature frame in memory (reference values are school "
                "medians); pass a DataFrame instead of an iterable of chunks, or reasons=0.")
        total = len(X) if X is not None else None
        if X is not None:
            _check_numeric(X, self.names, self.categorical, 0)
        # compared with the profile of the training snapshot week nearest to as_of
        acc = self.profile.accumulator(self.day) if (self.profile is not None
                                                     and self.drift != "off") else None
        ids, school_codes, groups, proba, margin, default = [], [], [], [], [], []
        school_names: dict[str, int] = {}
        offset = 0
        for raw in chunks:
            t = time.perf_counter()
            chunk = raw if X is not None else _feature_frame(raw, self.day, offset)
            if X is None:
                _check_numeric(chunk, self.names, self.categorical, offset)
            if self.by is not None and self.by not in chunk.columns:
                raise ValueError(
                    f"by={self.by!r} is not a column of the feature rows; use one of "
                    f"{', '.join(c for c in _CONTEXT if c in chunk.columns)}.")
            if acc is not None:
                acc.update(chunk)
                t = self._tick("drift", t)
            p, m = self._predict(chunk)
            proba.append(p)
            margin.append(m)
            if self.threshold is None and self.capacity is None:
                d = self.model._default_flags(chunk, p) if hasattr(
                    self.model, "_default_flags") else None
                default.append(p >= 0.2 if d is None else np.asarray(d, dtype=bool))
            ids.append(pa.array(chunk.index.astype(str).to_numpy(dtype=object), pa.string()))
            # schools as int32 codes: 4 bytes a student instead of a string
            local, uniques = pd.factorize(chunk["school_id"].astype(str), sort=False)
            lookup = np.array([school_names.setdefault(u, len(school_names)) for u in uniques],
                              dtype=np.int32)
            school_codes.append(lookup[local])
            if self.by is not None:
                groups.append(chunk[self.by].astype(str).to_numpy(dtype=object))
            offset += len(chunk)
            self._tick("scoring", t)
            if self.progress is not None:
                self.progress(offset, total)
        if offset == 0:
            raise EmptyTableError(table="features", problem="there are no feature rows",
                                  fix="Pass at least one student's feature rows")
        counts["in"] = offset if counts["in"] is None else counts["in"]
        report = acc.report() if acc is not None else None
        if report is not None:
            if report.drifted and self.drift == "fail":
                raise DriftError(
                    "The input drifted from the training profile, and failing on drift was "
                    "asked for: " + " | ".join(w for w in report.warnings if w.startswith("drift"))
                    + ". No predictions were written. Check the export; if the change is real, "
                    "retrain the model on recent cohorts.")
            for text in report.warnings:
                warnings.warn(DriftWarning(text), stacklevel=4)

        t = time.perf_counter()
        n = offset
        proba_a = np.concatenate(proba)
        margin_a = np.concatenate(margin)
        codes = np.concatenate(school_codes)
        del proba, margin, school_codes
        order, id_rank, sorted_ids = self._id_order(pa.chunked_array(ids, pa.string()))
        del ids
        pa.default_memory_pool().release_unused()
        flags = self._flags(proba_a, margin_a, id_rank, groups, default)
        del margin_a, groups, default
        tiers = self._tiers(proba_a, flags)
        rank = self._rank_in_school(codes, proba_a, id_rank)
        del id_rank
        t = self._tick("flags_and_ranks", t)
        reason_arrays = self._reasons(X, flags, None) if self.reasons else {}
        t = self._tick("reasons", t)
        names = pa.array(list(school_names), pa.string())
        columns = {
            "student_id": sorted_ids,
            "school_id": pa.DictionaryArray.from_arrays(pa.array(codes[order]), names
                                                        ).cast(pa.string()),
            "probability": pa.array(proba_a[order], pa.float64()),
            "flag": pa.array(flags[order], pa.bool_()),
            # few distinct values: dictionary-encoded (pandas reads them as category)
            "tier": pa.DictionaryArray.from_arrays(
                pa.array(tiers[order], pa.int8()), pa.array(self._tier_labels(), pa.string())),
            "rank_in_school": pa.array(rank[order], pa.int64()),
        }
        del codes
        for name, arr in reason_arrays.items():
            columns[name] = pa.array(arr[order], pa.string(), from_pandas=True)
        for name, value in (("model_id", self.model_id), ("as_of", self.day.isoformat())):
            columns[name] = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int8)), pa.array([str(value)], pa.string()))
        table = pa.table(columns)
        self._tick("assemble", t)
        tier_counts = pd.Series(tiers).value_counts()
        labels = self._tier_labels()
        counts.update({
            "scored": int(n),
            "dropped_total": int(sum(counts["dropped"].values())),
            "flagged": int(flags.sum()),
            "explained": int(self._explained(flags).sum()) if self.reasons else 0,
            "tiers": {labels[i]: int(tier_counts.get(i, 0)) for i in range(len(labels))},
        })
        return table, counts, report

    def _predict(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        try:
            if hasattr(self.model, "calibrator_") and hasattr(self.model, "decision_function"):
                m = np.asarray(self.model.decision_function(chunk), dtype=np.float64)
                p = np.asarray(self.model.calibrator_.predict(m), dtype=np.float64)
                # rank on the margin as the probability orders it: a Platt slope can be
                # negative on a weak model, and capacity must flag the highest probabilities
                if float(getattr(self.model.calibrator_, "slope_", 1.0)) < 0:
                    m = -m
            else:
                p = np.asarray(self.model.predict_proba(chunk)[:, 1], dtype=np.float64)
                m = p
        except MissingColumnError as exc:
            raise MissingColumnError(
                table="features", column=exc.column, problem=exc.problem,
                fix="Build the feature rows with the catalogue the model was trained on") from exc
        return p, m

    @staticmethod
    def _id_order(student: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        import pyarrow.compute as pc

        order = np.asarray(pc.sort_indices(student), dtype=np.int64)
        sorted_ids = student.take(order).combine_chunks()
        if len(order) > 1:
            same = np.asarray(pc.equal(sorted_ids.slice(1), sorted_ids.slice(0, len(order) - 1)),
                              dtype=bool)
            if same.any():
                dup = np.flatnonzero(same)
                values = [sorted_ids[int(i)].as_py() for i in dup[:5]]
                raise DuplicateKeyError(
                    table="features", column="student_id", rows=order[dup[:5] + 1],
                    values=values, n_bad=dup.size,
                    problem="the same student more than once",
                    allowed="one row per student", fix="Remove the duplicate rows")
        id_rank = np.empty(order.size, dtype=np.int64)
        id_rank[order] = np.arange(order.size)
        return order, id_rank, sorted_ids

    def _flags(self, proba, margin, id_rank, groups, default) -> np.ndarray:
        from dropoutrisk.models._flagging import flag_scores

        if self.threshold is None and self.capacity is None:
            return np.concatenate(default)
        g = np.concatenate(groups) if groups else None
        # the student id's sort position breaks ties exactly as the id itself would
        flags = flag_scores(proba, margin, pd.Index(id_rank), threshold=self.threshold,
                            capacity=self.capacity, groups=g)
        return flags.to_numpy(dtype=bool)

    @staticmethod
    def _tier_labels() -> list[str]:
        from dropoutrisk.models import TIER_LABELS

        return list(TIER_LABELS)

    @staticmethod
    def _tiers(proba: np.ndarray, flags: np.ndarray) -> np.ndarray:
        from dropoutrisk.models._flagging import tier_scores

        # a flagged student is never "universal": tiers follow the operating point
        return tier_scores(proba, pd.RangeIndex(proba.size),
                           flags=flags).cat.codes.to_numpy(dtype=np.int8)

    @staticmethod
    def _rank_in_school(codes: np.ndarray, proba: np.ndarray, id_rank: np.ndarray) -> np.ndarray:
        order = np.lexsort((id_rank, -proba, codes))
        sorted_codes = codes[order]
        starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
        del sorted_codes
        first = np.maximum.accumulate(np.where(starts, np.arange(order.size), 0))
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size) - first + 1
        return rank

    def _explained(self, flags: np.ndarray) -> np.ndarray:
        return np.ones(flags.size, dtype=bool) if self.reasons_for == "all" else flags

    def _reasons(self, X: pd.DataFrame, flags: np.ndarray, _: Any) -> dict[str, np.ndarray]:
        positions = np.flatnonzero(self._explained(flags))
        return reason_arrays(self.model, X, positions, self.reasons, chunk_size=self.chunk_size,
                             flags=flags)


def reason_arrays(model: Any, X: pd.DataFrame, positions: np.ndarray, n: int, *,
                  chunk_size: int = 100_000, flags: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:
    """Top ``n`` reasons (code, Swedish, English) for the rows of ``X`` at ``positions``.

    Returns one object array per column of :func:`reason_columns` (``n``),
    aligned with ``X``; rows not explained hold ``None``. References are
    medians over the rows of ``X`` (the school's, else the year group's, else
    all students'), exactly as :func:`~dropoutrisk.explain.explain_students`
    computes them on the whole frame. ``flags`` (one per row of ``X``) are the
    operating point's flags.
    """
    from dropoutrisk.explain import ReferenceTable, explain_students, reasons_frame

    out = {c: np.full(len(X), None, dtype=object) for c in reason_columns(n)}
    if n == 0 or len(positions) == 0:
        return out
    references = ReferenceTable.for_model(model, X)  # once: medians over every student
    for start in range(0, len(positions), chunk_size):
        pos = np.asarray(positions[start:start + chunk_size])
        rows = X.iloc[pos]
        ex = explain_students(model, rows, top_n=n, lang="sv",
                              flags=None if flags is None else np.asarray(flags)[pos],
                              reference_frame=references)
        for lang in ("sv", "en"):
            wide = reasons_frame(ex, n, lang=lang)
            for k in range(1, n + 1):
                out[f"reason_{k}_{lang}"][pos] = wide[f"reason_{k}_sentence"].to_numpy()
                if lang == "sv":
                    out[f"reason_{k}_code"][pos] = wide[f"reason_{k}_code"].to_numpy()
    for arr in out.values():
        arr[pd.isna(arr)] = None
    return out
