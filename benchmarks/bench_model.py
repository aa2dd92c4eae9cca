"""Benchmark the calibrated early-warning model: quality out of time, and training time.

Prints one JSON document.

(a) Quality. Synthetic cohorts 2020-2024 (``dropoutrisk.synthetic.make_cohorts``),
features from ``dropoutrisk.features.build_training_frame``. Train on cohorts
2020-2022 (every snapshot of school years 2020-2023), calibrate either on cohort
2023's first-year snapshots (``X_calib``) or out of fold (grouped by student),
test on cohort 2024 at weeks 6, 10 and 20 of its first year. Reports ECE
(equal-mass, 10 bins), recall at a 10% flag rate against the ABC rule and the
logistic baseline, median lead time, and ROC-AUC of model / logistic / ABC /
oracle (the generator's true risk). The model-minus-baseline differences in
recall and ROC-AUC come with paired bootstrap intervals that resample students
(``dropoutrisk.models.compare_models``): with about 6,000 dropouts in the test
cohort, a recall difference of 0.005 is within sampling noise.

(a') Monotone constraints (``--monotone none,advanced,intermediate,basic``).
On the same split, calibrated on cohort 2023 (``X_calib``), background off and
every other parameter at the library default, one RiskModel per setting:
``none`` is ``monotone=None``; ``basic``, ``intermediate`` and ``advanced`` are
the catalogue's constraints (``monotone="catalogue"``) with that
``monotone_method``. Each setting reports ROC-AUC, PR-AUC, recall at 10%, ECE
(equal mass), per-week figures and fit seconds, and every constrained setting
is compared with ``none`` by a paired bootstrap that resamples students
(:func:`dropoutrisk.models.compare_models` for the ranking and rate metrics;
the ECE difference by the same kind of draws in :func:`paired_ece`). A check
of the unconstrained model's SHAP values lists the declared features it uses
against the catalogue's direction.

(b) Training time. ``--timing-rows`` x ``--timing-features`` random numeric
data; a plain ``lightgbm.train`` with the model's parameters against
``RiskModel.fit`` (with calibration), medians of ``--repeats`` runs each,
interleaved in the same process.

Usage (60,000 students per cohort do not fit in memory when generated in
process; write them to Parquet first and the features are built by DuckDB)::

    dropoutrisk synth --students 300000 --cohorts 2020-2024 --schools 40 --seed 0 \
        --out /tmp/synth60k
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --students-per-cohort 60000 \
        --data /tmp/synth60k

    # the cost of the monotone constraints only, side by side with the unconstrained model
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_model.py --students-per-cohort 60000 \
        --data /tmp/synth60k --skip-quality --skip-timing \
        --monotone none,advanced,intermediate,basic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd

COHORTS = (2020, 2021, 2022, 2023, 2024)
TRAIN, CALIB, TEST = (2020, 2021, 2022), 2023, 2024
WEEKS = (6, 10, 20)


def _school_year(as_of: pd.Series) -> np.ndarray:
    from dropoutrisk.schema import school_year_of

    lookup = {d: school_year_of(d) for d in as_of.unique()}
    return as_of.map(lookup).to_numpy()


def _log(message: str) -> None:
    print(f"[bench_model {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _summary(ev, names) -> dict:
    m = ev.metrics
    cols = ["roc_auc", "pr_auc", "ece_equal_mass", "ece_equal_width", "brier", "log_loss",
            "precision_at_10pct", "recall_at_10pct", "lead_time_median_weeks",
            "roc_auc_oracle_ratio", "recall_at_10pct_oracle_ratio"]
    out = {n: {c: (None if pd.isna(m.loc[n, c]) else round(float(m.loc[n, c]), 4))
               for c in cols if c in m.columns} for n in names if n in m.index}
    op = ev.operating_point
    for n in out:
        out[n]["operating_point_10pct"] = {
            k: round(float(op.loc[n, k]), 4) for k in ("precision", "sensitivity", "specificity")}
    return out


def synthetic_frame(n_per_cohort: int, n_schools: int, seed: int,
                    cache_dir: str | None = None, data_dir: str | None = None):
    """Feature rows, labels, truth and outcomes of synthetic cohorts 2020-2024.

    Without ``data_dir`` the cohorts are generated in memory (fine up to about
    30,000 students per cohort). With ``data_dir``, a folder written by
    ``dropoutrisk synth --students N --cohorts 2020-2024 --schools S --seed SEED``,
    the event tables are read from Parquet by the DuckDB engine, which keeps
    memory bounded at 60,000 students per cohort. Returns
    ``(X, y, truth, outcomes, seconds_generate, seconds_features)``.
    """
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.schema import snapshot_dates
    from dropoutrisk.synthetic import make_cohorts

    cache = None
    if cache_dir is not None:
        cache = os.path.join(cache_dir, f"frame_{n_per_cohort}_{n_schools}_{seed}.pkl")
    if cache is not None and os.path.exists(cache):
        X, y, truth, outcomes, t_gen, t_feat = pd.read_pickle(cache)
        _log(f"loaded {len(X)} feature rows from {cache}")
        return X, y, truth, outcomes, t_gen, t_feat
    dates = snapshot_dates(range(2020, 2025), WEEKS)
    if data_dir is not None:
        import pyarrow.parquet as pq

        names = [f[: -len(".parquet")] for f in os.listdir(data_dir) if f.endswith(".parquet")]
        tables = {n: os.path.join(data_dir, f"{n}.parquet") for n in names if n != "truth"}
        students = pq.read_table(tables["students"]).to_pandas()
        counts = students["cohort"].value_counts()
        if set(counts.index) != set(COHORTS) or abs(counts.mean() - n_per_cohort) > 1:
            raise SystemExit(f"{data_dir} holds cohorts {dict(counts)}, not {n_per_cohort} "
                             f"students in each of {COHORTS}")
        t_gen = float("nan")  # generated beforehand by `dropoutrisk synth`
        t0 = time.perf_counter()
        X, y = build_training_frame(tables, dates, engine="duckdb")
        t_feat = time.perf_counter() - t0
        truth = pq.read_table(os.path.join(data_dir, "truth.parquet")).to_pandas()
        outcomes = pq.read_table(tables["outcomes"]).to_pandas()
    else:
        t0 = time.perf_counter()
        cohorts = make_cohorts(n_per_cohort * len(COHORTS), COHORTS, n_schools=n_schools,
                               random_state=seed)
        t_gen = time.perf_counter() - t0
        _log(f"generated {n_per_cohort} students per cohort in {t_gen:.0f} s")
        t0 = time.perf_counter()
        X, y = build_training_frame(cohorts, dates)
        t_feat = time.perf_counter() - t0
        truth, outcomes = cohorts["truth"], cohorts["outcomes"]
    _log(f"built {len(X)} feature rows in {t_feat:.0f} s")
    if cache is not None:
        os.makedirs(cache_dir, exist_ok=True)
        pd.to_pickle((X, y, truth, outcomes, t_gen, t_feat), cache)
    return X, y, truth, outcomes, t_gen, t_feat


def _out_of_time_split(X: pd.DataFrame, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the train (cohorts 2020-2022 up to 2023), calibration and test rows."""
    year = _school_year(X["as_of"])
    cohort = X["cohort"].to_numpy()
    train = np.isin(cohort, TRAIN) & (year <= CALIB)
    calib = (cohort == CALIB) & (year == CALIB)
    test = (cohort == TEST) & (year == TEST)
    return train, calib, test


