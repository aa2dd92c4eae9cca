"""Wide tables with any header: spaces, quotes, tabs, non-ASCII, a leading digit."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.features import DatasetSpec, build_wide_features
from dropoutrisk.features._wide import safe_name

HEADERS = ["Marital status", "Mother's qualification", "Daytime/evening attendance\t",
           " Åk 1: betyg ", "2nd sem (grade)", "mother_s_qualification"]


def _table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    grade = rng.normal(12, 3, n)
    risk = 1 / (1 + np.exp(grade - 10))
    return pd.DataFrame({
        "Marital status": rng.integers(1, 4, n),
        "Mother's qualification": rng.integers(1, 30, n),
        "Daytime/evening attendance\t": rng.integers(0, 2, n),
        " Åk 1: betyg ": grade,
        "2nd sem (grade)": grade + rng.normal(0, 1, n),
        "mother_s_qualification": rng.integers(0, 5, n),
        "Target": np.where(rng.random(n) < risk, "Dropout", "Graduate"),
    })


def _spec():
    # the TOML keys as a person writes them: without the stray blanks and tabs
    features = {h.strip(): {"dimension": "academic", "actionable": True,
                            **({"risk_direction": "lower"} if "betyg" in h or "sem" in h else {})}
                for h in HEADERS}
    features["Daytime/evening attendance"]["kind"] = "binary"
    return DatasetSpec.model_validate({"name": "uci-like", "label": {
        "column": "Target", "positive": ["Dropout"]}, "features": features})


def test_safe_names_are_identifiers_and_unique():
    names = _spec().internal_names
    assert len(set(names.values())) == len(names)
    assert all(n.isidentifier() and n.isascii() for n in names.values())
    # a header that is already a plain name keeps it; the folded one steps aside
    assert names["mother_s_qualification"] == "mother_s_qualification"
    assert names["Mother's qualification"] == "mother_s_qualification_2"
    assert safe_name("") == "column"


def test_features_keep_the_original_names_for_people():
    X, y, _, catalogue = build_wide_features(_table(), _spec())
    assert list(X.columns) == list(_spec().internal_names.values())
    assert catalogue.get("ak_1_betyg").description_en == "Åk 1: betyg"
    assert catalogue.get("mother_s_qualification_2").template_en.startswith(
        "Mother's qualification: ")
    assert X["daytime_evening_attendance"].isin([0.0, 1.0]).all()


def test_train_and_score_with_the_original_headers(tmp_path):
    from dropoutrisk.explain import explain_students
    from dropoutrisk.models import load_bundle, train_model

    result = train_model(_table(), tmp_path / "model", spec=_spec(),
                         model_params={"n_estimators": 40})
    bundle = load_bundle(tmp_path / "model")
    X, _, _, _ = build_wide_features(_table(200, seed=1), _spec(), require_label=False)
    ex = explain_students(bundle.model, X.head(30), lang="en")
    lines = pd.concat([ex.reasons, ex.protective])
    assert lines["sentence"].str.contains("Åk 1: betyg|2nd sem \\(grade\\)").any()
    assert result.bundle.path == tmp_path / "model"


@pytest.mark.parametrize("bad", ["Marital status", "Target"])
def test_a_missing_header_is_named(bad):
    from dropoutrisk.errors import DatasetSpecError

    with pytest.raises(DatasetSpecError, match=bad):
        build_wide_features(_table().drop(columns=[bad]), _spec())
