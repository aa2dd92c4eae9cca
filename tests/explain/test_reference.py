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
from dropoutrisk.explain._checks import parse_shown
from dropoutrisk.explain._codes import MIN_REASON_LOG_ODDS
from dropoutrisk.explain._reasons import select_reasons
from dropoutrisk.explain._references import MIN_REFERENCE_COUNT

from .conftest import make_frame


# ---- references -------------------------------------------------------------------------
def slow_school_references(frame, names, kinds, min_count=MIN_REFERENCE_COUNT,
                           keys=("school_id", "as_of")):
    keys = [k for k in keys if k in frame.columns]
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
        self.reference_values_ = model.reference_values_
        self.predict_proba = model.predict_proba
        self.default_flags = model.default_flags


def _fill(template, value, reference):
    parts = re.split(r"\{(value|reference)\}", template)
    return "".join((value if p == "value" else reference) if k % 2
                   else p.replace("{{", "{").replace("}}", "}") for k, p in enumerate(parts))


_PHRASE = {
    "en": ({"school": "school median {x}", "year_group": "median of all students in year {g}: {x}",
            "all": "median of all students: {x}",
            "training": "median of the students the model was trained on: {x}"},
           {"school": "most students at the school: {x}", "year_group": "most students in year {g}: {x}",
            "all": "most students: {x}", "training": "most of the students the model was trained on: {x}"}),
    "sv": ({"school": "skolans median {x}", "year_group": "median för alla elever i årskurs {g}: {x}",
            "all": "median för alla elever: {x}",
            "training": "median bland eleverna som modellen tränades på: {x}"},
           {"school": "de flesta på skolan: {x}", "year_group": "de flesta elever i årskurs {g}: {x}",
            "all": "de flesta elever: {x}", "training": "de flesta av eleverna som modellen tränades på: {x}"}),
}


def _shown(value, kind, unit):
    """What a reader sees, as a number (categories as their label)."""
    if kind == "categorical":
        return None if pd.isna(value) else str(format_values([value], kind, unit, "en")[0])
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return parse_shown(format_values([float(value)], kind, unit, "en")[0])


def slow_references(X, names, kinds, training):
    """Per level, a frame of references aligned with X (plain pandas groupby)."""
    levels = {"school": ("school_id", "as_of"), "year_group": ("grade_year", "as_of"),
              "all": ("as_of",)}
    out = {}
    for level, keys in levels.items():
        if keys[0] != "as_of" and keys[0] not in X.columns:
            out[level] = pd.DataFrame(None, index=X.index, columns=names, dtype=object)
        else:
            ref = slow_school_references(X, names, kinds, keys=keys)
            out[level] = ref.astype(object).where(ref.notna(), None)
    out["training"] = pd.DataFrame([[training.get(n) for n in names]] * len(X), index=X.index,
                                   columns=names, dtype=object)
    return out


