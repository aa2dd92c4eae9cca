"""The vectorised reason tables and school medians against a slow, per-student reference.

The references below are written for clarity, one student and one feature at a
time (the school medians with plain pandas ``groupby``). The data have ties
between contributions, ties between categories, missing values, -0.0, schools
too small for a reference and two ``as_of`` dates.
"""

import re

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.explain import explain_students, format_values, school_references
from dropoutrisk.explain._reasons import MIN_REASON_LOG_ODDS, MIN_REFERENCE_COUNT, select_reasons

from .conftest import make_frame


# ---- references -------------------------------------------------------------------------
def slow_school_references(frame, names, kinds, min_count=MIN_REFERENCE_COUNT):
    keys = [k for k in ("school_id", "as_of") if k in frame.columns]
    group = (frame.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
             if keys else np.zeros(len(frame), dtype=np.int64))
    out = {}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "categorical":
            # ties between categories go as DataFrame.value_counts orders them
            counts = (pd.DataFrame({"g": group, "v": frame[name].astype(object).to_numpy()})
                      .dropna().value_counts(sort=True))
            top = counts.reset_index().drop_duplicates("g").set_index("g")["v"]
            size = counts.groupby(level="g").sum()
            out[name] = top[size.reindex(top.index) >= min_count].reindex(group).to_numpy()
            continue
        x = pd.Series(frame[name].to_numpy(dtype=np.float64, na_value=np.nan))
        grouped = x.groupby(group)
        ref = grouped.median().where(grouped.count() >= min_count)
        if kind == "binary":
            ref = (grouped.mean() > 0.5).astype(np.float64).where(ref.notna())
        out[name] = ref.reindex(group).to_numpy()
    return pd.DataFrame(out, index=frame.index, columns=names)


def random_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    schools = [f"s{i}" for i in range(int(rng.integers(1, 25)))] + [None]
    f = pd.DataFrame(index=pd.Index([f"id{i}" for i in range(n)], name="student_id"))
    if seed % 4 != 3:
        school = rng.choice(schools, n)
        f["school_id"] = pd.Categorical(school) if seed % 2 else school
    if seed % 3 != 2:
        f["as_of"] = pd.to_datetime(rng.choice(["2024-10-07", "2024-11-04", None], n))
    f["x"] = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.normal(size=n), seed % 3))
    f["zeros"] = rng.choice([-0.0, 0.0, 0.0, 1.5, -2.0, np.nan], n)
    f["flag"] = rng.choice([0.0, 1.0, np.nan], n)
    f["share"] = rng.choice([0.0, 0.3, 1.0, 0.7, np.nan], n)  # not 0/1: the mean decides
    categories = ["national", "introductory", "other one"]
    c = rng.choice([*categories, None], n, p=[0.4, 0.4, 0.1, 0.1])
    f["c"] = pd.Categorical(c, categories=categories) if seed % 2 else c
    f["empty"] = pd.Categorical([None] * n, categories=["a"])
    return f


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("min_count", [0, 1, 3, MIN_REFERENCE_COUNT])
def test_school_references_equal_the_groupby_reference(seed, min_count):
    f = random_frame(seed)
    names = ["x", "zeros", "flag", "share", "c", "empty"]
    kinds = ["numeric", "numeric", "binary", "binary", "categorical", "categorical"]
    got = school_references(f, names, kinds, min_count=min_count)
    want = slow_school_references(f, names, kinds, min_count=min_count)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for name in ("x", "zeros"):  # the sign of a zero median too
        np.testing.assert_array_equal(np.signbit(got[name]), np.signbit(want[name]))
    for name in ("c", "empty"):
        assert [type(v) for v in got[name]] == [type(v) for v in want[name]]


# ---- formatting --------------------------------------------------------------------------
EDGES = [0.0995, 0.09949999, 0.0995000001, -0.0995, 0.5, 0.49999999, 0.05, -0.0004, 0.0004,
         -0.0, 0.0, np.nan, 9.95, -9.95, 0.00049999, 0.0005, 1e-12, -1e-12, 12.25, 12.35, 2.5,
         -2.5, 1e10, -1e10, 0.1, -0.1]


@pytest.mark.parametrize("kind", ["numeric", "binary"])
@pytest.mark.parametrize("unit", ["fraction", "percentage_points", "count", "days", "points",
                                  "score", "none"])
