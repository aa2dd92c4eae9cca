"""Errors and warnings raised by dropoutrisk.

Every error is a :class:`ValueError` subclass so that callers who already
catch ``ValueError`` keep working. Data errors carry structured attributes
(``table``, ``column``, ``rows``, ``values``, ``n_bad``) as well as a message
that names the table and column, shows the first offending rows with their
values and the total count, says what is allowed and how to fix it.

Each error class carries the command-line exit code it stands for, as its
``exit_code`` attribute: :class:`DataError` and :class:`ParameterError` 2
(invalid input), :class:`ModelError` 3, :class:`DriftError` 4. The command
line exits with that code; anything else exits 1 (a bug).

Examples
--------
>>> from dropoutrisk.errors import OutOfRangeError
>>> err = OutOfRangeError(
...     table="attendance", column="absent_minutes", rows=[3, 7], values=[-5, -1],
...     n_bad=2, allowed="a number >= 0", fix="Correct the export or drop the rows.")
>>> isinstance(err, ValueError)
True
>>> print(err)  # doctest: +NORMALIZE_WHITESPACE
Table 'attendance', column 'absent_minutes': 2 rows have invalid values
(rows 3 (-5), 7 (-1)). Allowed: a number >= 0. Fix: Correct the export or drop
the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AlignmentError",
    "AttendanceFormatError",
    "BaselineWarning",
    "CalibrationWarning",
    "ColumnTypeError",
    "DataError",
    "DataQualityWarning",
    "DatasetSpecError",
    "DateParseError",
    "DriftError",
    "DriftWarning",
    "DuplicateColumnError",
    "DuplicateKeyError",
    "EmptyTableError",
    "EventsAfterAsOfWarning",
    "ExtremeMarginWarning",
    "IncompatibleModelError",
    "IndicatorFileError",
    "InvalidCategoryError",
    "MissingColumnError",
    "MissingLabelWarning",
    "SupportedOutcomeWarning",
    "MissingModelFileError",
    "MissingTableError",
    "MissingValueError",
    "ModelError",
    "OperatingPointError",
    "OptionalDataWarning",
    "OutOfRangeError",
    "ParameterError",
    "PseudonymKeyError",
    "TableTypeError",
    "TamperedModelError",
    "TextEncodingWarning",
    "UnitMismatchWarning",
    "UnknownStudentError",
    "UnknownTableError",
    "UntrustedModelError",
    "format_rows",
]

#: How many offending rows a message shows before it only gives the count.
MAX_ROWS_SHOWN = 5


def format_rows(
    rows: Sequence[Any], values: Sequence[Any] | None = None, total: int | None = None
) -> str:
    """Format the first offending row numbers, with their values when given.

    Parameters
    ----------
    rows : sequence
        Row numbers (0-based positions in the table as given).
    values : sequence, optional
        The offending value of each row, same length as ``rows``.
    total : int, optional
        How many rows are offending in all, when ``rows`` holds only the
        first of them; defaults to ``len(rows)``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_rows([1, 2, 3, 4, 5, 6, 7], ["a", "b", "c", "d", "e", "f", "g"])
    "rows 1 ('a'), 2 ('b'), 3 ('c'), 4 ('d'), 5 ('e') and 2 more"
    >>> format_rows([0])
    'row 0'
    >>> format_rows([0, 1, 2, 3, 4, 5], total=2720)
    'rows 0, 1, 2, 3, 4 and 2715 more'
    """
    rows = list(rows)
    total = len(rows) if total is None else max(int(total), len(rows))
    shown = rows[:MAX_ROWS_SHOWN]
    if values is not None:
        vals = list(values)[:MAX_ROWS_SHOWN]
        parts = [f"{r} ({v!r})" for r, v in zip(shown, vals, strict=False)]
    else:
        parts = [str(r) for r in shown]
    text = ("row " if total == 1 else "rows ") + ", ".join(parts)
    if total > len(shown):
        text += f" and {total - len(shown)} more"
    return text


class DataError(ValueError):
    """Base class for invalid input data (command-line exit code 2).

    Parameters
    ----------
    table : str
        The table the problem is in (``"students"``, ``"attendance"``, ...).
    column : str or None
        The column the problem is in, or ``None`` for table-level problems.
    rows : sequence of int, optional
        0-based positions of offending rows (all of them, or the first
        ones with ``n_bad`` giving the total; only five are printed).
    values : sequence, optional
        The offending values, aligned with ``rows``.
    n_bad : int, optional
        Total number of offending rows; defaults to ``len(rows)``.
    allowed : str, optional
        What is allowed.
    fix : str, optional
        How to fix it.
    problem : str, optional
        A short description of the problem; each subclass has a default.
    """

    default_problem = "invalid data"
    exit_code = 2

    def __init__(
        self,
        *,
        table: str,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        values: Sequence[Any] | None = None,
        n_bad: int | None = None,
        allowed: str | None = None,
        fix: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.rows = [int(r) for r in rows] if rows is not None else []
        self.values = list(values)[: len(self.rows)] if values is not None else []
        self.n_bad = int(n_bad) if n_bad is not None else len(self.rows)
        self.allowed = allowed
        self.fix = fix
        self.problem = problem or self.default_problem
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"Table '{self.table}'"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = where + ": "
        if self.rows:
            noun = "row has" if self.n_bad == 1 else "rows have"
            text += f"{self.n_bad} {noun} {self.problem} ("
            text += format_rows(self.rows, self.values if self.values else None, self.n_bad) + ")."
        else:
            text += self.problem + ("" if self.problem.endswith(".") else ".")
        if self.allowed:
            text += f" Allowed: {self.allowed}."
        if self.fix:
            text += f" Fix: {self.fix}"
            if not self.fix.endswith("."):
                text += "."
        return text

    def __reduce__(self):  # keep errors picklable across processes
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls, state):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    ValueError.__init__(obj, obj._message())
    return obj


class MissingTableError(DataError):
    """A required table is absent (no file, or no key in the mapping)."""

    default_problem = "the table is missing"


class UnknownTableError(DataError):
    """A table name that is not one of the canonical tables."""

    default_problem = "the name is not a canonical table"


class TableTypeError(DataError):
    """A table that is not a pandas DataFrame (or a mapping of tables that is not a mapping)."""

    default_problem = "the table is not a pandas DataFrame"


class EmptyTableError(DataError):
    """A table has no rows where at least one is needed."""

    default_problem = "the table has no rows"


class MissingColumnError(DataError):
    """A required column is absent."""

    default_problem = "the required column is missing"


class DuplicateColumnError(DataError):
    """Two or more columns share a name, so the column is ambiguous."""

    default_problem = "the column name appears more than once"


class MissingValueError(DataError):
    """Empty cells in a column that must always have a value."""

    default_problem = "missing values"


class ColumnTypeError(DataError):
    """Values that cannot be converted to the column's type."""

    default_problem = "values of the wrong type"


