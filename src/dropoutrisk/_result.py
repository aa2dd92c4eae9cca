"""The base of every result object: immutable, with ``to_dict`` and ``to_json``.

A result is computed when it is built and never changes after that
(fairlearn's ``MetricFrame`` is the model). Its properties hand out copies
made by :func:`copied`, deep enough that a caller who edits what a property
returned changes nothing in the result. This module imports no other
dropoutrisk module but :mod:`dropoutrisk._json`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd

from dropoutrisk._json import dumps

__all__ = ["Result", "copied", "Part", "read_only"]

T = TypeVar("T")


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


def read_only(value: Any) -> MappingProxyType:
    """A read-only view of a copy of the mapping ``value``.

    Examples
    --------
    >>> view = read_only({"a": [1]})
    >>> view["a"]
    [1]
    >>> view["b"] = 2
    Traceback (most recent call last):
    ...
    TypeError: 'mappingproxy' object does not support item assignment
    """
    return MappingProxyType(copied(value))


class Part(Generic[T]):
    """A read-only attribute of a :class:`Result`: what it stored, handed out safely.

    ``name = Part[T](doc)`` in a class body reads ``self._name`` (or ``attr``;
    with ``key``, the entry ``key`` of that mapping) and returns
    ``convert(value)``: by default a :func:`copied` copy, so that no caller
    can change the result through what it was given. Use ``convert=None`` for
    values that cannot change (str, int, a fitted model shared on purpose),
    ``convert=float`` and the like for scalars, :func:`read_only` for
    mappings. Assigning to it raises ``AttributeError`` like the rest of the
    result.

    Examples
    --------
    >>> class Scores(Result):
    ...     __slots__ = ("_table", "_settings")
    ...     table = Part("One row per student.")
    ...     n_boot = Part[int]("Bootstrap replicates.", attr="_settings", key="n_boot",
    ...                        convert=int)
    ...     def __init__(self, table, settings):
    ...         self._set(table=table, settings=settings)
    >>> s = Scores([1, 2], {"n_boot": 200})
    >>> s.table.append(3)
    >>> s.table, s.n_boot, Scores.table.__doc__
    ([1, 2], 200, 'One row per student.')
    """

    def __init__(self, doc: str, *, attr: str | None = None, key: str | None = None,
                 convert: Callable[[Any], T] | None = copied) -> None:
        self.__doc__ = doc
        self._attr = attr
        self._key = key
        self._convert = convert
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        if self._attr is None:
            self._attr = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]  # the class attribute, for help()
        value = getattr(obj, self._attr)  # type: ignore[arg-type]
        if self._key is not None:
            value = value[self._key]
        return value if self._convert is None else self._convert(value)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{type(obj).__name__} is immutable; {obj._remedy}")

    def __delete__(self, obj: Any) -> None:
        raise AttributeError(f"{type(obj).__name__} is immutable; {obj._remedy}")

    def __repr__(self) -> str:
        return f"<Part {self._name!r} of a result>"


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
