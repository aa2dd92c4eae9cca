"""audit_report(): a bundle's fairness audit on labelled rows, with its model card, as one folder.

What ``dropoutrisk audit`` runs: the labelled rows of the data
(:func:`~dropoutrisk.models._rows.labelled_rows`, canonical tables or a wide
table), the audit (:func:`~dropoutrisk.fairness.audit`) by the groups asked for,
which may be any column of the input, model feature or not, and the model
card. :meth:`AuditReport.write` swaps the whole folder in at once. No file
holds a student id or a student-level row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dropoutrisk._result import Part, copied
from dropoutrisk.errors import MissingColumnError, ParameterError
from dropoutrisk.report._folder import FolderReport

__all__ = ["AUDIT_FILES", "AuditReport", "audit_report"]

#: Files an audit folder holds.
AUDIT_FILES = ("audit.json", "audit.html", "model_card.md", "model_card.html")


class AuditReport(FolderReport):
    """A fairness audit and the model card, ready to be written as one folder.

    Build it with :func:`audit_report`.
    """

    __slots__ = ("_audit", "_manifest")
    _remedy = "call audit_report() again."
    owned, what = AUDIT_FILES, "a fairness audit"
    audit = Part("The :class:`~dropoutrisk.fairness.Audit` by group and intersection "
                 "(immutable).", convert=None)

    def __init__(self, *, audit: Any, header: dict[str, Any],
                 manifest: Mapping[str, Any]) -> None:
        self._set(audit=audit, header=copied(header), manifest=copied(dict(manifest)))

    def __repr__(self) -> str:
        return (f"AuditReport(model_id={self._header['model_id']!r}, "
                f"groups={self._audit.params['groups']!r})")

    def to_dict(self) -> dict[str, Any]:
        """audit.json: the header and the audit's aggregates (suppressed small cells)."""
        return {**copied(self._header), **self._audit.to_dict()}

    def files(self) -> dict[str, str]:
        """The audit folder: file name -> text."""
        from dropoutrisk.report._model_card import model_card

        h = self._header
        what = (f"cohorts {', '.join(map(str, h['cohorts']))}" if h.get("cohorts")
                else f"the wide table of spec {h.get('dataset_spec')!r}")
        cohorts = h.get("cohorts") or None
        return {
            "audit.json": json.dumps(self.to_dict(), indent=2, allow_nan=False,
                                     ensure_ascii=False) + "\n",
            "audit.html": self._audit.to_html(
                title=f"Fairness audit of model {h['model_id']}, {what}"),
            "model_card.md": model_card(self._manifest, self._audit, audit_cohorts=cohorts),
            "model_card.html": model_card(self._manifest, self._audit, format="html",
                                          audit_cohorts=cohorts),
        }