class DateParseError(ColumnTypeError):
    """Dates that cannot be parsed."""

    default_problem = "unparseable dates"


class OutOfRangeError(DataError):
    """Values outside the allowed range (negative minutes, absent > scheduled, ...)."""

    default_problem = "invalid values"


class InvalidCategoryError(DataError):
    """Values outside the allowed set of categories (grade ``"G"``, ...)."""

    default_problem = "values outside the allowed categories"


class DuplicateKeyError(DataError):
    """Several rows share a key that must be unique."""

    default_problem = "duplicate keys"


class UnknownStudentError(DataError):
    """Event rows that refer to a student id not in the ``students`` table."""

    default_problem = "unknown student ids"


class AttendanceFormatError(DataError):
    """Attendance in a layout that cannot be harmonised safely."""

    default_problem = "an attendance layout that cannot be harmonised"


class DatasetSpecError(DataError):
    """A dataset spec (TOML) that is malformed or does not match its table."""

    default_problem = "an invalid dataset spec"


class IndicatorFileError(DataError):
    """An indicator file (your own indicators) that cannot be read, or an invalid indicator."""

    default_problem = "an indicator that is not valid"


class AlignmentError(DataError):
    """Inputs that should describe the same rows do not line up (labels vs features)."""

    default_problem = "rows that do not line up"


class PseudonymKeyError(DataError):
    """A missing or too short key for pseudonymising student ids."""

    default_problem = "no usable pseudonymisation key"


class ParameterError(ValueError):
    """A bad argument to a function or a bad command-line option (exit code 2).

    The message names the parameter, the value given, what is allowed and how
    to fix it. On the command line, ``parameter`` is shown as its option
    (``capacity`` as ``--capacity``).

    Parameters
    ----------
    parameter : str
        The parameter's name, as the function spells it (``"capacity"``).
    value : object
        The value given.
    problem : str
        What is wrong with it.
    allowed : str, optional
        What is allowed.
    fix : str, optional
        How to fix it.
    message : str, optional
        Instead of ``value``, ``problem``, ``allowed`` and ``fix``: the whole
        message, which names the parameter and the value itself.

    Examples
    --------
    >>> from dropoutrisk.errors import ParameterError
    >>> err = ParameterError(parameter="capacity", value=0, problem="no student can be flagged",
    ...                      allowed="a whole number >= 1")
    >>> print(err)
    Parameter 'capacity' = 0: no student can be flagged. Allowed: a whole number >= 1.
    >>> err.exit_code, isinstance(err, ValueError)
    (2, True)
    """

    exit_code = 2

    def __init__(
        self,
        *,
        parameter: str,
        value: Any = None,
        problem: str | None = None,
        allowed: str | None = None,
        fix: str | None = None,
        message: str | None = None,
    ) -> None:
        if problem is None and message is None:
            raise TypeError("ParameterError needs problem= (with value=) or message=.")
        self.parameter = parameter
        self.value = value
        self.problem = problem
        self.allowed = allowed
        self.fix = fix
        self.message = message
        super().__init__(self._message())

    def _message(self, name: str | None = None) -> str:
        if self.message is not None:  # a message written whole, naming the parameter itself
            return self.message if name is None else f"{name}: {self.message}"
        label = name if name is not None else f"Parameter '{self.parameter}'"
        text = f"{label} = {self.value!r}: {self.problem}"
        text += "" if text.endswith(".") else "."
        if self.allowed:
            text += f" Allowed: {self.allowed}."
        if self.fix:
            text += f" Fix: {self.fix}"
            text += "" if self.fix.endswith(".") else "."
        return text

    def for_option(self, option: str) -> str:
        """The message with the parameter shown as the command-line ``option``.

        Examples
        --------
        >>> ParameterError(parameter="flag_rate", value=2.0, problem="not a share",
        ...                allowed="0 < flag_rate <= 1").for_option("--flag-rate")
        "Option '--flag-rate' = 2.0: not a share. Allowed: 0 < flag_rate <= 1."
        >>> ParameterError(parameter="lang", message="lang='de' is not supported; use 'sv' or "
        ...                "'en'.").for_option("--lang")
        "Option '--lang': lang='de' is not supported; use 'sv' or 'en'."
        """
        return self._message(f"Option '{option}'")

    def __reduce__(self):  # keep errors picklable across processes
        return (_rebuild, (type(self), self.__dict__.copy()))