def test_formatting_many_values_equals_one_at_a_time(kind, unit):
    # many values are formatted once per distinct text; one value at a time is not
    rng = np.random.default_rng(len(unit))
    values = np.r_[EDGES, rng.normal(size=300) * 10.0 ** rng.integers(-4, 4, 300),
                   np.round(rng.normal(size=100), 2)]
    for lang in ("sv", "en"):
        many = format_values(values, kind, unit, lang)
        assert many.tolist() == [format_values([v], kind, unit, lang)[0] for v in values]


# ---- ranking ----------------------------------------------------------------------------
def slow_select(log_odds, eligible, actionable, top_n, protective):
    rows, cols = [], []
    for i, row in enumerate(log_odds):
        signed = -row if protective else row
        candidates = sorted((not actionable[j], -signed[j], j) for j in range(row.size)
                            if eligible[j] and signed[j] > MIN_REASON_LOG_ODDS)
        for _, _, j in candidates[:top_n]:
            rows.append(i)
            cols.append(j)
    return rows, cols


@pytest.mark.parametrize("seed", range(20))
def test_select_reasons_equals_sorting_each_student(seed):
    rng = np.random.default_rng(seed)
    n, f = int(rng.integers(1, 60)), int(rng.integers(1, 12))
    lo = np.round(rng.normal(scale=0.3, size=(n, f)), 1)  # many ties within a row
    lo[rng.random((n, f)) < 0.1] = MIN_REASON_LOG_ODDS
    eligible, actionable = rng.random(f) < 0.8, rng.random(f) < 0.6
    for top_n in (0, 1, 3, f + 2):
        for protective in (False, True):
            rows, cols = select_reasons(lo, eligible, actionable, top_n, protective=protective)
            want = slow_select(lo, eligible, actionable, top_n, protective)
            assert (rows.tolist(), cols.tolist()) == want


# ---- reason tables ----------------------------------------------------------------------
class _FixedShap:
    """A fitted RiskModel whose booster returns given SHAP values (to put in ties)."""

    def __init__(self, model, contrib):
        class _Booster:
            def predict(self, data, **kw):
                return contrib if kw.get("pred_contrib") else model.booster_.predict(data, **kw)

        self.booster_ = _Booster()
        self.calibrator_ = model.calibrator_
        self.catalogue = model.catalogue
        self.transform_input = model.transform_input
        self.tier = model.tier


def _fill(template, value, reference):
    parts = re.split(r"\{(value|reference)\}", template)
    return "".join((value if p == "value" else reference) if k % 2
                   else p.replace("{{", "{").replace("}}", "}") for k, p in enumerate(parts))


def _suffix(kind, value, reference):
    if kind == "categorical":
        return "MISSING" if pd.isna(value) else re.sub(r"[^A-Z0-9]+", "", str(value).upper())[:12]
    if np.isnan(value):
        return "MISSING"
    if kind == "binary":
        return "YES" if value > 0.5 else "NO"
    if np.isnan(reference):
        return "NOREF"
    return "LOW" if value < reference else "HIGH" if value > reference else "MED"


def slow_reasons(ex, X, top_n, lang, protective):
    meta = ex.features
    names = list(meta.index)
    Xm = ex.feature_values
    refs = slow_school_references(X, names, meta["kind"].tolist()).loc[Xm.index]
    values, references = Xm.to_numpy(dtype=object), refs.to_numpy(dtype=object)
    lo, prob = ex.contributions_log_odds.to_numpy(), ex.contributions.to_numpy()
    eligible = (meta["dimension"] != "background").to_numpy()
    rows, cols = slow_select(lo, eligible, meta["actionable"].to_numpy(), top_n, protective)
    text = {k: [] for k in ("code", "value_sv", "value_en", "ref_sv", "ref_en", "sv", "en")}
    for i, j in zip(rows, cols, strict=True):
        kind, unit, v, r = meta["kind"].iat[j], meta["unit"].iat[j], values[i, j], references[i, j]
        text["code"].append(f"{meta['stem'].iat[j]}-{_suffix(kind, v, r)}")
        for lg in ("sv", "en"):
            vt = format_values([v], kind, unit, lg)[0]
            rt = format_values([r], kind, unit, lg)[0]
            text[f"value_{lg}"].append(str(vt))
            text[f"ref_{lg}"].append(str(rt))
            text[lg].append(_fill(meta[f"template_{lg}"].iat[j], str(vt), str(rt)))
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    rank, seen = [], {}
    for i in rows.tolist():
        seen[i] = seen.get(i, 0) + 1
        rank.append(seen[i])
    strings = {k: np.array(v, dtype=object) for k, v in text.items()}
    return pd.DataFrame({
        "student_id": Xm.index.to_numpy()[rows],
        "as_of": ex.context["as_of"].to_numpy()[rows],
        "rank": np.array(rank, dtype=np.int64),
        "code": strings["code"],
        "feature": np.array(names, dtype=object)[cols],
        "dimension": meta["dimension"].to_numpy()[cols],
        "actionable": meta["actionable"].to_numpy()[cols],
        "value": values[rows, cols] if rows.size else np.empty(0, dtype=object),
        "reference": references[rows, cols] if rows.size else np.empty(0, dtype=object),
        "value_text": strings[f"value_{lang}"],
        "reference_text": strings[f"ref_{lang}"],
        "contribution_log_odds": lo[rows, cols],
        "contribution": prob[rows, cols],
        "sentence": strings[lang],
        "sentence_sv": strings["sv"],
        "sentence_en": strings["en"],
    })