def audit_report(
    bundle: Any,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    groups: Sequence[str],
    spec: Any = None,
    cohorts: Sequence[int] | None = None,
    weeks: Sequence[int] | None = None,
    days: Sequence[int] | None = None,
    horizon_days: int | None = None,
    operating_point: Any = None,
    intersections: bool | int = True,
    n_boot: int = 1000,
    random_state: int = 0,
    pseudonym_key: str | None = None,
) -> AuditReport:
    """Audit a bundle's flags and calibration by group and intersection, with its model card.

    Parameters
    ----------
    bundle : ModelBundle
        The model, verified by :func:`~dropoutrisk.models.load_bundle`.
    data : mapping of str to DataFrame, or DataFrame
        Validated canonical tables, or with ``spec`` a wide table.
    groups : sequence of str
        The audit groups: any column of the input, model feature or not (a
        feature column, a column of the ``students`` table, a column of the
        wide table by its header; blanks around a header do not matter).
    spec : DatasetSpec, optional
        The dataset spec of a wide table (the model must have been trained on one).
    cohorts : sequence of int
        Canonical tables only, required there: the audited cohorts.
    weeks, days : sequence of int, optional
        Canonical tables only: the snapshot; default the one ``predict``
        scores at, as the bundle records it
        (:attr:`~dropoutrisk.models.ModelBundle.predict_settings`; an older
        bundle: the first one the model was trained at). One row per student
        keeps the bootstrap honest.
    horizon_days : int, optional
        Canonical tables only: the label horizon; default the training one.
    operating_point : OperatingPoint, optional
        Where to flag; default the operating point ``predict`` uses, as the
        bundle records it (else the model's own flags); the audit's
        ``params["operating_point_source"]`` says which. Its ``by`` must be
        a feature column (``school_id``).
    intersections, n_boot, random_state
        See :func:`~dropoutrisk.fairness.audit`.
    pseudonym_key : str, optional
        Replace student ids by keyed hashes (HMAC-SHA256) before the audit.

    Returns
    -------
    AuditReport

    Raises
    ------
    MissingColumnError
        A group that is not a column of the input.
    ParameterError
        No group, or a ``by`` that is not a column of the feature rows.
    IncompatibleModelError
        A wide-table model given canonical tables, or the reverse.

    Examples
    --------
    A whole run is :func:`~dropoutrisk.report.evaluation_report`'s example with
    ``audit_report(bundle, tables, groups=["gender", "programme"], cohorts=[2023])``;
    its folder holds:

    >>> AUDIT_FILES
    ('audit.json', 'audit.html', 'model_card.md', 'model_card.html')

    The groups are checked before any work:

    >>> audit_report(None, {}, groups=[" "])
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.ParameterError: Parameter 'groups' = [' ']: no group column is named. Fix: Name at least one column, e.g. gender.
    """
    from dropoutrisk.fairness import audit, pseudonymise_ids
    from dropoutrisk.models import OperatingPoint
    from dropoutrisk.models._rows import labelled_rows

    names = [str(g) for g in groups]
    if not [g for g in names if g.strip()]:
        raise ParameterError(parameter="groups", value=list(groups),
                             problem="no group column is named",
                             fix="Name at least one column, e.g. gender")
    point = None if operating_point is None else OperatingPoint.from_options(operating_point)
    settings = bundle.predict_settings  # default: where and when predict flags
    if point is None:
        point = settings.operating_point
    if weeks is None and days is None and spec is None:
        weeks = None if settings.weeks is None else list(settings.weeks)
        days = None if settings.days is None else list(settings.days)
    rows = labelled_rows(bundle, data, spec=spec, cohorts=cohorts, weeks=weeks, days=days,
                         horizon_days=horizon_days, what="audit", first_only=True)
    X, y = rows.X, rows.y
    by = None if point is None else point.to_dict().get("by")
    if by is not None and by not in X.columns:
        raise ParameterError(
            parameter="by", value=by, problem="the capacity group is not a column of the "
            "feature rows", allowed="school_id" + ("" if rows.wide else " or another context "
            "column of the features"), fix="Use school_id (a wide table has one school, 'all')")
    group_frame = _group_columns(names, rows)
    if pseudonym_key is not None:
        X = X.set_axis(pseudonymise_ids(X.index, pseudonym_key))
        y = y.set_axis(X.index)
        group_frame = group_frame.set_axis(X.index)
    # given none, audit() takes the bundle's recorded point and says where it came from
    result = audit(bundle, X, y, groups=group_frame, intersections=intersections,
                   operating_point=None if operating_point is None else point, n_boot=n_boot,
                   random_state=random_state)
    trained = dict(bundle.manifest.get("params") or {})
    header = {
        "model_id": bundle.model_id,
        "manifest_sha256": bundle.manifest_sha256,
        "trained_on_cohorts": [int(c) for c in trained.get("cohorts") or []],
        "cohorts": rows.settings.get("cohorts", []),
        "weeks": rows.settings.get("weeks", []),
        "days": rows.settings.get("days"),
        "horizon_days": rows.settings.get("horizon_days", trained.get("horizon_days")),
        "pseudonymised": pseudonym_key is not None,
    }
    if rows.wide:
        header["dataset_spec"] = rows.settings["dataset_spec"]
    return AuditReport(audit=result, header=header, manifest=bundle.manifest)


def _group_columns(names: list[str], rows: Any) -> pd.DataFrame:
    """The group columns by row, each named as asked, from the features or the input."""
    X, inputs = rows.X, rows.inputs
    by_stripped: dict[str, list[str]] = {}
    for column in inputs.columns:
        by_stripped.setdefault(str(column).strip(), []).append(column)
    columns: dict[str, Any] = {}
    unknown = []
    for name in (n for n in names if n.strip()):
        if not rows.wide and name in X.columns:  # a wide table's features carry safe names
            columns[name] = X[name].to_numpy()
            continue
        found = [name] if name in inputs.columns else by_stripped.get(name.strip(), [])
        if len(found) == 1:
            key = name if name in inputs.columns else name.strip()
            columns[key] = inputs[found[0]].to_numpy()
        else:
            unknown.append(name)
    if unknown:
        table = "the wide table" if rows.wide else "features or students"
        available = [str(c) for c in inputs.columns if c not in ("student_id",)]
        if not rows.wide:
            available = sorted(set(available) | {c for c in X.columns if c != "as_of"})
        raise MissingColumnError(
            table=table, column=unknown[0],
            problem=f"the audit group is not a column of the input (unknown: {unknown})",
            allowed="any column of the input: " + ", ".join(repr(c) for c in available[:40])
            + (" ..." if len(available) > 40 else ""),
            fix="Name groups by their column headers, comma separated")
    return pd.DataFrame(columns, index=X.index)
