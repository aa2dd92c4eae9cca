"""The one JSON sanitiser: every result's to_dict goes through it."""

import dataclasses
import datetime as dt
import enum
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dropoutrisk._json import dumps, to_jsonable


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: float
    when: dt.date


def test_numpy_missing_and_infinite_values_become_plain_types():
    out = to_jsonable({"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True),
                       "nan": float("nan"), "inf": np.inf, "na": pd.NA, "nat": pd.NaT})
    assert out == {"i": 3, "f": 0.5, "b": True, "nan": None, "inf": None, "na": None, "nat": None}
    assert type(out["i"]) is int and type(out["b"]) is bool


def test_infinity_as_text_and_rounding_for_the_audit():
    out = to_jsonable([1 / 3, -math.inf, math.inf, float("nan")], digits=6, infinity="text")
    assert out == [0.333333, "-inf", "inf", None]


def test_dates_timestamps_and_time_zones():
    assert to_jsonable(pd.Timestamp("2024-10-01")) == "2024-10-01"
    assert to_jsonable(pd.Timestamp("2024-10-01 08:30")) == "2024-10-01T08:30:00"
    aware = pd.Timestamp("2025-01-01", tz="UTC")
    assert to_jsonable(aware) == "2025-01-01T00:00:00+00:00"  # an instant keeps its zone
    assert to_jsonable(dt.date(2024, 1, 2)) == "2024-01-02"


def test_containers_frames_and_objects():
    frame = pd.DataFrame({"a": [1, 2], "b": [np.nan, 0.5]})
    out = to_jsonable({"frame": frame, "series": frame["a"], "array": np.arange(3),
                       "set": {"b", "a"}, "tuple": (1, 2), "path": Path("x") / "y",
                       "enum": Colour.RED, "point": Point(1.0, dt.date(2024, 5, 6)), 7: "key"})
    assert out == {"frame": [{"a": 1, "b": None}, {"a": 2, "b": 0.5}], "series": [1, 2],
                   "array": [0, 1, 2], "set": ["a", "b"], "tuple": [1, 2],
                   "path": str(Path("x") / "y"), "enum": "red",
                   "point": {"x": 1.0, "when": "2024-05-06"}, "7": "key"}
    json.dumps(out, allow_nan=False)  # strict JSON


def test_dumps_keeps_non_ascii_and_refuses_nothing_it_sanitised():
    text = dumps({"namn": "Åsa", "auc": np.float64("nan")}, indent=None)
    assert text == '{"namn": "Åsa", "auc": null}'
    with pytest.raises(TypeError):
        dumps({"x": 1}, digits=2, nonsense=True)
