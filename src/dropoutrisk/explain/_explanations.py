"""``explain_students`` and the immutable :class:`Explanations` it returns."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk._json import dumps, to_jsonable
from dropoutrisk._result import Result
from dropoutrisk.explain._codes import DIMENSION_CODES, feature_table
from dropoutrisk.explain._narration import narration_plan, reason_inputs
from dropoutrisk.explain._reasons import reason_texts, select_reasons
from dropoutrisk.explain._references import ALL, LEVELS, ReferenceTable
from dropoutrisk.explain._shap import calibrate_contributions, tree_shap

__all__ = ["DIMENSIONS", "Explanations", "explain_students", "reasons_frame"]

#: The five Plug In dimensions plus background, in display order.
DIMENSIONS: tuple[str, ...] = tuple(DIMENSION_CODES)

_LANGS = ("sv", "en")
_REASON_COLUMNS = [
    "student_id", "as_of", "rank", "code", "feature", "dimension", "actionable", "value",
    "reference", "reference_level", "value_text", "reference_text", "contribution_log_odds",
    "contribution", "sentence", "sentence_sv", "sentence_en", "value_text_sv", "value_text_en",
    "reference_text_sv", "reference_text_en",
]


def _check_lang(lang: str) -> str:
    if lang not in _LANGS:
        raise ValueError(f"lang={lang!r} is not supported. Allowed: 'sv' or 'en'.")
    return lang


def _catalogue_of(model: Any) -> Any:
    cat = getattr(model, "catalogue_", None) or getattr(model, "catalogue", None)
    if cat is None:
        from dropoutrisk.features import default_catalogue

        cat = default_catalogue()
    return cat


def _check_model(model: Any) -> None:
    missing = [a for a in ("booster_", "calibrator_", "transform_input") if not hasattr(model, a)]
    if missing:
        from dropoutrisk.errors import ModelError

        raise ModelError(
            f"{type(model).__name__} has no {', '.join(missing)}: explanations need a fitted "
            "dropoutrisk RiskModel (one LightGBM booster and one calibrator). Call 'fit' first "
            "or load a trained model with dropoutrisk.load_model."
        )


def _positions(features: pd.DataFrame, ids: Any) -> np.ndarray:
    if ids is None:
        return np.arange(len(features))
    wanted = pd.Index([ids] if isinstance(ids, str | int) else list(ids))
    pos = features.index.get_indexer_for(wanted)
    if (pos < 0).any():
        from dropoutrisk.errors import UnknownStudentError

        bad = wanted[~wanted.isin(features.index)]
        raise UnknownStudentError(
            table="features", column="student_id",
            rows=list(np.flatnonzero(~wanted.isin(features.index))), values=list(bad),
            n_bad=len(bad), problem="ids that are not in the feature frame",
            allowed="student ids in the index of the feature frame",
            fix="Check the ids, or build features for those students at this as_of.",
        )
    return pos


def _reason_table(
    rows: np.ndarray,
    cols: np.ndarray,
    texts: dict[str, np.ndarray],
    *,
    ids: pd.Index,
    as_of: np.ndarray,
    meta: pd.DataFrame,
    log_odds: np.ndarray,
    prob: np.ndarray,
    lang: str,
) -> pd.DataFrame:
    """The long reason table of the (row, feature) pairs chosen, with their :func:`reason_texts`."""
    n = rows.size
    names = meta.index.to_numpy()
    rank = np.ones(n, dtype=np.int64)
    if n:  # rows come grouped and in rank order: rank = position within the row's block
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    frame = pd.DataFrame(
        {
            "student_id": ids.to_numpy()[rows],
            "as_of": as_of[rows],
            "rank": rank,
            "code": texts["code"],
            "feature": names[cols],
            "dimension": meta["dimension"].to_numpy()[cols],
            "actionable": meta["actionable"].to_numpy()[cols],
            "value": texts["value"],
            "reference": texts["reference"],
            "reference_level": texts["reference_level"],
            "value_text": texts["value_text"],
            "reference_text": texts["reference_text"],
            "contribution_log_odds": log_odds[rows, cols],
            "contribution": prob[rows, cols],
            "sentence": texts[f"sentence_{lang}"],
            "sentence_sv": texts["sentence_sv"],
            "sentence_en": texts["sentence_en"],
            "value_text_sv": texts["value_text_sv"],
            "value_text_en": texts["value_text_en"],
            "reference_text_sv": texts["reference_text_sv"],
            "reference_text_en": texts["reference_text_en"],
            "_row": rows,  # position of the explained row; dropped by the public properties
        },
        columns=[*_REASON_COLUMNS, "_row"],
        copy=False,  # the arrays are new; stacking them into blocks costs a copy of every string
    )
    return frame


def _dimension_totals(values: np.ndarray, dimension_of: list[int]) -> np.ndarray:
    """Per row, the sum of the contributions of each dimension's features, in feature order.

    Not a matrix product with a one-hot matrix: BLAS rounds a row's sum
    differently with the thread count and the other rows in the batch, and
    its worker threads keep spinning on a core after the call.
    """
    out = np.zeros((values.shape[0], len(DIMENSIONS)))
    for k, d in enumerate(dimension_of):
        if d >= 0:
            out[:, d] += values[:, k]
    return out


class Explanations(Result):
    """Exact SHAP explanations of calibrated risk for a batch of students.

    Built by :func:`explain_students`; immutable. Every property returns a
    fresh copy.

    Contributions come in two scales. ``contributions`` is in probability:
    ``base_value + contributions.sum(axis=1) == probability`` to 1e-6
    (floating-point rounding in practice). ``contributions_log_odds`` is in
    calibrated log-odds. See ``docs/explanations.md`` for how the values are
    carried through the calibrator.
    """

    __slots__ = (
        "_base", "_base_log_odds", "_calibration", "_contrib", "_contrib_lo", "_context",
        "_dim", "_dim_lo", "_flag", "_lang", "_meta", "_proba", "_protective", "_reasons",
        "_tier", "_top_n", "_values", "_references", "_reference_levels",
    )
    _remedy = "call explain_students again."

    def __init__(self, **parts: Any) -> None:
        self._set(**parts)

    def __len__(self) -> int:
        return len(self._proba)

    def __repr__(self) -> str:
        return (f"Explanations(n_students={len(self)}, n_features={self._contrib.shape[1]}, "
                f"calibration={self._calibration!r}, top_n={self._top_n}, lang={self._lang!r})")

    # ---- properties -----------------------------------------------------------------
    @property
    def lang(self) -> str:
        """Language of the ``sentence`` columns (``"sv"`` or ``"en"``)."""
        return self._lang

    @property
    def top_n(self) -> int:
        """How many risk-raising (and protective) reasons each student has at most."""
        return self._top_n

    @property
    def calibration(self) -> str:
        """The calibration method the contributions were carried through."""
        return self._calibration

    @property
    def base_value(self) -> float:
        """Calibrated probability at the model's expected margin (the waterfall's start)."""
        return float(self._base)

    @property
    def base_value_log_odds(self) -> float:
        """The base value in calibrated log-odds."""
        return float(self._base_log_odds)

    @property
    def probability(self) -> pd.Series:
        """The calibrated probability reported to the user, one per student."""
        return self._proba.copy()

    @property
    def flag(self) -> pd.Series:
        """Whether each student is flagged at the operating point the explanations were made at."""
        return self._flag.copy()

    @property
    def tier(self) -> pd.Series:
        """Support tier of each student: ``universal`` unless flagged, then targeted or intensive."""
        return self._tier.copy()

    @property
    def context(self) -> pd.DataFrame:
        """``as_of`` and ``school_id`` of each explained row."""
        return self._context.copy()

    @property
    def contributions(self) -> pd.DataFrame:
        """Per-feature contributions in probability; rows sum to ``probability - base_value``."""
        return self._contrib.copy()

    @property
    def contributions_log_odds(self) -> pd.DataFrame:
        """Per-feature contributions in calibrated log-odds."""
        return self._contrib_lo.copy()

    @property
    def feature_values(self) -> pd.DataFrame:
        """The students' model input values, as the model saw them."""
        return self._values.copy()

    @property
    def references(self) -> pd.DataFrame:
        """The reference of every feature: the school median (the most common value for
        binary and categorical features) at the same ``as_of``, else the year group's across
        schools, else all students'; see :attr:`reference_levels`. A line printed against the
        training median instead says so in its ``reference_level``."""
        return self._references.copy()

    @property
    def reference_levels(self) -> pd.DataFrame:
        """Which level each of :attr:`references` comes from (``school``, ``year_group``,
        ``all``), or None where no level has at least 10 students with a value."""
        return self._reference_levels.copy()

    @property
    def features(self) -> pd.DataFrame:
        """Catalogue metadata of each model feature (dimension, actionable, code stem, ...)."""
        return self._meta.copy()

    @property
    def reasons(self) -> pd.DataFrame:
        """Top risk-raising reasons, long format, actionable first.

        Background features are never reasons; they count only in
        :attr:`dimension_totals` (column ``background``).
        """
        return self._reasons.drop(columns="_row")

    @property
    def protective(self) -> pd.DataFrame:
        """Top protective factors (risk-lowering contributions), same columns as ``reasons``."""
        return self._protective.drop(columns="_row")

    @property
    def dimension_totals(self) -> pd.DataFrame:
        """Sum of contributions per dimension in probability (five dimensions plus background)."""
        return self._dim.copy()

    @property
    def dimension_totals_log_odds(self) -> pd.DataFrame:
        """Sum of contributions per dimension in calibrated log-odds."""
        return self._dim_lo.copy()

    def _take(self, pos: np.ndarray) -> Explanations:
        """A new Explanations with only the rows at ``pos`` (used by per-student reports)."""
        pos = np.asarray(pos, dtype=np.int64)
        remap = np.full(len(self), -1, dtype=np.int64)
        remap[pos] = np.arange(pos.size)
        tables = {}
        for key in ("reasons", "protective"):
            t = getattr(self, "_" + key)
            t = t[np.isin(t["_row"].to_numpy(), pos)].copy()
            t["_row"] = remap[t["_row"].to_numpy()]
            tables[key] = t.sort_values(["_row", "rank"], kind="stable").reset_index(drop=True)
        return Explanations(
            base=self._base, base_log_odds=self._base_log_odds, calibration=self._calibration,
            contrib=self._contrib.iloc[pos].copy(), contrib_lo=self._contrib_lo.iloc[pos].copy(),
            context=self._context.iloc[pos].copy(), dim=self._dim.iloc[pos].copy(),
            dim_lo=self._dim_lo.iloc[pos].copy(), lang=self._lang, meta=self._meta,
            proba=self._proba.iloc[pos].copy(), protective=tables["protective"],
            reasons=tables["reasons"], tier=self._tier.iloc[pos].copy(), top_n=self._top_n,
            flag=self._flag.iloc[pos].copy(),
            values=self._values.iloc[pos].copy(), references=self._references.iloc[pos].copy(),
            reference_levels=self._reference_levels.iloc[pos].copy(),
        )

    def student(self, student_id: Any) -> Explanations:
        """The explanations of one student only (their last row if there are several).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from dropoutrisk.models import RiskModel
        >>> rng = np.random.default_rng(2)
        >>> X = pd.DataFrame({"attendance_rate_4w": rng.uniform(0.5, 1, 200)},
        ...                  index=pd.Index([f"id{i}" for i in range(200)], name="student_id"))
        >>> y = (rng.random(200) < 1.3 - X["attendance_rate_4w"]).astype(int)
        >>> model = RiskModel(n_estimators=10, random_state=0).fit(X, y)
        >>> one = explain_students(model, X).student("id3")
        >>> len(one), one.probability.index.tolist()
        (1, ['id3'])
        """
        return self._take(self._rows_of(student_id)[-1:])

    # ---- export ---------------------------------------------------------------------
    def _rows_of(self, student_id: Any) -> np.ndarray:
        pos = np.flatnonzero(self._proba.index == student_id)
        if pos.size == 0:
            raise KeyError(f"Student {student_id!r} is not in these explanations.")
        return pos

    def to_dict(self, student_id: Any = None, *, contributions: bool = True) -> dict[str, Any]:
        """Return the explanations as plain Python (JSON-ready) data.

        Parameters
        ----------
        student_id : optional
            Only this student's rows (as in a per-student report).
        contributions : bool, default True
            Include every feature's contribution, not only the reasons.
        """
        pos = np.arange(len(self)) if student_id is None else self._rows_of(student_id)
        wanted = set(pos.tolist())
        lists: dict[str, dict[int, list]] = {"reasons": {}, "protective": {}}
        for key, table in (("reasons", self._reasons), ("protective", self._protective)):
            sub = table[table["_row"].isin(wanted)]
            records = sub.drop(columns=["student_id", "as_of", "_row"]).to_dict("records")
            for row, record in zip(sub["_row"].tolist(), records, strict=True):
                lists[key].setdefault(row, []).append(record)
        names = [str(c) for c in self._contrib.columns]
        dims = list(self._dim.columns)
        arrays = {
            "contributions": self._contrib.to_numpy()[pos],
            "contributions_log_odds": self._contrib_lo.to_numpy()[pos],
            "dimension_totals": self._dim.to_numpy()[pos],
            "dimension_totals_log_odds": self._dim_lo.to_numpy()[pos],
        }
        ids = self._proba.index.to_numpy()[pos]
        as_of = self._context["as_of"].iloc[pos].tolist()  # Timestamps, not datetime64 ints
        school = self._context["school_id"].iloc[pos].tolist()
        proba = self._proba.to_numpy()[pos]
        tier = self._tier.astype(str).to_numpy()[pos]
        flag = self._flag.to_numpy(dtype=bool)[pos]
        students = []
        for k, i in enumerate(pos.tolist()):
            rec: dict[str, Any] = {
                "student_id": ids[k],
                "as_of": as_of[k],
                "school_id": school[k],
                "probability": proba[k],
                "flag": bool(flag[k]),
                "tier": tier[k],
                "reasons": lists["reasons"].get(i, []),
                "protective": lists["protective"].get(i, []),
                "dimension_totals": dict(zip(dims, arrays["dimension_totals"][k].tolist(), strict=True)),
                "dimension_totals_log_odds": dict(
                    zip(dims, arrays["dimension_totals_log_odds"][k].tolist(), strict=True)),
            }
            if contributions:
                for name in ("contributions", "contributions_log_odds"):
                    rec[name] = dict(zip(names, arrays[name][k].tolist(), strict=True))
            students.append(rec)
        return to_jsonable({
            "calibration": self._calibration,
            "base_value": self.base_value,
            "base_value_log_odds": self.base_value_log_odds,
            "lang": self._lang,
            "top_n": self._top_n,
            "note": _NOTE,
            "students": students,
        })

    def to_json(self, student_id: Any = None, *, indent: int | None = 2, **kwargs: Any) -> str:
        """Return :meth:`to_dict` as a JSON string (NaN becomes ``null``)."""
        return dumps(self.to_dict(student_id, **kwargs), indent=indent)

    def check_lines(self) -> pd.DataFrame:
        """Every narrated line, read from its printed texts: does it contradict or say nothing?

        See :func:`dropoutrisk.explain.check_lines`; on these explanations
        both columns should be all False.
        """
        from dropoutrisk.explain._checks import check_lines

        return check_lines(self)

    # ---- plots ----------------------------------------------------------------------
    def plot_waterfall(self, student_id: Any, *, max_display: int = 10, ax: Any = None,
                       lang: str | None = None) -> Any:
        """Waterfall of one student's contributions in probability, from base value to prediction.

        Returns the matplotlib ``Axes``. With several snapshots of the student,
        the last row is drawn.
        """
        from dropoutrisk.explain._plots import waterfall

        i = self._rows_of(student_id)[-1]
        return waterfall(self, i, max_display=max_display, ax=ax, lang=lang or self._lang)

    def plot_beeswarm(self, *, max_display: int = 12, ax: Any = None) -> Any:
        """Cohort beeswarm of contributions in calibrated log-odds (shap's plot)."""
        from dropoutrisk.explain._plots import beeswarm

        return beeswarm(self, max_display=max_display, ax=ax)

    def plot_dimension_importance(self, student_id: Any = None, *, ax: Any = None,
                                  lang: str | None = None) -> Any:
        """Bar chart per dimension: mean absolute total for the cohort, or one student's totals."""
        from dropoutrisk.explain._plots import dimension_bars

        i = None if student_id is None else self._rows_of(student_id)[-1]
        return dimension_bars(self, i, ax=ax, lang=lang or self._lang)


