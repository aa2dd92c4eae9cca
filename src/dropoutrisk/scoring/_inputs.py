"""The checks of :func:`~dropoutrisk.scoring.score`: options, model and feature rows."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import (
    DataError,
    MissingColumnError,
    MissingValueError,
    ModelError,
    ParameterError,
)

#: Columns that ``by=`` may name in a hint, when they are in the feature rows.
CONTEXT_COLUMNS = ("as_of", "school_id", "cohort")
MAX_REASONS = 20


# --------------------------------------------------------------------------- options


def as_of_date(as_of: Any) -> dt.date:
    from dropoutrisk.schema import parse_as_of

    return parse_as_of(as_of).date()


def check_options(reasons, reasons_for, chunk_size, drift) -> None:
    if isinstance(reasons, bool) or not isinstance(reasons, int | np.integer) or not (
            0 <= reasons <= MAX_REASONS):
        raise ParameterError(parameter="reasons", message=
            f"reasons={reasons!r} must be a whole number from 0 to {MAX_REASONS}.")
    if reasons_for not in ("flagged", "all"):
        raise ParameterError(parameter="reasons_for", message=
            f"reasons_for={reasons_for!r} must be 'flagged' or 'all'.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ParameterError(parameter="chunk_size", message=
            f"chunk_size={chunk_size!r} must be a whole number >= 1.")
    if drift not in ("warn", "fail", "off"):
        raise ParameterError(parameter="drift", message=
            f"drift={drift!r} must be 'warn', 'fail' or 'off'.")


def resolve_model(model: Any, profile: Any, model_id: str | None):
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


def act_on_drift(report: Any, drift: str, *, stacklevel: int) -> None:
    """Raise :class:`~dropoutrisk.errors.DriftError` (``drift="fail"``) or warn per finding."""
    from dropoutrisk.errors import DriftError, DriftWarning

    if report.drifted and drift == "fail":
        raise DriftError(
            "The input drifted from the training profile, and failing on drift was "
            "asked for: " + " | ".join(w for w in report.warnings if w.startswith("drift"))
            + ". No predictions were written. Check the export; if the change is real, "
            "retrain the model on recent cohorts.")
    for text in report.warnings:
        warnings.warn(DriftWarning(text), stacklevel=stacklevel)


def replay_warnings(caught: list) -> list[str]:
    """Emit the recorded warnings again; return their one-line texts for the run record."""
    messages: list[str] = []
    for w in caught:
        line = f"{w.category.__name__}: {' '.join(str(w.message).split())}"
        if line not in messages:
            messages.append(line)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return messages


# --------------------------------------------------------------------------- inputs


def feature_frame(chunk: Any, as_of: dt.date, offset: int, table: str = "features",
                  require_school: bool = True) -> pd.DataFrame:
    """Check one frame of feature rows and index it by ``student_id``.

    Without ``require_school`` a frame may lack ``school_id`` (the served
    model gets bare feature rows); a ``school_id`` column that is there is
    still checked.
    """
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
    if "school_id" not in chunk.columns and require_school:
        raise MissingColumnError(table="features", column="school_id",
                                 fix="Keep the school_id column of build_features in the rows")
    ids = chunk.index
    no_school = (chunk["school_id"].isna().to_numpy() if "school_id" in chunk.columns
                 else np.zeros(len(chunk), dtype=bool))
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


def chunks_of(X: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(X), size):
        yield X.iloc[start:start + size]