class ModelError(ValueError):
    """Base class for model problems (command-line exit code 3).

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str, optional
        The file or folder concerned.
    """

    exit_code = 3

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class MissingModelFileError(ModelError):
    """A file listed in the model manifest (or the manifest itself) is missing."""


class TamperedModelError(ModelError):
    """A model file whose sha256 does not match its manifest."""


class IncompatibleModelError(ModelError):
    """A model saved by versions this installation cannot load safely."""


class UntrustedModelError(ModelError):
    """A model file that holds types outside the list of types trusted on load."""


class OperatingPointError(ParameterError):
    """An operating point that cannot be used (exit code 2).

    Raised by :class:`~dropoutrisk.models.OperatingPoint`, the one place that
    checks threshold, capacity, by, flag rate and cost; ``parameter`` names
    the field (``"by"``), which the command line shows as its option (``--by``).

    Examples
    --------
    >>> from dropoutrisk.errors import OperatingPointError
    >>> err = OperatingPointError(parameter="by", value="school_id",
    ...                           problem="by only applies with capacity")
    >>> isinstance(err, ValueError), err.exit_code, err.parameter
    (True, 2, 'by')
    >>> OperatingPointError(parameter="capacity", value=5, problem="give only one",
    ...                     conflicts=("threshold", "capacity")).for_option("--capacity")
    "Options '--threshold' and '--capacity': give only one."
    """

    def __init__(self, *, conflicts: Sequence[str] = (), **kwargs: Any) -> None:
        #: The fields given together that exclude each other, e.g. ("threshold", "capacity").
        self.conflicts = tuple(conflicts)
        super().__init__(**kwargs)

    def for_option(self, option: str) -> str:
        """The message for the command line; options given together are all named."""
        if not self.conflicts:
            return super().for_option(option)
        names = " and ".join(f"'--{c.replace('_', '-')}'" for c in self.conflicts)
        text = f"Options {names}: {self.problem}"
        text += "" if text.endswith(".") else "."
        if self.fix:
            text += f" Fix: {self.fix}" + ("" if self.fix.endswith(".") else ".")
        return text


class DriftError(ValueError):
    """Input drift beyond the thresholds when failing on drift was asked for (exit code 4)."""

    exit_code = 4


class DataQualityWarning(UserWarning):
    """A doubt about the data that does not stop the run."""


class EventsAfterAsOfWarning(DataQualityWarning):
    """Events dated on or after ``as_of`` were dropped."""


class TextEncodingWarning(DataQualityWarning):
    """A text file that is not UTF-8 was decoded as Windows-1252/Latin-1."""


class UnitMismatchWarning(DataQualityWarning):
    """A percentage where a fraction was expected, or the reverse; converted."""


class DriftWarning(DataQualityWarning):
    """Input differs from the training profile."""


class MissingLabelWarning(DataQualityWarning):
    """Training rows with a missing label (censored or not yet known) were dropped."""


class SupportedOutcomeWarning(DataQualityWarning):
    """Training rows whose outcome the school may have changed (an intervention) were kept."""


class ExtremeMarginWarning(UserWarning):
    """Many model margins were clipped before calibration: the booster is under-regularised."""


class BaselineWarning(UserWarning):
    """A baseline did better than the model on held-out training students, beyond noise.

    :class:`~dropoutrisk.models.RiskModel` compares itself with the logistic
    baseline and the ABC rule on students held out inside the training data
    (``baseline_comparison_``); the message gives the difference and its
    paired bootstrap interval. Common on a few thousand students: consider
    the baseline, or more cohorts.
    """


class CalibrationWarning(UserWarning):
    """The calibrator found no positive relation between the model's margin and dropout."""


class OptionalDataWarning(UserWarning):
    """Optional tables or columns are absent: the features that need them are left out.

    ``features`` lists them and ``sources`` says what was missing for each; one warning
    per call names them all.
    """

    def __init__(self, message: str, features: tuple[str, ...] = (),
                 sources: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.features = tuple(features)
        self.sources = dict(sources or {})
