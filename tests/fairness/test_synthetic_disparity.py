"""Done-when: a disparity built into synthetic data is found; none is found by chance.

One random half of the students has its attendance *recorded* with extra
noise (each lesson's register is wrong with probability 0.2: present pupils
marked absent, absent pupils marked present). The model is trained on clean
data from the other students; the audit runs on held-out students, grouped
by recording quality. ``make_cohorts`` has no option for recording noise,
so the noise is added here, to the attendance table, before features are built.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.errors import DataQualityWarning
from dropoutrisk.fairness import audit

NOISE = 0.2
OP = {"flag_rate": 0.1}


@pytest.fixture(scope="module")
def study():
    from dropoutrisk.features import build_features, build_labels
    from dropoutrisk.models import RiskModel
    from dropoutrisk.schema import snapshot_date
    from dropoutrisk.synthetic import make_cohorts

    tables = make_cohorts(2400, [2023], n_schools=6, random_state=0,
                          attendance_formats="canonical", snapshot_weeks=(10,))
    tables = {k: v for k, v in tables.items() if k != "truth"}
    as_of = snapshot_date(2023, 10)
    X = build_features(tables, as_of, engine="pandas")
    y = build_labels(tables, as_of)
    rng = np.random.default_rng(42)
    ids = X.index.to_numpy()
    train = rng.random(ids.size) < 0.5
    noisy = pd.Series(np.where(rng.random(ids.size) < 0.5, "noisy", "clean"), index=X.index)

    att = tables["attendance"].copy()
    in_group = att["student_id"].map(noisy).eq("noisy").to_numpy()
    wrong = in_group & (rng.random(len(att)) < NOISE)
    present = att["absent_minutes"].to_numpy() == 0
    att.loc[wrong & present, "absent_minutes"] = att.loc[wrong & present, "scheduled_minutes"]
    att.loc[wrong & ~present, "absent_minutes"] = 0.0
    X_noisy = build_features({**tables, "attendance": att}, as_of, engine="pandas")

    keep = train & y.notna().to_numpy()
    # Deeper trees than the default: this study checks the audit, and needs a model
    # that reacts strongly to the recorded attendance (the shallow default reacts
    # less: flag-rate ratio about 1.2 rather than 1.7 here).
    model = RiskModel(n_estimators=40, learning_rate=0.05, num_leaves=31, max_depth=6,
                      calibration_cv=0.3, random_state=0, n_jobs=1)
    model.fit(X[keep], y[keep].astype(int))
    return {"X": X, "X_noisy": X_noisy, "y": y, "train": train, "noisy": noisy,
            "model": model}


def _audit(study, X, groups):
    test = ~study["train"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # censored students
        return audit(study["model"], X[test].assign(recording=groups[test]), study["y"][test],
                     groups=["recording"], operating_point=OP,
                     reference={"recording": "clean"}, n_boot=200, random_state=0)


def test_noisy_recording_is_found_with_an_interval_excluding_parity(study):
    a = _audit(study, study["X_noisy"], study["noisy"])
    f = a.findings
    found = f[(f["group"] == "noisy") & f["excludes_parity"]]
    # Spurious absences push the noisy group's students up the ranking.
    assert {"flag_rate", "fpr"} <= set(found["metric"])
    fr = found.set_index("metric").loc["flag_rate"]
    assert fr["ratio"] > 1.25 and fr["ratio_lo"] > 1.0


def test_without_noise_no_finding_beyond_chance(study):
    a = _audit(study, study["X"], study["noisy"])
    assert not a.findings["excludes_parity"].any()
    # Over five random splits into two "recording" groups: 20 ratios, none may be
    # confirmed more often than the nominal 5% (one in twenty).
    confirmed = 0
    ids = study["X"].index
    for seed in range(5):
        r = np.random.default_rng(seed).random(ids.size) < 0.5
        groups = pd.Series(np.where(r, "noisy", "clean"), index=ids)
        d = _audit(study, study["X"], groups).disparities
        confirmed += int((d["outside_band"] & d["excludes_parity"]).sum())
    assert confirmed <= 1


def test_compare_background_fits_both_risk_models(study):
    from dropoutrisk.fairness import compare_background

    X, y, train = study["X"], study["y"], study["train"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        cmp = compare_background(
            features=X[~train], labels=y[~train], groups=["newly_arrived"],
            train_features=X[train], train_labels=y[train],  # censored rows are left out
            model_params={"n_estimators": 30, "calibration_cv": 0.3, "random_state": 0,
                          "n_jobs": 1},
            intersections=False, operating_point=OP, n_boot=50, random_state=0)
    perf = cmp.performance.set_index("measure")
    assert perf.loc["flag_rate", "without"] == pytest.approx(perf.loc["flag_rate", "with"])
    # The two models differ only in the background features, and that shows.
    assert perf.loc["mean_predicted", "change"] != 0
    assert set(cmp.disparities["grouping"]) == {"newly_arrived"}
