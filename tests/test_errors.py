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
