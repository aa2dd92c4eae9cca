"""Held-out margins for the calibrator and the choice of boosting rounds.

:class:`~dropoutrisk.models.RiskModel` fits fold boosters on the training
students, each scoring the students it held out; the calibrator is fitted on
those margins, and with early stopping the rounds are those of the lowest
held-out log loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PATIENCE", "grow_in_step", "held_out_margins"]

#: Early stopping ends once the held-out log loss has not improved for this many rounds.
PATIENCE = 50


def held_out_margins(train, Xm, y01, folds, params, *, choose: bool, max_rounds: int
                     ) -> tuple[int, dict[str, Any], np.ndarray]:
    """Rounds, how they were chosen, and every row's margin from the fold that held it out.

    With ``choose``, the fold boosters grow in step, one round at a time,
    each scoring its held-out students' log loss; the rounds are those of
    the lowest mean over the folds, found once the mean has not improved
    for :data:`PATIENCE` rounds (or at ``max_rounds``). The margins are
    taken at that round.
    """
    if not choose:
        boosters = [train(Xm.iloc[tr], y01[tr], params) for tr, _ in folds]
        rounds = int(max_rounds)
        selection: dict[str, Any] = {"strategy": "fixed", "max_rounds": rounds,
                                     "chosen": rounds}
    else:
        boosters, rounds, selection = grow_in_step(Xm, y01, folds, params, max_rounds=max_rounds)
    margin = np.empty(y01.size, dtype=np.float64)
    for booster, (_, test_idx) in zip(boosters, folds, strict=True):
        margin[test_idx] = booster.predict(Xm.iloc[test_idx], raw_score=True,
                                           num_iteration=rounds)
    return rounds, selection, margin


def grow_in_step(Xm, y01, folds, params, *, max_rounds: int):
    """Fold boosters grown one round at a time; the rounds of the lowest held-out log loss."""
    import lightgbm as lgb

    cap = int(max_rounds)
    boosters = []
    for train_idx, test_idx in folds:
        data = lgb.Dataset(Xm.iloc[train_idx], label=y01[train_idx],
                           categorical_feature="auto", params={"verbosity": -1})
        booster = lgb.Booster(params={**params, "metric": "binary_logloss"}, train_set=data)
        booster.add_valid(lgb.Dataset(Xm.iloc[test_idx], label=y01[test_idx],
                                      reference=data), "held_out")
        boosters.append(booster)
    weights = np.array([test.size for _, test in folds], dtype=np.float64)
    weights /= weights.sum()
    curve: list[float] = []
    best = 0
    for r in range(cap):
        losses = []
        for booster in boosters:
            booster.update()
            losses.append(booster.eval_valid()[0][2])
        curve.append(float(np.dot(weights, losses)))  # log loss over all held-out rows
        if curve[r] < curve[best]:
            best = r
        elif r - best >= PATIENCE:
            break
    rounds = best + 1
    selection = {"strategy": "held_out_students", "n_folds": len(folds),
                 "metric": "binary_logloss", "max_rounds": cap, "chosen": rounds,
                 "rounds_tried": len(curve), "patience": PATIENCE,
                 "held_out_logloss": round(curve[best], 6),
                 "held_out_logloss_last": round(curve[-1], 6)}
    return boosters, rounds, selection
