"""The wide-table path: dataset specs (TOML) and build_wide_features."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import DatasetSpecError
from dropoutrisk.features import (
    DatasetSpec,
    build_wide_features,
    load_dataset_spec,
    read_wide_table,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

UCI_COLUMNS = [
    "school", "sex", "age", "address", "famsize", "Pstatus", "Medu", "Fedu", "Mjob", "Fjob",
    "reason", "guardian", "traveltime", "studytime", "failures", "schoolsup", "famsup", "paid",
    "activities", "nursery", "higher", "internet", "romantic", "famrel", "freetime", "goout",
    "Dalc", "Walc", "health", "absences", "G1", "G2", "G3",
]


def uci_like() -> pd.DataFrame:
    """Four made-up rows in the UCI Student Performance layout."""
    rows = [
        ["GP", "F", 18, "U", "GT3", "A", 4, 4, "at_home", "teacher", "course", "mother", 2, 2, 0,
         "yes", "no", "no", "no", "yes", "yes", "no", "no", 4, 3, 4, 1, 1, 3, 4, 0, 11, 11],
        ["GP", "M", 17, "R", "LE3", "T", 1, 1, "other", "other", "home", "father", 1, 2, 1,
         "no", "yes", "no", "no", "no", "yes", "yes", "no", 5, 3, 3, 1, 1, 3, 2, 9, 9, 9],
        ["MS", "F", 16, "U", "GT3", "T", 2, 3, "services", "health", "reputation", "mother", 1,
         3, 0, "no", "no", "yes", "yes", "yes", "no", "yes", "yes", 4, 2, 2, 2, 3, 5, 10, 12,
         13, 10],
        ["MS", "M", 19, "R", "GT3", "T", 3, 2, "health", "services", "other", "other", 3, 1, 3,
         "no", "no", "no", "yes", "no", "no", "no", "no", 2, 5, 5, 4, 5, 1, 20, 5, 4, 0],
    ]
    return pd.DataFrame(rows, columns=UCI_COLUMNS)


def test_uci_spec_with_g1_g2():
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance.toml")
    X, y, groups, cat = build_wide_features(uci_like(), spec)
    assert y.tolist() == [0.0, 1.0, 0.0, 1.0]  # G3 < 10
    assert {"G1", "G2"} <= set(X.columns) and "G3" not in X.columns
    assert X.index.tolist() == ["0", "1", "2", "3"] and X.index.name == "student_id"
    assert list(groups.columns) == ["sex", "address", "school"]
    assert groups["sex"].tolist() == ["F", "M", "F", "M"]
    assert X["higher"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert X["sex"].dtype == "category" and list(X["sex"].cat.categories) == ["F", "M"]
    assert X["absences"].dtype == "float64"
    assert "sex" not in cat.model_features() and "sex" in cat.model_features(True)
    assert cat.get("absences").risk_direction == "higher"
    assert cat.names == tuple(X.columns)


def test_uci_spec_without_g1_g2():
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance_no_g1g2.toml")
    res = build_wide_features(uci_like(), spec)
    assert not {"G1", "G2", "G3"} & set(res.X.columns)
    assert res.X.shape == (4, 30)
    assert res.y.tolist() == [0.0, 1.0, 0.0, 1.0]


def test_read_wide_table_uses_the_spec_separator(tmp_path):
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance.toml")
    path = tmp_path / "student.csv"
    uci_like().to_csv(path, sep=";", index=False)
    X, y, _, _ = build_wide_features(read_wide_table(path, spec), spec)
    assert X.shape == (4, 32) and y.sum() == 2


def test_missing_column_is_named():
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance.toml")
    with pytest.raises(DatasetSpecError) as info:
        build_wide_features(uci_like().drop(columns=["famrel"]), spec)
    assert info.value.column == "famrel"
    assert "Table 'uci-student-performance', column 'famrel'" in str(info.value)


def test_unnamed_column_is_refused():
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance.toml")
    with pytest.raises(DatasetSpecError, match="not named in the spec: G4"):
        build_wide_features(uci_like().assign(G4=1), spec)


def test_bad_values_name_rows():
    spec = load_dataset_spec(EXAMPLES / "uci_student_performance.toml")
    frame = uci_like()
    frame["absences"] = frame["absences"].astype(object)
    frame.loc[2, "absences"] = "many"
    with pytest.raises(DatasetSpecError, match=r"row 2 \('many'\)"):
        build_wide_features(frame, spec)
    frame = uci_like()
    frame.loc[1, "sex"] = "X"
    with pytest.raises(DatasetSpecError, match="outside the declared categories"):
        build_wide_features(frame, spec)


def test_positive_values_label_and_id_column():
    spec = DatasetSpec.model_validate({
        "name": "t", "id_column": "sid",
        "label": {"column": "status", "positive": ["dropout"]},
        "features": {"absences": {"dimension": "behavioural", "actionable": True}},
    })
    frame = pd.DataFrame({"sid": [10, 11, 12], "absences": [1, 2, 3],
                          "status": ["dropout", "graduate", None]})
    X, y, groups, _ = build_wide_features(frame, spec)
    assert X.index.tolist() == ["10", "11", "12"]
    assert y.iloc[0] == 1.0 and y.iloc[1] == 0.0 and np.isnan(y.iloc[2])
    assert groups.shape == (3, 0)
    with pytest.raises(DatasetSpecError, match="duplicate ids"):
        build_wide_features(frame.assign(sid=[1, 1, 2]), spec)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\n[label\n', "not valid TOML"),
        ('name = "x"\n[label]\ncolumn = "y"\n[features]\n'
         'a = {dimension = "behavioural", actionable = true}\n', "exactly one of"),
        ('name = "x"\n[label]\ncolumn = "y"\nrule = "about 10"\n[features]\n'
         'a = {dimension = "behavioural", actionable = true}\n', "not understood"),
        ('name = "x"\ndrop = ["a"]\n[label]\ncolumn = "y"\nrule = "< 1"\n[features]\n'
         'a = {dimension = "behavioural", actionable = true}\n', "also drop"),
        ('name = "x"\n[label]\ncolumn = "y"\nrule = "< 1"\n[features]\n'
         'a = {dimension = "mood", actionable = true}\n', "features.a.dimension"),
    ],
)
def test_bad_specs(tmp_path, text, match):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(DatasetSpecError, match=match):
        load_dataset_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(DatasetSpecError, match="does not exist"):
        load_dataset_spec(tmp_path / "nope.toml")
