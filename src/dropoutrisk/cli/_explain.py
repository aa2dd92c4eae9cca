"""``dropoutrisk explain``: :func:`dropoutrisk.report.student_reports`, HTML or JSON, sv or en."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import check_out_folder, parse_date, read_input, warnings_to_stderr
from dropoutrisk.cli._options import DataInput, Flags, ModelFolder, SpecFile, command


@command(
    "explain",
    help=(
        "Explain one student's calibrated risk at --as-of and write their report: whether the "
        "student is flagged and their rank in the school, the probability within the model's "
        "horizon and the support tier, the reasons that raise the estimate and the protective "
        "factors, totals per dimension, a waterfall chart and weekly attendance beside the "
        "school median. The report holds that student's data only; school medians are "
        "aggregates over at least 10 students.\n\n"
        "Several students: repeat --student; --out is then a folder with one report per "
        "student (<id>.html or <id>.json), written whole.\n\n"
        "Flags: give the same --threshold, --flag-rate or --capacity/--by as 'predict', so "
        "that flag, rank and tier agree with the weekly list; with none, the model's default "
        "threshold.\n\n"
        "A model trained on a wide table explains rows of a wide table: --data TABLE "
        "--spec SPEC.toml (--student is then the id column's value, or the row number; "
        "--as-of is only recorded).\n\n"
        "Contributions are exact SHAP values of the model: they describe the model, not causes."
        "\n\nThe file is written atomically.\n\n" + EXIT_CODES_HELP
    ),
)
def explain(
    *,
    model: ModelFolder,
    data: DataInput,
    as_of: Annotated[str, typer.Option("--as-of", help="Assessment date, YYYY-MM-DD.")],
    student: Annotated[
        list[str], typer.Option("--student", help="The student's id (repeat for several).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output file (.html or .json); a folder for several "
                           "students.")
    ],
    spec: SpecFile = None,
    lang: Annotated[str, typer.Option("--lang", help="Report language: sv or en.")] = "sv",
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="html or json; default from the --out suffix, else html."),
    ] = None,
    top_n: Annotated[
        int, typer.Option("--reasons", min=1, max=20, help="Reasons and protective factors shown.")
    ] = 4,
    flags: Flags,
) -> None:
    from dropoutrisk._atomic import write_text
    from dropoutrisk.models import load_bundle
    from dropoutrisk.report import StudentReports, student_reports

    if lang not in ("sv", "en"):
        raise typer.BadParameter(f"{lang!r} is not a report language; use sv or en.",
                                 param_hint="--lang")
    folder = len(student) > 1 or out.is_dir()
    if fmt is None:
        fmt = "json" if not folder and out.suffix.lower() == ".json" else "html"
    if fmt not in ("html", "json"):
        raise typer.BadParameter(f"{fmt!r} is not a report format; use html or json.",
                                 param_hint="--format")
    day = parse_date(as_of, "--as-of")
    point = flags.point()
    if folder:
        check_out_folder(out, StudentReports.owned, "a folder of student reports")

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    with warnings_to_stderr():
        source, dataset_spec, _ = read_input(data, spec, as_of=day)
        reports = student_reports(bundle, source, day, student, spec=dataset_spec,
                                  operating_point=point, lang=lang, top_n=top_n)
    if folder:
        reports.write(out, format=fmt)
    else:
        write_text(out, reports.text(student[0], fmt))
    for sid in reports.student_ids:
        c = reports[sid].content
        flagged = "flagged" if c["flag"] else "not flagged"
        print(f"Explained student {sid} at {day.isoformat()} with model {bundle.model_id} "
              f"({flagged}, rank {c['rank_in_school']} of {c['school_size']} at the school; "
              f"probability {c['probability_text']}, {c['tier_text']}).")
    print(f"Written to {out}")
