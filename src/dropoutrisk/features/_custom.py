"""Your own indicators: extra student columns and per-student aggregates of an event table.

An indicator file (TOML) adds indicators to the catalogue. Each one has the
fields of a built-in :class:`~dropoutrisk.features.Indicator` (dimension,
risk direction, actionable, Swedish and English text) and a ``source``: a
column of ``students``, or an aggregate of an event table over a window.
They flow into the features (both engines), the model, the reasons, the data
dictionary and the audit like the built-in ones, and a model bundle records
them, so that ``predict`` computes them again (and refuses data that lack
their column or table).

.. code-block:: toml

    [[indicators]]
    name = "studied_credits"
    dimension = "academic"
    description_en = "Credits studied this presentation"
    description_sv = "Studerade poäng under kurstillfället"
    actionable = false
    risk_direction = "higher"
    unit = "points"
    source = { table = "students", column = "studied_credits" }

    [[indicators]]
    name = "quiz_clicks_4w"
    dimension = "behavioural"
    description_en = "Clicks on quizzes over the last 4 weeks"
    description_sv = "Klick på quiz de senaste 4 veckorna"
    actionable = true
    risk_direction = "lower"
    unit = "count"
    source = { table = "activity", aggregate = "sum", value = "count", where = { kind = "quiz" }, window_days = 28 }

    [[indicators]]
    name = "activity_2w_percentile"
    dimension = "behavioural"
    description_en = "Clicks over the last 2 weeks, against the school's other students"
    description_sv = "Klick de senaste 2 veckorna, jämfört med skolans andra elever"
    actionable = true
    risk_direction = "lower"
    source = { relative = "percentile", of = "activity_count_2w", within = "school_id" }

An indicator relative to its group (``relative``) compares another feature of the
catalogue (``of``) with the other students of the same group scored at the same
``as_of``: so a student's value depends on who is scored with them (see
:class:`~dropoutrisk.features.Computation` and docs/features.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from dropoutrisk.errors import IndicatorFileError
from dropoutrisk.features._catalogue import (
    AGGREGATABLE,
    RELATIVE_TABLE,
    Catalogue,
    Computation,
    Indicator,
)

__all__ = ["custom_by_table", "custom_indicators", "load_indicators", "relative_indicators"]

def custom_indicators(catalogue: Catalogue) -> list[Indicator]:
    """The indicators of ``catalogue`` that carry their own computation.

    Examples
    --------
    >>> from dropoutrisk.features import default_catalogue
    >>> custom_indicators(default_catalogue())
    []
    """
    return [i for i in catalogue.indicators if i.computation is not None]


def custom_by_table(catalogue: Catalogue) -> dict[str, list[Indicator]]:
    """The event-table indicators of your own, grouped by the table they aggregate."""
    out: dict[str, list[Indicator]] = {}
    for ind in custom_indicators(catalogue):
        if ind.computation.table not in ("students", RELATIVE_TABLE):
            out.setdefault(ind.computation.table, []).append(ind)
    return out


def relative_indicators(catalogue: Catalogue) -> list[Indicator]:
    """The indicators of ``catalogue`` relative to their group (``source = { relative = ... }``).

    Examples
    --------
    >>> cat = load_indicators([{
    ...     "name": "clicks_2w_pct", "dimension": "behavioural", "actionable": True,
    ...     "description_en": "Clicks, 2 weeks, in the school", "description_sv": "Klick",
    ...     "risk_direction": "lower",
    ...     "source": {"relative": "percentile", "of": "activity_count_2w"}}])
    >>> [(i.name, i.computation.of, i.unit) for i in relative_indicators(cat)]
    [('clicks_2w_pct', 'activity_count_2w', 'percentile')]
    """
    return [i for i in custom_indicators(catalogue) if i.computation.table == RELATIVE_TABLE]


def _relative_defaults(data: dict[str, Any], computation: Computation,
                       known: Mapping[str, Indicator]) -> None:
    """Check the feature a relative indicator compares and fill its source, window and unit."""
    base = known.get(computation.of)
    if base is None:
        raise ValueError(f"of = {computation.of!r} is not a feature of the catalogue or of an "
                         "indicator above it in the file")
    if base.kind == "categorical":
        raise ValueError(f"of = {computation.of!r} is categorical; a relative indicator compares "
                         "a numeric or binary feature")
    if base.computation is not None and base.computation.table == RELATIVE_TABLE:
        raise ValueError(f"of = {computation.of!r} is itself relative; compare its own feature "
                         f"({base.computation.of!r}) instead")
    if data.get("kind", "numeric") != "numeric":
        raise ValueError("a relative indicator is numeric (a percentile, ratio or difference); "
                         "leave out kind")
    data.setdefault("source_table", base.source_table)
    data.setdefault("window", f"{base.window}; {computation.window_text}")
    unit = {"percentile": "percentile", "ratio": "fraction"}.get(computation.relative, base.unit)
    data.setdefault("unit", unit)


def _indicator_from(entry: Mapping[str, Any], where: str,
                    known: Mapping[str, Indicator] | None = None) -> Indicator:
    data = dict(entry)
    source = data.pop("source", None)
    if not isinstance(source, Mapping):
        raise ValueError("needs source = { table = ..., ... } (a students column, an event "
                         "table aggregate, or relative = ... and of = ...)")
    computation = Computation(**source)
    if computation.relative is not None:
        _relative_defaults(data, computation, known or {})
    data.setdefault("source_table", computation.table)
    data.setdefault("window", computation.window_text)
    data.setdefault("kind", "numeric")
    for lang in ("sv", "en"):
        desc = data.get(f"description_{lang}")
        if desc and f"template_{lang}" not in data:
            # a percentile prints a band ("lowest 10%"): the group's median of it says nothing
            plain = data["kind"] == "categorical" or data.get("unit") == "percentile"
            data[f"template_{lang}"] = (f"{desc}: {{value}}." if plain
                                        else f"{desc}: {{value}} ({{reference}}).")
    if "categories" in data:
        data["categories"] = tuple(str(c) for c in data["categories"])
    return Indicator(**data, computation=computation)


def load_indicators(
    source: str | Path | Iterable[Mapping[str, Any]],
    catalogue: Catalogue | None = None,
) -> Catalogue:
    """Return the catalogue with the indicators of a file (or of plain mappings) added.

    Parameters
    ----------
    source : path, or iterable of mappings
        A TOML file with ``[[indicators]]`` tables (see this module's docstring), or the
        same entries as Python mappings.
    catalogue : Catalogue, optional
        The catalogue to extend; :func:`default_catalogue` by default.

    Returns
    -------
    Catalogue
        The indicators of ``catalogue``, then the new ones in file order.

    Raises
    ------
    IndicatorFileError
        The file cannot be read, or an indicator is not valid (the message names the
        indicator and the field), or its name is already in the catalogue.

    Examples
    --------
    >>> cat = load_indicators([{
    ...     "name": "studied_credits", "dimension": "academic", "actionable": False,
    ...     "description_en": "Credits studied", "description_sv": "Studerade poäng",
    ...     "risk_direction": "higher", "unit": "points",
    ...     "source": {"table": "students", "column": "credits"}}])
    >>> cat.names[-1], cat.get("studied_credits").computation.column
    ('studied_credits', 'credits')
    """
    from dropoutrisk.features._catalogue import default_catalogue

    base = catalogue if catalogue is not None else default_catalogue()
    label = "indicators"
    if isinstance(source, str | Path):
        path = Path(source)
        label = path.name
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndicatorFileError(table=label, problem=f"the file {str(path)!r} does not exist",
                                     fix="Check the path of the indicator file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise IndicatorFileError(table=label, problem=f"the file is not valid TOML ({exc})",
                                     fix="Correct the file; see docs/features.md") from None
        entries = data.get("indicators")
        if not isinstance(entries, list) or not entries:
            raise IndicatorFileError(
                table=label, column="indicators", problem="the file has no [[indicators]] tables",
                fix="Add one [[indicators]] table per indicator; see docs/features.md")
    else:
        entries = list(source)
    added: list[Indicator] = []
    for k, entry in enumerate(entries):
        name = entry.get("name", f"#{k + 1}") if isinstance(entry, Mapping) else f"#{k + 1}"
        try:
            if not isinstance(entry, Mapping):
                raise ValueError("is not a table of fields")
            known = {i.name: i for i in (*base.indicators, *added)}
            ind = _indicator_from(entry, label, known)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "?"
            raise IndicatorFileError(
                table=label, column=f"indicators[{k}] ({name}).{field}",
                problem=first.get("msg", "not valid"),
                fix="Correct the field; the fields are those of the built-in indicators "
                    "(docs/catalogue.md) plus source") from None
        except ValueError as exc:
            raise IndicatorFileError(table=label, column=f"indicators[{k}] ({name})",
                                     problem=str(exc), fix="Correct the indicator") from None
        if ind.name in base.names or ind.name in {i.name for i in added}:
            raise IndicatorFileError(
                table=label, column=f"indicators[{k}] ({name})",
                problem="the name is already in the catalogue",
                fix="Choose another name: indicator names are unique")
        added.append(ind)
    return base.model_copy(update={"indicators": (*base.indicators, *added)})


# --- computation: the same aggregates on both engines -----------------------------------

#: Values are summed as whole units of 1e-9 (as minutes are): exact in any order.
_UNITS = 1_000_000_000


def students_value(ind: Indicator, ros: pd.DataFrame) -> pd.Series | None:
    """A students-column indicator's values for the roster (None when the column is absent)."""
    comp = ind.computation
    assert comp is not None and comp.table == "students"
    column = comp.column or ind.name
    return ros[column] if column in ros.columns else None


def sql_for(table: str, indicators: list[Indicator], lit, days_between) -> str:
    """One query computing every aggregate indicator of ``table`` (see ``features._sql``).

    ``lit`` turns a date into an SQL literal and ``days_between(later, earlier)`` is the
    dialect's day difference; the window dates come from the ``{as_of}`` placeholders the
    caller fills.
    """
    numeric, text = AGGREGATABLE[table]
    cols = sorted({i.computation.value for i in indicators if i.computation.value}
                  | {c for i in indicators for c, _ in i.computation.where})
    picked = "".join(f", x.{c}" for c in cols)
    exprs = []
    for ind in indicators:
        c = ind.computation
        cond = ["x.day IS NOT NULL"]
        cond.append(f"x.day >= {{as_of_minus_{c.window_days}}}" if c.window_days
                    else "x.day >= e.start_day")
        for col, vals in c.where:
            quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in vals)
            cond.append(f"x.{col} IN ({quoted})")
        test = " AND ".join(cond)
        units = (f"CAST(FLOOR(CAST(x.{c.value} AS {{double}}) * {_UNITS} + 0.5) AS BIGINT)"
                 if c.value else None)
        if c.aggregate == "count":
            e = f"CAST(SUM(CASE WHEN {test} THEN 1 ELSE 0 END) AS {{double}})"
        elif c.aggregate == "sum":
            e = f"CAST(SUM(CASE WHEN {test} THEN {units} ELSE 0 END) AS {{double}}) / {_UNITS}"
        elif c.aggregate == "mean":
            e = (f"CAST(SUM(CASE WHEN {test} THEN {units} END) AS {{double}}) / {_UNITS}"
                 f" / CASE WHEN COUNT(CASE WHEN {test} THEN x.{c.value} END) > 0"
                 f" THEN CAST(COUNT(CASE WHEN {test} THEN x.{c.value} END) AS {{double}}) END")
        elif c.aggregate in ("min", "max"):
            e = f"CAST({c.aggregate.upper()}(CASE WHEN {test} THEN x.{c.value} END) AS {{double}})"
        elif c.aggregate == "distinct_days":
            e = f"CAST(COUNT(DISTINCT CASE WHEN {test} THEN x.day END) AS {{double}})"
        else:  # days_since_last
            e = (f"CAST(COALESCE(MIN(CASE WHEN {test} THEN {days_between('{as_of}', 'x.day')}"
                 f" END), MAX(e.days_since_start)) AS {{double}})")
        exprs.append(f"       {e} AS {ind.name}")
    return (
        "SELECT e.student_id,\n" + ",\n".join(exprs) + "\n"
        "FROM enrolment e\n"
        f"LEFT JOIN (SELECT a.student_id, CAST(a.date AS DATE) AS day{picked.replace('x.', 'a.')}"
        f" FROM {table} a WHERE CAST(a.date AS DATE) < {{as_of}}) x\n"
        "  ON x.student_id = e.student_id\n"
        "GROUP BY e.student_id\n"
    )