def tie_frame(seed: int) -> pd.DataFrame:
    """The test frame with more missing values, small schools and two as_of dates."""
    X, _ = make_frame(600, seed=seed)
    rng = np.random.default_rng(seed)
    X["school_id"] = rng.choice([f"s{i}" for i in range(30)], len(X))  # about 20 students each
    X["as_of"] = pd.to_datetime(rng.choice(["2024-10-07", "2024-11-04"], len(X))).astype("M8[s]")
    programme = X["programme_type"].astype(object)
    programme[rng.random(len(X)) < 0.1] = np.nan
    X["programme_type"] = pd.Categorical(programme, categories=X["programme_type"].cat.categories)
    for col in ("failed_courses", "grade_point_mean", "failed_core_course", "attendance_trend_8w"):
        X.loc[rng.random(len(X)) < 0.2, col] = np.nan
    X.loc[X.index[:60], "attendance_trend_8w"] = rng.choice([-0.12, 0.031, 0.0, -0.0, 0.0996], 60)
    return X


@pytest.mark.parametrize(("seed", "top_n", "lang", "tied"), [
    (0, 4, "sv", True), (1, 1, "en", True), (2, 40, "sv", True), (3, 4, "en", False),
])
def test_reason_tables_equal_the_per_student_reference(platt_model, seed, top_n, lang, tied):
    X = tie_frame(seed)
    model = platt_model
    if tied:  # round and rescale the SHAP values: many equal contributions per student
        contrib = model.booster_.predict(model.transform_input(X), pred_contrib=True).copy()
        rng = np.random.default_rng(seed)
        scale = rng.choice([1.0, 3.0, -2.0], size=contrib[:, :-1].shape)
        contrib[:, :-1] = np.round(contrib[:, :-1] * scale, 1)
        model = _FixedShap(platt_model, contrib)
    ex = explain_students(model, X, top_n=top_n, lang=lang)
    for table, protective in ((ex.reasons, False), (ex.protective, True)):
        want = slow_reasons(ex, X, top_n, lang, protective)
        pd.testing.assert_frame_equal(table, want, check_exact=True)
        for col in ("code", "value_text", "sentence_sv", "sentence_en"):
            assert all(type(s) is str for s in table[col])
    if tied:
        assert ex.reasons["contribution_log_odds"].duplicated().any()
    assert (ex.reasons["code"].str.endswith("-NOREF") | ex.reasons["code"].str.endswith("-MISSING")).any()
    refs = slow_school_references(X, list(ex.features.index), ex.features["kind"].tolist())
    pd.testing.assert_frame_equal(ex.references, refs, check_exact=True)
    dims = ex.contributions.T.groupby(ex.features["dimension"]).sum().T
    pd.testing.assert_frame_equal(ex.dimension_totals[dims.columns], dims, check_names=False,
                                  rtol=1e-12, atol=1e-15)


def test_a_subset_gets_the_rows_of_the_full_batch(platt_model):
    X = tie_frame(5)
    full = explain_students(platt_model, X, top_n=3)
    ids = X.index[::7]
    sub = explain_students(platt_model, X, ids, top_n=3)
    want = full.reasons[full.reasons["student_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub.reasons, want, check_exact=False, rtol=1e-12)
    # a student's dimension totals do not depend on the other students in the batch
    pd.testing.assert_frame_equal(sub.dimension_totals, full.dimension_totals.loc[ids],
                                  check_exact=True)
