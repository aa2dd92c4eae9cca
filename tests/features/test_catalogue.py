"""The indicator catalogue and its data dictionary."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from dropoutrisk.features import DIMENSIONS, Catalogue, Indicator, default_catalogue

DOCS = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"

CONTRACT_NAMES = [
    "attendance_rate", "attendance_rate_2w", "attendance_rate_4w", "unexcused_share",
    "late_count", "late_minutes", "attendance_trend_8w", "attendance_change_baseline",
    "longest_absence_streak_days", "attendance_volatility", "failed_courses",
    "failed_core_course", "ungraded_share", "grade_point_mean", "grade_point_change",
    "concerns_30d", "concerns_90d", "days_since_concern", "cognitive_score",
    "cognitive_missing", "psychological_score", "psychological_missing",
    "socio_emotional_score", "socio_emotional_missing", "programme_type", "grade_year",
    "merit_value",
]
BACKGROUND = ["gender", "newly_arrived", "years_in_sweden", "parental_education",
              "mother_education", "school_moves", "special_support", "in_care"]


def test_contract_names_in_order():
    names = default_catalogue().names
    assert [n for n in names if n in CONTRACT_NAMES] == CONTRACT_NAMES
    assert list(names[-len(BACKGROUND):]) == BACKGROUND


def test_background_is_opt_in():
    cat = default_catalogue()
    assert not set(BACKGROUND) & set(cat.model_features())
    assert cat.model_features(include_background=True) == list(cat.names)
    for name in BACKGROUND:
        ind = cat.get(name)
        assert ind.dimension == "background" and not ind.actionable


def test_every_dimension_is_covered_and_templates_format():
    cat = default_catalogue()
    assert all(cat.by_dimension()[d] for d in DIMENSIONS)
    for ind in cat.indicators:
        for text in (ind.template_sv, ind.template_en):
            assert "{value}" in text or ind.is_statement  # a statement says its true case
            text.format(value="1", reference="2")  # no stray placeholders
            assert "median" not in text  # the reference phrase names its level
        if ind.missing_en is not None:
            assert ind.missing_sv and ind.missing_en.endswith(".")


def test_get_unknown_names_the_known():
    with pytest.raises(KeyError, match="attendance_rate"):
        default_catalogue().get("nope")


def test_catalogue_refuses_duplicates_and_context_names():
    ind = default_catalogue().get("attendance_rate")
    with pytest.raises(ValidationError, match="unique"):
        Catalogue(indicators=(ind, ind))
    with pytest.raises(ValidationError, match="context"):
        Catalogue(indicators=(ind.model_copy(update={"name": "cohort"}),))


def test_indicator_validation():
    base = default_catalogue().get("programme_type").model_dump()
    with pytest.raises(ValidationError, match="lists no categories"):
        Indicator(**{**base, "categories": ()})
    with pytest.raises(ValidationError):
        Indicator(**{**base, "dimension": "spiritual"})
    with pytest.raises(ValidationError, match="placeholder"):
        Indicator(**{**base, "template_en": "no value here"})
    with pytest.raises(ValidationError):  # frozen
        default_catalogue().get("gender").name = "x"  # type: ignore[misc]


def test_item_mapping_longest_prefix_wins():
    cat = default_catalogue().with_item_groups({"soc_": "socio_emotional_score",
                                                "soc_teacher_": "teacher_behaviour_rating"})
    assert cat.item_feature("soc_teacher_relation") == "teacher_behaviour_rating"
    assert cat.item_feature("soc_friends") == "socio_emotional_score"


def test_html_and_markdown_list_every_feature():
    cat = default_catalogue()
    md, html = cat.to_markdown(), cat.to_html()
    for name in cat.names:
        assert f"`{name}`" in md
        assert f"<code>{name}</code>" in html
    assert "<script" not in html


def test_committed_data_dictionary_is_current():
    expected = default_catalogue().to_markdown()
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/catalogue.md is stale; regenerate it with: python -c \"from dropoutrisk.features "
        "import default_catalogue; open('docs/catalogue.md', 'w').write("
        "default_catalogue().to_markdown())\""
    )


def test_catalogue_round_trips_through_json():
    # models store the catalogue in their manifest
    cat = default_catalogue().with_item_groups({"q_": "cognitive_score"})
    assert Catalogue.model_validate_json(cat.model_dump_json()) == cat