_NOTE = ("Contributions describe how the model arrived at its estimate; they are not causes. "
         "Bidragen beskriver hur modellen kom fram till sin bedömning; de är inte orsaker.")


def explain_students(
    model: Any,
    features: pd.DataFrame,
    ids: Any = None,
    *,
    top_n: int = 4,
    lang: Literal["sv", "en"] = "sv",
    flags: Any = None,
    reference_frame: pd.DataFrame | None = None,
) -> Explanations:
    """Explain calibrated risk per student with exact SHAP values and reason codes.

    SHAP values come from LightGBM's native ``pred_contrib`` (exact
    TreeSHAP), computed for the whole batch in one call and carried through
    the model's calibrator so that base value plus contributions equals the
    reported probability (see ``docs/explanations.md``).

    Only lines that agree with the page are narrated as reasons and
    protective factors (see ``docs/explanations.md``, "What is narrated"):
    a risk reason's value lies on the risky side of the reference printed
    beside it, a protective factor's on the other, and a missing value is
    narrated as missing only where its absence raises the risk. Everything
    else stays in :attr:`Explanations.contributions`.

    Parameters
    ----------
    model : RiskModel
        A fitted model (``booster_``, ``calibrator_``, ``transform_input``).
    features : pandas.DataFrame
        A feature frame from :func:`dropoutrisk.features.build_features`,
        indexed by ``student_id`` with ``as_of`` and ``school_id`` columns.
    ids : student id or list of ids, optional
        Explain only these students (default: every row).
    top_n : int, default 4
        Number of risk-raising reasons, and of protective factors, per student.
    lang : {"sv", "en"}, default "sv"
        Language of the ``sentence`` column (both languages are always kept in
        ``sentence_sv`` and ``sentence_en``).
    flags : array-like of bool, optional
        The flags of the operating point in use, one per row of ``features``
        (for example ``model.flag(features, capacity=10, by="school_id")``).
        Tiers agree with them: a student who is not flagged is ``universal``,
        a flagged one ``targeted``, or ``intensive`` from the intensive cut.
        Default: the model's own flags (probability at or above 0.20).
    reference_frame : pandas.DataFrame or ReferenceTable, optional
        The students whose medians are the references: the school median
        (at least 10 students with a value), else the year group's across
        schools, else all students' (default: ``features``). Pass every
        student scored at the date, even when explaining a few; a
        :class:`~dropoutrisk.explain.ReferenceTable` built once saves
        recomputing the medians for every batch.

    Returns
    -------
    Explanations

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.features import default_catalogue
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"school_id": ["s1"] * 300,
    ...                   "attendance_rate_4w": rng.uniform(0.5, 1, 300),
    ...                   "failed_courses": rng.poisson(0.5, 300).astype(float)},
    ...                  index=pd.Index([f"id{i}" for i in range(300)], name="student_id"))
    >>> y = (rng.random(300) < 1.3 - X["attendance_rate_4w"]).astype(int)
    >>> cat = default_catalogue().subset(["attendance_rate_4w", "failed_courses"])
    >>> model = RiskModel(n_estimators=20, catalogue=cat, random_state=0).fit(X, y)
    >>> ex = explain_students(model, X, ["id0", "id1"], top_n=2, lang="en")
    >>> bool(np.allclose(ex.base_value + ex.contributions.sum(axis=1), ex.probability))
    True
    >>> ex.reasons.columns[:4].tolist()
    ['student_id', 'as_of', 'rank', 'code']
    """
    _check_lang(lang)
    if not isinstance(top_n, int | np.integer) or top_n < 0:
        raise ValueError(f"top_n={top_n!r} must be a non-negative integer.")
    if not isinstance(features, pd.DataFrame):
        raise TypeError(
            f"features must be a pandas DataFrame from build_features, got {type(features).__name__}."
        )
    if reference_frame is not None and not isinstance(reference_frame,
                                                      pd.DataFrame | ReferenceTable):
        raise TypeError("reference_frame must be a pandas DataFrame of feature rows (or a "
                        f"ReferenceTable), got {type(reference_frame).__name__}.")
    _check_model(model)
    pos = _positions(features, ids)
    # every row explained: the frame itself (its reference groups are then known)
    rows = features if ids is None else features.iloc[pos]

    Xm = model.transform_input(rows)
    names = [str(c) for c in Xm.columns]
    meta = feature_table(_catalogue_of(model), names)
    booster = model.booster_
    phi, base = tree_shap(booster, Xm)
    # The margin as base + sum of contributions equals booster.predict(raw_score=True)
    # to ~1e-12 and saves a pass over the trees; the calibrator is the model's own.
    margin = base + phi.sum(axis=1)
    proba = np.asarray(model.calibrator_.predict(margin), dtype=np.float64)
    att = calibrate_contributions(phi, base, model.calibrator_, proba)
    flag = _flags_of(model, features, flags, pos, proba)

    index = rows.index
    kinds = meta["kind"].tolist()
    training = getattr(model, "reference_values_", None)
    if isinstance(reference_frame, ReferenceTable):
        table = reference_frame
        if table.names != names or table.kinds != kinds:
            raise ValueError("reference_frame is a ReferenceTable for other features; build it "
                             "with the model's features (model.feature_names_in_).")
    else:
        frame = features if reference_frame is None else reference_frame
        table = ReferenceTable(frame, names, kinds, training=training)
    referenced = table.lookup(rows)
    inputs = reason_inputs(Xm, kinds, referenced)

    n = len(rows)
    as_of = (rows["as_of"].to_numpy() if "as_of" in rows.columns
             else np.full(n, None, dtype=object))
    school = (rows["school_id"].to_numpy() if "school_id" in rows.columns
              else np.full(n, None, dtype=object))
    actionable = meta["actionable"].to_numpy(dtype=bool)
    eligible = (meta["dimension"] != "background").to_numpy()
    plan = narration_plan(att["log_odds"], inputs, meta)
    references, reference_levels = _availability(referenced, plan.available, index, names)
    allowed = plan.mode > 0
    chosen = {key: select_reasons(att["log_odds"], eligible, actionable, int(top_n),
                                  protective=protective, allowed=allowed, groups=plan.group)
              for key, protective in (("reasons", False), ("protective", True))}
    # one pass over the lines of both tables: each distinct value is formatted once
    texts = reason_texts(np.concatenate([r for r, _ in chosen.values()]),
                         np.concatenate([c for _, c in chosen.values()]), inputs, plan, meta,
                         lang)
    cut = chosen["reasons"][0].size
    tables = {
        key: _reason_table(
            r, c, {k: v[part] for k, v in texts.items()}, ids=index, as_of=as_of, meta=meta,
            log_odds=att["log_odds"], prob=att["probability_contrib"], lang=lang,
        )
        for (key, (r, c)), part in zip(chosen.items(), (slice(0, cut), slice(cut, None)),
                                       strict=True)
    }

    dimension_of = [DIMENSIONS.index(d) if d in DIMENSIONS else -1 for d in meta["dimension"]]
    cols = pd.Index(list(DIMENSIONS), name="dimension")
    contrib = pd.DataFrame(att["probability_contrib"], index=index, columns=names)
    contrib_lo = pd.DataFrame(att["log_odds"], index=index, columns=names)
    proba_s = pd.Series(proba, index=index, name="probability")
    from dropoutrisk.models._flagging import tier_scores

    tier = tier_scores(proba, index, flags=flag)
    return Explanations(
        base=float(att["base_probability"][0]) if n else float("nan"),
        base_log_odds=float(att["base_log_odds"][0]) if n else float("nan"),
        calibration=str(getattr(model.calibrator_, "method", "unknown")),
        contrib=contrib,
        contrib_lo=contrib_lo,
        context=pd.DataFrame({"as_of": as_of, "school_id": school}, index=index),
        dim=pd.DataFrame(_dimension_totals(att["probability_contrib"], dimension_of),
                         index=index, columns=cols),
        dim_lo=pd.DataFrame(_dimension_totals(att["log_odds"], dimension_of),
                            index=index, columns=cols),
        flag=pd.Series(flag, index=index, name="flag", dtype=bool),
        lang=lang,
        meta=meta,
        proba=proba_s,
        protective=tables["protective"],
        reasons=tables["reasons"],
        tier=tier,
        top_n=int(top_n),
        values=Xm.copy(),
        references=references,
        reference_levels=reference_levels,
    )


