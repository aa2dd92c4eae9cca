"""OULAD out of time: train on the 2013 presentations, test on 2014 at days 14, 30, 60, 90.

The Open University Learning Analytics Dataset (Kuzilek, Hlosta and Zdrahal, Scientific
Data 4, 170171, 2017; CC BY 4.0) is mapped onto the canonical tables by
``examples/oulad/oulad.py`` (registrations as students with their start dates, VLE clicks
as ``activity``, assessments as grades and items, missed deadlines as concerns,
withdrawal with its date as the outcome) and extended by
``examples/oulad/indicators.toml``. One model is trained on the 2013 presentations at
days 14, 30, 60 and 90 after each start; each test day is scored separately.

Side by side, in one run, on the same rows:

- ``model``: the RiskModel with its defaults (monotone constraints from the catalogue,
  Platt calibration out of fold);
- ``logistic``: the logistic baseline on the same features;
- ``lightgbm``: a default ``lightgbm.LGBMClassifier`` on the same feature matrix;
- ``activity_rule``: no activity in the last 14 days, ranked by the days since the
  latest activity (its probabilities are a rank, so its ECE is not meaningful).

Printed as JSON: ROC-AUC, PR-AUC, ECE (equal mass, 10 bins), recall at a 10% flag rate
and the median lead time before withdrawal, with paired student-bootstrap intervals
against the logistic baseline. Run with ``OMP_WAIT_POLICY=PASSIVE``::

    python benchmarks/bench_oulad.py --oulad ../shared/data/oulad/parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DAYS = (14, 30, 60, 90)
METRICS = ("roc_auc", "pr_auc", "ece_equal_mass", "recall_at_10pct", "lead_time_median_weeks")


def _tables(oulad: Path, cache: Path | None) -> dict[str, pd.DataFrame]:
    sys.path.insert(0, str(ROOT / "examples" / "oulad"))
    import oulad as mapping

    from dropoutrisk.io import read_tables
    from dropoutrisk.schema import validate_tables

    folder = cache or Path(tempfile.mkdtemp(prefix="oulad-tables-"))
    if not (folder / "students.parquet").exists():
        mapping.convert(oulad, folder)
    tables = dict(read_tables(folder))
    return validate_tables(tables)


def _frame(tables, cohort: int, days, catalogue):
    from dropoutrisk.features import build_training_frame
    from dropoutrisk.schema import snapshot_dates

    snaps = snapshot_dates([cohort], days=list(days), students=tables["students"])
    X, y = build_training_frame(tables, snaps, horizon_days=365, catalogue=catalogue)
    keep = (X["cohort"] == cohort).to_numpy() & y.notna().to_numpy()
    return X[keep], y[keep].astype(int)


class _Rule:
    """No activity in the last 14 days, ranked by the days since the latest activity."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        days = X["days_since_activity"].to_numpy(dtype=float)
        rank = pd.Series(days).rank(pct=True).to_numpy()
        score = np.where(days > 14, 0.5 + 0.5 * rank, 0.5 * rank)
        return np.column_stack([1 - score, score])


class _Plain:
    """A default LGBMClassifier on the RiskModel's feature matrix."""

    def __init__(self, model, seed: int) -> None:
        import lightgbm

        self.model = model
        self.clf = lightgbm.LGBMClassifier(random_state=seed, verbose=-1)

    def fit(self, X, y):
        self.clf.fit(self.model.transform_input(X), y)
        return self

    def predict_proba(self, X):
        return self.clf.predict_proba(self.model.transform_input(X))


