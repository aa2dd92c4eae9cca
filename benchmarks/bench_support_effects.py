"""Do the support estimates recover a planted effect? Coverage over seeds. Prints JSON.

For each seed, synthetic cohorts (``make_cohorts(support=SupportPlan(...))``, no event
tables) where every school flags its ``--capacity`` share of first-year students at
week 6 and ``--uptake`` of the flagged get an intervention, twice: with support that
multiplies the weekly dropout hazard by 0.5 ("halves": the risk within a year roughly
halves) and with no effect ("none"). The outcome is dropout within 365 days of the flag
(moves and transfers in that year left out, as the labels do).

- **Cut-off** (:func:`dropoutrisk.followup.cutoff_effect`, the fuzzy regression
  discontinuity on the rank): the interval for the effect of the support near the cut-off
  against the planted effect there, the triangular-kernel mean of the exact
  ``risk_with_support - risk_without_support`` of the students within the bandwidth.
- **Matched** (:func:`dropoutrisk.followup.support_effects`, all kinds together): supported
  against flagged-not-supported students of the same school and risk stratum; the
  "predicted risk" is the exact risk with noise on the logit (N(0, 0.5)), as a model's
  would be. Planted: the mean exact difference over the supported students.

Targets (issue 18): the cut-off interval covers the planted effect in >= 9 of 10 seeds,
excludes zero in >= 8 of 10 when the support halves the risk, and covers zero in >= 9
of 10 with no effect.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_support_effects.py --seeds 10
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd


def planted_frame(seed: int, ratio: float, *, n_students: int, n_schools: int,
                  capacity: float, uptake: float) -> pd.DataFrame:
    """One row per ranked student: rank, cut-off, support, both exact risks and the outcome."""
    from dropoutrisk.synthetic import SupportPlan, make_cohorts

    plan = SupportPlan(capacity=capacity, uptake=uptake, hazard_ratio=ratio)
    c = make_cohorts(n_students, [2020, 2021, 2022, 2023], n_schools=n_schools,
                     random_state=seed, include_events=False, support=plan)
    st = c["support_truth"].merge(c["outcomes"], on="student_id")
    window = (st["date"] >= st["as_of"]) & (st["date"] < st["as_of"] + pd.Timedelta(days=365))
    censored = window & st["event"].isin(["moved", "transferred"])
    st["dropout"] = np.where(censored, np.nan, (window & (st["event"] == "dropout")).astype(float))
    # cut-offs are per school and flag round: one round per cohort
    st["school_id"] = st["school_id"] + "/" + st["cohort"].astype(str)
    return st.rename(columns={"rank": "rank_in_school"})


def one_seed(seed: int, ratio: float, args: argparse.Namespace) -> dict:
    from dropoutrisk.followup import cutoff_effect, support_effects

    st = planted_frame(seed, ratio, n_students=args.students, n_schools=args.schools,
                       capacity=args.capacity, uptake=args.uptake)
    est = cutoff_effect(st, n_boot=args.n_boot, random_state=seed)
    h = est["bandwidth"]
    r = st["rank_in_school"] - st["capacity"] - 0.5
    near = (r.abs() < h) & st["dropout"].notna()
    k = 1 - r[near].abs() / h
    effect = (st["risk_with_support"] - st["risk_without_support"])[near]
    planted_rd = float((k * effect).sum() / k.sum())
    rd = est["supported"]

    flagged = st[st["flagged"]].copy()
    rng = np.random.default_rng(seed)
    logit = np.log(flagged["risk_without_support"] / (1 - flagged["risk_without_support"]))
    flagged["probability"] = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, len(flagged)))))
    matched = support_effects(flagged, n_boot=args.n_boot, random_state=seed).table.loc["all"]
    sup = flagged[flagged["supported"] & flagged["dropout"].notna()]
    planted_m = float((sup["risk_with_support"] - sup["risk_without_support"]).mean())
    return {
        "seed": seed,
        "cutoff": {"estimate": rd["estimate"], "low": rd["low"], "high": rd["high"],
                   "width": rd["width"], "planted": planted_rd,
                   "covers_planted": bool(rd["low"] <= planted_rd <= rd["high"]),
                   "excludes_zero": bool(rd["high"] < 0 or rd["low"] > 0),
                   "support_share_jump": est["support_share"]["estimate"],
                   "bandwidth": h, "n_inside": est["n_inside"], "n_outside": est["n_outside"]},
        "matched": {"estimate": float(matched["dropout_difference"]),
                    "low": float(matched["dropout_low"]), "high": float(matched["dropout_high"]),
                    "width": float(matched["dropout_high"] - matched["dropout_low"]),
                    "planted": planted_m,
                    "covers_planted": bool(matched["dropout_low"] <= planted_m
                                           <= matched["dropout_high"]),
                    "excludes_zero": bool(matched["dropout_high"] < 0
                                          or matched["dropout_low"] > 0),
                    "n_supported": int(matched["n_supported"]),
                    "n_controls": int(matched["n_controls"])},
        "risk_ratio_near_cutoff": float(
            (k * st["risk_with_support"][near]).sum() / (k * st["risk_without_support"][near]).sum()),
    }


def summarise(rows: list[dict]) -> dict:
    out = {}
    for part in ("cutoff", "matched"):
        vals = [r[part] for r in rows]
        out[part] = {
            "covers_planted": sum(v["covers_planted"] for v in vals),
            "excludes_zero": sum(v["excludes_zero"] for v in vals),
            "covers_zero": sum(not v["excludes_zero"] for v in vals),
            "mean_width": float(np.mean([v["width"] for v in vals])),
            "mean_estimate": float(np.mean([v["estimate"] for v in vals])),
            "mean_planted": float(np.mean([v["planted"] for v in vals])),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--students", type=int, default=120_000)
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--capacity", type=float, default=0.15)
    parser.add_argument("--uptake", type=float, default=0.7)
    parser.add_argument("--n-boot", type=int, default=400)
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict = {"settings": vars(args), "cases": {}}
    for name, ratio in (("halves", 0.5), ("none", 1.0)):
        rows = [one_seed(seed, ratio, args) for seed in range(args.seeds)]
        result["cases"][name] = {"hazard_ratio": ratio, "summary": summarise(rows), "seeds": rows}
    halves = result["cases"]["halves"]["summary"]["cutoff"]
    none = result["cases"]["none"]["summary"]["cutoff"]
    n = args.seeds
    result["targets"] = {
        "cutoff_covers_planted_halves": f"{halves['covers_planted']}/{n} (>= 90%)",
        "cutoff_covers_planted_none": f"{none['covers_planted']}/{n} (>= 90%)",
        "cutoff_excludes_zero_halves": f"{halves['excludes_zero']}/{n} (>= 80%)",
        "cutoff_covers_zero_none": f"{none['covers_zero']}/{n} (>= 90%)",
        "met": bool(halves["covers_planted"] >= 0.9 * n and none["covers_planted"] >= 0.9 * n
                    and halves["excludes_zero"] >= 0.8 * n and none["covers_zero"] >= 0.9 * n),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
