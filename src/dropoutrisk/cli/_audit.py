"""``dropoutrisk audit``: :func:`dropoutrisk.report.audit_report`, written as one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP
from dropoutrisk.cli._cohorts import check_out_folder, pseudonym_key, warnings_to_stderr
from dropoutrisk.cli._options import (
    Bootstrap,
    DataInput,
    Flags,
    ModelFolder,
    Pseudonymise,
    Rows,
    command,
)


@command(
    "audit",
    help=(
        "Audit a model's flags and calibration by group and by intersection of groups, on "
        "labelled cohorts (ideally later than the training ones). Writes audit.json, audit.html "
        "(with plots) and the model card (model_card.md, model_card.html) into --out. Cells "
        "with fewer than 10 students are suppressed in every file. No file holds a student id "
        "or a student-level row.\n\n"
        "By default the audit judges the flags schools see: the operating point and snapshot "
        "week predict uses, as recorded in the model at training (train --capacity ... "
        "--predict-weeks ...); an older model falls back to its default flags at the first "
        "training week, and the report says so.\n\n"
        "Groups may be any column of the input, model feature or not: a feature, a column of "
        "the students table, or with --data TABLE --spec SPEC.toml (a model trained on a wide "
        "table) any column of the wide table, by its header.\n\n"
        "With --pseudonymise, student ids are replaced in memory by a keyed hash "
        "(HMAC-SHA256) whose key is read from the environment variable "
        "DROPOUTRISK_PSEUDONYM_KEY and never stored.\n\n"
        "The folder is written whole: on any failure the previous audit stays as it was.\n\n"
        + EXIT_CODES_HELP
    ),
)
def audit_command(
    *,
    model: ModelFolder,
    data: DataInput,
    groups: Annotated[
        str,
        typer.Option("--groups", help="Audit groups, comma separated: any column of the input, "
                     "e.g. gender,newly_arrived,special_support."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Audit folder.")],
    rows: Rows,
    flags: Flags,
    intersections: Annotated[
        bool, typer.Option("--intersections/--no-intersections", help="Audit intersections.")
    ] = True,
    boot: Bootstrap,
    pseudonymise: Pseudonymise = False,
) -> None:
    from dropoutrisk.models import load_bundle
    from dropoutrisk.report import AUDIT_FILES, audit_report

    selected = rows.options()
    group_list = [g for g in groups.split(",") if g.strip()]
    if not group_list:
        raise typer.BadParameter("name at least one group column.", param_hint="--groups")
    point = flags.point()
    check_out_folder(out, AUDIT_FILES, "a fairness audit")
    key = pseudonym_key() if pseudonymise else None  # fail before any work

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    with warnings_to_stderr():
        source, dataset_spec, _ = rows.read(data)
        report = audit_report(bundle, source, groups=group_list, spec=dataset_spec,
                              operating_point=point, intersections=intersections,
                              pseudonym_key=key, **selected, **boot.options())
    report.write(out)
    result = report.audit
    findings = result.findings
    print(
        f"Audited model {bundle.model_id} on {rows.describe(selected['cohorts'], dataset_spec)} at "
        f"{result.params['operating_point']} ({result.params['operating_point_source']}): "
        f"{len(findings)} findings. Report in {out}"
    )
