"""The per-school follow-up summary: counts only, small cells suppressed.

Per school, the flagged students split two ways: by intervention (in time,
later, none) and by progress (:data:`PROGRESS`). Each split sums to the
school's flagged count, so a suppressed cell could be recovered by
subtraction; the audit's exact complementary suppression
(:func:`dropoutrisk.fairness._suppress.complementary_suppression`) decides
which further cells to withhold. A school with fewer than ``MIN_CELL`` flagged
students shows no count at all.
"""

from __future__ import annotations

import pandas as pd

from dropoutrisk._disclosure import MIN_CELL
from dropoutrisk.fairness._suppress import complementary_suppression

__all__ = ["PROGRESS", "school_summary"]

#: Progress since the flag, in the order the summary lists it.
PROGRESS: tuple[str, ...] = ("improving", "no_clear_change", "worsening", "too_early", "left",
                             "no_data")


def school_summary(students: pd.DataFrame, follow_up_days: int) -> pd.DataFrame:
    """One row per school: flagged, intervention in time / later / none, progress counts.

    Examples
    --------
    >>> rows = pd.DataFrame({"school_id": ["A"] * 25, "n_interventions": [1] * 21 + [0] * 4,
    ...                      "followed_up_in_time": [True] * 11 + [False] * 14,
    ...                      "days_without_intervention": [3] * 25,
    ...                      "progress": ["improving"] * 15 + ["worsening"] * 10})
    >>> s = school_summary(rows, 14).iloc[0]
    >>> int(s["flagged"]), int(s["intervention_within_14d"]), s["no_intervention"] is pd.NA
    (25, 11, True)
    >>> s["suppressed"]
    'intervention_later: complementary; no_intervention: small cell'
    >>> int(s["worsening"]), int(s["left"])  # an empty cell holds no student: published as 0
    (10, 0)
    """
    in_time = f"intervention_within_{follow_up_days}d"
    splits = {"intervention": (in_time, "intervention_later", "no_intervention"),
              "progress": PROGRESS}
    rows = []
    for school, part in students.groupby("school_id", sort=True):
        supported = part["n_interventions"] > 0
        counts = {
            in_time: int(part["followed_up_in_time"].sum()),
            "intervention_later": int((supported & ~part["followed_up_in_time"]).sum()),
            "no_intervention": int((~supported).sum()),
            **{p: int((part["progress"] == p).sum()) for p in PROGRESS},
        }
        waited = part.loc[supported, "days_without_intervention"]
        row: dict = {"school_id": school, "flagged": len(part), **counts,
                     "median_days_to_intervention": float(waited.median())
                     if len(waited) >= MIN_CELL else None}
        if len(part) < MIN_CELL:
            row = {"school_id": school, **dict.fromkeys(row.keys() - {"school_id"}),
                   "suppressed": f"school: fewer than {MIN_CELL} flagged"}
        else:
            keys = {(): len(part)}
            for split, names in splits.items():
                keys.update({((split, n),): counts[n] for n in names})
            withheld = complementary_suppression(keys, min_cell=MIN_CELL)
            for key in withheld:
                row[key[0][1]] = None
            row["suppressed"] = "; ".join(f"{k[0][1]}: {why}" for k, why in withheld.items())
        rows.append(row)
    columns = ["school_id", "flagged", in_time, "intervention_later", "no_intervention",
               *PROGRESS, "median_days_to_intervention", "suppressed"]
    frame = pd.DataFrame(rows, columns=columns)
    for name in columns[1:-2]:
        frame[name] = frame[name].astype("Int64")
    frame["median_days_to_intervention"] = frame["median_days_to_intervention"].astype(float)
    frame["suppressed"] = frame["suppressed"].fillna("").astype(object)
    return frame
