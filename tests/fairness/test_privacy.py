"""Keyed-hash pseudonyms."""

import pandas as pd
import pytest

from dropoutrisk.errors import PseudonymKeyError
from dropoutrisk.fairness import PSEUDONYM_KEY_ENV, pseudonymise_ids

KEY = "k" * 32


def test_same_key_same_pseudonym_other_key_other_pseudonym():
    a = pseudonymise_ids(["S1", "S2"], KEY)
    assert a == pseudonymise_ids(["S1", "S2"], KEY)
    assert a != pseudonymise_ids(["S1", "S2"], "q" * 32)
    assert all(len(x) == 16 and int(x, 16) >= 0 for x in a)
    assert "S1" not in "".join(a)


def test_matches_hmac_sha256():
    import hashlib
    import hmac

    expected = hmac.new(KEY.encode(), b"S0001", hashlib.sha256).hexdigest()[:20]
    assert pseudonymise_ids("S0001", KEY, length=20) == expected


def test_series_and_index_keep_their_shape():
    s = pd.Series(["a", "b"], index=[10, 11], name="student_id")
    out = pseudonymise_ids(s, KEY)
    assert list(out.index) == [10, 11] and out.name == "student_id"
    idx = pseudonymise_ids(pd.Index(["a", "b"], name="student_id"), KEY)
    assert isinstance(idx, pd.Index) and idx.name == "student_id"


@pytest.mark.parametrize("key", [None, "", "short"])
def test_missing_or_short_key_raises_with_the_variable_name(key):
    with pytest.raises(PseudonymKeyError, match="pseudonymisation key"):
        pseudonymise_ids(["a"], key)
    if not key:
        with pytest.raises(PseudonymKeyError, match=PSEUDONYM_KEY_ENV):
            pseudonymise_ids(["a"], key)


def test_library_never_reads_the_environment(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "x" * 40)
    with pytest.raises(PseudonymKeyError):
        pseudonymise_ids(["a"], None)


def test_collisions_raise(monkeypatch):
    import dropoutrisk.fairness._privacy as priv

    class _Constant:  # a digest that maps every id to the same pseudonym
        def __init__(self, *args, **kwargs):
            pass

        def hexdigest(self):
            return "0" * 64

    monkeypatch.setattr(priv.hmac, "new", _Constant)
    with pytest.raises(ValueError, match="share a pseudonym"):
        pseudonymise_ids(["S1", "S2"], KEY)
    assert pseudonymise_ids(["S1", "S1"], KEY) == ["0" * 16] * 2  # one id twice is fine
