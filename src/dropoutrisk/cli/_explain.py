"""``dropoutrisk explain``: one student's report, HTML or JSON, Swedish or English."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import parse_date, read_data, warnings_to_stderr
from dropoutrisk.cli._options import By, Capacity, ModelFolder, TablesFolder, Threshold


@app.command(
    "explain",
    help=(
        "Explain one student's calibrated risk at --as-of and write their report: whether the "
        "student is flagged and their rank in the school, the probability within the model's "
        "horizon and the support tier, the reasons that raise the estimate and the protective "
        "factors, totals per dimension, a waterfall chart and weekly attendance beside the "
        "school median. The report holds that student's data only; school medians are "
        "aggregates over at least 10 students.\n\n"
        "Flags: give the same --threshold or --capacity/--by as 'predict', so that flag, rank "
        "and tier agree with the weekly list; with neither, the model's default threshold."
        "\n\n"
        "Contributions are exact SHAP values of the model: they describe the model, not causes."
        "\n\nThe file is written atomically.\n\n" + EXIT_CODES_HELP
    ),
)
def explain(
    model: ModelFolder,
    data: TablesFolder,
    as_of: Annotated[str, typer.Option("--as-of", help="Assessment date, YYYY-MM-DD.")],
    student: Annotated[str, typer.Option("--student", help="The student's id.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.html or .json).")],
    lang: Annotated[str, typer.Option("--lang", help="Report language: sv or en.")] = "sv",
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="html or json; default from the --out suffix, else html."),
    ] = None,
    top_n: Annotated[
        int, typer.Option("--reasons", min=1, max=20, help="Reasons and protective factors shown.")
    ] = 4,
    threshold: Threshold = None,
    capacity: Capacity = None,
    by: By = None,
) -> None:
    from dropoutrisk._atomic import write_text
    from dropoutrisk.errors import EmptyTableError, OptionalDataWarning
    from dropoutrisk.explain import explain_students
    from dropoutrisk.features import build_features, default_catalogue, require_inputs
    from dropoutrisk.models import OperatingPoint, fingerprint_frame, load_bundle
    from dropoutrisk.report import student_report
    from dropoutrisk.scoring import score

    if lang not in ("sv", "en"):
        raise typer.BadParameter(f"{lang!r} is not a report language; use sv or en.",
                                 param_hint="--lang")
    if fmt is None:
        fmt = "json" if out.suffix.lower() == ".json" else "html"
    if fmt not in ("html", "json"):
        raise typer.BadParameter(f"{fmt!r} is not a report format; use html or json.",
                                 param_hint="--format")
    day = parse_date(as_of, "--as-of")
    # checked before any work; its errors name the option (--capacity, --by, ...)
    point = OperatingPoint.from_options(threshold=threshold, capacity=capacity, by=by)

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    estimator = bundle.model
    catalogue = getattr(estimator, "catalogue", None) or default_catalogue()
    with warnings_to_stderr():
        tables, _ = read_data(data, as_of=day)
        require_inputs(tables, list(estimator.feature_names_in_), catalogue)
        with warnings.catch_warnings():  # what the model needs is there (checked above)
            warnings.simplefilter("ignore", OptionalDataWarning)
            X = build_features(tables, day, catalogue=catalogue)
        if len(X) == 0:
            raise EmptyTableError(
                table="students",
                problem=f"no student is enrolled at {day.isoformat()}",
                fix="Check --as-of against the cohorts in the students table",
            )
        if str(student) not in set(X.index.astype(str)):
            raise typer.BadParameter(
                f"{student!r} is not a student enrolled at {day.isoformat()} in the "
                "students table of --data; check the id and --as-of.", param_hint="--student")
        if by is not None and by not in X.columns:
            raise typer.BadParameter(f"{by!r} is not a column of the features; use school_id.",
                                     param_hint="--by")
        # every student at the date: flags, ranks and medians need them; one is explained
        scored = score(bundle, X, day, operating_point=point,
                       drift="off").predictions.set_index("student_id")
        scored = scored.reindex(X.index.astype(str))
        flags = scored["flag"].to_numpy(dtype=bool)
        explanations = explain_students(estimator, X, [student], top_n=top_n, lang=lang,
                                        flags=flags)
        mine = scored.loc[str(student)]
        school_size = int((scored["school_id"] == mine["school_id"]).sum())
        report = student_report(
            explanations, student,
            attendance=tables.get("attendance"), students=tables.get("students"),
            model_id=bundle.model_id, data_fingerprint=fingerprint_frame(X), lang=lang,
            horizon_days=bundle.manifest.get("params", {}).get("horizon_days", 365),
            operating_point={"threshold": threshold, "capacity": capacity, "by": by},
            rank_in_school=int(mine["rank_in_school"]), school_size=school_size,
        )
    write_text(out, report.to_html() if fmt == "html" else report.to_json() + "\n")
    c = report.content
    flagged = "flagged" if c["flag"] else "not flagged"
    print(f"Explained student {student} at {day.isoformat()} with model {bundle.model_id} "
          f"({flagged}, rank {c['rank_in_school']} of {c['school_size']} at the school; "
          f"probability {c['probability_text']}, {c['tier_text']}). Written to {out}")
