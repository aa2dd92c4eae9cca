"""The labelled rows a trained bundle is evaluated or audited on, from either way in.

A bundle trained on canonical tables is evaluated on snapshot rows of later
cohorts (:func:`~dropoutrisk.models._train.cohort_frame`), at the snapshots
and horizon it was trained with unless told otherwise. A bundle trained on a
wide table with a dataset spec is evaluated on the labelled rows of a wide
table read with a spec whose feature columns are the training spec's. Giving
one kind of bundle the other kind of data is a model problem (exit code 3)
whose message says what to pass instead (docs/architecture.md, "Data contract").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dropoutrisk.errors import DatasetSpecError, IncompatibleModelError, ParameterError
from dropoutrisk.models._train import SPEC_EXTRA, WIDE_SCHOOL_ID, cohort_frame

__all__ = ["LabelledRows", "check_way_in", "labelled_rows", "trained_snapshots", "wide_rows"]

#: Snapshot weeks of a bundle that records none (trained before they were recorded).
_DEFAULT_WEEKS = (6, 10, 20)


@dataclasses.dataclass(frozen=True)
class LabelledRows:
    """Feature rows and labels of a bundle's evaluation data.

    Attributes
    ----------
    X : DataFrame
        Feature rows (index ``student_id``), as the bundle's model reads them.
    y : Series
        1 for dropout within the horizon, 0 otherwise (unlabelled rows left out).
    inputs : DataFrame
        Every input column by row, named as in the input (for audit groups that
        are not features): the ``students`` table joined on ``student_id`` for
        canonical tables, the table itself for a wide table.
    settings : dict
        What the rows are: ``cohorts``, ``weeks``, ``days`` and ``horizon_days``
        for canonical tables; ``dataset_spec`` (its name) for a wide table.
    """

    X: pd.DataFrame
    y: pd.Series
    inputs: pd.DataFrame
    settings: dict[str, Any]

    @property
    def wide(self) -> bool:
        """Whether the rows come from a wide table."""
        return "dataset_spec" in self.settings


def trained_snapshots(trained: Mapping[str, Any], weeks: Sequence[int] | None = None,
                      days: Sequence[int] | None = None, *,
                      first_only: bool = False) -> tuple[list[int], list[int] | None]:
    """The snapshot weeks (or days after each start) asked for, else those trained at.

    ``first_only`` keeps the first trained snapshot only (one row per student).

    Examples
    --------
    >>> trained_snapshots({"weeks": [6, 20]})
    ([6, 20], None)
    >>> trained_snapshots({"days": [14, 30]}, first_only=True)
    ([], [14])
    >>> trained_snapshots({"weeks": [6, 20]}, days=[30])
    ([], [30])
    """
    if weeks and days:
        raise ParameterError(parameter="days", value=list(days),
                             problem="snapshots are given as weeks and as days",
                             fix="Give weeks or days, not both")
    if days:
        return [], [int(d) for d in days]
    if weeks:
        return [int(w) for w in weeks], None
    trained_days = [int(d) for d in trained.get("days") or []]
    if trained_days:
        return [], trained_days[:1] if first_only else trained_days
    default = (10,) if first_only else _DEFAULT_WEEKS
    trained_weeks = [int(w) for w in trained.get("weeks") or default]
    return (trained_weeks[:1] if first_only else trained_weeks), None


def check_way_in(bundle: Any, spec: Any, *, parameter: str = "model") -> None:
    """Refuse a wide-table bundle given canonical tables, and the reverse (exit code 3).

    ``parameter`` names the bundle in the message (``"against"`` for a
    previous model).
    """
    trained = bundle.extra.get(SPEC_EXTRA)
    who = "the previous model" if parameter == "against" else "the model"
    if trained is not None and spec is None:
        name = (trained.get("spec") or {}).get("name")
        raise IncompatibleModelError(
            f"{parameter} ({who}) {bundle.model_id} was trained on a wide table with the dataset "
            f"spec {name!r}, not on canonical tables: give it a wide table and its spec "
            "(on the command line --data TABLE.csv --spec SPEC.toml; the training spec is "
            f"stored in the model folder as {SPEC_EXTRA}.json), or use a model trained on "
            "canonical tables.", path=str(bundle.path))
    if trained is None and spec is not None:
        raise IncompatibleModelError(
            f"{parameter} ({who}) {bundle.model_id} was trained on canonical tables, not on a "
            "wide table with a dataset spec: give it the folder of canonical tables (on the "
            "command line --data FOLDER without --spec), or train a model with the spec "
            "('dropoutrisk train --data TABLE --spec SPEC.toml').", path=str(bundle.path))


def wide_rows(bundle: Any, frame: pd.DataFrame, spec: Any, *, require_label: bool) -> Any:
    """The :class:`~dropoutrisk.features.WideFeatures` of a wide table, checked against the bundle.

    The spec's feature columns must be those of the training spec (their order
    does not matter: the model selects its columns by name). Every row gets
    ``school_id = "all"`` (a wide table has no school).

    Raises
    ------
    IncompatibleModelError
        The bundle was trained on canonical tables.
    DatasetSpecError
        The spec's feature columns differ from the training spec's.
    """
    from dropoutrisk.features import build_wide_features

    check_way_in(bundle, spec)
    trained = bundle.extra[SPEC_EXTRA]
    want = list(trained.get("feature_columns", []))
    have = list(spec.feature_columns)
    if set(have) != set(want):
        missing = [c for c in want if c not in have]
        extra = [c for c in have if c not in want]
        parts = []
        if missing:
            parts.append("the model's column(s) " + ", ".join(missing) + " are not in the spec")
        if extra:
            parts.append("the spec's column(s) " + ", ".join(extra) + " were not in training")
        raise DatasetSpecError(
            table=f"dataset spec {spec.name!r}", column=(missing + extra + [None])[0],
            problem="its feature columns differ from those the model was trained with: "
                    + "; ".join(parts),
            fix=f"Use the training spec {trained['spec'].get('name')!r} (stored in the model "
                f"folder as {SPEC_EXTRA}.json), or train a model with this spec.")
    built = build_wide_features(frame, spec, require_label=require_label)
    if "school_id" not in built.X.columns:
        built = dataclasses.replace(built, X=built.X.assign(school_id=WIDE_SCHOOL_ID))
    return built


def labelled_rows(
    bundle: Any,
    data: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    spec: Any = None,
    cohorts: Sequence[int] | None = None,
    weeks: Sequence[int] | None = None,
    days: Sequence[int] | None = None,
    horizon_days: int | None = None,
    what: str = "test",
    first_only: bool = False,
) -> LabelledRows:
    """The labelled feature rows of ``data`` for ``bundle``'s model.

    Parameters
    ----------
    bundle : ModelBundle
        A verified bundle (:func:`~dropoutrisk.models.load_bundle`).
    data : mapping of str to DataFrame, or DataFrame
        Validated canonical tables, or with ``spec`` the wide table.
    spec : DatasetSpec, optional
        The dataset spec of a wide table.
    cohorts : sequence of int
        Canonical tables only, required there: the cohorts whose students are the rows.
    weeks, days : sequence of int, optional
        Canonical tables only: snapshot weeks, or days after each start;
        default those the model was trained at.
    horizon_days : int, optional
        Canonical tables only: the label horizon; default the training one.
    what : str, default "test"
        What the cohorts are, for messages ("test", "audit").
    first_only : bool, default False
        Without ``weeks`` and ``days``, use the first trained snapshot only.

    Raises
    ------
    IncompatibleModelError
        A wide-table bundle with canonical tables, or the reverse.
    ParameterError
        ``cohorts`` missing with canonical tables, or given with a wide table.
    DataError
        No labelled row, or a table that does not fit (the message names it).
    """
    check_way_in(bundle, spec)
    if spec is not None:
        for name, given in (("cohorts", cohorts), ("weeks", weeks), ("days", days),
                            ("horizon_days", horizon_days)):
            if given:
                raise ParameterError(parameter=name, value=given,
                                     problem="does not apply to a wide table (a dataset spec "
                                     "is given)", fix="Leave it out: a wide table has one row "
                                     "per student and its label column")
        return _wide_labelled(bundle, data, spec)
    if not cohorts:
        raise ParameterError(parameter="cohorts", value=cohorts,
                             problem="canonical tables need the cohorts to evaluate on",
                             fix="Pass the test cohorts, e.g. 2024")
    trained = dict(bundle.manifest.get("params") or {})
    snapshot_weeks, snapshot_days = trained_snapshots(trained, weeks, days,
                                                      first_only=first_only)
    horizon = int(horizon_days or trained.get("horizon_days") or 365)
    model = bundle.model
    catalogue = getattr(model, "catalogue", None)
    if catalogue is None:
        from dropoutrisk.features import default_catalogue

        catalogue = default_catalogue()
    X, y = cohort_frame(data, list(cohorts), snapshot_weeks, horizon_days=horizon,
                        catalogue=catalogue, what=what, days=snapshot_days,
                        model_features=list(model.feature_names_in_))
    students = data["students"]
    ids = students["student_id"].astype(str)
    inputs = students.assign(student_id=ids).drop_duplicates("student_id").set_index("student_id")
    inputs = inputs.reindex(X.index.astype(str)).set_axis(X.index)
    settings = {"cohorts": list(cohorts), "weeks": snapshot_weeks, "days": snapshot_days,
                "horizon_days": horizon}
    return LabelledRows(X=X, y=y, inputs=inputs, settings=settings)


def _wide_labelled(bundle: Any, frame: pd.DataFrame, spec: Any) -> LabelledRows:
    from dropoutrisk.errors import EmptyTableError

    built = wide_rows(bundle, frame, spec, require_label=True)
    keep = built.y.notna().to_numpy()
    if not keep.any():
        raise EmptyTableError(table=spec.name, column=spec.label.column,
                              problem="no row has a label",
                              fix="Give a table whose label column is filled in")
    inputs = frame.rename(columns=str).set_axis(built.X.index)
    return LabelledRows(X=built.X[keep], y=built.y[keep].astype(int), inputs=inputs[keep],
                        settings={"dataset_spec": spec.name})
