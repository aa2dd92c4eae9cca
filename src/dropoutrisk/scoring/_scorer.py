"""One scoring run: a pass over the chunks of feature rows, then flags, tiers, ranks and reasons."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    DataError,
    DuplicateKeyError,
    EmptyTableError,
    MissingColumnError,
    OperatingPointError,
    OptionalDataWarning,
    ParameterError,
)
from dropoutrisk.models._input import check_numeric
from dropoutrisk.models._operating_point import flags_at, group_ranks
from dropoutrisk.scoring._inputs import (
    CONTEXT_COLUMNS,
    act_on_drift,
    chunks_of,
    feature_frame,
)
from dropoutrisk.scoring._reasons import reason_arrays


class Scorer:
    """One scoring run: pass over the chunks, then flags, ranks and reasons."""

    def __init__(self, model: Any, day: dt.date, **options: Any) -> None:
        self.model = model
        self.day = day
        self.__dict__.update(options)
        self.categorical = set(getattr(model, "categorical_features_", ()) or ())
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
            X = feature_frame(data, self.day, 0, require_school=self.require_school)
            rows_in = len(X)
        elif isinstance(data, Mapping):
            from dropoutrisk.features import build_features, default_catalogue, require_inputs
            from dropoutrisk.schema import validate_tables

            tables = dict(data)
            frames = {k: v for k, v in tables.items() if isinstance(v, pd.DataFrame)}
            if "students" in frames:
                rest = {k: v for k, v in tables.items() if k not in frames}
                tables = {**rest, **validate_tables(frames, as_of=self.day)}
            catalogue = getattr(self.model, "catalogue", None) or default_catalogue()
            absent = require_inputs(tables, self.names, catalogue,
                                    allow=getattr(self, "allow_missing", ()))
            for source in dict.fromkeys(absent.values()):
                feats = [f for f, src in absent.items() if src == source]
                warnings.warn(OptionalDataWarning(
                    f"scored without {source}, which the model was trained with (allowed): "
                    f"{', '.join(feats)} are missing for every student, so their scores and "
                    "reasons rest on the other features only", features=tuple(feats),
                    sources={f: source for f in feats}), stacklevel=2)
            with warnings.catch_warnings():  # what the model needs is there (checked above)
                warnings.simplefilter("ignore", OptionalDataWarning)
                X = build_features(tables, self.day, catalogue=catalogue, engine=self.engine)
            students = tables.get("students")
            rows_in = len(students) if isinstance(students, pd.DataFrame) else len(X)
            if rows_in > len(X):
                dropped["not enrolled at as_of (cohort starts later, or an outcome such as "
                        "dropout, move or transfer is dated before as_of)"] = rows_in - len(X)
            X = feature_frame(X, self.day, 0, table="students",
                              require_school=self.require_school)
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
        return chunks_of(X, self.chunk_size), X, {"in": rows_in, "dropped": dropped}

    # ---- pass over the chunks ----
    def run(self, data: Any):
        import pyarrow as pa

        chunks, X, counts = self._inputs(data)
        if X is None and self.reasons:
            raise ParameterError(parameter="reasons", message=
                "reasons need the whole feature frame in memory (reference values are school "
                "medians); pass a DataFrame instead of an iterable of chunks, or reasons=0.")
        total = len(X) if X is not None else None
        if X is not None:
            check_numeric(X, self.names, self.categorical, 0)
        # compared with the profile of the training snapshot week nearest to as_of
        acc = self.profile.accumulator(self.day) if (self.profile is not None
                                                     and self.drift != "off") else None
        ids, school_codes, groups, proba, margin, default = [], [], [], [], [], []
        by = None if self.point is None else self.point.by
        school_names: dict[str | None, int] = {}
        offset = 0
        for raw in chunks:
            t = time.perf_counter()
            chunk = raw if X is not None else feature_frame(
                raw, self.day, offset, require_school=self.require_school)
            if X is None:
                check_numeric(chunk, self.names, self.categorical, offset)
            if by is not None and by not in chunk.columns:
                raise OperatingPointError(
                    parameter="by", value=by, problem="not a column of the feature rows",
                    allowed=", ".join(c for c in CONTEXT_COLUMNS if c in chunk.columns),
                    fix="Give one of those columns for a capacity per group")
            if acc is not None:
                acc.update(chunk)
                t = self._tick("drift", t)
            p, m = self._predict(chunk)
            proba.append(p)
            margin.append(m)
            if self.point is None:  # the model's own default flags
                default.append(np.asarray(self.model.default_flags(chunk, p), dtype=bool)
                               if hasattr(self.model, "default_flags") else p >= 0.2)
            ids.append(pa.array(chunk.index.astype(str).to_numpy(dtype=object), pa.string()))
            # schools as int32 codes: 4 bytes a student instead of a string
            if "school_id" in chunk.columns:
                local, uniques = pd.factorize(chunk["school_id"].astype(str), sort=False)
            else:  # rows without schools (require_school=False): one group, school_id missing
                local, uniques = np.zeros(len(chunk), dtype=np.intp), [None]
            lookup = np.array([school_names.setdefault(u, len(school_names)) for u in uniques],
                              dtype=np.int32)
            school_codes.append(lookup[local])
            if by is not None:
                groups.append(chunk[by].astype(str).to_numpy(dtype=object))
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
            act_on_drift(report, self.drift, stacklevel=5)

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
        if self.point is None:
            return np.concatenate(default)
        g = np.concatenate(groups) if groups else None
        # the student id's sort position breaks ties exactly as the id itself would
        return flags_at(self.point, proba, margin, tie=id_rank, groups=g)

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
        return group_ranks(proba, tie=id_rank, groups=codes) + 1

    def _explained(self, flags: np.ndarray) -> np.ndarray:
        return np.ones(flags.size, dtype=bool) if self.reasons_for == "all" else flags

    def _reasons(self, X: pd.DataFrame, flags: np.ndarray, _: Any) -> dict[str, np.ndarray]:
        positions = np.flatnonzero(self._explained(flags))
        return reason_arrays(self.model, X, positions, self.reasons, chunk_size=self.chunk_size,
                             flags=flags)
