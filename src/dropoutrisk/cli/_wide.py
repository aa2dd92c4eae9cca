"""The wide-table path of ``predict``: one row per student plus a dataset spec.

``train --data TABLE --spec SPEC.toml`` is
:func:`dropoutrisk.models.train_model` with ``spec=``: it holds out
``--calib-share`` of the rows for the calibrator, skips the ABC rule when its
columns are absent and stores the spec in the bundle (``dataset_spec.json``).

``predict --data TABLE --spec SPEC.toml``: the label column may be absent.
The spec's feature columns must be those of the training spec (else exit 2,
naming the columns). Wide tables have no school, so every row gets
``school_id = "all"`` (:data:`WIDE_SCHOOL_ID`): ``rank_in_school`` is the rank
in the whole table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dropoutrisk.models._train import SPEC_EXTRA, WIDE_SCHOOL_ID

__all__ = ["SPEC_EXTRA", "WIDE_SCHOOL_ID", "wide_features"]


def wide_features(bundle: Any, data: Path, spec_path: Path) -> Any:
    """Feature rows of a wide table for ``score``, checked against the model's training spec."""
    from dropoutrisk.errors import DatasetSpecError, ModelError
    from dropoutrisk.features import build_wide_features, load_dataset_spec, read_wide_table

    spec = load_dataset_spec(spec_path)
    trained = bundle.extra.get(SPEC_EXTRA)
    if trained is None:
        raise ModelError(
            f"The model {bundle.model_id} was trained on canonical tables, not on a wide table "
            "with a dataset spec: score it with --data FOLDER or --features FILE, or train a "
            "model with --spec.", path=str(bundle.path))
    want = list(trained.get("feature_columns", []))
    have = list(spec.feature_columns)
    if set(have) != set(want):  # the model selects its columns by name: order does not matter
        missing = [c for c in want if c not in have]
        extra = [c for c in have if c not in want]
        parts = []
        if missing:
            parts.append("the model's column(s) " + ", ".join(missing) + " are not in the spec")
        if extra:
            parts.append("the spec's column(s) " + ", ".join(extra) + " were not in training")
        raise DatasetSpecError(
            table=f"dataset spec {spec_path.name}", column=(missing + extra + [None])[0],
            problem="its feature columns differ from those the model was trained with: "
                    + "; ".join(parts),
            fix=f"Use the training spec {trained['spec'].get('name')!r} (stored in the model "
                f"folder as {SPEC_EXTRA}.json), or train a model with this spec.")
    X, _, _, _ = build_wide_features(read_wide_table(data, spec), spec, require_label=False)
    if "school_id" not in X.columns:
        X = X.assign(school_id=WIDE_SCHOOL_ID)
    return X
