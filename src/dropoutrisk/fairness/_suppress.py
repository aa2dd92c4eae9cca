"""Small-cell suppression, primary and complementary.

A *cell* is one group (``gender=F``) or one intersection of groups
(``gender=F × newly_arrived=1``); the *overall* cell holds everyone. Every
cell of a grouping is listed, including combinations that no student falls
into.

**Primary suppression.** A cell with 1 to ``min_cell - 1`` students
(default 10, docs/architecture.md, "Trust") is suppressed: its measures are
NaN and its ``n`` reads ``"<10"``, never the count. An empty cell holds no
student and is published as 0 (``suppress_empty=True`` treats it as small,
see :func:`complementary_suppression`).

**Complementary (secondary) suppression.** Published counts add up: the
cells of a grouping sum to the overall count, and the cells of an
intersection that share all but one group sum to the cell of those shared
groups (``F×0 + F×1 = F``). If one cell of such a sum were suppressed and the
others published, subtraction would give it back. The rule applied here is
exact: the published counts and these sums form a linear system, and a
small cell is *recoverable* when the system determines its count (every
vector of the null space of the suppressed columns is zero there). Only the
small cells need protecting: a complementary cell that the sums give back
is no more disclosed than a published one.

The complementary cells are chosen so as to withhold as little as
possible: while a small cell is recoverable, the cell that shares a sum
with it and leaves the fewest small cells recoverable is withheld (ties:
the most detailed, then the smallest); then every complementary cell is
published back, coarsest and largest first, whenever the small cells stay
unrecoverable without it. Two starting points are tried (the small cells
alone, and every cell of a grouping that holds one) and the pattern that
withholds the fewest groups, then the fewest two-way cells, and so on, is
kept. With a single grouping this is the usual rule: if exactly one cell is
suppressed, the next smallest is suppressed with it. Complementary cells
read ``"suppressed"``. The same additive structure holds for every count
behind the rates (dropouts, flags, true and false positives), so the same
pattern protects them.

Bounds from non-negativity (a sum of 0 pins every term at 0) are not
withheld: they reveal no more than a published zero does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dropoutrisk._disclosure import MIN_CELL

__all__ = ["MIN_CELL", "complementary_suppression", "sums_of"]

Key = tuple[tuple[str, str], ...]


def sums_of(keys: Sequence[Key]) -> list[tuple[int, list[int]]]:
    """Every additive relation ``parent = sum(children)`` among ``keys``, as positions."""
    index = {k: i for i, k in enumerate(keys)}
    by_vars: dict[tuple[str, ...], list[Key]] = {}
    for k in keys:
        by_vars.setdefault(tuple(v for v, _ in k), []).append(k)
    relations = []
    for parent in keys:
        pvars = {v for v, _ in parent}
        for vars_, members in by_vars.items():
            if len(vars_) != len(parent) + 1 or not pvars <= set(vars_):
                continue
            children = [index[c] for c in members if set(parent) <= set(c)]
            if children:
                relations.append((index[parent], children))
    return relations


def _recoverable(matrix: np.ndarray, suppressed: list[int]) -> list[int]:
    """Suppressed columns whose value the relations determine.

    A column's value is determined exactly when every vector of the null
    space of the suppressed columns is zero at that column.
    """
    if not suppressed or matrix.shape[0] == 0:
        return []
    sub = matrix[:, suppressed]
    evals, evecs = np.linalg.eigh(sub.T @ sub)
    null = evecs[:, evals < 1e-9 * max(1.0, float(evals.max(initial=0.0)))]
    determined = np.all(np.abs(null) < 1e-9, axis=1)
    return [col for col, d in zip(suppressed, determined, strict=True) if d]


def complementary_suppression(
    counts: Mapping[Key, int], *, min_cell: int = MIN_CELL, suppress_empty: bool = False
) -> dict[Key, str]:
    """Decide which cells to suppress, and why.

    Parameters
    ----------
    counts : mapping of key -> int
        The size of every cell. A key is a tuple of ``(grouping, value)``
        pairs; the empty tuple is the overall cell, which is never
        suppressed.
    min_cell : int, default 10
        Cells with fewer students are suppressed.
    suppress_empty : bool, default False
        Also treat empty cells (no student) as small. By default an empty
        cell is published as 0, as tau-ARGUS does unless "zero unsafe" is
        set: it holds no student, so no outcome, flag or score can be read
        from it. It does say that no student of a group has that value (no
        student with gender "other" is newly arrived); set this when that is
        itself sensitive. It costs more complementary cells.

    Returns
    -------
    dict of key -> str
        ``"small cell"`` (primary) or ``"complementary"`` for every
        suppressed key; published keys are absent.

    Examples
    --------
    >>> counts = {(): 120, (("g", "a"),): 100, (("g", "b"),): 14, (("g", "c"),): 6}
    >>> complementary_suppression(counts)
    {(('g', 'b'),): 'complementary', (('g', 'c'),): 'small cell'}
    >>> complementary_suppression({(): 20, (("g", "a"),): 20, (("g", "b"),): 0})
    {}
    """
    from threadpoolctl import threadpool_limits

    # Many small eigen-decompositions: one BLAS thread is ~50x faster than a
    # contended pool and no slower on an idle machine.
    with threadpool_limits(limits=1):
        return _suppress(counts, min_cell, suppress_empty)


def _suppress(counts: Mapping[Key, int], min_cell: int, suppress_empty: bool) -> dict[Key, str]:
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    relations = sums_of(keys)
    matrix = np.zeros((len(relations), len(keys)))
    for r, (parent, children) in enumerate(relations):
        matrix[r, parent] = 1.0
        matrix[r, children] = -1.0
    floor = 0 if suppress_empty else 1
    primary = {k for k in keys if k != () and floor <= int(counts[k]) < min_cell}
    if not primary:
        return {}
    first = {index[k] for k in primary}
    partners: dict[int, set[int]] = {}
    for parent, children in relations:
        members = [parent, *children]
        for m in members:
            partners.setdefault(m, set()).update(x for x in members if keys[x] != ())

    def leaks(chosen: set[int]) -> list[int]:
        # only the small cells need protecting: a complementary cell that the
        # sums give back is no more disclosed than a published one
        return [i for i in _recoverable(matrix, sorted(chosen)) if i in first]

    def cost(i: int) -> tuple[int, int]:
        # withholding a coarse cell costs more than a detailed one; then a larger one
        return (-len(keys[i]), int(counts[keys[i]]))

    def repaired(chosen: set[int]) -> set[int]:
        chosen = set(chosen)
        while True:
            leaking = leaks(chosen)
            if not leaking:
                return chosen
            # the cells sharing a sum with the first leak; failing that, with any leak;
            # failing that (the leak runs through longer chains), any published cell
            cands = partners.get(leaking[0], set()) - chosen
            if not cands:
                cands = set().union(*(partners.get(i, set()) for i in leaking)) - chosen
            if not cands:
                cands = {i for i, k in enumerate(keys) if k != ()} - chosen
            if not cands:  # only the overall cell is left: nothing more can hide it
                return chosen
            # the candidate that stops most leaks, then the cheapest
            best = min(cands, key=lambda c: (len(leaks(chosen | {c})), cost(c), c))
            chosen.add(best)

    def published_back(chosen: set[int], fixed: set[int]) -> set[int]:
        chosen = set(chosen)
        changed = True
        while changed:  # until stable: publishing one can make another one determined
            changed = False
            for i in sorted(chosen - fixed,
                            key=lambda i: (len(keys[i]), -int(counts[keys[i]]), i)):
                if not leaks(chosen - {i}):
                    chosen.discard(i)
                    changed = True
        return chosen

    hit = {tuple(v for v, _ in keys[i]) for i in first}
    generous = first | {i for i, k in enumerate(keys)
                        if k != () and tuple(v for v, _ in k) in hit}
    tries = [published_back(repaired(start), first) for start in (first, generous)]

    depth = max(len(k) for k in keys)

    def withheld(chosen: set[int]) -> tuple[tuple[int, ...], int]:
        # fewest complementary cells among the groups, then the two-way cells, ...
        per_level = tuple(sum(1 for i in chosen - first if len(keys[i]) == level)
                          for level in range(1, depth + 1))
        return per_level, sum(int(counts[keys[i]]) for i in chosen)

    best = min(tries, key=withheld)
    return {keys[i]: ("small cell" if i in first else "complementary")
            for i in sorted(best)}
