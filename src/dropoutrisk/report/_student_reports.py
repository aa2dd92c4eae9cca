"""student_reports(): explain a set of students at a date, one report each, as one result.

What ``dropoutrisk explain`` runs. Every student enrolled at ``as_of`` is
scored (flags, ranks and school medians need them all) at the operating point
``predict`` uses; the students asked for are explained with exact SHAP values
and get their own report (:func:`~dropoutrisk.report.student_report`), which
holds that student's data only. :class:`StudentReports` writes one report as
a file, or several as one folder swapped in whole.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from dropoutrisk.errors import EmptyTableError, OptionalDataWarning, ParameterError
from dropoutrisk.report._folder import FolderReport

__all__ = ["REPORT_FORMATS", "StudentReports", "student_reports"]

#: The formats a report is written in.
REPORT_FORMATS = ("html", "json")
#: A file name that a student's report folder holds: ``<id>.html`` or ``<id>.json``.
_REPORT_FILE = re.compile(r"^[^./][^/]*\.(html|json)$")


class StudentReports(FolderReport):
    """The reports of the students explained, by student id, in the order asked.

    Build it with :func:`student_reports`. One report is written as a file
    (:meth:`text`), several as a folder of ``<id>.html`` or ``<id>.json``
    (:meth:`write`, swapped in whole).
    """

    __slots__ = ("_reports",)
    _remedy = "call student_reports() again."
    what = "a folder of student reports"

    def __init__(self, *, reports: Mapping[str, Any], header: dict[str, Any]) -> None:
        self._set(reports=dict(reports), header=dict(header))

    def __repr__(self) -> str:
        return f"StudentReports({self._header!r}, n={len(self._reports)})"

    def __len__(self) -> int:
        return len(self._reports)

    def __getitem__(self, student_id: str) -> Any:
        return self._reports[str(student_id)]

    @staticmethod
    def owned(name: str) -> bool:
        """Whether ``name`` is a file a folder of student reports holds."""
        return bool(_REPORT_FILE.match(name))

    @property
    def student_ids(self) -> list[str]:
        """The ids explained, in the order asked."""
        return list(self._reports)

    def to_dict(self) -> dict[str, Any]:
        """Each student's report content (that student's data only), by id."""
        return {sid: report.to_dict() for sid, report in self._reports.items()}

    def text(self, student_id: str, format: Literal["html", "json"] = "html") -> str:
        """One student's report as HTML, or JSON (with a final newline)."""
        _check_format(format)
        report = self[student_id]
        return report.to_html() if format == "html" else report.to_json() + "\n"

    def files(self, format: Literal["html", "json"] = "html") -> dict[str, str]:
        """A folder of reports: ``<id>.<format>`` -> text, one file per student.

        An id that is not a safe file name (a path separator, a leading dot)
        is refused.
        """
        _check_format(format)
        out = {}
        for sid in self._reports:
            name = f"{sid}.{format}"
            if not self.owned(name) or "\\" in name:
                raise ParameterError(
                    parameter="student", value=sid, problem="the id cannot be a file name "
                    "(it holds a path separator or starts with a dot)",
                    fix="Explain this student alone, into a file (--out FILE.html)")
            out[name] = self.text(sid, format)
        return out


def _check_format(format: str) -> None:
    if format not in REPORT_FORMATS:
        raise ParameterError(parameter="format", value=format, problem="not a report format",
                             allowed="html or json")


