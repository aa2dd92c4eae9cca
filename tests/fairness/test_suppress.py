"""Small-cell suppression: primary, complementary, and no recovery by subtraction."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dropoutrisk.fairness._suppress import complementary_suppression


def _table(sizes_by_cell):
    """Counts of every cell of a two-way table with margins and the overall cell."""
    counts = {(): int(sum(sizes_by_cell.values()))}
    for (a, b), n in sizes_by_cell.items():
        counts[(("g", a),)] = counts.get((("g", a),), 0) + n
        counts[(("h", b),)] = counts.get((("h", b),), 0) + n
        counts[(("g", a), ("h", b))] = n
    return counts


def _sums(keys):
    """Every published total and the cells that add up to it: (parent, children)."""
    relations = []
    for parent in keys:
        pv = {v for v, _ in parent}
        for child_vars in {tuple(v for v, _ in k) for k in keys}:
            if len(child_vars) == len(parent) + 1 and pv <= set(child_vars):
                kids = [k for k in keys if tuple(v for v, _ in k) == child_vars
                        and set(parent) <= set(k)]
                relations.append((parent, kids))
    return relations


def _subtraction_attack(counts, suppressed):
    """Recover suppressed counts from every published sum, repeatedly."""
    known = {k: v for k, v in counts.items() if k not in suppressed}
    relations = _sums(list(counts))
    changed = True
    while changed:
        changed = False
        for parent, kids in relations:
            unknown = [k for k in [parent, *kids] if k not in known]
            if len(unknown) == 1:
                u = unknown[0]
                if u == parent:
                    known[u] = sum(known[k] for k in kids)
                else:
                    known[u] = known[parent] - sum(known[k] for k in kids if k != u)
                changed = True
    return {k for k in suppressed if k in known}


def test_single_small_cell_takes_the_next_smallest_with_it():
    counts = {(): 120, (("g", "a"),): 100, (("g", "b"),): 14, (("g", "c"),): 6}
    assert complementary_suppression(counts) == {
        (("g", "c"),): "small cell", (("g", "b"),): "complementary"}


def test_two_small_cells_need_no_complement():
    counts = {(): 120, (("g", "a"),): 106, (("g", "b"),): 8, (("g", "c"),): 6}
    assert set(complementary_suppression(counts).values()) == {"small cell"}


def test_no_small_cell_suppresses_nothing():
    assert complementary_suppression({(): 30, (("g", "a"),): 15, (("g", "b"),): 15}) == {}


def test_threshold_is_configurable():
    counts = {(): 30, (("g", "a"),): 18, (("g", "b"),): 12}
    assert complementary_suppression(counts, min_cell=15) == {
        (("g", "b"),): "small cell", (("g", "a"),): "complementary"}


def test_small_intersection_is_not_recoverable_from_margins():
    counts = _table({("F", "0"): 290, ("F", "1"): 4, ("M", "0"): 280, ("M", "1"): 40})
    reasons = complementary_suppression(counts)
    assert reasons[(("g", "F"), ("h", "1"))] == "small cell"
    assert _subtraction_attack(counts, set(reasons)) == set()
    # The margins stay published: the complement is found among the intersections.
    assert (("g", "F"),) not in reasons and (("h", "1"),) not in reasons


@pytest.mark.parametrize("suppress_empty", [True, False])
@given(sizes=st.lists(st.integers(0, 60), min_size=6, max_size=6))
def test_no_suppressed_count_is_recoverable(sizes, suppress_empty):
    # with empty cells published, fewer than 10 students in all can never be hidden:
    # the overall count is always published
    assume(suppress_empty or sum(sizes) >= 10)
    cells = dict(zip(itertools.product("ab", "xyz"), sizes, strict=True))
    counts = _table(cells)
    reasons = complementary_suppression(counts, suppress_empty=suppress_empty)
    floor = 0 if suppress_empty else 1
    small = {k for k, n in counts.items() if k != () and floor <= n < 10}
    assert small <= set(reasons)
    assert () not in reasons
    assert _subtraction_attack(counts, set(reasons)) == set()
    # The rank check is stronger than the subtraction attack: verify it too.
    keys = list(counts)
    sup = [keys.index(k) for k in reasons]
    if sup:
        rows = []
        for parent in keys:
            for child_vars in ({"g"}, {"h"}, {"g", "h"}):
                pv = {v for v, _ in parent}
                if len(child_vars) == len(pv) + 1 and pv <= child_vars:
                    row = np.zeros(len(keys))
                    row[keys.index(parent)] = 1
                    for k in keys:
                        if {v for v, _ in k} == child_vars and set(parent) <= set(k):
                            row[keys.index(k)] = -1
                    rows.append(row)
        a = np.array(rows)[:, sup]
        full = np.linalg.matrix_rank(a)
        for j in range(len(sup)):
            assert full - np.linalg.matrix_rank(np.delete(a, j, axis=1)) == 0


def _three_way(sizes_by_cell):
    """Counts of every cell of a three-way table (groups g, h, k), all margins included."""
    names = ("g", "h", "k")
    counts = {(): int(sum(sizes_by_cell.values()))}
    for values, n in sizes_by_cell.items():
        for r in (1, 2, 3):
            for pick in itertools.combinations(range(3), r):
                key = tuple((names[i], values[i]) for i in pick)
                counts[key] = counts.get(key, 0) + n
    return counts


def _determined(counts, suppressed, cell):
    """Whether the published counts and the sums pin ``cell`` down (rank test, no eigh)."""
    keys = list(counts)
    rows = []
    for parent, kids in _sums(keys):
        row = np.zeros(len(keys))
        row[keys.index(parent)] = 1
        row[[keys.index(k) for k in kids]] = -1
        rows.append(row)
    sup = sorted(keys.index(k) for k in suppressed)
    a = np.array(rows)[:, sup]
    e = np.zeros(len(sup))
    e[sup.index(keys.index(cell))] = 1
    return np.linalg.matrix_rank(np.vstack([a, e])) == np.linalg.matrix_rank(a)


# The demo's cohort at week 10: 14 students with gender "other", none of them newly
# arrived or in special support, and a few small cells of newly arrived students.
DEMO = {("female", "0", "0"): 461, ("female", "0", "1"): 29, ("female", "1", "0"): 37,
        ("female", "1", "1"): 3, ("male", "0", "0"): 545, ("male", "0", "1"): 29,
        ("male", "1", "0"): 38, ("male", "1", "1"): 5, ("other", "0", "0"): 14,
        ("other", "0", "1"): 0, ("other", "1", "0"): 0, ("other", "1", "1"): 0}


def test_demo_table_keeps_most_two_way_cells_and_hides_every_small_one():
    counts = _three_way(DEMO)
    reasons = complementary_suppression(counts)
    small = {k for k, n in counts.items() if 0 < n < 10}
    assert {k for k, r in reasons.items() if r == "small cell"} == small
    two_way = [k for k in counts if len(k) == 2]
    assert sum(k in reasons for k in two_way) <= len(two_way) // 2
    assert not any(len(k) == 1 for k in reasons)  # every group stays published
    assert _subtraction_attack(counts, set(reasons)) == set()
    for cell in small:
        assert not _determined(counts, set(reasons), cell), cell
    # empty cells are published as 0 by default
    assert (("g", "other"), ("h", "1")) not in reasons


def test_empty_cells_can_be_treated_as_small():
    counts = _three_way(DEMO)
    reasons = complementary_suppression(counts, suppress_empty=True)
    empty = {k for k, n in counts.items() if n == 0}
    assert empty and all(reasons[k] == "small cell" for k in empty)
    assert _subtraction_attack(counts, set(reasons)) == set()
    for cell in empty:
        assert not _determined(counts, set(reasons), cell), cell


@given(st.lists(st.integers(0, 40), min_size=8, max_size=8))
def test_three_way_small_cells_are_never_determined(sizes):
    assume(sum(sizes) >= 10)
    cells = dict(zip(itertools.product("ab", "xy", "uv"), sizes, strict=True))
    counts = _three_way(cells)
    reasons = complementary_suppression(counts)
    small = {k for k, n in counts.items() if k != () and 0 < n < 10}
    assert small <= set(reasons)
    assert _subtraction_attack(counts, set(reasons)) == set()
    for cell in small:
        assert not _determined(counts, set(reasons), cell), (cell, counts)
