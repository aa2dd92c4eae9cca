"""``dropoutrisk spec init``: a draft spec for any table, that trains and predicts as it is."""

import string
import tomllib

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _table(headers, n=300, seed=0):
    rng = np.random.default_rng(seed)
    grade = rng.normal(12, 3, n)
    target = np.where(rng.random(n) < 1 / (1 + np.exp(grade - 10)), "Dropout", "Graduate")
    cols = {
        headers[0]: grade,
        headers[1]: rng.choice(["yes", "no"], n),
        headers[2]: rng.choice(["north", "south", "east"], n),
        headers[3]: rng.integers(0, 9, n),
    }
    frame = pd.DataFrame(cols)
    frame["Target"] = target
    return frame


def test_the_draft_lists_every_column_and_marks_what_to_check(run, tmp_path, capsys):
    frame = _table(["Admission grade", "Scholarship holder", "Region", "Age band"])
    frame["Student number"] = np.arange(len(frame)) + 1000
    frame["Enrolled on"] = pd.date_range("2020-08-01", periods=len(frame)).strftime("%Y-%m-%d")
    frame["Country"] = "PT"
    frame["Final status code"] = (frame["Target"] == "Dropout").astype(int) * 2  # a leak
    frame.to_csv(tmp_path / "t.csv", sep=";", index=False)
    assert run(["spec", "init", tmp_path / "t.csv", "--label", "Target", "--positive",
                "Dropout", "--out", tmp_path / "spec.toml"]) == 0
    text = (tmp_path / "spec.toml").read_text()
    spec = tomllib.loads(text)
    assert spec["read"]["sep"] == ";"
    assert spec["features"]["Scholarship holder"]["kind"] == "binary"
    assert spec["features"]["Region"]["categories"] == ["east", "north", "south"]
    assert all(f["dimension"] == "background" and f["actionable"] is False
               for f in spec["features"].values())
    assert set(spec["drop"]) == {"Student number", "Enrolled on", "Country", "Final status code"}
    assert 'drop "Final status code": LIKELY LEAK' in text
    assert 'drop "Student number": id-like' in text and 'drop "Country": constant' in text
    # it trains and predicts as it is
    assert run(["train", "--data", tmp_path / "t.csv", "--spec", tmp_path / "spec.toml",
                "--out", tmp_path / "model", "--n-estimators", 20]) == 0
    assert run(["predict", "--model", tmp_path / "model", "--data", tmp_path / "t.csv",
                "--spec", tmp_path / "spec.toml", "--as-of", "2024-10-01", "--threshold", 0.5,
                "--reasons", 2, "--out", tmp_path / "p.csv"]) == 0


def test_bad_label_options_exit_2(run, tmp_path, capsys):
    _table(["a", "b", "c", "d"]).to_csv(tmp_path / "t.csv", index=False)
    assert run(["spec", "init", tmp_path / "t.csv", "--label", "Outcome", "--positive",
                "Dropout"]) == 2
    assert "Outcome" in capsys.readouterr().err
    assert run(["spec", "init", tmp_path / "t.csv", "--label", "Target", "--positive",
                "Withdrawn"]) == 2
    assert "Withdrawn" in capsys.readouterr().err


_HEADER = st.text(alphabet=string.ascii_letters + string.digits + " _-'\"\t/().,;:åäöÅÄÖé#",
                  min_size=1, max_size=20).filter(lambda h: h.strip() and h.strip() != "Target")


def test_a_header_starting_with_a_quote_does_not_fool_the_separator(run, tmp_path):
    # csv.Sniffer took the quote in '"/' for a separator and read one column
    _table(['"/', "0", "1", "00"]).to_csv(tmp_path / "t.csv", index=False)
    assert run(["spec", "init", tmp_path / "t.csv", "--label", "Target", "--positive",
                "Dropout", "--out", tmp_path / "spec.toml"]) == 0
    spec = tomllib.loads((tmp_path / "spec.toml").read_text())
    assert spec["read"]["sep"] == ","
    assert set(spec["features"]) == {'"/', "0", "1", "00"}


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(headers=st.lists(_HEADER, min_size=4, max_size=4,
                        unique_by=lambda h: h.strip().lower()))
def test_random_headers_never_exit_1(run, tmp_path_factory, headers):
    """Any header a CSV file can hold goes through spec init, train and predict."""
    folder = tmp_path_factory.mktemp("headers")
    _table(headers).to_csv(folder / "t.csv", index=False)
    codes = [run(["spec", "init", folder / "t.csv", "--label", "Target", "--positive",
                  "Dropout", "--out", folder / "spec.toml"])]
    if codes[-1] == 0:
        codes.append(run(["train", "--data", folder / "t.csv", "--spec", folder / "spec.toml",
                          "--out", folder / "model", "--n-estimators", 10]))
    if codes[-1] == 0:
        codes.append(run(["predict", "--model", folder / "model", "--data", folder / "t.csv",
                          "--spec", folder / "spec.toml", "--as-of", "2024-10-01",
                          "--threshold", 0.5, "--reasons", 2, "--out", folder / "p.csv"]))
    assert 1 not in codes, (headers, codes)
    assert codes == [0, 0, 0], (headers, codes)