def _gain_share(model, k: int) -> dict[str, float]:
    """The RiskModel's ``k`` features with the largest share of the total split gain."""
    booster = model.booster_
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    share = (gain / gain.sum()).sort_values(ascending=False).head(k)
    return {name: round(float(v), 3) for name, v in share.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oulad", type=Path, required=True,
                        help="Folder of the OULAD Parquet files.")
    parser.add_argument("--tables", type=Path, default=None,
                        help="Folder for the canonical tables (reused when it has them).")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    from dropoutrisk.features import load_indicators
    from dropoutrisk.models import LogisticBaseline, RiskModel, compare_models, evaluate

    t0 = time.perf_counter()
    tables = _tables(args.oulad, args.tables)
    catalogue = load_indicators(ROOT / "examples" / "oulad" / "indicators.toml")
    X, y = _frame(tables, 2013, DAYS, catalogue)
    t_features = time.perf_counter() - t0
    model = RiskModel(catalogue=catalogue, random_state=args.seed).fit(X, y)
    models = {
        "model": model,
        "logistic": LogisticBaseline(catalogue=catalogue).fit(X, y),
        "lightgbm": _Plain(model, args.seed).fit(X, y),
        "activity_rule": _Rule(),
    }
    t_fit = time.perf_counter() - t0 - t_features
    out = {
        "setting": {
            "train": "2013 presentations (2013B, 2013J)", "test": "2014 presentations",
            "days": list(DAYS), "label": "withdrawal within 365 days of as_of",
            "train_rows": int(len(X)), "train_students": int(X.index.nunique()),
            "train_dropout_rate": round(float(y.mean()), 4),
            "features": len(model.feature_names_in_),
            "features_left_out": list(model.features_left_out_),
            "relative_features": [i.name for i in catalogue.indicators
                                  if i.computation is not None and i.computation.relative],
            "rounds_chosen": int(model.n_estimators_),
            "gain_share_top10": _gain_share(model, 10),
            "n_boot": args.n_boot, "seed": args.seed,
        },
        "by_day": {},
    }
    for d in DAYS:
        Xd, yd = _frame(tables, 2014, [d], catalogue)
        scores = {name: m.predict_proba(Xd)[:, 1] for name, m in models.items()}
        ev = evaluate(yd, models=scores, X=Xd, dropout_dates=tables["outcomes"])
        cmp = compare_models({"logistic": scores["logistic"], **{k: v for k, v in scores.items()
                                                                if k != "logistic"}},
                             Xd, yd, reference="logistic", n_boot=args.n_boot,
                             random_state=args.seed)
        diffs = cmp.differences
        row = {"rows": int(len(Xd)), "dropout_rate": round(float(yd.mean()), 4)}
        for name in scores:
            row[name] = {m: (None if pd.isna(ev.metrics.loc[name, m])
                             else round(float(ev.metrics.loc[name, m]), 4))
                         for m in METRICS if m in ev.metrics.columns}
            if name != "logistic":
                for metric in ("roc_auc", "pr_auc", "recall_at_10pct"):
                    sel = diffs.loc[(diffs["model"] == name) & (diffs["metric"] == metric)]
                    if len(sel):
                        r = sel.iloc[0]
                        row[name][f"{metric}_minus_logistic"] = [
                            round(float(r["difference"]), 4), round(float(r["ci_low"]), 4),
                            round(float(r["ci_high"]), 4)]
        # ROC-AUC within each module, and without the modules the training year never saw
        from sklearn.metrics import roc_auc_score

        module = Xd["school_id"].astype(str).to_numpy()
        seen = set(X["school_id"].astype(str))
        known = np.isin(module, list(seen))
        row["unseen_modules"] = sorted(set(module) - seen)
        row["roc_auc_seen_modules_only"] = {
            name: round(float(roc_auc_score(yd[known], scores[name][known])), 4)
            for name in ("model", "logistic")} if (~known).any() else None
        row["roc_auc_by_module"] = {
            m: {name: round(float(roc_auc_score(yd[module == m], scores[name][module == m])), 4)
                for name in ("model", "logistic", "lightgbm")}
            for m in sorted(set(module)) if yd[module == m].nunique() == 2}
        out["by_day"][str(d)] = row
    out["seconds"] = {"features_and_tables": round(t_features, 1), "fit": round(t_fit, 1),
                      "total": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
