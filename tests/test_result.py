"""The result base class: immutability and copies that share nothing mutable."""

import copy
import json
import pickle

import pandas as pd
import pytest

from dropoutrisk._result import Part, Result, copied, read_only


class Tally(Result):
    __slots__ = ("_rows", "_settings")
    _remedy = "tally again."

    def __init__(self, rows, settings):
        self._set(rows=rows, settings=settings)

    @property
    def rows(self):
        return copied(self._rows)

    @property
    def settings(self):
        return copied(self._settings)

    def to_dict(self):
        return {"rows": self._rows, "settings": self._settings}


@pytest.fixture
def tally():
    rows = pd.DataFrame({"n": [12, 30], "examples": [["a"], ["b", "c"]]})
    return Tally(rows, {"rates": [0.1, 0.2], "nested": {"k": 1}})


def test_setting_or_deleting_an_attribute_is_refused(tally):
    with pytest.raises(AttributeError, match="Tally is immutable; tally again."):
        tally.settings = {}
    with pytest.raises(AttributeError, match="immutable"):
        del tally._rows


def test_mutating_returned_values_changes_nothing(tally):
    settings = tally.settings
    settings["rates"].append(0.9)
    settings["nested"]["k"] = 2
    rows = tally.rows
    rows.loc[0, "n"] = -1
    rows.loc[1, "examples"].append("z")
    assert tally.settings == {"rates": [0.1, 0.2], "nested": {"k": 1}}
    assert tally.rows["n"].tolist() == [12, 30]
    assert tally.rows["examples"].tolist() == [["a"], ["b", "c"]]


def test_copied_keeps_a_series_name_and_values():
    s = pd.Series([[1], [2]], name="cells")
    out = copied(s)
    out.iloc[0].append(5)
    assert out.name == "cells" and s.iloc[0] == [1]


def test_to_json_is_strict_json_of_to_dict(tally):
    doc = json.loads(tally.to_json())
    assert doc == {"rows": [{"n": 12, "examples": ["a"]}, {"n": 30, "examples": ["b", "c"]}],
                   "settings": {"rates": [0.1, 0.2], "nested": {"k": 1}}}
    assert "\n" not in tally.to_json(indent=None)


def test_pickle_and_deepcopy_restore_an_equal_immutable_result(tally):
    for clone in (pickle.loads(pickle.dumps(tally)), copy.deepcopy(tally)):
        assert clone.to_json() == tally.to_json() and clone is not tally
        with pytest.raises(AttributeError, match="immutable"):
            clone.settings = {}


def test_part_hands_out_copies_and_refuses_assignment():
    class Table(Result):
        __slots__ = ("_frame", "_settings", "_meta")
        frame = Part[pd.DataFrame]("The table.")
        n_boot = Part[int]("Replicates.", attr="_settings", key="n_boot", convert=int)
        meta = Part("Metadata.", convert=read_only)

        def __init__(self):
            self._set(frame=pd.DataFrame({"a": [[1], [2]]}), settings={"n_boot": "7"},
                      meta={"k": [1]})

        def to_dict(self):
            return {}

    t = Table()
    got = t.frame
    got.loc[0, "a"].append(99)
    got.loc[1, "a"] = [0]
    assert t.frame["a"].tolist() == [[1], [2]]
    assert t.n_boot == 7 and isinstance(t.n_boot, int)
    with pytest.raises(TypeError):
        t.meta["k"] = 2  # type: ignore[index]
    t.meta["k"].append(2)
    assert t.meta["k"] == [1]
    with pytest.raises(AttributeError, match="immutable"):
        t.frame = pd.DataFrame()
    with pytest.raises(AttributeError, match="immutable"):
        del t.frame
    assert Table.frame.__doc__ == "The table." and "frame" in repr(Table.frame)
