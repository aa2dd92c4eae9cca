"""reason_codes(): each row's top reason codes, as ``predict`` would give them, for comparisons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError

__all__ = ["reason_codes"]


def reason_codes(model: Any, features: pd.DataFrame, *, n: int = 3,
                 rows: Any = None) -> pd.DataFrame:
    """The top ``n`` reason codes of each row, as ``predict`` gives them at its ``as_of``.

    Exact SHAP contributions, narrated against references (school medians,
    else the year group's, else all students') taken over the rows of
    ``features`` at the same ``as_of``. For :func:`~dropoutrisk.models.compare_models`' ``reasons=``.

    Parameters
    ----------
    model : RiskModel
        A fitted model.
    features : pandas.DataFrame
        Feature rows indexed by ``student_id``, with ``as_of`` (several
        snapshots may be stacked) and ``school_id`` columns.
    n : int, default 3
        Reasons per row.
    rows : array-like of bool, optional
        Explain only these rows (default every row); the others hold None.
        The references still come from every row of the snapshot.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``features``, columns ``reason_1_code`` ... ``reason_<n>_code``;
        None where a row has fewer reasons or was not explained.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dropoutrisk.models import RiskModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"as_of": pd.Timestamp("2024-10-01"), "school_id": "s1",
    ...                   "attendance_rate_4w": rng.uniform(0.5, 1, 300)},
    ...                  index=pd.Index([f"id{i}" for i in range(300)], name="student_id"))
    >>> y = (rng.random(300) < 1.3 - X["attendance_rate_4w"]).astype(int)
    >>> model = RiskModel(n_estimators=20, baseline_check=False, random_state=0).fit(X, y)
    >>> codes = reason_codes(model, X, n=1)
    >>> codes.columns.tolist(), codes.loc[X["attendance_rate_4w"].idxmin(), "reason_1_code"]
    (['reason_1_code'], 'BEH-ATT4W-LOW')
    """
    from dropoutrisk.explain._explanations import explain_students, reasons_frame
    from dropoutrisk.explain._references import ReferenceTable

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ParameterError(parameter="n", message=f"n={n!r} must be a whole number >= 1.")
    if not isinstance(features, pd.DataFrame):
        raise TypeError("features must be a pandas DataFrame of feature rows, got "
                        f"{type(features).__name__}.")
    columns = [f"reason_{k}_code" for k in range(1, n + 1)]
    out = np.full((len(features), n), None, dtype=object)
    wanted = np.ones(len(features), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if wanted.shape != (len(features),):
        raise ParameterError(parameter="rows", message=
            f"rows has shape {wanted.shape}; it needs one True/False per row of features "
            f"({len(features)} rows).")
    explain = np.flatnonzero(wanted)
    if explain.size:
        # references group by school and as_of: each row is narrated against its own snapshot
        ex = explain_students(model, features.iloc[explain], top_n=n,
                              reference_frame=ReferenceTable.for_model(model, features))
        out[explain] = reasons_frame(ex, n)[columns].to_numpy(dtype=object)
    out[pd.isna(pd.DataFrame(out)).to_numpy()] = None
    return pd.DataFrame(out, index=features.index, columns=columns)