def window_starts(indicators: list[Indicator]) -> set[int]:
    """The ``window_days`` the queries of ``indicators`` need a date for."""
    return {i.computation.window_days for i in indicators if i.computation.window_days}


def pandas_values(table: str, events: pd.DataFrame, indicators: list[Indicator],
                  as_of: pd.Timestamp, enrolled: pd.DataFrame) -> pd.DataFrame:
    """The pandas mirror of :func:`sql_for`: one row per enrolled student."""
    e = enrolled.set_index("student_id")
    ev = events.loc[events["date"] < as_of]
    pos = e.index.get_indexer(ev["student_id"])
    ev = ev.loc[pos >= 0]
    start = e["start"].to_numpy()[pos[pos >= 0]]
    out = pd.DataFrame(index=pd.Index(e.index, name="student_id"))
    for ind in indicators:
        c = ind.computation
        keep = (ev["date"] >= (as_of - pd.Timedelta(days=c.window_days))).to_numpy() \
            if c.window_days else (ev["date"].to_numpy() >= start)
        for col, vals in c.where:
            keep &= ev[col].isin(vals).to_numpy()
        sel = ev.loc[keep]
        g = sel.groupby("student_id", sort=False)
        if c.aggregate == "count":
            v = g.size().astype("float64")
        elif c.aggregate in ("sum", "mean"):
            u = np.floor(sel[c.value].astype("float64") * _UNITS + 0.5)
            s = u.groupby(sel["student_id"], sort=False).sum() / _UNITS
            v = s if c.aggregate == "sum" else (
                s / sel[c.value].notna().groupby(sel["student_id"], sort=False).sum()
                .where(lambda n: n > 0))
        elif c.aggregate in ("min", "max"):
            v = getattr(g[c.value], c.aggregate)()
        elif c.aggregate == "distinct_days":
            v = g["date"].nunique().astype("float64")
        else:
            v = g["date"].max().rsub(as_of).dt.days.astype("float64")
        v = v.reindex(e.index).astype("float64")
        if c.fills_zero:
            v = v.fillna(0.0)
        elif c.aggregate == "days_since_last":
            v = v.fillna(e["days_since_start"].astype("float64"))
        out[ind.name] = v
    return out


