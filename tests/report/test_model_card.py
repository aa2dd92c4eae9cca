"""The model card, from a manifest and an audit."""

import numpy as np
import pandas as pd
import pytest

from dropoutrisk.fairness import Audit
from dropoutrisk.report import model_card

MANIFEST = {
    "model_id": "abc123def456", "model_class": "dropoutrisk.models.RiskModel",
    "created_at": "2025-01-01T00:00:00+00:00",
    "versions": {"dropoutrisk": "0.1.0", "lightgbm": "4.7.0"},
    "feature_names": ["attendance_rate", "failed_courses"],
    "training_data": {"fingerprint": "sha256:0123", "n_rows": 5000},
    "params": {"cohorts": [2021, 2022], "calib_cohort": 2023, "weeks": [6, 10],
               "horizon_days": 365, "include_background": False, "n_rows": 5000,
               "calibration": {"strategy": "calibration_set"}},
    "metrics": {"data": "calibration cohort 2023", "note": "in-sample calibration",
                "metrics": {"model": {"roc_auc": 0.81, "brier": 0.03},
                            "abc_rule": {"roc_auc": 0.7, "brier": None}}},
}


@pytest.fixture(scope="module")
def disparate_audit():
    n = 600
    # C is small; D is suppressed with it, so that C cannot be had by subtraction.
    groups = pd.DataFrame({"site": ["A"] * 250 + ["B<script>"] * 250 + ["D"] * 94 + ["C"] * 6})
    y = np.tile([1, 0, 0, 0, 0], n // 5)
    flags = np.r_[np.arange(250) % 10 == 0, np.arange(250) % 10 < 3, np.zeros(100, bool)]
    return Audit(y_true=y, y_score=np.full(n, 0.2), flags=flags, groups=groups, n_boot=100,
                 random_state=0)


def test_markdown_card_has_every_section(disparate_audit):
    card = model_card(MANIFEST, disparate_audit, audit_cohorts=[2024], generated_at="2025-02-01")
    for heading in ("## Intended use", "## Training data and cohorts",
                    "## Metrics and calibration", "## Fairness", "## Limitations", "## Versions"):
        assert heading in card
    assert "never for sanctions, admission or grading" in card
    assert "Training cohorts: 2021, 2022; calibration cohort 2023." in card
    assert "| model | 0.810 | 0.030 |" in card
    assert "Out of time (cohorts 2024)" in card
    assert "Contributions are not causes" in card and "local recording practice" in card
    assert "| lightgbm | 4.7.0 |" in card


def test_card_reports_findings_and_hides_small_cells(disparate_audit):
    card = model_card(MANIFEST, disparate_audit, generated_at="2025-02-01")
    assert "| site | B<script> | A | flag_rate | 3.00 |" in card
    assert "| site | C | <10 |" in card
    assert "| site | D | suppressed |" in card
    assert "On the audited data" in card  # no cohorts given: not called out of time


def test_html_card_escapes_and_matches(disparate_audit):
    html = model_card(MANIFEST, disparate_audit.to_dict(), format="html",
                      generated_at="2025-02-01")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "B&lt;script&gt;" in html
    assert "never for sanctions, admission or grading" in html


def test_card_without_audit_or_metrics():
    card = model_card({"model_id": "x"}, generated_at="2025-02-01")
    assert "No fairness audit was supplied." in card
    assert "Training cohorts: not recorded." in card
    with pytest.raises(ValueError, match="format='pdf'"):
        model_card({"model_id": "x"}, format="pdf")
