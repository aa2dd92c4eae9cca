"""plant_recording_fault(): one school starts recording an assessment item on another scale.

Real exports drift for dull reasons: a school changes its teacher-rating form
from a 1-5 to a 1-10 scale, and nobody tells the data team. The students did
not change, the numbers did. This plants such a fault in generated tables, so
that the drift check of the weekly job (``score``, ``dropoutrisk predict``)
can be shown and tested against a known cause at a known school.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = ["plant_recording_fault"]


def plant_recording_fault(
    tables: Mapping[str, pd.DataFrame],
    *,
    school_id: str,
    item: str = "aca_tasks_completed",
    scale: float = 2.0,
    since: Any = None,
) -> dict[str, pd.DataFrame]:
    """Tables in which one school's values of one assessment item are multiplied by ``scale``.

    Only the ``assessments`` rows of ``item`` for students of ``school_id``
    (dated on or after ``since``, when given) change; every other table and
    row is kept as it is, ``truth`` included (the students' true risk did not
    change, only how one of their indicators was recorded).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables with ``students`` (``student_id``, ``school_id``) and
        ``assessments`` (``student_id``, ``date``, ``item``, ``value``), e.g.
        from :func:`make_cohorts`. They are not modified.
    school_id : str
        The school whose recording changes.
    item : str, default "aca_tasks_completed"
        The assessment item recorded on the other scale (a teacher rating of
        completed tasks, 1-5 in the generated data).
    scale : float, default 2.0
        The factor applied to the item's values (2.0: a 1-10 form read as 1-5).
    since : date-like, optional
        The first day of the fault; default every row.

    Returns
    -------
    dict of str to DataFrame
        The same tables, with a new ``assessments``.

    Raises
    ------
    ParameterError
        A school that is not in ``students``, an item that is not in
        ``assessments``, or a scale that is not a positive number.

    Examples
    --------
    >>> from dropoutrisk.synthetic import make_cohorts
    >>> tables = make_cohorts(200, [2022], n_schools=2, random_state=0)
    >>> faulty = plant_recording_fault(tables, school_id="SCH01")
    >>> a, b = tables["assessments"], faulty["assessments"]
    >>> at_school = a["student_id"].isin(
    ...     tables["students"].query("school_id == 'SCH01'")["student_id"])
    >>> rows = at_school & (a["item"] == "aca_tasks_completed")
    >>> bool((b.loc[rows, "value"] == 2 * a.loc[rows, "value"]).all())
    True
    >>> bool(b.loc[~rows, "value"].equals(a.loc[~rows, "value"]))
    True
    """
    students, assessments = tables["students"], tables["assessments"]
    schools = sorted(pd.unique(students["school_id"].dropna()).tolist())
    if school_id not in schools:
        raise ParameterError(parameter="school_id", value=school_id,
                             problem="is not a school of the students table",
                             allowed=f"one of {schools[:10]}" + (" ..." if len(schools) > 10
                                                                 else ""))
    items = sorted(pd.unique(assessments["item"].dropna()).tolist())
    if item not in items:
        raise ParameterError(parameter="item", value=item,
                             problem="is not an item of the assessments table",
                             allowed=f"one of {items}")
    if (isinstance(scale, bool) or not isinstance(scale, numbers.Real)
            or not math.isfinite(scale) or scale <= 0):
        raise ParameterError(parameter="scale", value=scale, problem="is not a factor",
                             allowed="a positive number, e.g. 2.0 for a 1-10 form read as 1-5")
    at_school = students.loc[students["school_id"] == school_id, "student_id"]
    rows = assessments["student_id"].isin(at_school) & (assessments["item"] == item)
    if since is not None:
        rows &= pd.to_datetime(assessments["date"]) >= pd.Timestamp(since)
    faulty = assessments.copy()
    faulty.loc[rows, "value"] = faulty.loc[rows, "value"].astype("float64") * float(scale)
    return {**tables, "assessments": faulty}
