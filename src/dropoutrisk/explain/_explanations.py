"""``explain_students`` and the immutable :class:`Explanations` it returns."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from dropoutrisk.errors import ParameterError
from dropoutrisk.explain._codes import DIMENSION_CODES, feature_table
from dropoutrisk.explain._narration import narration_plan, reason_inputs
from dropoutrisk.explain._reasons import reason_texts, select_reasons
from dropoutrisk.explain._references import ALL, LEVELS, ReferenceTable
from dropoutrisk.explain._results import Explanations
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
        raise ParameterError(parameter="lang", message=
            f"lang={lang!r} is not supported. Allowed: 'sv' or 'en'.")
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
    >>> import numpy as np
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features()
    >>> model = RiskModel(n_estimators=20, random_state=0).fit(X, y)
    >>> ex = explain_students(model, X, ["id0", "id1"], top_n=2, lang="en")
    >>> bool(np.allclose(ex.base_value + ex.contributions.sum(axis=1), ex.probability))
    True
    >>> ex.reasons.columns[:4].tolist()
    ['student_id', 'as_of', 'rank', 'code']
    """
    _check_lang(lang)
    if not isinstance(top_n, int | np.integer) or top_n < 0:
        raise ParameterError(parameter="top_n", message=
            f"top_n={top_n!r} must be a non-negative integer.")
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
            raise ParameterError(parameter="reference_frame", message=
                "reference_frame is a ReferenceTable for other features; build it "
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

        if hasattr(model, "default_flags"):  # the estimators' public default flags
            return np.asarray(model.default_flags(features.iloc[pos], proba), dtype=bool)
        return proba >= DEFAULT_TIER_CUTS[0]
    arr = np.asarray(flags)
    if arr.shape != (len(features),):
        raise ParameterError(parameter="flags", message=
            f"flags has shape {arr.shape}; it needs one flag per row of features "
            f"({len(features)} rows), e.g. model.flag(features, capacity=10, by='school_id')."
        )
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ParameterError(parameter="flags", message=
                "flags must be True/False (or 1/0), one per row of features.")
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
    >>> from dropoutrisk.models import RiskModel
    >>> from dropoutrisk.synthetic import make_features
    >>> X, y = make_features(random_state=1)
    >>> ex = explain_students(RiskModel(n_estimators=10).fit(X, y), X, ["id0", "id1"], lang="en")
    >>> wide = reasons_frame(ex, 2)
    >>> wide.columns.tolist()
    ['reason_1_code', 'reason_1_sentence', 'reason_2_code', 'reason_2_sentence']
    >>> wide.shape
    (2, 4)
    """
    lang = _check_lang(lang or explanations.lang)
    if n > explanations.top_n:
        raise ParameterError(parameter="n", message=
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