def student_reports(
    bundle: Any,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    as_of: Any,
    students: Sequence[Any],
    *,
    spec: Any = None,
    operating_point: Any = None,
    lang: Literal["sv", "en"] = "sv",
    top_n: int = 4,
) -> StudentReports:
    """Explain ``students`` at ``as_of`` with ``bundle``'s model: one report each.

    Parameters
    ----------
    bundle : ModelBundle
        The model, verified by :func:`~dropoutrisk.models.load_bundle`.
    data : mapping of str to DataFrame, or DataFrame
        Canonical tables validated at ``as_of`` (events before it only), or
        with ``spec`` a wide table (one row per student; ``as_of`` is recorded).
    as_of : date-like
        The assessment date.
    students : sequence of str
        The ids to explain; each must be enrolled at ``as_of`` (a row of the
        wide table).
    spec : DatasetSpec, optional
        The dataset spec of a wide table (the model must have been trained on one).
    operating_point : OperatingPoint, optional
        The same as ``predict``'s, so that flag, rank and tier agree with the
        weekly list; default the model's own flags.
    lang : {"sv", "en"}, default "sv"
    top_n : int, default 4
        Reasons and protective factors shown.

    Returns
    -------
    StudentReports

    Raises
    ------
    ParameterError
        A student not enrolled at ``as_of``, a ``by`` that is not a column, a
        language that is not sv or en.
    IncompatibleModelError
        A wide-table model given canonical tables, or the reverse.
    EmptyTableError
        No student is enrolled at ``as_of``.

    Examples
    --------
    With the bundle and tables of :func:`~dropoutrisk.report.evaluation_report`'s
    example, ``student_reports(bundle, tables, "2023-11-01", ["s1", "s2"], lang="en")``
    explains two students; ``.write(folder)`` writes them as:

    >>> StudentReports.owned("s1.html"), StudentReports.owned("notes.txt")
    (True, False)

    The options are checked before any work:

    >>> student_reports(None, {}, "2023-11-01", ["s1"], lang="de")
    Traceback (most recent call last):
    ...
    dropoutrisk.errors.ParameterError: Parameter 'lang' = 'de': not a report language. Allowed: sv or en.
    """
    from dropoutrisk.explain import explain_students
    from dropoutrisk.models import OperatingPoint, fingerprint_frame
    from dropoutrisk.report._student import student_report
    from dropoutrisk.schema import parse_as_of
    from dropoutrisk.scoring import score

    if lang not in ("sv", "en"):
        raise ParameterError(parameter="lang", value=lang, problem="not a report language",
                             allowed="sv or en")
    day = parse_as_of(as_of).date()
    wanted = [str(s) for s in students]
    if not wanted:
        raise ParameterError(parameter="student", value=list(students),
                             problem="no student to explain", fix="Name at least one student id")
    point = None if operating_point is None else OperatingPoint.from_options(operating_point)
    X = _features(bundle, data, day, spec)
    enrolled = set(X.index.astype(str))
    unknown = [s for s in wanted if s not in enrolled]
    if unknown:
        where = ("a row of the wide table" if spec is not None
                 else f"a student enrolled at {day.isoformat()} in the students table")
        raise ParameterError(
            parameter="student", message=f"{unknown[0]!r} is not {where}"
            + (f" (nor {len(unknown) - 1} more of the ids asked for)" if len(unknown) > 1 else "")
            + "; check the id" + ("" if spec is not None else " and --as-of") + ".")
    by = None if point is None else point.to_dict().get("by")
    if by is not None and by not in X.columns:
        raise ParameterError(parameter="by", value=by, problem="not a column of the features",
                             allowed="school_id")
    # every student at the date: flags, ranks and medians need them; the asked ones are explained
    scored = score(bundle, X, day, operating_point=point,
                   drift="off").predictions.set_index("student_id")
    scored = scored.reindex(X.index.astype(str))
    explanations = explain_students(bundle.model, X, wanted, top_n=top_n, lang=lang,
                                    flags=scored["flag"].to_numpy(dtype=bool))
    tables = {} if spec is not None else data
    chosen = {} if point is None else point.to_dict()
    horizon = (bundle.manifest.get("params") or {}).get("horizon_days", 365)
    fingerprint = fingerprint_frame(X)
    reports = {}
    for sid in wanted:
        mine = scored.loc[sid]
        reports[sid] = student_report(
            explanations, sid, attendance=tables.get("attendance"),
            students=tables.get("students"), model_id=bundle.model_id,
            data_fingerprint=fingerprint, lang=lang, horizon_days=horizon,
            operating_point={k: chosen.get(k) for k in ("threshold", "capacity", "by")},
            rank_in_school=int(mine["rank_in_school"]),
            school_size=int((scored["school_id"] == mine["school_id"]).sum()))
    return StudentReports(reports=reports,
                          header={"model_id": bundle.model_id, "as_of": day.isoformat()})


def _features(bundle: Any, data: Any, day: dt.date, spec: Any) -> pd.DataFrame:
    """The feature rows of every student at ``day`` (or of every row of a wide table)."""
    from dropoutrisk.features import build_features, default_catalogue, require_inputs
    from dropoutrisk.models._rows import check_way_in, wide_rows

    if spec is not None:
        return wide_rows(bundle, data, spec, require_label=False).X
    check_way_in(bundle, None)
    model = bundle.model
    catalogue = getattr(model, "catalogue", None) or default_catalogue()
    require_inputs(data, list(model.feature_names_in_), catalogue)
    with warnings.catch_warnings():  # what the model needs is there (checked above)
        warnings.simplefilter("ignore", OptionalDataWarning)
        X = build_features(data, day, catalogue=catalogue)
    if len(X) == 0:
        raise EmptyTableError(table="students",
                              problem=f"no student is enrolled at {day.isoformat()}",
                              fix="Check --as-of against the cohorts in the students table")
    return X