# --- indicators relative to their group: the same numbers on both engines --------------

#: The columns of ``peer_values``, the input of ``RELATIVE_SQL``.
PEER_COLUMNS = ("student_id", "grp", "feature", "how", "v")


def peer_values(frame: pd.DataFrame, indicators: list[Indicator]) -> pd.DataFrame:
    """The ``peer_values`` rows of the features of one ``as_of`` (see ``RELATIVE_SQL``).

    One row per student and relative indicator whose compared feature has a value; the
    group is the student's ``school_id`` or ``cohort`` as text, or ``"all"``.
    """
    parts = []
    for ind in indicators:
        c = ind.computation
        v = frame[c.of].to_numpy(dtype=np.float64, na_value=np.nan)
        keep = ~np.isnan(v)
        grp = (np.full(len(frame), "all", dtype=object) if c.within == "all"
               else frame[c.within].astype(str).to_numpy(dtype=object))
        parts.append(pd.DataFrame({
            "student_id": frame.index.to_numpy(dtype=object)[keep],
            "grp": grp[keep],
            "feature": ind.name,
            "how": c.relative,
            "v": v[keep] + 0.0,  # -0.0 + 0.0 is 0.0: one value for equal numbers
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PEER_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def pandas_relative(peers: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """The pandas mirror of ``RELATIVE_SQL``: ``student_id, feature, relative_value``."""
    p = peers.sort_values(["feature", "grp", "v"], kind="mergesort").reset_index(drop=True)
    v = p["v"].to_numpy(dtype=np.float64)
    by_group = p.groupby(["feature", "grp"], sort=False)
    n = by_group["v"].transform("size").to_numpy(dtype=np.int64)
    rn = by_group.cumcount().to_numpy(dtype=np.int64) + 1  # sorted by v within the group
    start = np.arange(len(p)) - (rn - 1)  # the group's first row
    below = by_group["v"].rank(method="min").to_numpy(dtype=np.float64) - 1.0
    ties = p.groupby(["feature", "grp", "v"], sort=False)["v"].transform("size").to_numpy(
        dtype=np.float64)
    low = v[start + (n + 1) // 2 - 1] if len(p) else v
    high = v[start + n // 2] if len(p) else v
    median = (low + high) / 2.0
    how = p["how"].to_numpy(dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(how == "percentile", (below + ties / 2.0) / n,
                         np.where(how == "ratio", np.where(median > 0, v / median, np.nan),
                                  v - median))
    value = np.where(n < min_count, np.nan, value)
    return pd.DataFrame({"student_id": p["student_id"].to_numpy(dtype=object),
                         "feature": p["feature"].to_numpy(dtype=object),
                         "relative_value": value.astype(np.float64)})
