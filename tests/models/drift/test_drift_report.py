"""drift_report(): drift between cohorts, from a frame, a profile or a model bundle."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dropoutrisk.errors import ModelError
from dropoutrisk.models import (
    DriftReport,
    TrainingProfile,
    check_drift,
    drift_report,
    load_bundle,
    save_model,
)


@pytest.fixture(scope="module")
def cohort(frame):
    X, _ = frame
    return X


@pytest.fixture(scope="module")
def shifted(cohort):
    return cohort.assign(attendance_rate=cohort["attendance_rate"] - 0.15)


def _bundle(folder, X, profile=None):
    model = LogisticRegression().fit(X[["attendance_rate"]], np.arange(len(X)) % 2)
    extra = None if profile is None else {"profile": profile}
    return load_bundle(save_model(model, folder, extra=extra,
                                  created_at="2025-01-01T00:00:00+00:00"))


@pytest.fixture(params=["frame", "profile", "profile_dict", "bundle"])
def reference(request, cohort, tmp_path):
    """The same reference cohort in each accepted form."""
    profile = TrainingProfile.from_features(cohort)
    return {
        "frame": lambda: cohort,
        "profile": lambda: profile,
        "profile_dict": lambda: profile.to_dict(),
        "bundle": lambda: _bundle(tmp_path / "model", cohort, profile.to_dict()),
    }[request.param]()


def test_identical_cohorts_have_not_drifted(cohort):
    report = drift_report(cohort, cohort)
    assert isinstance(report, DriftReport)
    assert not report.drifted
    assert set(report.table["status"]) == {"ok"}
    assert report.n_rows == len(cohort)


def test_shifted_attendance_is_named(cohort, shifted):
    report = drift_report(cohort, shifted)
    assert report.drifted
    table = report.table.set_index("feature")
    assert table.loc["attendance_rate", "status"] == "drift"
    assert table.loc["failed_courses", "status"] == "ok"
    assert report.warnings[0].startswith("drift: feature 'attendance_rate'")


def test_every_accepted_reference_gives_the_check_drift_report(reference, cohort, shifted):
    expected = check_drift(TrainingProfile.from_features(cohort), shifted)
    report = drift_report(reference, shifted)

    def by_feature(r):  # a bundle stores the profile as JSON with sorted keys
        return r.table.sort_values("feature", ignore_index=True)

    pd.testing.assert_frame_equal(by_feature(report), by_feature(expected))
    assert report.drifted and sorted(report.warnings) == sorted(expected.warnings)
    assert report.reference == expected.reference
    assert not drift_report(reference, cohort).drifted


def test_as_of_compares_with_the_nearest_snapshot_week(cohort):
    week_10 = cohort[cohort["as_of"] == cohort["as_of"].max()]
    report = drift_report(cohort, week_10, as_of=week_10["as_of"].iloc[0])
    assert report.reference["basis"] == "snapshot_week"
    assert report.reference["week"] == 10 and report.reference["weeks_available"] == [6, 10]
    assert drift_report(cohort, week_10).reference["basis"] == "pooled"
    with pytest.raises(ValueError, match="reference frame has no 'as_of' column"):
        drift_report(cohort.drop(columns="as_of"), week_10, as_of="2024-10-28")


def test_features_and_bins_shape_a_frame_reference_only(cohort, shifted):
    report = drift_report(cohort, shifted, features=["failed_courses"], n_bins=5)
    assert report.table["feature"].tolist() == ["failed_courses"] and not report.drifted
    with pytest.raises(ValueError, match="features= and n_bins= shape a profile built from"):
        drift_report(TrainingProfile.from_features(cohort), shifted, n_bins=5)


def test_a_bundle_without_a_profile_is_a_model_problem(cohort, tmp_path):
    bundle = _bundle(tmp_path / "bare", cohort)
    with pytest.raises(ModelError, match="stores no training profile"):
        drift_report(bundle, cohort)
    broken = _bundle(tmp_path / "broken", cohort, {"format": "something else"})
    with pytest.raises(ModelError, match="cannot be read"):
        drift_report(broken, cohort)


def test_a_fitted_model_alone_is_refused_with_the_way_out(fitted_model, cohort):
    with pytest.raises(TypeError, match=r"fitted RiskModel, which does not carry the profile"
                                        r".*load_bundle"):
        drift_report(fitted_model, cohort)


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), "model_folder", None])
def test_other_references_name_the_type_and_what_is_accepted(bad, cohort):
    with pytest.raises(TypeError, match=rf"reference must be a feature DataFrame .*TrainingProfile"
                                        rf".*ModelBundle.*; got {type(bad).__name__}\."):
        drift_report(bad, cohort)


def test_current_must_be_a_frame(cohort):
    with pytest.raises(TypeError, match="current must be a pandas DataFrame of feature rows, "
                                        "got ndarray"):
        drift_report(cohort, cohort.to_numpy())