def slow_reasons(ex, X, model, top_n, lang, protective):
    meta = ex.features
    names = list(meta.index)
    Xm = ex.feature_values
    kinds = meta["kind"].tolist()
    refs = slow_references(X, names, kinds, model.reference_values_)
    values = Xm.to_numpy(dtype=object)
    lo, prob = ex.contributions_log_odds.to_numpy(), ex.contributions.to_numpy()
    year = (X["grade_year"].reindex(Xm.index) if "grade_year" in X.columns
            else pd.Series(np.nan, index=Xm.index))
    lines = []
    for i in range(len(Xm)):
        candidates = []
        for j in range(len(names)):
            m = meta.iloc[j]
            c = lo[i, j]
            signed = -c if protective else c
            if m["dimension"] == "background" or signed <= MIN_REASON_LOG_ODDS:
                continue
            kind, unit, direction = m["kind"], m["unit"], m["risk_direction"]
            v = values[i, j]
            dv = _shown(v, kind, unit)
            chain = {lv: refs[lv].iat[i, j] for lv in ("school", "year_group", "all", "training")}
            shown = {lv: _shown(r, kind, unit) for lv, r in chain.items()}
            line = None
            if dv is None:
                if not protective and m["missing_en"] is not None:
                    line = ("MISSING", None, None, m[f"missing_{lang}"], m["missing_sv"], m["missing_en"])
            elif m["statement"]:
                known = [shown[lv] for lv in chain if shown[lv] is not None]
                if not protective and dv == 1.0 and (not known or known[0] != 1.0):
                    line = ("YES", None, None, m[f"template_{lang}"], m["template_sv"], m["template_en"])
            else:
                def good(r, dv=dv, direction=direction, kind=kind):
                    if r is None:
                        return False
                    if kind == "categorical" or direction == "none":
                        return dv != r
                    risky = dv > r if direction == "higher" else dv < r
                    safe = dv < r if direction == "higher" else dv > r
                    return safe if protective else risky
                first = next((lv for lv in ("school", "year_group", "all") if shown[lv] is not None), None)
                level = first if first is not None and good(shown[first]) else (
                    "training" if good(shown["training"]) else None)
                if level is not None:
                    line = ("VALUE", level, chain[level], None, None, None)
            if line is not None:
                candidates.append((not m["actionable"], -signed, j, line))
        seen, rank = set(), 0
        for _, _, j, line in sorted(candidates, key=lambda t: t[:3]):
            if rank == top_n:
                break
            m = meta.iloc[j]
            kind, unit = m["kind"], m["unit"]
            suffix, level, ref, sentence, sv, en = line
            texts = {}
            if suffix == "VALUE":
                v = values[i, j]
                for lg in ("sv", "en"):
                    vt = str(format_values([v], kind, unit, lg)[0])
                    rt = str(format_values([ref], kind, unit, lg)[0])
                    g = "" if np.isnan(year.iat[i]) else str(int(year.iat[i]))
                    phrase = _PHRASE[lg][kind in ("binary", "categorical")][level].format(x=rt, g=g)
                    has_ref = "{reference}" in m[f"template_{lg}"]
                    texts[lg] = (vt, rt if has_ref else None, _fill(m[f"template_{lg}"], vt, phrase))
                if kind == "categorical":
                    suffix = re.sub(r"[^A-Z0-9]+", "", str(v).upper())[:12]
                elif kind == "binary":
                    suffix = "YES" if float(v) > 0.5 else "NO"
                else:
                    suffix = "HIGH" if _shown(v, kind, unit) > _shown(ref, kind, unit) else "LOW"
            else:
                word = {"MISSING": ("saknas", "missing"), "YES": ("ja", "yes")}[suffix]
                texts = {"sv": (word[0], None, sv), "en": (word[1], None, en)}
            if texts["en"][2] in seen:
                continue
            seen.add(texts["en"][2])
            rank += 1
            lines.append({
                "student_id": Xm.index[i], "as_of": ex.context["as_of"].iat[i], "rank": rank,
                "code": f"{m['stem']}-{suffix}", "feature": names[j], "dimension": m["dimension"],
                "actionable": m["actionable"], "value": values[i, j],
                "reference": ref, "reference_level": level,
                "value_text": texts[lang][0], "reference_text": texts[lang][1],
                "contribution_log_odds": lo[i, j], "contribution": prob[i, j],
                "sentence": texts[lang][2], "sentence_sv": texts["sv"][2],
                "sentence_en": texts["en"][2],
                "value_text_sv": texts["sv"][0], "value_text_en": texts["en"][0],
                "reference_text_sv": texts["sv"][1], "reference_text_en": texts["en"][1],
            })
    columns = ["student_id", "as_of", "rank", "code", "feature", "dimension", "actionable",
               "value", "reference", "reference_level", "value_text", "reference_text",
               "contribution_log_odds", "contribution", "sentence", "sentence_sv", "sentence_en",
               "value_text_sv", "value_text_en", "reference_text_sv", "reference_text_en"]
    out = pd.DataFrame(lines, columns=columns)
    out["as_of"] = ex.context["as_of"].to_numpy()[[Xm.index.get_loc(i) for i in out["student_id"]]]
    for col in ("value", "reference", "reference_level", "value_text", "reference_text",
                "code", "sentence", "sentence_sv", "sentence_en", "feature", "dimension",
                "value_text_sv", "value_text_en", "reference_text_sv", "reference_text_en"):
        out[col] = out[col].astype(object)
    out["rank"] = out["rank"].astype(np.int64)
    out["actionable"] = out["actionable"].astype(bool)
    return out


def tie_frame(seed: int) -> pd.DataFrame:
    """The test frame with more missing values, small schools and two as_of dates."""
    X, _ = make_frame(600, seed=seed)
    rng = np.random.default_rng(seed)
    school = rng.choice([f"s{i}" for i in range(30)], len(X))  # about 20 students each
    school[:25] = rng.choice([f"tiny{i}" for i in range(5)], 25)  # too small for a median
    X["school_id"] = school
    X["as_of"] = pd.to_datetime(rng.choice(["2024-10-07", "2024-11-04"], len(X))).astype("M8[s]")
    X["grade_year"] = rng.choice([1.0, 2.0, 3.0], len(X))
    programme = X["programme_type"].astype(object)
    programme[rng.random(len(X)) < 0.1] = np.nan
    X["programme_type"] = pd.Categorical(programme, categories=X["programme_type"].cat.categories)
    for col in ("failed_courses", "grade_point_mean", "failed_core_course", "attendance_trend_8w",
                "cognitive_score", "psychological_score"):
        X.loc[rng.random(len(X)) < 0.2, col] = np.nan
    # a survey not answered shows in its score (missing) and in its flag (a statement)
    X["cognitive_missing"] = X["cognitive_score"].isna().astype(np.float64)
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
        want = slow_reasons(ex, X, model, top_n, lang, protective)
        pd.testing.assert_frame_equal(table, want, check_exact=True)
        for col in ("code", "value_text", "sentence_sv", "sentence_en"):
            assert all(type(s) is str for s in table[col])
        checks = ex.check_lines()
        assert not checks["contradicts"].any() and not checks["uninformative"].any()
    if tied:
        assert ex.reasons["contribution_log_odds"].duplicated().any()
    lines = pd.concat([ex.reasons, ex.protective])
    if top_n > 1:  # the rules are exercised: fallbacks, missing values, statements
        assert {"school", "year_group", "training"} <= set(lines["reference_level"].dropna())
        assert lines["code"].str.endswith("-MISSING").any()
    # the availability reference: the school's, else the year group's, else all students'
    names, kinds = list(ex.features.index), ex.features["kind"].tolist()
    refs = slow_references(X, names, kinds, platt_model.reference_values_)
    want = refs["school"].where(refs["school"].notna(), refs["year_group"])
    want = want.where(want.notna(), refs["all"])
    got = ex.references.astype(object).where(ex.references.notna(), None)
    pd.testing.assert_frame_equal(got, want.where(want.notna(), None), check_exact=True,
                                  check_dtype=False)
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