def _flags_of(model: Any, features: pd.DataFrame, flags: Any, pos: np.ndarray,
              proba: np.ndarray) -> np.ndarray:
    """The explained rows' flags: given for every row of ``features``, or the model's default."""
    if flags is None:
        from dropoutrisk.models._flagging import DEFAULT_TIER_CUTS

        if hasattr(model, "_default_flags"):
            default = model._default_flags(features.iloc[pos], proba)
            if default is not None:
                return np.asarray(default, dtype=bool)
        return proba >= DEFAULT_TIER_CUTS[0]
    arr = np.asarray(flags)
    if arr.shape != (len(features),):
        raise ValueError(
            f"flags has shape {arr.shape}; it needs one flag per row of features "
            f"({len(features)} rows), e.g. model.flag(features, capacity=10, by='school_id')."
        )
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("flags must be True/False (or 1/0), one per row of features.")
        arr = arr.astype(bool)
    return arr[pos]


def _availability(referenced: Any, first: np.ndarray, index: pd.Index,
                  names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each row's reference of each feature at its first level with one (see the plan)."""
    n, f = first.shape
    found = first >= 0
    at = np.maximum(first, 0)
    rows, feats = np.arange(n)[:, None], np.arange(f)[None, :]
    values = np.where(found, referenced.values[at, rows, feats], np.nan)
    refs = pd.DataFrame(values, index=index, columns=pd.Index(names))
    for j, column in referenced.objects.items():  # categories replace the NaN columns
        refs.isetitem(j, np.where(found[:, j], column[at[:, j], np.arange(n)], None))
    level_names = np.array([*LEVELS[:ALL + 1], None], dtype=object)
    levels = level_names[np.where(found, first, ALL + 1)]
    return refs, pd.DataFrame(levels, index=index, columns=pd.Index(names))


def reasons_frame(explanations: Explanations, n: int = 4, *, lang: str | None = None) -> pd.DataFrame:
    """Wide table of the top ``n`` reasons per student, for the ``predict`` output.

    One row per explained row (index ``student_id``), with columns
    ``reason_1_code``, ``reason_1_sentence``, ... up to ``n`` (missing where
    a student has fewer risk-raising factors). Vectorised: one pivot.

    Parameters
    ----------
    explanations : Explanations
    n : int, default 4
        At most ``explanations.top_n``.
    lang : {"sv", "en"}, optional
        Language of the sentences; default the explanations' language.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dropoutrisk.models import RiskModel
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"attendance_rate_4w": rng.uniform(0.5, 1, 200)},
    ...                  index=pd.Index([f"id{i}" for i in range(200)], name="student_id"))
    >>> y = (rng.random(200) < 1.3 - X["attendance_rate_4w"]).astype(int)
    >>> model = RiskModel(n_estimators=10, random_state=0).fit(X, y)
    >>> wide = reasons_frame(explain_students(model, X, ["id0", "id1"], lang="en"), 2)
    >>> wide.columns.tolist()
    ['reason_1_code', 'reason_1_sentence', 'reason_2_code', 'reason_2_sentence']
    >>> wide.shape
    (2, 4)
    """
    lang = _check_lang(lang or explanations.lang)
    if n > explanations.top_n:
        raise ValueError(
            f"n={n} is more than the {explanations.top_n} reasons computed; call "
            f"explain_students(..., top_n={n})."
        )
    r = explanations._reasons
    r = r[r["rank"] <= n]
    index = explanations._proba.index
    row = r["_row"].to_numpy()
    rank = r["rank"].to_numpy()
    out = {}
    for k in range(1, n + 1):
        m = rank == k
        for col, src in (("code", "code"), ("sentence", f"sentence_{lang}")):
            arr = np.full(len(index), np.nan, dtype=object)
            arr[row[m]] = r[src].to_numpy()[m]
            out[f"reason_{k}_{col}"] = arr
    return pd.DataFrame(out, index=index)
