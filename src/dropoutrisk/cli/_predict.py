"""``dropoutrisk predict``: batch scoring with atomic outputs and a run record.

A thin wrapper over :func:`dropoutrisk.report.score`: it reads the inputs,
hashes them, runs ``score`` and writes the predictions and
``<out>.run.json`` atomically (temporary files renamed into place only when
both are complete). See ``docs/batch-scoring.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk._atomic import sha256_file
from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import parse_date, pseudonym_key, warnings_to_stderr
from dropoutrisk.cli._options import DATA_HELP, Flags, ModelFolder, Pseudonymise, SpecFile, command
from dropoutrisk.errors import DataError

__all__ = ["RUN_RECORD_SUFFIX", "predict", "run_record_path"]


def __getattr__(name: str) -> Any:
    # the output columns live with dropoutrisk.score; imported on use, so that
    # 'dropoutrisk --help' does not load pandas
    if name == "PREDICTION_COLUMNS":
        from dropoutrisk.scoring import PREDICTION_COLUMNS

        return PREDICTION_COLUMNS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The run record is written next to the output as ``<out><suffix>``.
RUN_RECORD_SUFFIX = ".run.json"
_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: Run-record keys that differ between two runs on the same inputs.
VOLATILE_KEYS = ("started_at", "finished_at", "timings_s")


def run_record_path(out: Path) -> Path:
    """``scores.parquet`` -> ``scores.parquet.run.json``."""
    return out.with_name(out.name + RUN_RECORD_SUFFIX)


def _check_out(out: Path) -> str:
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(
            f"{out.name!r}: the output must end in .parquet or .csv.", param_hint="--out"
        )
    for target in (out, run_record_path(out)):
        if target.is_dir():
            raise typer.BadParameter(f"{str(target)!r} is a folder; give a file path.",
                                     param_hint="--out")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise typer.BadParameter(
            f"cannot write {str(out)!r}: {str(parent)!r} is a file, not a folder. Choose an "
            "output path in a folder.", param_hint="--out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise typer.BadParameter(
            f"cannot write {str(out)!r}: the folder {str(parent)!r} is not writable. Choose "
            "another folder or fix its permissions.", param_hint="--out")
    return fmt


class _ParquetChunks:
    """Feature rows of a Parquet file, ``size`` rows at a time; each pass reopens the file."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    def __iter__(self):
        import pyarrow.parquet as pq

        try:
            # pre_buffer keeps every column chunk read so far: memory would grow with the file
            reader = pq.ParquetFile(self.path, pre_buffer=False)
            batches = reader.iter_batches(batch_size=self.size)
            for batch in batches:
                yield batch.to_pandas()
        except DataError:
            raise
        except Exception as exc:  # a damaged file is bad input
            raise _unreadable(self.path, exc) from exc


def _unreadable(path: Path, exc: BaseException) -> DataError:
    return DataError(
        table="features",
        problem=f"the file {str(path)!r} cannot be read ({type(exc).__name__}: "
        f"{' '.join(str(exc).split())[:200]})",
        allowed="a Parquet or CSV file of feature rows (student_id, school_id, features)",
        fix="Write the feature rows again",
    )


