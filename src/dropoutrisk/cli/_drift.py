"""``dropoutrisk drift``: input drift between two data folders (or feature tables), or against a model.

The command line of :func:`dropoutrisk.models.drift_report`: the same checks
that ``predict`` runs, pooled and per school, written as one folder
(:data:`DRIFT_FILES`) atomically. See ``docs/batch-scoring.md``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import parse_date, warnings_to_stderr
from dropoutrisk.cli._options import command

__all__ = ["DRIFT_FILES", "drift"]

#: What the output folder holds (a previous drift report may be replaced, nothing else).
DRIFT_FILES = ("drift.json", "features.csv", "schools.csv", "school_features.csv")


def previous_year_date(day: dt.date) -> dt.date:
    """The same week and weekday of the previous school year.

    Examples
    --------
    >>> previous_year_date(dt.date(2024, 10, 28))
    datetime.date(2023, 10, 30)
    """
    from dropoutrisk.schema import school_year_of, school_year_start

    year = school_year_of(day)
    return school_year_start(year - 1) + (day - school_year_start(year))


def _rows(path: Path, day: dt.date | None, option: str, catalogue: Any,
          model_features: list[str] | None) -> Any:
    """Feature rows of a folder of canonical tables (at ``day``) or of a feature table file."""
    if path.is_dir():
        if day is None:
            raise typer.BadParameter(
                f"{str(path)!r} is a folder of canonical tables: its features are built at a "
                "date; give --as-of YYYY-MM-DD (the reference's date is --reference-as-of, by "
                "default the same week of the previous school year).", param_hint=option)
        from dropoutrisk.cli._cohorts import read_data
        from dropoutrisk.features import build_features

        tables, _ = read_data(path, as_of=day)
        X = build_features(tables, day, catalogue=catalogue)
    else:
        from dropoutrisk.cli._predict import _read_features

        X = _read_features(path, stream=False, size=0, option=option)
    if model_features is not None:
        keep = [c for c in X.columns if c in set(model_features) or c in ("school_id", "as_of",
                                                                          "student_id")]
        X = X[keep]
    return X


def _single_date(X: Any) -> dt.date | None:
    """The one ``as_of`` date of feature rows that have it (else ``None``)."""
    if "as_of" not in getattr(X, "columns", ()):
        return None
    import pandas as pd

    days = pd.to_datetime(X["as_of"], errors="coerce").dropna().unique()
    return pd.Timestamp(days[0]).date() if len(days) == 1 else None


def _csv(frame: Any) -> str:
    """A result table as CSV text; list cells joined by '; '."""
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, list)).any():
            out[col] = out[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    return out.to_csv(index=False, lineterminator="\n")


@command(
    "drift",
    help=(
        "Compare the input of a weekly job with a reference: PSI per feature, missing shares, "
        "unseen categories and the share of students without attendance, pooled and per "
        "school (each school with at least 10 students now against its own reference rows, "
        "a school the reference does not have against all its schools pooled; schools under "
        "10 students are never named). The same checks as predict's.\n\n"
        "--current and --reference are folders of canonical tables or feature tables "
        "(.parquet/.csv with student_id, school_id and feature columns, as written by "
        "build_features). Folders are turned into features at --as-of (current) and "
        "--reference-as-of (default: the same week of the previous school year). "
        "--model BUNDLE instead of --reference compares with the training profile stored in "
        "the model (the snapshot week nearest to --as-of; per school if the model stores "
        "per-school counts) and builds folder features with the model's catalogue.\n\n"
        "Output: the folder --out with drift.json (everything, with the warnings), "
        "features.csv (pooled, one row per feature), schools.csv (one row per school) and "
        "school_features.csv (one row per school and feature); written whole or not at all. "
        "No student rows. With --fail-on-drift the folder is written and the exit code is 4 "
        "when a check reached drift.\n\n" + EXIT_CODES_HELP
    ),
)
def drift(
    current: Annotated[Path, typer.Option(
        "--current", help="Folder of canonical tables, or a feature table (.parquet/.csv).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    reference: Annotated[Path | None, typer.Option(
        "--reference", help="Folder of canonical tables, or a feature table: what --current "
        "is compared with.")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", help="Model folder written by 'train': its stored training profile is the "
        "reference (unless --reference is given), and its catalogue builds folder features.")
    ] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date of the current rows, YYYY-MM-DD (needed for a folder).")] = None,
    reference_as_of: Annotated[str | None, typer.Option(
        "--reference-as-of", help="Date of the reference rows of a folder; default the same "
        "week of the previous school year.")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit 4 (after writing the report) if a check reached drift.")
    ] = False,
) -> None:
    from dropoutrisk._atomic import check_folder_replaceable, write_folder
    from dropoutrisk._provenance import package_versions
    from dropoutrisk.errors import DriftError
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import drift_report, load_bundle

    if reference is None and model is None:
        raise typer.BadParameter("give --reference (a folder or feature table) or --model "
                                 "(a model folder with a training profile).",
                                 param_hint="--reference")
    day = parse_date(as_of, "--as-of") if as_of is not None else None
    ref_day = (parse_date(reference_as_of, "--reference-as-of") if reference_as_of is not None
               else previous_year_date(day) if day is not None else None)
    for path, option in ((current, "--current"), (reference, "--reference")):
        if path is not None and not path.exists():
            raise typer.BadParameter(f"{str(path)!r} does not exist.", param_hint=option)
    try:  # before any work: never replace a folder that is not an earlier drift report
        check_folder_replaceable(out, DRIFT_FILES, "a drift report")
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None

    bundle = load_bundle(model) if model is not None else None  # exit 3 before any data
    catalogue = (getattr(bundle.model, "catalogue", None) if bundle is not None else None) \
        or default_catalogue()
    features = list(bundle.model.feature_names_in_) + ["attendance_rate"] \
        if bundle is not None else None
    with warnings_to_stderr() as seen:
        now = _rows(current, day, "--current", catalogue, features)
        if reference is not None:
            ref: Any = _rows(reference, ref_day, "--reference", catalogue, features)
            basis = {"reference": str(reference), "reference_as_of":
                     ref_day.isoformat() if reference.is_dir() and ref_day else None}
        else:
            ref = bundle
            basis = {"reference": f"model {bundle.model_id} (training profile)"}
        day = day or _single_date(now)
        # a frame reference is compared week with week only when both sides have dates
        week_of = day if (reference is None or "as_of" in getattr(ref, "columns", ())) else None
        report = drift_report(ref, now, as_of=week_of)

    header = {
        "format": "dropoutrisk-drift-report",
        "current": str(current),
        "as_of": day.isoformat() if day else None,
        **basis,
        "model_id": bundle.model_id if bundle is not None else None,
        "versions": package_versions(),
        "command_warnings": list(seen),
    }
    document = {**header, **report.to_dict()}
    files = {
        "drift.json": json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False,
                                 default=str) + "\n",
        "features.csv": _csv(report.table),
        "schools.csv": _csv(report.schools),
        "school_features.csv": _csv(report.school_table),
    }
    write_folder(out, files)  # whole: a failure leaves the previous report as it was
    counts = report.table["status"].value_counts()
    schools = report.drifted_schools
    print(f"Compared {report.n_rows} rows of {current} with {basis['reference']}: "
          f"{int(counts.get('drift', 0))} feature(s) at drift and {int(counts.get('watch', 0))} "
          f"at watch pooled; "
          + (f"drift at {len(schools)} school(s): {', '.join(schools)}" if schools else
             "no school at drift" if report.schools_info.get("checked") else
             "per school not checked (" + str(report.schools_info.get("note", "")) + ")")
          + f". Report in {out}")
    if fail_on_drift and report.drifted:
        raise DriftError("The current rows drifted from the reference, and failing on drift was "
                         "asked for: " + " | ".join(w for w in report.warnings
                                                   if w.startswith("drift"))
                         + f". The report is in {out}.")