def _split_record(n_per_cohort: int, n_schools: int, seed: int, masks, yte,
                  t_gen: float, t_feat: float) -> dict:
    train, calib, test = masks
    return {
        "students_per_cohort": n_per_cohort, "n_schools": n_schools, "seed": seed,
        "rows": {"train": int(train.sum()), "calibration": int(calib.sum()),
                 "test": int(test.sum())},
        "test_dropout_rate": round(float(np.nanmean(yte)), 4),
        "seconds": {"generate": round(t_gen, 1), "features": round(t_feat, 1)},
    }


def _bootstrap_weights(rng: np.random.Generator, n_clusters: int, size: int) -> np.ndarray:
    """(size, n_clusters): how often each cluster is drawn in each replicate."""
    picks = rng.integers(0, n_clusters, size=(size, n_clusters))
    picks += (np.arange(size) * n_clusters)[:, None]
    return np.bincount(picks.ravel(), minlength=size * n_clusters).reshape(
        size, n_clusters).astype(np.float64)


def _weighted_ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-mass ECE for each row of row weights ``w`` (replicates, rows).

    Rows sorted by probability fill ``n_bins`` bins of equal weight; with all
    weights 1 this is ``expected_calibration_error(strategy="equal_mass")``.
    """
    order = np.argsort(p, kind="stable")
    ws, gap = w[:, order], (p - y)[order]
    total = ws.sum(axis=1, keepdims=True)
    before = np.cumsum(ws, axis=1) - ws
    b = np.minimum(np.floor(before * n_bins / total).astype(np.int64), n_bins - 1)
    b += (np.arange(w.shape[0]) * n_bins)[:, None]
    per_bin = np.bincount(b.ravel(), weights=(ws * gap).ravel(),
                          minlength=w.shape[0] * n_bins).reshape(w.shape[0], n_bins)
    return np.abs(per_bin).sum(axis=1) / total[:, 0]


def paired_ece(probabilities: dict[str, np.ndarray], y, *, reference: str, clusters=None,
               n_boot: int = 1000, n_bins: int = 10, confidence: float = 0.95,
               random_state: int = 0) -> dict:
    """ECE (equal mass) of each model and its paired bootstrap difference from ``reference``.

    ``compare_models`` has no ECE, so this draws clusters (students; rows when
    ``clusters`` is None) with replacement, as it does, and measures every
    model on the same draws. Rows with a NaN label are left out.
    """
    y = np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(y)
    y = y[keep]
    probs = {k: np.asarray(v, dtype=np.float64)[keep] for k, v in probabilities.items()}
    if clusters is None:
        codes = np.arange(y.size)
    else:
        codes = pd.factorize(pd.Series(np.asarray(clusters)[keep]))[0]
    n_clusters = int(codes.max()) + 1
    ones = np.ones((1, y.size))
    point = {k: float(_weighted_ece(y, p, ones, n_bins)[0]) for k, p in probs.items()}
    rng = np.random.default_rng(random_state)
    reps = {k: [] for k in probs}
    chunk = max(1, min(n_boot, (1 << 23) // max(y.size, 1)))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        w = _bootstrap_weights(rng, n_clusters, size)[:, codes]
        for k, p in probs.items():
            reps[k].append(_weighted_ece(y, p, w, n_bins))
        done += size
    reps = {k: np.concatenate(v) for k, v in reps.items()}
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    out = {"n_boot": n_boot, "n_bins": n_bins, "reference": reference,
           "ece_equal_mass": {k: round(v, 4) for k, v in point.items()}}
    for k in probs:
        if k == reference:
            continue
        d = reps[k] - reps[reference]
        out[f"{k}_minus_{reference}"] = {
            "difference": round(point[k] - point[reference], 4),
            "ci95": [round(float(np.quantile(d, lo)), 4), round(float(np.quantile(d, hi)), 4)],
            # lower ECE is better; a tie is not better
            "p_not_better": round(float(np.mean(d >= 0)), 4)}
    return out


def direction_check(model, X: pd.DataFrame, declared: dict[str, int], *,
                    max_rows: int = 20_000, seed: int = 0) -> dict:
    """Which declared features ``model`` uses against their declared direction.

    For each feature with a declared sign, the Spearman correlation between
    the feature's value and its exact SHAP value (``pred_contrib``) on up to
    ``max_rows`` rows, signed so that a negative number goes against the
    declared direction, and the feature's share of the mean |SHAP|.
    """
    from scipy.stats import spearmanr

    if len(X) > max_rows:
        X = X.iloc[np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))]
    Xm = model.transform_input(X)
    contrib = model.booster_.predict(Xm, pred_contrib=True)[:, :-1]
    share = np.abs(contrib).mean(axis=0)
    share = share / share.sum()
    names = list(Xm.columns)
    out = {}
    for name, sign in declared.items():
        if not sign or name not in names:
            continue
        j = names.index(name)
        x = Xm[name].to_numpy(dtype=np.float64)
        ok = ~np.isnan(x)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(contrib[ok, j]) == 0:
            rho = float("nan")  # constant feature or never used: no direction to judge
        else:
            rho = float(spearmanr(x[ok], contrib[ok, j]).statistic) * sign
        out[name] = {"declared": sign,
                     "spearman_value_vs_shap_signed": None if np.isnan(rho) else round(rho, 4),
                     "share_of_mean_abs_shap": round(float(share[j]), 4)}
    against = sorted((n for n, v in out.items()
                      if v["spearman_value_vs_shap_signed"] is not None
                      and v["spearman_value_vs_shap_signed"] < 0),
                     key=lambda n: out[n]["spearman_value_vs_shap_signed"])
    return {"rows": int(len(X)), "against_declared_direction": against, "features": out}


#: ``--monotone`` setting name -> RiskModel keyword arguments.
MONOTONE_SETTINGS = {
    "none": {"monotone": None},
    "advanced": {"monotone": "catalogue", "monotone_method": "advanced"},
    "intermediate": {"monotone": "catalogue", "monotone_method": "intermediate"},
    "basic": {"monotone": "catalogue", "monotone_method": "basic"},
}
#: The most an out-of-time ROC-AUC or recall at 10% may drop under the constraint.
MONOTONE_MAX_DROP = 0.003


def monotone_comparison(frame, n_per_cohort: int, n_schools: int, seed: int,
                        n_estimators: int, n_jobs: int | None,
                        settings: tuple[str, ...] = ("none", "advanced", "intermediate", "basic"),
                        n_boot: int = 1000) -> dict:
    """One RiskModel per monotone setting on the same split, compared with ``none``."""
    from dropoutrisk.models import RiskModel, compare_models, evaluate
    from dropoutrisk.schema import snapshot_date

    unknown = sorted(set(settings) - set(MONOTONE_SETTINGS))
    if unknown:
        raise SystemExit(f"--monotone has unknown settings {unknown}; choose from "
                         f"{sorted(MONOTONE_SETTINGS)}")
    if "none" not in settings:
        raise SystemExit("--monotone needs 'none': every setting is measured against the "
                         "unconstrained model of the same run")
    X, y, truth, outcomes, t_gen, t_feat = frame
    masks = _out_of_time_split(X, y)
    train, calib, test = masks
    Xtr, ytr, Xc, yc, Xte, yte = X[train], y[train], X[calib], y[calib], X[test], y[test]
    yte = np.asarray(yte, dtype=np.float64)
    result = _split_record(n_per_cohort, n_schools, seed, masks, yte, t_gen, t_feat)
    result.update(calibration="calibration_set", background="off", reference="none",
                  max_drop=MONOTONE_MAX_DROP)

    models, fit_seconds = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN labels (censored) are dropped with a warning
        for name in settings:
            model = RiskModel(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs,
                              **MONOTONE_SETTINGS[name])
            t0 = time.perf_counter()
            model.fit(Xtr, ytr, X_calib=Xc, y_calib=yc)
            fit_seconds[name] = time.perf_counter() - t0
            models[name] = model
            _log(f"monotone={name}: fitted in {fit_seconds[name]:.0f} s")
        pooled = evaluate(models=models, X=Xte, y=yte, truth=truth, flag_rate=0.10,
                          dropout_dates=outcomes)
        per_week = {}
        for w in WEEKS:
            rows = (Xte["as_of"] == pd.Timestamp(snapshot_date(TEST, w))).to_numpy()
            ev = evaluate(models=models, X=Xte[rows], y=yte[rows], truth=truth, flag_rate=0.10)
            per_week[f"week_{w}"] = {
                n: {k: round(float(ev.metrics.loc[n, k]), 4)
                    for k in ("roc_auc", "pr_auc", "ece_equal_mass", "recall_at_10pct")}
                for n in (*settings, "oracle")}
        cmp = compare_models(models, X=Xte, y=yte, reference="none", k_rates=(0.10,),
                             n_boot=n_boot, random_state=seed)
    _log("monotone: evaluated and compared")
    proba = {n: m.predict_proba(Xte)[:, 1] for n, m in models.items()}
    ece = paired_ece(proba, yte, reference="none", clusters=Xte.index.to_numpy(),
                     n_boot=n_boot, random_state=seed)
    _log("monotone: paired ECE done")

    summary = _summary(pooled, [*settings, "oracle"])
    constrained = [n for n in settings if n != "none"]
    declared = next((models[n].monotone_constraints_ for n in constrained), {})
    d = cmp.differences.set_index(["model", "metric"])
    paired: dict = {"n_boot": n_boot, "bootstrap_unit": cmp.settings["bootstrap_unit"]}
    bars = {}
    for n in constrained:
        diffs = {metric: {"difference": round(float(d.loc[(n, metric), "difference"]), 4),
                          "ci95": [round(float(d.loc[(n, metric), "ci_low"]), 4),
                                   round(float(d.loc[(n, metric), "ci_high"]), 4)],
                          "p_not_better": round(float(d.loc[(n, metric), "p_not_better"]), 4)}
                 for metric in ("roc_auc", "pr_auc", "recall_at_10pct", "brier")}
        diffs["ece_equal_mass"] = ece[f"{n}_minus_none"]
        paired[f"{n}_minus_none"] = diffs
        bars[n] = {f"{metric}_drop_le_{MONOTONE_MAX_DROP}":
                   bool(diffs[metric]["difference"] >= -MONOTONE_MAX_DROP)
                   for metric in ("roc_auc", "recall_at_10pct")}
    result["constraints"] = {
        "increasing": sorted(k for k, v in declared.items() if v > 0),
        "decreasing": sorted(k for k, v in declared.items() if v < 0),
        "unconstrained": sorted(k for k, v in declared.items() if v == 0),
    }
    result["settings"] = {
        n: {**MONOTONE_SETTINGS[n], "fit_seconds": round(fit_seconds[n], 1),
            "n_constrained": sum(1 for v in models[n].monotone_constraints_.values() if v),
            "calibrator": {"slope": round(models[n].calibrator_.slope_, 4),
                           "intercept": round(models[n].calibrator_.intercept_, 4)},
            "pooled_weeks_6_10_20": summary[n],
            "per_week": {w: v[n] for w, v in per_week.items()}}
        for n in settings}
    result["oracle_pooled_weeks_6_10_20"] = summary["oracle"]
    result["oracle_per_week"] = {w: v["oracle"] for w, v in per_week.items()}
    result["paired_bootstrap_by_student"] = paired
    result["bars_point_estimate"] = bars
    if declared:
        result["unconstrained_model_directions"] = direction_check(
            models["none"], Xte, declared, seed=seed)
    return result


def quality(n_per_cohort: int, n_schools: int, seed: int, n_estimators: int,
            n_jobs: int, cache_dir: str | None = None, data_dir: str | None = None,
            calibrations: tuple[str, ...] = ("calibration_set", "out_of_fold"),
            backgrounds: tuple[bool, ...] = (False, True), n_boot: int = 1000,
            frame=None) -> dict:
    from dropoutrisk.models import ABCRule, LogisticBaseline, RiskModel, compare_models, evaluate

    if frame is None:
        frame = synthetic_frame(n_per_cohort, n_schools, seed, cache_dir, data_dir)
    X, y, truth, outcomes, t_gen, t_feat = frame
    masks = _out_of_time_split(X, y)
    train, calib, test = masks
    Xtr, ytr, Xc, yc, Xte, yte = X[train], y[train], X[calib], y[calib], X[test], y[test]
    result = _split_record(n_per_cohort, n_schools, seed, masks, yte, t_gen, t_feat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN labels (censored) are dropped with a warning
        abc = ABCRule().fit(Xtr, ytr)
        settings = {}
        for background in backgrounds:
            lr = LogisticBaseline(include_background=background).fit(Xtr, ytr)
            for calibration in calibrations:
                t0 = time.perf_counter()
                model = RiskModel(n_estimators=n_estimators, include_background=background,
                                  calibration_cv=5, random_state=seed, n_jobs=n_jobs)
                if calibration == "calibration_set":
                    model.fit(Xtr, ytr, X_calib=Xc, y_calib=yc)
                else:
                    model.fit(Xtr, ytr)
                t_fit = time.perf_counter() - t0
                _log(f"fitted background={background} calibration={calibration} in {t_fit:.0f} s")
                models = {"model": model, "logistic": lr, "abc": abc}
                pooled = evaluate(models=models, X=Xte, y=yte, truth=truth, flag_rate=0.10,
                                  dropout_dates=outcomes)
                s = _summary(pooled, ["model", "logistic", "abc", "oracle"])
                m = pooled.metrics
                per_week = {}
                for w in WEEKS:
                    from dropoutrisk.schema import snapshot_date

                    rows = (Xte["as_of"] == pd.Timestamp(snapshot_date(TEST, w))).to_numpy()
                    ev = evaluate(models=models, X=Xte[rows], y=yte[rows], truth=truth,
                                  flag_rate=0.10)
                    per_week[f"week_{w}"] = {
                        n: {k: round(float(ev.metrics.loc[n, k]), 4)
                            for k in ("roc_auc", "ece_equal_mass", "recall_at_10pct")}
                        for n in ("model", "logistic", "abc", "oracle")}
                rec = m["recall_at_10pct"]
                key = f"background={'on' if background else 'off'}, calibration={calibration}"
                paired = {}
                for ref in ("logistic", "abc"):
                    cmp = compare_models({ref: models[ref], "model": model}, X=Xte, y=yte,
                                         reference=ref, k_rates=(0.10,), n_boot=n_boot,
                                         random_state=seed)
                    d = cmp.differences.set_index("metric")
                    paired[f"model_minus_{ref}"] = {
                        metric: {"difference": round(float(d.loc[metric, "difference"]), 4),
                                 "ci95": [round(float(d.loc[metric, "ci_low"]), 4),
                                          round(float(d.loc[metric, "ci_high"]), 4)],
                                 "ratio": round(float(d.loc[metric, "ratio"]), 4),
                                 "ratio_ci95": [round(float(d.loc[metric, "ratio_ci_low"]), 4),
                                                round(float(d.loc[metric, "ratio_ci_high"]), 4)],
                                 "p_not_better": round(float(d.loc[metric, "p_not_better"]), 4)}
                        for metric in ("recall_at_10pct", "roc_auc")}
                settings[key] = {
                    "fit_seconds": round(t_fit, 1),
                    "calibrator": {"slope": round(model.calibrator_.slope_, 4),
                                   "intercept": round(model.calibrator_.intercept_, 4),
                                   **model.calibration_info_},
                    "pooled_weeks_6_10_20": s,
                    "per_week": per_week,
                    "recall_at_10pct_ratio": {
                        "model_over_abc": round(float(rec["model"] / rec["abc"]), 3),
                        "model_over_logistic": round(float(rec["model"] / rec["logistic"]), 3),
                    },
                    "paired_bootstrap_by_student": {"n_boot": n_boot, **paired},
                    "roc_auc_model_over_oracle": round(float(
                        m.loc["model", "roc_auc"] / m.loc["oracle", "roc_auc"]), 4),
                    "bars": {
                        "ece_equal_mass_le_0.01": bool(m.loc["model", "ece_equal_mass"] <= 0.01),
                        "recall_10pct_above_abc_and_logistic": bool(
                            rec["model"] > rec["abc"] and rec["model"] > rec["logistic"]),
                        "median_lead_time_ge_8_weeks": bool(
                            m.loc["model", "lead_time_median_weeks"] >= 8),
                    },
                }
    result["settings"] = settings
    return result


def training_time(n_rows: int, n_features: int, n_estimators: int, repeats: int, seed: int,
                  n_jobs: int, oof: bool) -> dict:
    import lightgbm as lgb

    from dropoutrisk.models import RiskModel

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features)).astype(np.float64),
                     columns=[f"f{i:02d}" for i in range(n_features)])
    beta = rng.normal(0, 0.5, size=n_features) * (rng.random(n_features) < 0.3)
    logit = -3.0 + X.to_numpy() @ beta + 0.5 * np.sin(X["f00"].to_numpy() * 2)
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    model = RiskModel(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs)
    params = model.lightgbm_params(seed=seed)

    def plain() -> float:
        t0 = time.perf_counter()
        lgb.train(params, lgb.Dataset(X, label=y, params={"verbosity": -1}),
                  num_boost_round=n_estimators)
        return time.perf_counter() - t0

    def calibrated(**kw) -> tuple[float, dict]:
        m = RiskModel(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs, **kw)
        t0 = time.perf_counter()
        m.fit(X, y)
        return time.perf_counter() - t0, m.calibration_info_

    t_plain, t_model = [], []
    for _ in range(repeats):  # interleaved so that machine noise hits both alike
        t_plain.append(plain())
        t, info = calibrated()
        t_model.append(t)
        _log(f"timing: plain {t_plain[-1]:.1f} s, RiskModel.fit {t:.1f} s")
    out = {
        "rows": n_rows, "features": n_features, "n_estimators": n_estimators,
        "repeats": repeats, "n_jobs": n_jobs,
        "plain_lightgbm_train_seconds": [round(t, 2) for t in t_plain],
        "riskmodel_fit_seconds": [round(t, 2) for t in t_model],
        "riskmodel_default_calibration": info,
        "median_ratio": round(statistics.median(t_model) / statistics.median(t_plain), 3),
    }
    out["bar_ratio_le_1.5"] = out["median_ratio"] <= 1.5
    if oof:
        t, info = calibrated(calibration_cv=5)
        out["out_of_fold_5_seconds"] = round(t, 2)
        out["out_of_fold_5_ratio"] = round(t / statistics.median(t_plain), 3)
    return out


def main(argv: list[str] | None = None) -> None:
    from dropoutrisk.models import RiskModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students-per-cohort", type=int, default=60_000)
    parser.add_argument("--n-schools", type=int, default=40)
    parser.add_argument("--n-estimators", type=int, default=RiskModel().n_estimators,
                        help="boosting rounds (default: the RiskModel default)")
    parser.add_argument("--timing-rows", type=int, default=1_000_000)
    parser.add_argument("--timing-features", type=int, default=60)
    parser.add_argument("--timing-estimators", type=int, default=RiskModel().n_estimators,
                        help="boosting rounds for the timing (default: the RiskModel default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--oof-timing", action="store_true",
                        help="also time 5-fold out-of-fold calibration once")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--cache-dir", default=None,
                        help="keep the synthetic feature frame here and reuse it")
    parser.add_argument("--data", default=None,
                        help="folder written by `dropoutrisk synth --cohorts 2020-2024` "
                             "(read with DuckDB; needed at 60,000 students per cohort)")
    parser.add_argument("--calibrations", default="calibration_set,out_of_fold")
    parser.add_argument("--backgrounds", default="off,on")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--monotone", default="",
                        help="compare monotone settings in one run, e.g. "
                             "none,advanced,intermediate,basic (none: monotone=None; the others: "
                             "the catalogue's constraints with that monotone_method)")
    parser.add_argument("--n-boot", type=int, default=1000,
                        help="paired bootstrap replicates (students resampled) for the "
                             "model-minus-baseline intervals")
    args = parser.parse_args(argv)

    import lightgbm
    import sklearn

    report: dict = {
        "environment": {"python": platform.python_version(), "lightgbm": lightgbm.__version__,
                        "scikit-learn": sklearn.__version__, "cpus": os.cpu_count(),
                        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")},
    }
    monotone = tuple(m.strip() for m in args.monotone.split(",") if m.strip())
    frame = None
    if not args.skip_quality or monotone:
        frame = synthetic_frame(args.students_per_cohort, args.n_schools, args.seed,
                                args.cache_dir, args.data)
    if not args.skip_quality:
        report["quality"] = quality(
            args.students_per_cohort, args.n_schools, args.seed, args.n_estimators,
            args.n_jobs, args.cache_dir, args.data, tuple(args.calibrations.split(",")),
            tuple(b == "on" for b in args.backgrounds.split(",")), args.n_boot, frame=frame)
    if monotone:
        report["monotone"] = monotone_comparison(
            frame, args.students_per_cohort, args.n_schools, args.seed, args.n_estimators,
            args.n_jobs, monotone, args.n_boot)
    if not args.skip_timing:
        report["training_time"] = training_time(
            args.timing_rows, args.timing_features, args.timing_estimators, args.repeats,
            args.seed, args.n_jobs, args.oof_timing)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
