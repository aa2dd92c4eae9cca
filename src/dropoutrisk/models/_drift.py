"""Input drift against the training profile stored in a model bundle.

At training time :meth:`TrainingProfile.from_features` summarises the
feature rows the model was trained on, without keeping any row:

* per numeric feature, decile bin edges and the share of rows in each bin;
* per feature, the share of missing values;
* per categorical feature, the categories seen and their shares;
* the share of students with no attendance rows (``attendance_rate`` missing).

At prediction time :func:`check_drift` compares new feature rows with it.
Rows can be fed in chunks (:meth:`TrainingProfile.accumulator`), so the check
streams with the scoring. Thresholds (module constants, documented in
``docs/batch-scoring.md``):

=============================  ==========  ==========
check                          watch       drift
=============================  ==========  ==========
PSI per feature                >= 0.10     >= 0.25
missing share, absolute shift  >= 0.05     >= 0.10
unseen categories, row share   > 0         >= 0.01
no-attendance share, shift     >= 0.05     >= 0.10
=============================  ==========  ==========

PSI (population stability index) is ``sum((a - e) * ln(a / e))`` over the
training bins, with shares floored at ``1e-4``; it is computed on the
non-missing values (missingness has its own check). PSI is noisy on small
batches: a few hundred students can read "watch" without any real change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DRIFT_THRESHOLDS",
    "DriftAccumulator",
    "DriftReport",
    "TrainingProfile",
    "check_drift",
]

#: (watch, drift) thresholds of each check.
DRIFT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "psi": (0.10, 0.25),
    "missing_shift": (0.05, 0.10),
    "unseen_share": (1e-12, 0.01),
    "no_attendance_shift": (0.05, 0.10),
}
_CONTEXT = ("student_id", "as_of", "school_id", "cohort")
_FLOOR = 1e-4
_PROFILE_FORMAT = "dropoutrisk-training-profile"
_STATUS_ORDER = {"ok": 0, "watch": 1, "drift": 2}


def _status(value: float | None, check: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "ok"
    watch, drift = DRIFT_THRESHOLDS[check]
    return "drift" if value >= drift else "watch" if value >= watch else "ok"


def _is_categorical(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or (
        pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_numeric_dtype(col.dtype)
    )


def _psi(expected: np.ndarray, actual_counts: np.ndarray) -> float | None:
    total = actual_counts.sum()
    if total == 0:
        return None
    e = np.maximum(np.asarray(expected, dtype=np.float64), _FLOOR)
    a = np.maximum(actual_counts / total, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


class TrainingProfile:
    """Summary of the training feature rows, for drift checks. No row is kept.

    Build it with :meth:`from_features`; store it with :meth:`to_dict` (JSON)
    and read it back with :meth:`from_dict`.

    Parameters
    ----------
    numeric : dict
        ``{feature: {"edges": [...], "shares": [...], "missing": share}}``.
    categorical : dict
        ``{feature: {"shares": {category: share}, "missing": share}}``.
    n_rows : int
    no_attendance_share : float or None

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"attendance_rate": [0.9, 0.8, None, 0.95] * 25,
    ...                   "programme_type": pd.Categorical(["national"] * 100)})
    >>> profile = TrainingProfile.from_features(X)
    >>> profile.no_attendance_share, sorted(profile.categorical)
    (0.25, ['programme_type'])
    >>> TrainingProfile.from_dict(profile.to_dict()).to_dict() == profile.to_dict()
    True
    """

    def __init__(
        self,
        *,
        numeric: Mapping[str, Any],
        categorical: Mapping[str, Any],
        n_rows: int,
        no_attendance_share: float | None,
    ) -> None:
        self.numeric = dict(numeric)
        self.categorical = dict(categorical)
        self.n_rows = int(n_rows)
        self.no_attendance_share = no_attendance_share

    @classmethod
    def from_features(
        cls, X: pd.DataFrame, *, features: Iterable[str] | None = None, n_bins: int = 10
    ) -> TrainingProfile:
        """Profile the feature rows ``X``.

        Parameters
        ----------
        X : DataFrame
            Feature rows (context columns ``as_of``, ``school_id``, ``cohort``
            are skipped).
        features : iterable of str, optional
            The columns to profile; default every non-context column.
        n_bins : int, default 10
            Quantile bins per numeric feature (deciles).

        Returns
        -------
        TrainingProfile
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}.")
        if len(X) == 0:
            raise ValueError("Cannot profile an empty feature frame.")
        names = [c for c in X.columns if c not in _CONTEXT] if features is None else list(features)
        numeric: dict[str, Any] = {}
        categorical: dict[str, Any] = {}
        n = len(X)
        for name in names:
            col = X[name]
            missing = float(col.isna().mean())
            if _is_categorical(col):
                shares = col.dropna().astype(str).value_counts(normalize=True, sort=False)
                categorical[str(name)] = {
                    "shares": {str(k): float(v) for k, v in sorted(shares.items())},
                    "missing": missing,
                }
                continue
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            if values.size:
                qs = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
                edges = np.unique(qs)
                counts = np.bincount(np.searchsorted(edges, values, side="left"),
                                     minlength=edges.size + 1)
                shares_n = (counts / values.size).tolist()
            else:
                edges, shares_n = np.array([]), [1.0]
            numeric[str(name)] = {"edges": [float(e) for e in edges], "shares": shares_n,
                                  "missing": missing}
        no_att = float(X["attendance_rate"].isna().mean()) if "attendance_rate" in X else None
        return cls(numeric=numeric, categorical=categorical, n_rows=n, no_attendance_share=no_att)

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON types."""
        return {
            "format": _PROFILE_FORMAT,
            "n_rows": self.n_rows,
            "no_attendance_share": self.no_attendance_share,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "thresholds": {k: list(v) for k, v in DRIFT_THRESHOLDS.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainingProfile:
        """Read a profile written by :meth:`to_dict`."""
        if not isinstance(doc, Mapping) or doc.get("format") != _PROFILE_FORMAT:
            raise ValueError("Not a dropoutrisk training profile (missing 'format').")
        return cls(numeric=doc["numeric"], categorical=doc["categorical"],
                   n_rows=doc["n_rows"], no_attendance_share=doc.get("no_attendance_share"))

    def accumulator(self) -> DriftAccumulator:
        """A fresh :class:`DriftAccumulator` for feeding rows in chunks."""
        return DriftAccumulator(self)


class DriftAccumulator:
    """Counts what :func:`check_drift` needs, chunk by chunk (see :meth:`update`)."""

    def __init__(self, profile: TrainingProfile) -> None:
        self.profile = profile
        self.n = 0
        self._bins = {k: np.zeros(len(v["edges"]) + 1, dtype=np.int64)
                      for k, v in profile.numeric.items()}
        self._missing = dict.fromkeys([*profile.numeric, *profile.categorical], 0)
        self._unseen: dict[str, dict[str, int]] = {k: {} for k in profile.categorical}
        self._no_attendance = 0
        self._absent: set[str] = set()

    def update(self, X: pd.DataFrame) -> DriftAccumulator:
        """Add the rows of ``X``; returns ``self``."""
        self.n += len(X)
        for name, spec in self.profile.numeric.items():
            if name not in X.columns:
                self._absent.add(name)
                continue
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
            nan = np.isnan(values)
            self._missing[name] += int(nan.sum())
            idx = np.searchsorted(np.asarray(spec["edges"], dtype=np.float64), values[~nan],
                                  side="left")
            self._bins[name] += np.bincount(idx, minlength=self._bins[name].size)
        for name, spec in self.profile.categorical.items():
            if name not in X.columns:
                self._absent.add(name)
                continue
            col = X[name]
            self._missing[name] += int(col.isna().sum())
            seen = set(spec["shares"])
            # count before turning values into text: a chunk has few distinct values
            counts = col.value_counts(sort=False, dropna=True)
            for value, count in counts.items():
                value = str(value)
                if value not in seen and count:
                    self._unseen[name][value] = self._unseen[name].get(value, 0) + int(count)
        if "attendance_rate" in X.columns:
            self._no_attendance += int(X["attendance_rate"].isna().sum())
        return self

    def report(self) -> DriftReport:
        """The :class:`DriftReport` of every row added so far."""
        rows = []
        n = self.n
        for name, spec in self.profile.numeric.items():
            absent = name in self._absent
            psi = None if absent else _psi(np.asarray(spec["shares"]), self._bins[name])
            now = None if absent or n == 0 else self._missing[name] / n
            rows.append(self._row(name, "numeric", psi, spec["missing"], now, 0, []))
        for name, spec in self.profile.categorical.items():
            absent = name in self._absent
            now = None if absent or n == 0 else self._missing[name] / n
            unseen = self._unseen[name]
            examples = sorted(unseen, key=lambda v: (-unseen[v], v))[:5]
            rows.append(self._row(name, "categorical", None, spec["missing"], now,
                                  sum(unseen.values()), examples))
        table = pd.DataFrame(rows, columns=_REPORT_COLUMNS)
        train_na = self.profile.no_attendance_share
        now_na = self._no_attendance / n if n and train_na is not None else None
        return DriftReport(table=table, n_rows=n, no_attendance_train=train_na,
                           no_attendance_now=now_na)

    def _row(self, name, kind, psi, missing_train, missing_now, n_unseen, examples):
        shift = None if missing_now is None else abs(missing_now - missing_train)
        unseen_share = n_unseen / self.n if self.n else 0.0
        statuses = [_status(psi, "psi"), _status(shift, "missing_shift"),
                    _status(unseen_share if n_unseen else None, "unseen_share")]
        status = max(statuses, key=_STATUS_ORDER.__getitem__)
        return {"feature": name, "kind": kind, "psi": psi, "missing_train": missing_train,
                "missing_now": missing_now, "n_unseen": int(n_unseen),
                "unseen_examples": examples, "status": status}


_REPORT_COLUMNS = ["feature", "kind", "psi", "missing_train", "missing_now", "n_unseen",
                   "unseen_examples", "status"]


class DriftReport:
    """The result of :func:`check_drift`; immutable.

    Attributes are read through properties: :attr:`table` (one row per
    feature: ``psi``, ``missing_train``, ``missing_now``, ``n_unseen``,
    ``unseen_examples``, ``status`` in ``ok``/``watch``/``drift``),
    :attr:`warnings` (one sentence per finding), :attr:`drifted`.
    """

    def __init__(self, *, table: pd.DataFrame, n_rows: int, no_attendance_train: float | None,
                 no_attendance_now: float | None) -> None:
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_n", int(n_rows))
        object.__setattr__(self, "_na", (no_attendance_train, no_attendance_now))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DriftReport is immutable.")

    @property
    def table(self) -> pd.DataFrame:
        """One row per profiled feature (a copy)."""
        return self._table.copy()

    @property
    def n_rows(self) -> int:
        """Rows checked."""
        return self._n

    @property
    def no_attendance_status(self) -> str:
        """``ok``, ``watch`` or ``drift`` for the share of students without attendance rows."""
        train, now = self._na
        return _status(None if train is None or now is None else abs(now - train),
                       "no_attendance_shift")

    @property
    def drifted(self) -> bool:
        """Whether any check reached its ``drift`` threshold."""
        return bool((self._table["status"] == "drift").any()) or self.no_attendance_status == "drift"

    @property
    def warnings(self) -> list[str]:
        """One sentence per check at ``watch`` or ``drift``, worst first."""
        out: list[tuple[int, str]] = []
        for r in self._table.itertuples(index=False):
            if r.status == "ok":
                continue
            parts = []
            if r.psi is not None and _status(r.psi, "psi") != "ok":
                parts.append(f"PSI {r.psi:.3f}")
            if r.missing_now is not None and _status(
                    abs(r.missing_now - r.missing_train), "missing_shift") != "ok":
                parts.append(f"missing {r.missing_train:.1%} in training, {r.missing_now:.1%} now")
            if r.n_unseen:
                parts.append(f"{r.n_unseen} rows with categories not seen in training "
                             f"({', '.join(map(repr, r.unseen_examples))})")
            out.append((_STATUS_ORDER[r.status],
                        f"{r.status}: feature '{r.feature}': {'; '.join(parts)}"))
        train, now = self._na
        status = self.no_attendance_status
        if status != "ok":
            out.append((_STATUS_ORDER[status],
                        f"{status}: share of students with no attendance rows "
                        f"{train:.1%} in training, {now:.1%} now"))
        return [text for _, text in sorted(out, key=lambda t: -t[0])]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: thresholds, per-feature rows, warnings."""
        def clean(v: Any) -> Any:
            if isinstance(v, float) and math.isnan(v):
                return None
            return v

        rows = [{k: clean(v) for k, v in r.items()} for r in self._table.to_dict("records")]
        train, now = self._na
        return {
            "n_rows": self._n,
            "drifted": self.drifted,
            "thresholds": {k: {"watch": w, "drift": d} for k, (w, d) in DRIFT_THRESHOLDS.items()},
            "no_attendance_share": {"training": train, "now": now,
                                    "status": self.no_attendance_status},
            "features": rows,
            "warnings": self.warnings,
        }

    def __repr__(self) -> str:
        counts = self._table["status"].value_counts()
        return (f"DriftReport(n_rows={self._n}, drift={int(counts.get('drift', 0))}, "
                f"watch={int(counts.get('watch', 0))}, "
                f"no_attendance={self.no_attendance_status!r})")


def check_drift(profile: TrainingProfile, X: pd.DataFrame) -> DriftReport:
    """Compare feature rows ``X`` with the training ``profile``.

    Parameters
    ----------
    profile : TrainingProfile
    X : DataFrame
        Feature rows at prediction time.

    Returns
    -------
    DriftReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"attendance_rate": rng.uniform(0.7, 1.0, 2000)})
    >>> profile = TrainingProfile.from_features(train)
    >>> check_drift(profile, train.sample(500, random_state=1)).drifted
    False
    >>> report = check_drift(profile, train - 0.2)
    >>> report.drifted, report.table.loc[0, "status"]
    (True, 'drift')
    """
    if not isinstance(profile, TrainingProfile):
        raise TypeError(f"profile must be a TrainingProfile, got {type(profile).__name__}.")
    return profile.accumulator().update(X).report()
