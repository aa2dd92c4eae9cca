"""Exact SHAP reasons as prediction columns: code, Swedish and English sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutrisk.scoring._result import reason_columns


def reason_arrays(model: object, X: pd.DataFrame, positions: np.ndarray, n: int, *,
                  chunk_size: int = 100_000, flags: np.ndarray | None = None,
                  references: object = None) -> dict[str, np.ndarray]:
    """Top ``n`` reasons (code, Swedish, English) for the rows of ``X`` at ``positions``.

    Returns one object array per column of :func:`reason_columns` (``n``),
    aligned with ``X``; rows not explained hold ``None``. References are
    medians over the rows of ``X`` (the school's, else the year group's, else
    all students'), exactly as :func:`~dropoutrisk.explain.explain_students`
    computes them on the whole frame. ``flags`` (one per row of ``X``) are the
    operating point's flags. ``references`` (a
    :class:`~dropoutrisk.explain.ReferenceTable` over every student scored, e.g.
    one shipped to Spark executors) replaces the medians over ``X``.
    """
    from dropoutrisk.explain import ReferenceTable, explain_students, reasons_frame

    out = {c: np.full(len(X), None, dtype=object) for c in reason_columns(n)}
    if n == 0 or len(positions) == 0:
        return out
    if references is None:
        references = ReferenceTable.for_model(model, X)  # once: medians over every student
    for start in range(0, len(positions), chunk_size):
        pos = np.asarray(positions[start:start + chunk_size])
        rows = X.iloc[pos]
        ex = explain_students(model, rows, top_n=n, lang="sv",
                              flags=None if flags is None else np.asarray(flags)[pos],
                              reference_frame=references)
        for lang in ("sv", "en"):
            wide = reasons_frame(ex, n, lang=lang)
            for k in range(1, n + 1):
                out[f"reason_{k}_{lang}"][pos] = wide[f"reason_{k}_sentence"].to_numpy()
                if lang == "sv":
                    out[f"reason_{k}_code"][pos] = wide[f"reason_{k}_code"].to_numpy()
    for arr in out.values():
        arr[pd.isna(arr)] = None
    return out
