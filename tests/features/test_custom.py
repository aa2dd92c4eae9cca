"""Indicators of your own: a TOML file adds a students column and event aggregates."""

import textwrap

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import IndicatorFileError, MissingColumnError, OptionalDataWarning
from dropoutrisk.features import build_features, default_catalogue, load_indicators

from .feature_tables import AS_OF, assert_same_features

FILE = textwrap.dedent('''
    [[indicators]]
    name = "studied_credits"
    dimension = "academic"
    description_en = "Credits studied"
    description_sv = "Studerade poäng"
    actionable = false
    risk_direction = "higher"
    unit = "points"
    source = { table = "students", column = "credits" }

    [[indicators]]
    name = "vle_clicks_2w"
    dimension = "behavioural"
    description_en = "VLE clicks over the last 2 weeks"
    description_sv = "Klick i lärplattformen de senaste 2 veckorna"
    actionable = true
    risk_direction = "lower"
    unit = "count"
    source = { table = "activity", aggregate = "sum", value = "count", where = { kind = "vle_click" }, window_days = 14 }

    [[indicators]]
    name = "absence_concerns"
    dimension = "behavioural"
    description_en = "Concern reports about absence"
    description_sv = "Orosanmälningar om frånvaro"
    actionable = true
    risk_direction = "higher"
    unit = "count"
    source = { table = "concerns", aggregate = "count", where = { category = "absence" } }

    [[indicators]]
    name = "days_since_login"
    dimension = "behavioural"
    description_en = "Days since the last login"
    description_sv = "Dagar sedan senaste inloggningen"
    actionable = true
    risk_direction = "higher"
    unit = "days"
    source = { table = "activity", aggregate = "days_since_last", where = { kind = ["login", "sso"] } }
''')


@pytest.fixture
def catalogue(tmp_path):
    path = tmp_path / "indicators.toml"
    path.write_text(FILE, encoding="utf-8")
    return load_indicators(path)


@pytest.fixture
def own_tables(tables):
    tables["students"] = tables["students"].assign(credits=[60.0, 120.0, 30.0, 60.0, np.nan])
    login = pd.DataFrame({"student_id": ["s2", "s2"], "kind": ["login", "vle_click"],
                          "date": pd.to_datetime(["2024-10-30", "2024-11-02"]),
                          "count": [1.0, 7.0]})
    tables["activity"] = pd.concat([tables["activity"], login], ignore_index=True)
    return tables


def test_the_file_extends_the_catalogue(catalogue):
    assert catalogue.names[: len(default_catalogue())] == default_catalogue().names
    ind = catalogue.get("vle_clicks_2w")
    assert (ind.source_table, ind.window) == ("activity", "last 14 days")
    assert ind.template_en == "VLE clicks over the last 2 weeks: {value} ({reference})."
    assert "`vle_clicks_2w`" in catalogue.to_markdown()  # the data dictionary lists it


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_values_by_hand(own_tables, catalogue, engine):
    X = build_features(own_tables, AS_OF, catalogue=catalogue, engine=engine)
    assert X.loc["s1", "studied_credits"] == 60.0 and np.isnan(X.loc["s5", "studied_credits"])
    # s1: Mondays 10-21 and 10-28 (10 each) and 3 + 2 on 11-01; s2: 7 on 11-02
    assert X.loc["s1", "vle_clicks_2w"] == 25.0 and X.loc["s2", "vle_clicks_2w"] == 7.0
    assert X.loc["s5", "vle_clicks_2w"] == 0.0  # no events: a count of zero
    # concerns: s1 has one about absence (10-20) and one about wellbeing; s2's is from June,
    # before the school year (the window is since the start)
    assert X.loc["s1", "absence_concerns"] == 1.0 and X.loc["s2", "absence_concerns"] == 0.0
    assert X.loc["s2", "days_since_login"] == 5.0
    assert X.loc["s1", "days_since_login"] == 77.0  # never logged in: since the start


def test_engines_agree(own_tables, catalogue):
    assert_same_features(build_features(own_tables, AS_OF, catalogue=catalogue, engine="pandas"),
                         build_features(own_tables, AS_OF, catalogue=catalogue, engine="duckdb"),
                         tol=0.0)


def test_an_absent_column_or_table_is_left_out_with_one_warning(tables, catalogue):
    del tables["activity"]
    with pytest.warns(OptionalDataWarning) as caught:
        X = build_features(tables, AS_OF, catalogue=catalogue)
    assert len([w for w in caught if w.category is OptionalDataWarning]) == 1
    gone = caught[0].message.features
    assert {"studied_credits", "vle_clicks_2w", "days_since_login", "activity_count"} <= set(gone)
    assert "absence_concerns" not in gone
    assert X[["studied_credits", "vle_clicks_2w"]].isna().all().all()


