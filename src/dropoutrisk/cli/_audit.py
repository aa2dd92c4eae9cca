"""``dropoutrisk audit``: :func:`dropoutrisk.report.audit_report`, written as one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    check_out_folder,
    parse_cohorts,
    pseudonym_key,
    read_input,
    snapshot_options,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import (
    By,
    Capacity,
    Cohorts,
    DataInput,
    Days,
    FlagRate,
    HorizonDays,
    ModelFolder,
    NBoot,
    Pseudonymise,
    Seed,
    SpecFile,
    Threshold,
    Weeks,
)


@app.command(
    "audit",
    help=(
        "Audit a model's flags and calibration by group and by intersection of groups, on "
        "labelled cohorts (ideally later than the training ones). Writes audit.json, audit.html "
        "(with plots) and the model card (model_card.md, model_card.html) into --out. Cells "
        "with fewer than 10 students are suppressed in every file. No file holds a student id "
        "or a student-level row.\n\n"
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
    model: ModelFolder,
    data: DataInput,
    groups: Annotated[
        str,
        typer.Option("--groups", help="Audit groups, comma separated: any column of the input, "
                     "e.g. gender,newly_arrived,special_support."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Audit folder.")],
    cohorts: Cohorts = None,
    spec: SpecFile = None,
    weeks: Weeks = None,
    days: Days = None,
    horizon_days: HorizonDays = None,
    threshold: Threshold = None,
    flag_rate: FlagRate = None,
    capacity: Capacity = None,
    by: By = None,
    intersections: Annotated[
        bool, typer.Option("--intersections/--no-intersections", help="Audit intersections.")
    ] = True,
    n_boot: NBoot = 1000,
    seed: Seed = 0,
    pseudonymise: Pseudonymise = False,
) -> None:
    from dropoutrisk.models import OperatingPoint, load_bundle
    from dropoutrisk.report import AUDIT_FILES, audit_report

    if spec is None and cohorts is None:
        raise typer.BadParameter("--cohorts is required with canonical tables (a folder); "
                                 "a wide table file takes --spec instead.", param_hint="--cohorts")
    audit_cohorts = None if cohorts is None else parse_cohorts(cohorts)
    group_list = [g for g in groups.split(",") if g.strip()]
    if not group_list:
        raise typer.BadParameter("name at least one group column.", param_hint="--groups")
    snapshots = snapshot_options(weeks, days)
    # checked before any work; its errors name the option (--capacity, --by, ...)
    point = OperatingPoint.from_options(threshold=threshold, flag_rate=flag_rate,
                                        capacity=capacity, by=by)
    check_out_folder(out, AUDIT_FILES, "a fairness audit")
    key = pseudonym_key() if pseudonymise else None  # fail before any work

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    with warnings_to_stderr():
        source, dataset_spec, _ = read_input(data, spec, cohorts=cohorts)
        report = audit_report(bundle, source, groups=group_list, spec=dataset_spec,
                              cohorts=audit_cohorts, horizon_days=horizon_days,
                              operating_point=point, intersections=intersections,
                              n_boot=n_boot, random_state=seed, pseudonym_key=key, **snapshots)
    report.write(out)
    result = report.audit
    findings = result.findings
    what = (f"cohorts {audit_cohorts}" if dataset_spec is None
            else f"the wide table of spec {dataset_spec.name!r}")
    print(
        f"Audited model {bundle.model_id} on {what} at "
        f"{result.params['operating_point']}: {len(findings)} findings, "
        f"{int(findings['excludes_parity'].sum())} with an interval excluding parity. "
        f"Report in {out}"
    )