def _read_features(path: Path, stream: bool, size: int, option: str = "--features") -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataError(table="features", problem=f"the file {str(path)!r} does not exist",
                        fix=f"Check the path given with {option}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        if stream:
            return _ParquetChunks(path, size)
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise _unreadable(path, exc) from exc
    if suffix == ".csv":
        try:
            return pd.read_csv(path, dtype={"student_id": str, "school_id": str})
        except Exception as exc:
            raise _unreadable(path, exc) from exc
    raise DataError(table="features", problem=f"{str(path)!r} is neither .parquet nor .csv",
                    fix="Give a Parquet or CSV file of feature rows")


def _input_hashes(data: Path | None, features: Path | None) -> dict[str, str]:
    files: list[Path] = []
    if features is not None and features.is_file():
        files.append(features)
    if data is not None and data.is_dir():
        files += sorted(p for p in data.iterdir()
                        if p.is_file() and p.suffix.lower() in (".parquet", ".csv"))
    return {str(p): sha256_file(p) for p in files}


def _note_semicolon_files(folder: Path) -> None:
    """A ``;`` CSV is read as a Swedish spreadsheet export (decimal commas): say so."""
    import warnings

    from dropoutrisk.errors import DataQualityWarning

    for path in sorted(folder.glob("*.csv")):
        with open(path, "rb") as fh:
            header = fh.readline().decode("latin-1")
        if header.count(";") > max(header.count(","), header.count("\t")):
            warnings.warn(DataQualityWarning(
                f"{path.name} is separated by ';'; it was read with ';' between fields and "
                "',' as the decimal mark. Check a few numbers, or export with ',' separators "
                "and '.' decimals to silence this warning."), stacklevel=2)


def _command_line(params: dict[str, Any]) -> list[str]:
    argv = ["dropoutrisk", "predict"]
    for name, value in params.items():
        if value is None or value is False:
            continue
        option = "--" + name.replace("_", "-")
        argv += [option] if value is True else [option, str(value)]
    return argv


def _progress():
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        of = f"/{total}" if total else ""
        end = "\n" if total and done >= total else ""
        print(f"\rScored {done}{of} students", end=end, file=sys.stderr, flush=True)

    return show


@command(
    "predict",
    help=(
        "Score every student enrolled at --as-of and write one row per student: student_id, "
        "school_id, probability, flag, tier, rank_in_school (1 = highest risk in the school), "
        "with --reasons N the columns reason_<k>_code, reason_<k>_sv and reason_<k>_en, then "
        "model_id and as_of. Only events dated before --as-of are used.\n\n"
        "Input: --data, a folder of canonical tables (validated; events on or after --as-of "
        "are dropped with a warning), or --features, a Parquet/CSV file of feature rows "
        "(streamed in chunks when no reasons are asked), or --data TABLE.csv|.parquet with "
        "--spec SPEC.toml, a wide table (one row per student) read with the dataset spec the "
        "model was trained with (its feature columns must match the model's, else exit 2; "
        "the label column may be absent; every row gets school_id 'all', so rank_in_school "
        "ranks the whole table; --as-of is only recorded).\n\n"
        "Flags: --threshold P flags probability >= P; --capacity K flags the top K (per "
        "--by group, e.g. school_id); with neither, the operating point recorded in the model at "
        "training (train --capacity ...), else the model's default (tier targeted or "
        "intensive). Reasons go to the flagged students, or everyone with --reasons-for all.\n\n"
        "Drift: the rows are compared with the training profile stored in the model, at "
        "the training snapshot week nearest to --as-of's week of the school year and "
        "re-weighted to today's mix of year groups (the run record names the week), pooled "
        "and per school (each school with at least 10 students against its own training "
        "rows; the run record names the schools, never a student); findings are warnings "
        "in the run record, and with --fail-on-drift exit code 4 with no output written.\n\n"
        "Outputs: the file and <out>.run.json (input sha256, model id and manifest sha256, "
        "versions, row counts, warnings, drift, timings, command line; no student rows). Both "
        "are written atomically: on any failure the previous files stay as they were. The "
        "same inputs give the same prediction bytes; the run record differs only in "
        "started_at, finished_at and timings_s.\n\n" + EXIT_CODES_HELP
    ),
)
def predict(
    *,
    model: ModelFolder,
    as_of: Annotated[str, typer.Option("--as-of", help="Prediction date, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .parquet or .csv.")],
    data: Annotated[Path | None, typer.Option("--data", help=DATA_HELP)] = None,
    features: Annotated[
        Path | None,
        typer.Option("--features", help="Parquet or CSV file of feature rows (instead of --data)."),
    ] = None,
    spec: SpecFile = None,
    flags: Flags,
    allow_missing: Annotated[
        list[str] | None,
        typer.Option("--allow-missing", help="A table (or students column) the model was trained "
                     "with that the data may lack: score anyway, its features missing for every "
                     "student; the run record says so (repeatable)."),
    ] = None,
    reasons: Annotated[
        int, typer.Option("--reasons", min=0, max=20, help="Top N reasons per explained student.")
    ] = 0,
    reasons_for: Annotated[
        str, typer.Option("--reasons-for", help="flagged (default) or all.")
    ] = "flagged",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Students scored at a time.")
    ] = 100_000,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 4, writing nothing, if input drifted.")
    ] = False,
    pseudonymise: Pseudonymise = False,
) -> None:
    import pyarrow.parquet as pq

    from dropoutrisk._atomic import atomic_path
    from dropoutrisk.models import load_bundle
    from dropoutrisk.scoring import score

    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    params = {"model": model, "data": data, "features": features, "spec": spec,
              "as_of": as_of, "out": out,
              "threshold": flags.threshold, "capacity": flags.capacity, "by": flags.by,
              "flag_rate": flags.flag_rate,
              "reasons": reasons or None, "reasons_for": None if reasons_for == "flagged"
              else reasons_for, "chunk_size": None if chunk_size == 100_000 else chunk_size,
              "fail_on_drift": fail_on_drift, "pseudonymise": pseudonymise or None}
    fmt = _check_out(out)
    if (data is None) == (features is None):
        raise typer.BadParameter("give exactly one of --data (canonical tables) and "
                                 "--features (feature rows).", param_hint="--data")
    if spec is not None and data is None:
        raise typer.BadParameter("--spec reads the wide table given with --data TABLE.",
                                 param_hint="--spec")
    if spec is None and data is not None and data.is_file():
        raise typer.BadParameter(
            f"{str(data)!r} is a file: a wide table needs its dataset spec, --spec SPEC.toml; "
            "canonical tables are given as a folder, feature rows with --features.",
            param_hint="--data")
    point = flags.point()  # checked before any work; its errors name the option
    if reasons_for not in ("flagged", "all"):
        raise typer.BadParameter(f"{reasons_for!r}: use flagged or all.",
                                 param_hint="--reasons-for")
    day = parse_date(as_of, "--as-of")
    key = pseudonym_key() if pseudonymise else None  # fail before any work

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    inputs = _input_hashes(data if spec is None else None,
                           data if spec is not None else features)
    if spec is not None and spec.is_file():
        inputs[str(spec)] = sha256_file(spec)
    print(f"Model {bundle.model_id} verified; scoring students enrolled at {day.isoformat()}.",
          flush=True)
    with warnings_to_stderr() as seen:
        if spec is not None:
            from dropoutrisk.cli._cohorts import read_input
            from dropoutrisk.models._rows import wide_rows

            table, dataset_spec, _ = read_input(data, spec)
            source: Any = wide_rows(bundle, table, dataset_spec, require_label=False).X
        elif data is not None:
            from dropoutrisk.io import read_tables

            if data.is_dir():
                _note_semicolon_files(data)
            tables = dict(read_tables(data, combine_attendance=False))
            tables.pop("truth", None)
            source = tables
        else:
            source = _read_features(features, stream=reasons == 0, size=chunk_size)
        # a --by that is not a column raises OperatingPointError, shown as --by (exit 2)
        result = score(
            bundle, source, day, operating_point=point,
            reasons=reasons, reasons_for=reasons_for, chunk_size=chunk_size,
            drift="fail" if fail_on_drift else "warn", progress=_progress(),
            allow_missing=tuple(allow_missing or ()),
        )

    record = {
        "format": "dropoutrisk-run-record",
        "command": _command_line(params),
        "started_at": started_at,
        "inputs": inputs,
        **result.run_record,
        "warnings": list(seen),
    }
    record_path = run_record_path(out)
    try:
        with atomic_path(record_path) as record_tmp:
            with atomic_path(out, suffix=out.suffix) as tmp:
                table = result.to_arrow()
                if key is not None:
                    table = _pseudonymised(table, key)
                if fmt == "parquet":
                    pq.write_table(table, tmp, compression="zstd")
                else:  # repr: the shortest text that reads back as the same float
                    frame = table.to_pandas()
                    frame["probability"] = frame["probability"].map(repr)
                    frame.to_csv(tmp, index=False, lineterminator="\n")
                record["output"] = {"path": str(out), "format": fmt, "sha256": sha256_file(tmp),
                                    "rows": len(result)}
                record["finished_at"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
                text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False,
                                  default=str)
                record_tmp.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {str(out)!r}: {exc.strerror or exc}.",
                                 param_hint="--out") from None

    rows = result.run_record["rows"]
    print(
        f"Scored {rows['scored']} students enrolled at {day.isoformat()} with model "
        f"{bundle.model_id}: {rows['flagged']} flagged. Written to {out}"
    )
    print(f"Run record: {record_path}")
    n_drift = len(result.drift.warnings) if result.drift is not None else 0
    if n_drift:
        ref = result.drift.reference
        against = (f"training snapshot week {ref['week']}" if ref.get("basis") == "snapshot_week"
                   else "the pooled training profile")
        print(f"Drift: {n_drift} finding(s) against {against}; see the run record.")
        schools = result.drift.drifted_schools
        if schools:
            print(f"Drift at {len(schools)} school(s): {', '.join(schools)} (see drift.schools "
                  "in the run record).")


def _pseudonymised(table: Any, key: str) -> Any:
    """The predictions with ``student_id`` replaced by keyed hashes (HMAC-SHA256)."""
    import pyarrow as pa

    from dropoutrisk.fairness import pseudonymise_ids

    ids = table.column("student_id").to_pylist()
    hashed = pa.array(list(pseudonymise_ids(ids, key)), type=pa.string())
    return table.set_column(table.schema.get_field_index("student_id"), "student_id", hashed)
