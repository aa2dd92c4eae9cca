"""Pseudonymous student ids: a keyed hash that cannot be reversed without the key.

``pseudonym = HMAC-SHA256(key, str(id).encode("utf-8"))``, hex-encoded and
truncated to ``length`` hex characters (default 16, i.e. 64 bits; for a
million students the chance that any two share a pseudonym is about
3e-8, and a collision raises instead of merging two students).

The same key gives the same pseudonym for the same id in every run, so
outputs can be linked across weeks by whoever holds the key, and by no one
else. Unlike a plain hash, an attacker cannot hash every plausible id
(personal identity numbers are guessable) without the key.

The key is never stored by dropoutrisk: the command line reads it from the
environment variable named by :data:`PSEUDONYM_KEY_ENV` and passes it here;
library code never reads the environment. Keep the key in the municipality's
secret store, at least 32 random bytes (``python -c "import secrets;
print(secrets.token_hex(32))"``).

This module sits in :mod:`dropoutrisk.fairness` until the lead decides on a
home for privacy helpers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import pandas as pd

from dropoutrisk.errors import ParameterError, PseudonymKeyError

__all__ = ["MIN_KEY_BYTES", "PSEUDONYM_KEY_ENV", "pseudonymise_ids"]

#: The environment variable the command line reads the key from.
PSEUDONYM_KEY_ENV = "DROPOUTRISK_PSEUDONYM_KEY"

#: Shortest key accepted, in bytes (UTF-8 for a str key).
MIN_KEY_BYTES = 16


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None or len(key) == 0:
        raise PseudonymKeyError(
            table="pseudonymisation key",
            allowed=f"a secret of at least {MIN_KEY_BYTES} bytes",
            fix=f"Set the environment variable {PSEUDONYM_KEY_ENV}, for example to the "
            "output of: python -c \"import secrets; print(secrets.token_hex(32))\"",
        )
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            table="pseudonymisation key",
            problem=f"a key of {len(raw)} bytes, too short to resist guessing",
            allowed=f"a secret of at least {MIN_KEY_BYTES} bytes",
            fix="Use a longer random key, for example secrets.token_hex(32).",
        )
    return raw


def pseudonymise_ids(ids: Any, key: str | bytes, *, length: int = 16) -> Any:
    """Replace student ids by keyed-hash pseudonyms.

    Parameters
    ----------
    ids : str, Series, Index or iterable
        Student ids; each is hashed as ``str(id)`` in UTF-8.
    key : str or bytes
        The secret key, at least 16 bytes. Never stored.
    length : int, default=16
        Hex characters kept from the HMAC-SHA256 digest (8 to 64).

    Returns
    -------
    Same kind as ``ids``: a str, a Series (same index and name), an Index,
    or a list.

    Raises
    ------
    PseudonymKeyError
        When the key is missing or shorter than 16 bytes.
    ValueError
        When two different ids get the same pseudonym (raise ``length``).

    Examples
    --------
    >>> key = "a-secret-key-of-32-characters!!!"
    >>> pseudonymise_ids("S0001", key)
    'e2e6dac5cec4208f'
    >>> pseudonymise_ids(["S0001", "S0002"], key, length=8)
    ['e2e6dac5', '53469144']
    """
    raw = _key_bytes(key)
    if not isinstance(length, int) or not 8 <= length <= 64:
        raise ParameterError(parameter="length", message=
            f"length={length!r} must be a whole number from 8 to 64.")

    def one(value: Any) -> str:
        digest = hmac.new(raw, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:length]

    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        return one(ids)
    values = list(ids)
    out = [one(v) for v in values]
    if len(set(out)) < len({str(v) for v in values}):
        raise ParameterError(parameter="length", message=
            f"Two different ids share a pseudonym at length={length}; use a larger length."
        )
    if isinstance(ids, pd.Series):
        return pd.Series(out, index=ids.index, name=ids.name, dtype=object)
    if isinstance(ids, pd.Index):
        return pd.Index(out, name=ids.name, dtype=object)
    return out
