"""Small-cell suppression, primary and complementary.

A *cell* is one group (``gender=F``) or one intersection of groups
(``gender=F × newly_arrived=1``); the *overall* cell holds everyone. Every
cell of a grouping is listed, including combinations that no student falls
into, so that an absent row cannot reveal a zero.

**Primary suppression.** A cell with fewer than ``min_cell`` students
(default 10, docs/architecture.md, "Trust") is suppressed: its measures are NaN and its
``n`` reads ``"<10"``, never the count.

**Complementary suppression.** Published counts add up: the cells of a
grouping sum to the overall count, and the cells of an intersection that
share all but one group sum to the cell of those shared groups
(``F×0 + F×1 = F``). If one cell of such a sum were suppressed and the
others published, subtraction would give it back. The rule applied here is
exact: the published counts and these sums form a linear system, and a
suppressed cell is *recoverable* when its count is determined by that
system (its column of the constraint matrix is linearly independent of
the other suppressed columns). While any suppressed cell is recoverable,
the smallest published cell (never the overall one) that shares a sum with
it is suppressed too. With a single grouping this is the usual rule: if
exactly one cell is suppressed, the next smallest is suppressed with it.
Complementary cells read ``"suppressed"`` (their count is at least
``min_cell`` but withheld). The same additive structure holds for every
count behind the rates (positives, flags, true and false positives), so
the same pattern protects them.

Bounds from non-negativity (a sum of 0 pins every term at 0) are not
withheld: they reveal no more than a published zero does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dropoutrisk._disclosure import MIN_CELL

__all__ = ["MIN_CELL", "complementary_suppression"]

Key = tuple[tuple[str, str], ...]


def _relations(keys: Sequence[Key]) -> list[tuple[int, list[int]]]:
    """Every additive relation ``parent = sum(children)`` among ``keys``."""
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
    counts: Mapping[Key, int], *, min_cell: int = MIN_CELL
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

    Returns
    -------
    dict of key -> str
        ``"small cell"`` (primary) or ``"complementary"`` for every
        suppressed key; published keys are absent.

    Examples
    --------
    >>> counts = {(): 120, (("g", "a"),): 100, (("g", "b"),): 14, (("g", "c"),): 6}
    >>> complementary_suppression(counts)
    {(('g', 'c'),): 'small cell', (('g', 'b'),): 'complementary'}
    """
    from threadpoolctl import threadpool_limits

    # Many small eigen-decompositions: one BLAS thread is ~50x faster than a
    # contended pool and no slower on an idle machine.
    with threadpool_limits(limits=1):
        return _suppress(counts, min_cell)


def _suppress(counts: Mapping[Key, int], min_cell: int) -> dict[Key, str]:
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    relations = _relations(keys)
    matrix = np.zeros((len(relations), len(keys)))
    for r, (parent, children) in enumerate(relations):
        matrix[r, parent] = 1.0
        matrix[r, children] = -1.0
    reasons: dict[Key, str] = {
        k: "small cell" for k in keys if k != () and int(counts[k]) < min_cell
    }
    if len(reasons) == 0:
        return reasons
    # Start from a safe, generous set: every cell of a grouping that holds a
    # small cell. Then repair any leak left, and publish back what is safe.
    hit = {tuple(v for v, _ in k) for k in reasons}
    for k in keys:
        if k not in reasons and tuple(v for v, _ in k) in hit:
            reasons[k] = "complementary"
    while True:
        suppressed = [index[k] for k in reasons]
        leaks = _recoverable(matrix, suppressed)
        if not leaks:
            break
        # Break one leak at a time; prefer the deepest (most detailed) cell,
        # then the smallest, so that coarse groups stay published.
        pick = None
        for leak in leaks:
            candidates: set[int] = set()
            for parent, children in relations:
                members = [parent, *children]
                if leak in members:
                    candidates.update(
                        m for m in members if keys[m] != () and keys[m] not in reasons
                    )
            if candidates:
                pick = min(candidates, key=lambda m: (-len(keys[m]), int(counts[keys[m]]), m))
                break
        if pick is None:  # only the overall cell is left: nothing more can hide it
            break
        reasons[keys[pick]] = "complementary"
    # Publish back every complementary cell, coarsest and largest first,
    # whose publication leaves every suppressed cell unrecoverable.
    extra = sorted((k for k, r in reasons.items() if r == "complementary"),
                   key=lambda k: (len(k), -int(counts[k])))
    for k in extra:
        del reasons[k]
        if _recoverable(matrix, [index[j] for j in reasons]):
            reasons[k] = "complementary"
    return reasons
