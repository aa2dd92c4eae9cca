"""Any optional table or students column can be absent: the estimators train and explain."""

import warnings

import pytest

from dropoutrisk.errors import OptionalDataWarning

OPTIONAL_TABLES = ["attendance", "grades", "assessments", "concerns"]
STUDENT_COLUMNS = ["programme_type", "merit_value", "gender", "all"]


@pytest.fixture(scope="module")
def synthetic():
    from dropoutrisk.schema import validate_tables
    from dropoutrisk.synthetic import make_cohorts

    tabs = make_cohorts(400, [2021, 2022], n_schools=3, random_state=2,
                        attendance_formats="canonical")
    return validate_tables({k: tabs[k] for k in ("students", "attendance", "grades",
                                                 "assessments", "concerns", "outcomes")})


def _fit_all(tables):
    from dropoutrisk.explain import explain_students
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.models import ABCRule, LogisticBaseline, RiskModel
    from dropoutrisk.schema import snapshot_dates

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y = build_training_frame(tables, snapshot_dates([2021, 2022], weeks=(10,)))
    keep = y.notna().to_numpy()
    X, y = X[keep], y[keep]
    model = RiskModel(n_estimators=20, random_state=0).fit(X, y)
    LogisticBaseline().fit(X, y).predict_proba(X)
    ABCRule().fit(X, y).predict_proba(X)
    assert model.predict_proba(X).shape == (len(X), 2)
    explain_students(model, X.head(5), lang="sv")
    return model, [w for w in caught if issubclass(w.category, OptionalDataWarning)]


@pytest.mark.parametrize("table", OPTIONAL_TABLES)
def test_without_a_table(synthetic, table):
    tables = dict(synthetic)
    del tables[table]
    model, caught = _fit_all(tables)
    assert len(caught) == 1  # one warning names what is left out
    gone = set(caught[0].message.features)
    assert gone and gone <= set(model.features_left_out_) | {"grade_year"}
    assert not gone & set(model.feature_names_in_)


@pytest.mark.parametrize("column", STUDENT_COLUMNS)
def test_without_a_students_column(synthetic, column):
    tables = dict(synthetic)
    students = tables["students"]
    keep = ["student_id", "cohort", "school_id"]
    drop = [c for c in students.columns if c not in keep] if column == "all" else [column]
    tables["students"] = students.drop(columns=[c for c in drop if c in students.columns])
    model, caught = _fit_all(tables)
    if column != "all":
        assert column in caught[0].message.features
        assert column not in model.feature_names_in_
