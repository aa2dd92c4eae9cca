"""What a school notices when the model changes: flags that changed, by school, and reason stability.

Used by :func:`~dropoutrisk.models.compare_models`. Both are computed at the
comparison's operating point (the top share of each snapshot), on the same
rows, for each model against the reference.

**Changed flags.** Per school, counted in snapshot rows (a student scored at
three ``as_of`` dates counts three times; with one snapshot, rows are
students): ``still_flagged`` (flagged by both), ``newly_flagged`` (by the
model, not by the reference) and ``no_longer_flagged`` (by the reference,
not by the model), and ``n_rows``, the school's rows. A last row,
:data:`ALL_SCHOOLS`, holds the totals.

**Small cells.** No count computed from fewer than :data:`MIN_CELL`
students is shown (docs/architecture.md, "Trust"): a count from 1 to 9 is
suppressed (``NA``), and so is every count of a school with fewer than 10
rows. The school cells of a column add up to its total, so when exactly one
school cell of a column is suppressed and the total is shown, the smallest
shown school cell of that column is suppressed too (complementary
suppression). The four columns are not tied to one another by any sum, so
nothing else can be recomputed. A count of 0 describes no student and is
shown. ``suppressed`` lists, per row, the columns withheld and why.

**Reason stability.** Among the rows flagged by both models, the share whose
top :data:`REASON_DEPTH` reasons are **the same set of reason codes**, order
ignored (``same_set``, the headline figure). A reason code names the
indicator and what the line says about it against its reference
(``BEH-ATT4W-LOW``), so "attendance low" and "attendance missing" differ.
The set holds the reasons a student has, up to three: a student with two
narrated reasons under both models agrees when the two are the same. Two
stricter shares are given beside it: ``same_order`` (the same codes in the
same ranks) and ``same_first`` (the same first reason). Rows where neither
model narrates any reason are left out (``n_without_reasons``). With fewer
than :data:`MIN_CELL` rows compared, the shares are not computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.errors import AlignmentError, ParameterError

__all__ = ["ALL_SCHOOLS", "CHANGE_COLUMNS", "REASON_DEPTH", "flag_changes", "reason_agreement"]

#: Reasons per student compared by the reason stability.
REASON_DEPTH = 3
#: The ``school_id`` of the totals row of :func:`flag_changes`.
ALL_SCHOOLS = "(all schools)"
#: The count columns of :func:`flag_changes`, in order.
CHANGE_COLUMNS = ("n_rows", "still_flagged", "newly_flagged", "no_longer_flagged")


def flag_changes(flags_reference: np.ndarray, flags_model: np.ndarray,
                 schools: np.ndarray) -> pd.DataFrame:
    """Changed flags by school, small cells suppressed (see the module documentation).

    Examples
    --------
    >>> import numpy as np
    >>> def run(*parts):  # (flag, repeat) pairs
    ...     return np.concatenate([np.full(k, bool(f)) for f, k in parts])
    >>> ref = run((1, 30), (0, 30), (1, 14), (0, 26), (1, 2), (0, 6))
    >>> new = run((1, 26), (0, 4), (1, 12), (0, 18), (1, 14), (0, 26), (0, 8))
    >>> schools = np.array(["a"] * 60 + ["b"] * 40 + ["c"] * 8)
    >>> table = flag_changes(ref, new, schools)
    >>> table.drop(columns="suppressed")
           school_id  n_rows  still_flagged  newly_flagged  no_longer_flagged
    0              a      60             26             12               <NA>
    1              b    <NA>           <NA>           <NA>                  0
    2              c    <NA>           <NA>           <NA>               <NA>
    3  (all schools)     108             40             12               <NA>
    >>> table["suppressed"].iloc[1]
    'n_rows: complementary; still_flagged: complementary; newly_flagged: complementary'
    """
    ref = np.asarray(flags_reference, dtype=bool)
    new = np.asarray(flags_model, dtype=bool)
    school = pd.Series(np.asarray(schools, dtype=object)).astype(str).to_numpy()
    columns = {"n_rows": np.ones(ref.size, dtype=bool), "still_flagged": ref & new,
               "newly_flagged": new & ~ref, "no_longer_flagged": ref & ~new}
    ids, code = np.unique(school, return_inverse=True)
    counts = {c: np.bincount(code, weights=v, minlength=ids.size).astype(np.int64)
              for c, v in columns.items()}
    totals = {c: int(v.sum()) for c, v in columns.items()}
    why: dict[tuple[int, str], str] = {}
    small_school = counts["n_rows"] < MIN_CELL
    for column in CHANGE_COLUMNS:
        cells = counts[column]
        for i in np.flatnonzero(small_school):
            why[i, column] = "school under 10 rows"
        for i in np.flatnonzero((cells > 0) & (cells < MIN_CELL) & ~small_school):
            why[i, column] = "small cell"
        hidden = [i for i in range(ids.size) if (i, column) in why]
        total_small = 0 < totals[column] < MIN_CELL
        if len(hidden) == 1 and ids.size > 1 and not total_small:
            shown = [i for i in range(ids.size) if (i, column) not in why]
            pick = min(shown, key=lambda i: (cells[i], ids[i]))
            why[pick, column] = "complementary"
    rows = []
    for i, school_id in enumerate(ids):
        row: dict[str, Any] = {"school_id": str(school_id)}
        row.update({c: pd.NA if (i, c) in why else int(counts[c][i]) for c in CHANGE_COLUMNS})
        row["suppressed"] = "; ".join(f"{c}: {why[i, c]}" for c in CHANGE_COLUMNS
                                      if (i, c) in why)
        rows.append(row)
    total: dict[str, Any] = {"school_id": ALL_SCHOOLS}
    total.update({c: pd.NA if 0 < totals[c] < MIN_CELL else totals[c] for c in CHANGE_COLUMNS})
    total["suppressed"] = "; ".join(f"{c}: small cell" for c in CHANGE_COLUMNS
                                    if 0 < totals[c] < MIN_CELL)
    rows.append(total)
    frame = pd.DataFrame(rows, columns=["school_id", *CHANGE_COLUMNS, "suppressed"])
    for c in CHANGE_COLUMNS:
        frame[c] = frame[c].astype("Int64")
    return frame


def reason_codes_of(name: str, reasons: Any, n_rows: int) -> np.ndarray:
    """The top :data:`REASON_DEPTH` reason codes of each row, as an object array (None: none).

    ``reasons`` is a frame with ``reason_1_code``, ``reason_2_code``, ...
    columns (the ``predict`` output, :func:`~dropoutrisk.explain.reasons_frame`,
    :func:`~dropoutrisk.explain.reason_codes`) or an array of codes, one row per
    row of ``X``.
    """
    if isinstance(reasons, pd.DataFrame):
        wanted = [f"reason_{k}_code" for k in range(1, REASON_DEPTH + 1)]
        have = [c for c in wanted if c in reasons.columns]
        if not have:
            raise ParameterError(parameter="reasons", message=
                f"reasons[{name!r}] has none of the columns {wanted}; pass the reason codes "
                "of every row, e.g. dropoutrisk.explain.reason_codes(model, X).")
        values = reasons[have].to_numpy(dtype=object)
    else:
        values = np.asarray(reasons, dtype=object)
        if values.ndim == 1:
            values = values[:, None]
        values = values[:, :REASON_DEPTH]
    if values.shape[0] != n_rows:
        raise AlignmentError(
            table=f"reasons[{name!r}]", problem=f"{values.shape[0]} rows of reason codes for "
            f"{n_rows} rows of X", allowed="one row of codes per row of X, in the same order",
            fix="Compute them on the same X, e.g. dropoutrisk.explain.reason_codes(model, X)")
    out = np.full((n_rows, REASON_DEPTH), None, dtype=object)
    filled = ~pd.isna(pd.DataFrame(values)).to_numpy()
    out[:, :values.shape[1]] = np.where(filled, values, None)
    return out


def reason_agreement(codes_reference: np.ndarray, codes_model: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (has a reason, same set, same order, same first reason).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([["X", "Y", "Z"], ["X", "Y", None], [None, None, None]], dtype=object)
    >>> b = np.array([["Y", "X", "Z"], ["X", "Y", None], [None, None, None]], dtype=object)
    >>> [v.tolist() for v in reason_agreement(a, b)]
    [[True, True, False], [True, True, True], [False, True, True], [False, True, False]]
    """
    n = codes_reference.shape[0]
    any_reason = np.zeros(n, dtype=bool)
    same_set = np.zeros(n, dtype=bool)
    same_order = np.zeros(n, dtype=bool)
    same_first = np.zeros(n, dtype=bool)
    for i in range(n):
        a = [c for c in codes_reference[i] if c is not None]
        b = [c for c in codes_model[i] if c is not None]
        any_reason[i] = bool(a or b)
        same_set[i] = set(a) == set(b)
        same_order[i] = a == b
        same_first[i] = bool(a and b) and a[0] == b[0]
    return any_reason, same_set, same_order, same_first


def check_reasons(reasons: Any, names: list[str], n_rows: int) -> dict[str, np.ndarray]:
    """The codes of each model given, checked against the model names and the rows."""
    if reasons is None:
        return {}
    if not isinstance(reasons, Mapping):
        raise TypeError("reasons must be a mapping model name -> reason codes per row, got "
                        f"{type(reasons).__name__}; e.g. reasons={{'previous': codes_old, "
                        "'model': codes_new}}.")
    unknown = [n for n in reasons if n not in names]
    if unknown:
        raise ParameterError(parameter="reasons", message=
            f"reasons has codes for {unknown}, which are not among the models {names}; "
            "use the same names as in models.")
    return {name: reason_codes_of(name, value, n_rows) for name, value in reasons.items()}
