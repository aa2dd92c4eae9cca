"""The base of every result object: immutable, with ``to_dict`` and ``to_json``.

A result is computed when it is built and never changes after that
(fairlearn's ``MetricFrame`` is the model). Its properties hand out copies
made by :func:`copied`, deep enough that a caller who edits what a property
returned changes nothing in the result. This module imports no other
dropoutrisk module but :mod:`dropoutrisk._json`.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import pandas as pd

from dropoutrisk._json import dumps

__all__ = ["Result", "copied"]


def copied(value: Any) -> Any:
    """A copy of ``value`` that shares nothing mutable with it.

    Frames and series are copied with their data (``deep=True``; object
    cells holding lists are copied too); everything else with
    :func:`copy.deepcopy`.

    Examples
    --------
    >>> settings = {"rates": [0.1, 0.2]}
    >>> mine = copied(settings)
    >>> mine["rates"].append(0.3)
    >>> settings
    {'rates': [0.1, 0.2]}
    """
    if isinstance(value, pd.DataFrame | pd.Series):
        out = value.copy(deep=True)
        frame = out.to_frame() if isinstance(out, pd.Series) else out
        for col in frame.columns[frame.dtypes.eq(object).to_numpy()]:
            cells = frame[col]
            if cells.map(lambda v: isinstance(v, list | dict | set)).any():
                frame[col] = cells.map(copy.deepcopy)
        return frame.iloc[:, 0].rename(value.name) if isinstance(value, pd.Series) else frame
    return copy.deepcopy(value)


class Result:
    """Base class of immutable results.

    Subclasses set their state once in ``__init__`` with :meth:`_set` and
    implement :meth:`to_dict`; :meth:`to_json` and the refusal to change
    come from here. ``_remedy`` says how to get a different result.

    Examples
    --------
    >>> class Score(Result):
    ...     __slots__ = ("_value",)
    ...     _remedy = "compute a new one."
    ...     def __init__(self, value):
    ...         self._set(value=value)
    ...     def to_dict(self):
    ...         return {"value": self._value}
    >>> s = Score(0.5)
    >>> s.to_json(indent=None)
    '{"value": 0.5}'
    >>> s.value = 1
    Traceback (most recent call last):
    ...
    AttributeError: Score is immutable; compute a new one.
    """

    __slots__ = ()
    _remedy: ClassVar[str] = "compute it again."

    def _set(self, **parts: Any) -> None:
        """Store each ``name=value`` as ``self._name`` (only from ``__init__``)."""
        for key, value in parts.items():
            object.__setattr__(self, "_" + key, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; {self._remedy}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; {self._remedy}")

    def __setstate__(self, state: Any) -> None:
        # pickle and copy.deepcopy restore the state they saved; only they may set it
        dict_state, slot_state = state if isinstance(state, tuple) else (state, None)
        for part in (dict_state, slot_state):
            for key, value in (part or {}).items():
                object.__setattr__(self, key, value)

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        """The result as plain JSON types (aggregates only, never a student row)."""
        raise NotImplementedError

    def to_json(self, *, indent: int | None = 2, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text; keyword arguments go to :func:`json.dumps`."""
        return dumps(self.to_dict(), indent=indent, **kwargs)
