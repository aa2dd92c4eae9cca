"""The error module: messages name table, column, rows, what is allowed and how to fix."""

import pickle

import pytest

from dropoutrisk import errors


@pytest.mark.parametrize(
    "cls",
    [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)
     and issubclass(getattr(errors, n), errors.DataError)],
)
def test_data_errors_are_value_errors_with_full_message(cls):
    err = cls(table="grades", column="grade", rows=list(range(8)), values=list("GHIJKLMN"),
              allowed="A-F or '-'", fix="Map local grades to A-F")
    assert isinstance(err, ValueError)
    msg = str(err)
    assert "Table 'grades', column 'grade'" in msg
    assert "8 rows" in msg
    assert "'G'" in msg and "'K'" in msg and "'L'" not in msg  # first five values only
    assert "and 3 more" in msg
    assert "Allowed: A-F or '-'." in msg
    assert msg.endswith("Fix: Map local grades to A-F.")
    assert err.exit_code == 2


def test_error_survives_pickling():
    err = errors.DuplicateKeyError(table="students", column="student_id", rows=[1], values=["s1"])
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err)
    assert back.rows == [1]


def test_exit_codes_by_family():
    assert errors.TamperedModelError("x").exit_code == 3
    assert errors.DriftError("x").exit_code == 4
    assert issubclass(errors.ModelError, ValueError)


def test_parameter_errors_name_the_parameter_and_survive_pickling():
    err = errors.ParameterError(parameter="n_boot", value=-1, problem="must be >= 0",
                                allowed="a whole number >= 0")
    assert str(err) == "Parameter 'n_boot' = -1: must be >= 0. Allowed: a whole number >= 0."
    assert err.for_option("--n-boot").startswith("Option '--n-boot' = -1:")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.parameter == "n_boot" and back.exit_code == 2
    whole = errors.ParameterError(parameter="lang", message="lang='de' is not supported.")
    assert str(whole) == "lang='de' is not supported."
    assert whole.for_option("--lang") == "Option '--lang': lang='de' is not supported."
    with pytest.raises(TypeError, match="problem="):
        errors.ParameterError(parameter="x")


def _fit_two_rows():
    from dropoutrisk.models import RiskModel

    return RiskModel(n_estimators=2)


@pytest.mark.parametrize(
    ("call", "cls", "parameter"),
    [
        (lambda: __import__("dropoutrisk.synthetic", fromlist=["x"]).make_cohorts(10, [1800]),
         errors.ParameterError, "cohorts"),
        (lambda: __import__("dropoutrisk.models", fromlist=["x"]).compare_models(
            {"a": [0.1, 0.9], "b": [0.2, 0.8]}, y=[0, 1], n_boot=-1),
         errors.ParameterError, "n_boot"),
        (lambda: __import__("dropoutrisk.models", fromlist=["x"]).evaluate(
            [0, 0, 0], [0.1, 0.2, 0.3]), errors.DataError, None),
        (lambda: __import__("dropoutrisk.explain", fromlist=["x"]).explain_students(
            None, None, lang="de"), errors.ParameterError, "lang"),
        (lambda: _fit_two_rows().fit([[0.0], [1.0]], [1, 1]), errors.ParameterError, "y"),
    ],
    ids=["make_cohorts-cohorts", "compare_models-n_boot", "evaluate-one-class",
         "explain_students-lang", "RiskModel-one-class"],
)
def test_bad_input_raises_the_class_whose_exit_code_is_2(call, cls, parameter):
    with pytest.raises(cls) as info:
        call()
    assert info.value.exit_code == 2 and isinstance(info.value, ValueError)
    if parameter is not None:
        assert info.value.parameter == parameter
