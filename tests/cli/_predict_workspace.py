"""A small synthetic data folder and a trained model bundle for the predict tests.

Trained in Python the way ``dropoutrisk train`` does it (features at snapshot
weeks, a RiskModel, a training profile stored in the bundle), so these tests do
not depend on the baselines that ``train`` also fits.
"""

from pathlib import Path

AS_OF = "2024-10-01"


_CACHE: dict = {}


def shared_workspace(tmp_path_factory) -> dict:
    """One workspace per test session, shared by the predict test modules."""
    if "ws" not in _CACHE:
        _CACHE["ws"] = make_workspace(tmp_path_factory.mktemp("predict"))
    return _CACHE["ws"]


def make_workspace(root: Path, *, n_students: int = 400) -> dict:
    from dropoutrisk.features import build_training_frame, default_catalogue
    from dropoutrisk.io import write_tables
    from dropoutrisk.models import RiskModel, TrainingProfile, save_model
    from dropoutrisk.schema import snapshot_dates
    from dropoutrisk.synthetic import make_cohorts

    cohorts = make_cohorts(n_students, [2022, 2023, 2024], 4, 7, attendance_formats="canonical")
    tables = {name: cohorts[name] for name in cohorts if name != "truth"}
    data = root / "data"
    write_tables(tables, data)
    catalogue = default_catalogue()
    X, y = build_training_frame(tables, snapshot_dates([2022, 2023], [6, 20]), catalogue=catalogue)
    keep = y.notna().to_numpy()
    X, y = X[keep], y[keep].astype(int)
    model = RiskModel(n_estimators=20, catalogue=catalogue, random_state=1, n_jobs=1).fit(X, y)
    names = list(dict.fromkeys([*model.feature_names_in_, "attendance_rate"]))
    profile = TrainingProfile.from_features(X, features=names, by_week=True)
    folder = save_model(model, root / "model", training_data=X, catalogue=catalogue,
                        extra={"profile": profile.to_dict()},
                        created_at="2025-01-01T00:00:00+00:00")
    return {"root": root, "data": data, "model": folder, "tables": tables, "X_train": X}
