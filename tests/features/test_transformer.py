"""FeatureBuilder: the scikit-learn face of build_features."""

import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from dropoutrisk.features import CONTEXT_COLUMNS, FeatureBuilder, build_features, default_catalogue

from .feature_tables import AS_OF


def test_all_columns_match_build_features(tables):
    fb = FeatureBuilder(as_of=AS_OF, engine="pandas")
    X = fb.fit(tables).transform(tables)
    expected = build_features(tables, AS_OF, engine="pandas")
    assert X.equals(expected)
    assert list(fb.get_feature_names_out()) == [*CONTEXT_COLUMNS, *default_catalogue().names]


@pytest.mark.parametrize(("columns", "background"), [("model", False),
                                                     ("model_with_background", True)])
def test_model_columns(tables, columns, background):
    fb = FeatureBuilder(as_of=AS_OF, columns=columns)
    X = fb.fit_transform(tables)
    assert list(X.columns) == default_catalogue().model_features(include_background=background)
    assert list(fb.get_feature_names_out()) == list(X.columns)


def test_params_and_clone():
    fb = FeatureBuilder(as_of=AS_OF, columns="model")
    assert fb.get_params()["columns"] == "model"
    assert clone(fb).get_params() == fb.get_params()
    assert fb.set_output(transform="pandas") is fb
    with pytest.raises(ValueError, match="always returns a pandas DataFrame"):
        fb.set_output(transform="polars")


def test_errors(tables):
    with pytest.raises(NotFittedError):
        FeatureBuilder(as_of=AS_OF).transform(tables)
    with pytest.raises(ValueError, match="needs as_of"):
        FeatureBuilder().fit(tables)
    with pytest.raises(ValueError, match="columns='some'"):
        FeatureBuilder(as_of=AS_OF, columns="some").fit(tables)
