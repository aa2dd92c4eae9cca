"""Where ``predict`` flags, as recorded in the bundle: its operating point and snapshot.

A model is trained for a job: "flag the 10 highest-risk students of each
school at week 10 of the autumn". :func:`~dropoutrisk.models.train_model`
records that job in the manifest (``params["predict"]``), and what reports on
the model's flags without being told otherwise uses it: ``score``/``predict``
flag at its operating point, and the fairness audit audits that operating
point at that snapshot, so that the audit judges the flags schools see.

Bundles trained before the configuration was recorded fall back to the
model's default flags at the first training snapshot, and say so
(:attr:`PredictSettings.note`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dropoutrisk.models._operating_point import OperatingPoint

__all__ = ["MODEL_DEFAULT_FLAGS", "PredictSettings"]

#: How the model's own flags (no operating point) are described.
MODEL_DEFAULT_FLAGS = "the model's default flags (tier targeted or intensive)"


@dataclass(frozen=True)
class PredictSettings:
    """The operating point and snapshot ``predict`` uses for a model.

    Parameters
    ----------
    operating_point : OperatingPoint or None
        Where predict flags; ``None`` for the model's default flags.
    weeks : tuple of int or None
        The snapshot week(s) of the school year predict scores at.
    days : tuple of int or None
        For a model trained at days after each student's start: the day(s).
    recorded : bool
        ``True`` when the bundle records them; ``False`` for an older bundle
        (the values are then the fallback described in ``note``).
    note : str
        Why these values: recorded at training, or the fallback of an older bundle.

    Examples
    --------
    >>> s = PredictSettings.from_params({"weeks": [6, 10, 20], "predict": {
    ...     "operating_point": {"capacity": 10, "by": "school_id"}, "weeks": [10]}})
    >>> s.describe()
    'capacity 10 per school_id at week 10'
    >>> old = PredictSettings.from_params({"weeks": [6, 10, 20]})
    >>> old.recorded, old.weeks, old.describe()
    (False, (6,), "the model's default flags (tier targeted or intensive) at week 6")
    """

    operating_point: OperatingPoint | None
    weeks: tuple[int, ...] | None = None
    days: tuple[int, ...] | None = None
    recorded: bool = False
    note: str = ""

    @classmethod
    def record(
        cls,
        operating_point: Any = None,
        *,
        weeks: Sequence[int] | None = None,
        days: Sequence[int] | None = None,
    ) -> dict[str, Any]:
        """The manifest entry (``params["predict"]``) for these settings.

        Examples
        --------
        >>> PredictSettings.record({"threshold": 0.3}, weeks=[10])["description"]
        'threshold 0.3'
        """
        point = None if operating_point is None else OperatingPoint.coerce(operating_point)
        return {
            "operating_point": None if point is None else point.to_dict(),
            "description": MODEL_DEFAULT_FLAGS if point is None else point.describe(),
            "weeks": None if weeks is None else [int(w) for w in weeks],
            "days": None if days is None else [int(d) for d in days],
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> PredictSettings:
        """Read them from a manifest's ``params``; an older bundle falls back with a note."""
        params = dict(params or {})
        entry = params.get("predict")
        if isinstance(entry, Mapping):
            op = entry.get("operating_point")
            point = None if op is None else OperatingPoint.coerce(
                {k: v for k, v in op.items() if v is not None})
            return cls(
                operating_point=point,
                weeks=_tuple(entry.get("weeks")),
                days=_tuple(entry.get("days")),
                recorded=True,
                note="predict's configuration, recorded in the model bundle at training",
            )
        weeks, days = _tuple(params.get("weeks")), _tuple(params.get("days"))
        first = (("week", weeks[:1]) if weeks else ("day", days[:1]) if days else (None, None))
        note = ("this model bundle does not record predict's configuration (it was trained "
                "before dropoutrisk recorded it): the model's default flags"
                + (f" at the first training {first[0]} ({first[1][0]})" if first[0] else "")
                + " are used; give the operating point and snapshot of your predict runs, or "
                "train again with them")
        return cls(operating_point=None, weeks=weeks[:1] if weeks else None,
                   days=days[:1] if (days and not weeks) else None, recorded=False, note=note)

    def describe(self) -> str:
        """The operating point and snapshot in a few words."""
        what = MODEL_DEFAULT_FLAGS if self.operating_point is None else \
            self.operating_point.describe()
        if self.weeks:
            what += " at week" + ("s " if len(self.weeks) > 1 else " ") + \
                ", ".join(map(str, self.weeks))
        elif self.days:
            what += " at day" + ("s " if len(self.days) > 1 else " ") + \
                ", ".join(map(str, self.days)) + " after each student's start"
        return what

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "operating_point": None if self.operating_point is None
            else self.operating_point.to_dict(),
            "description": self.describe(),
            "weeks": None if self.weeks is None else list(self.weeks),
            "days": None if self.days is None else list(self.days),
            "recorded": self.recorded,
            "note": self.note,
        }


def _tuple(values: Any) -> tuple[int, ...] | None:
    if values is None:
        return None
    return tuple(int(v) for v in values)