@pytest.mark.parametrize(("entry", "field"), [
    ('source = { table = "lessons", aggregate = "count" }', "lessons"),
    ('source = { table = "activity", aggregate = "sum" }', "needs value"),
    ('source = { table = "activity", aggregate = "count", where = { course = "x" } }', "course"),
    ('source = { table = "students", aggregate = "count" }', "aggregate"),
    ('risk_direction = "up"\nsource = { table = "students" }', "risk_direction"),
    ('', "source"),
])
def test_bad_indicators_name_the_indicator_and_field(tmp_path, entry, field):
    base = ('[[indicators]]\nname = "x1"\ndimension = "academic"\nactionable = true\n'
            'description_en = "X"\ndescription_sv = "X"\n')
    if "risk_direction" not in entry:
        base += 'risk_direction = "higher"\n'
    path = tmp_path / "bad.toml"
    path.write_text(base + entry + "\n", encoding="utf-8")
    with pytest.raises(IndicatorFileError, match="x1") as err:
        load_indicators(path)
    assert field in str(err.value) and "bad.toml" in str(err.value)


def test_bad_files(tmp_path):
    with pytest.raises(IndicatorFileError, match="does not exist"):
        load_indicators(tmp_path / "none.toml")
    (tmp_path / "broken.toml").write_text("[[indicators]\n", encoding="utf-8")
    with pytest.raises(IndicatorFileError, match="not valid TOML"):
        load_indicators(tmp_path / "broken.toml")
    (tmp_path / "dupe.toml").write_text(
        FILE.replace('name = "studied_credits"', 'name = "attendance_rate"'), encoding="utf-8")
    with pytest.raises(IndicatorFileError, match="already in the catalogue"):
        load_indicators(tmp_path / "dupe.toml")


def test_an_own_indicator_reaches_the_model_the_reasons_and_the_bundle(tmp_path):
    from dropoutrisk.explain import explain_students
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.models import RiskModel, load_bundle, save_model
    from dropoutrisk.schema import snapshot_dates, validate_tables
    from dropoutrisk.scoring import score
    from dropoutrisk.synthetic import make_cohorts

    tabs = make_cohorts(900, [2021, 2022], n_schools=3, random_state=5,
                        attendance_formats="canonical")
    tables = validate_tables({k: tabs[k] for k in ("students", "attendance", "grades",
                                                   "assessments", "concerns", "outcomes")})
    # a column that knows who drops out: the model must use it, and the reasons name it
    dropped = set(tables["outcomes"].loc[tables["outcomes"]["event"] == "dropout", "student_id"])
    rng = np.random.default_rng(0)
    warn = tables["students"]["student_id"].isin(dropped) & (rng.random(len(tables["students"])) < 0.8)
    tables["students"] = tables["students"].assign(mentor_alerts=np.where(warn, 3.0, 0.0))
    cat = load_indicators([{
        "name": "mentor_alerts", "dimension": "socio_emotional", "actionable": True,
        "description_en": "Alerts raised by the mentor", "description_sv": "Mentorns larm",
        "risk_direction": "higher", "unit": "count", "source": {"table": "students"}}])
    X, y = build_training_frame(tables, snapshot_dates([2021], weeks=(10,)), catalogue=cat)
    keep = y.notna().to_numpy()
    model = RiskModel(catalogue=cat, n_estimators=60, min_child_samples=5, random_state=0)
    model.fit(X[keep], y[keep])
    assert "mentor_alerts" in model.feature_names_in_
    assert model.booster_.feature_importance()[list(model.feature_names_in_).index(
        "mentor_alerts")] > 0
    flagged = X[keep].loc[X[keep]["mentor_alerts"] > 0].head(20)
    reasons = explain_students(model, flagged, lang="en").reasons
    assert reasons.loc[reasons["feature"] == "mentor_alerts", "sentence"].str.startswith(
        "Alerts raised by the mentor: 3").any()

    save_model(model, tmp_path / "model", training_data=X[keep])
    bundle = load_bundle(tmp_path / "model")
    assert bundle.model.catalogue.get("mentor_alerts").computation.table == "students"
    ok = score(bundle, tables, "2022-10-24")
    assert len(ok.predictions) > 0
    lacking = {**tables, "students": tables["students"].drop(columns="mentor_alerts")}
    with pytest.raises(MissingColumnError, match="mentor_alerts"):
        score(bundle, lacking, "2022-10-24")
