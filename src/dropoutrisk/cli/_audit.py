"""``dropoutrisk audit``: the fairness audit of a model on cohorts, with its model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dropoutrisk.cli._app import EXIT_CODES_HELP, app
from dropoutrisk.cli._cohorts import (
    cohort_frame,
    parse_cohorts,
    pseudonym_key,
    read_data,
    snapshots_of,
    warnings_to_stderr,
)
from dropoutrisk.cli._options import By, Capacity, HorizonDays, ModelFolder, TablesFolder, Threshold

#: Files an audit run writes into ``--out``.
AUDIT_FILES = ("audit.json", "audit.html", "model_card.md", "model_card.html")


@app.command(
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
        "With --pseudonymise, student ids are replaced in memory by a keyed hash "
        "(HMAC-SHA256) whose key is read from the environment variable "
        "DROPOUTRISK_PSEUDONYM_KEY and never stored.\n\n" + EXIT_CODES_HELP
    ),
)
def audit_command(
    model: ModelFolder,
    data: TablesFolder,
    cohorts: Annotated[str, typer.Option("--cohorts", help="Cohorts to audit: 2024 or 2023-2024.")],
    groups: Annotated[
        str,
        typer.Option("--groups", help="Audit groups, comma separated, e.g. "
                     "gender,newly_arrived,special_support."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Audit folder.")],
    weeks: Annotated[
        str | None,
        typer.Option("--weeks", help="Snapshot weeks; default: the week predict scores at, as "
                     "recorded in the model (else the first week it was trained at; one "
                     "snapshot per student keeps the bootstrap honest)."),
    ] = None,
    days: Annotated[
        str | None,
        typer.Option("--days", help="Snapshot days after each student's start; default: as "
                     "recorded in the model, when it was trained that way."),
    ] = None,
    horizon_days: HorizonDays = None,
    threshold: Threshold = None,
    flag_rate: Annotated[
        float | None,
        typer.Option("--flag-rate", help="Flag this share of students."),
    ] = None,
    capacity: Capacity = None,
    by: By = None,
    intersections: Annotated[
        bool, typer.Option("--intersections/--no-intersections", help="Audit intersections.")
    ] = True,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    pseudonymise: Annotated[
        bool, typer.Option("--pseudonymise", help="Replace student ids by keyed hashes.")
    ] = False,
) -> None:
    from dropoutrisk._atomic import check_folder_replaceable, write_folder
    from dropoutrisk.features import default_catalogue
    from dropoutrisk.models import OperatingPoint, load_bundle

    audit_cohorts = parse_cohorts(cohorts)
    group_list = [g.strip() for g in groups.split(",") if g.strip()]
    if not group_list:
        raise typer.BadParameter("name at least one group column.", param_hint="--groups")
    # checked before any work; its errors name the option (--capacity, --by, ...)
    operating_point = OperatingPoint.from_options(threshold=threshold, flag_rate=flag_rate,
                                                  capacity=capacity, by=by)
    try:  # before any work: never replace a folder that is not an earlier audit
        check_folder_replaceable(out, AUDIT_FILES, "a fairness audit")
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    key = pseudonym_key() if pseudonymise else None  # fail before any work

    bundle = load_bundle(model)  # model problems exit 3 before any data is read
    trained = dict(bundle.manifest.get("params") or {})
    settings = bundle.predict_settings  # default: where and when predict flags
    if weeks is None and days is None:
        weeks = ",".join(map(str, settings.weeks)) if settings.weeks else None
        days = ",".join(map(str, settings.days)) if settings.days else None
    snapshot_weeks, snapshot_days = snapshots_of(weeks, days, trained, first_only=True)
    horizon = int(horizon_days or trained.get("horizon_days") or 365)
    catalogue = getattr(bundle.model, "catalogue", None) or default_catalogue()
    _check_groups(group_list, catalogue, "--groups")
    if by:
        _check_groups([by], catalogue, "--by")

    from dropoutrisk.fairness import audit
    from dropoutrisk.report import model_card

    with warnings_to_stderr():
        tables, _ = read_data(data)
        X, y = cohort_frame(tables, audit_cohorts, snapshot_weeks, horizon_days=horizon,
                            catalogue=catalogue, what="audit", days=snapshot_days,
                            model_features=list(bundle.model.feature_names_in_))
        if key is not None:
            from dropoutrisk.fairness import pseudonymise_ids

            X.index = pseudonymise_ids(X.index, key)
            y.index = X.index
        result = audit(bundle, X, y, groups=group_list, intersections=intersections,
                       operating_point=operating_point, n_boot=n_boot, random_state=seed)

    header = {
        "model_id": bundle.model_id,
        "manifest_sha256": bundle.manifest_sha256,
        "trained_on_cohorts": [int(c) for c in trained.get("cohorts") or []],
        "cohorts": audit_cohorts,
        "weeks": snapshot_weeks,
        "days": snapshot_days,
        "horizon_days": horizon,
        "pseudonymised": key is not None,
    }
    document = {**header, **result.to_dict()}
    manifest = dict(bundle.manifest)
    files = {
        "audit.json": json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False) + "\n",
        "audit.html": result.to_html(title=f"Fairness audit of model {bundle.model_id}, "
                                     f"cohorts {', '.join(map(str, audit_cohorts))}"),
        "model_card.md": model_card(manifest, result, audit_cohorts=audit_cohorts),
        "model_card.html": model_card(manifest, result, format="html",
                                      audit_cohorts=audit_cohorts),
    }
    write_folder(out, files)  # whole: a failure leaves the previous audit as it was
    findings = result.findings
    print(
        f"Audited model {bundle.model_id} on cohorts {audit_cohorts} at "
        f"{result.params['operating_point']} ({result.params['operating_point_source']}), "
        + (f"weeks {snapshot_weeks}" if snapshot_weeks else f"days {snapshot_days}")
        + f": {len(findings)} findings. Report in {out}"
    )


def _check_groups(columns: list[str], catalogue: Any, option: str) -> None:
    """Fail before reading data when a group is not a column the features will have."""
    from dropoutrisk.errors import MissingColumnError
    from dropoutrisk.features import CONTEXT_COLUMNS

    known = set(catalogue.names) | set(CONTEXT_COLUMNS)
    unknown = [c for c in columns if c not in known]
    if unknown:
        background = sorted(set(catalogue.model_features(include_background=True))
                            - set(catalogue.model_features(include_background=False)))
        raise MissingColumnError(
            table="features", column=unknown[0],
            problem=f"the {option} column is not a feature (unknown: {unknown})",
            allowed=f"feature or context columns; background groups: {', '.join(background)}",
            fix=f"Pass {option} with names from the catalogue, e.g. "
            + ("school_id" if option == "--by" else "gender,newly_arrived,special_support"),
        )
