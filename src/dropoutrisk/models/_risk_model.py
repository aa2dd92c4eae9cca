"""RiskModel: one LightGBM booster with one calibrator on its margin."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from dropoutrisk.errors import AlignmentError, EmptyTableError, ParameterError
from dropoutrisk.models._calibration import make_calibrator
from dropoutrisk.models._flagging import FlagTierMixin
from dropoutrisk.models._held_out import held_out_margins
from dropoutrisk.models._input import (
    FeatureFrame,
    TabularClassifierTags,
    _encode_labels,
    _resolve_groups,
    fit_features,
    to_frame,
    training_references,
)

__all__ = ["AUTO_HOLDOUT_ROWS", "RiskModel"]

#: With ``calibration_cv="auto"``, data with at least this many rows use a
#: 10% held-out calibration split instead of 5-fold out-of-fold margins; with
#: ``early_stopping="auto"`` and ``baseline_check="auto"``, data below it
#: choose the rounds and compare with the baselines on held-out students.
AUTO_HOLDOUT_ROWS = 200_000
#: Grouped folds over the training students that choose the rounds when the
#: calibration does not already provide them.
SELECTION_FOLDS = 5


class RiskModel(TabularClassifierTags, FlagTierMixin, ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM early-warning classifier.

    One booster is trained on the snapshot rows (one row per student and
    ``as_of``); one calibrator maps its margin to a probability. Platt scaling
    on the margin (default) keeps SHAP values additive in calibrated
    log-odds; isotonic is an option.

    Calibration margins never come from rows the booster trained on:

    * ``fit(X, y, X_calib=..., y_calib=...)``: the booster trains on all of
      ``X``, the calibrator on its margins for the calibration set (e.g. a
      later cohort). Costs one extra prediction.
    * ``calibration_cv=k`` (int): out-of-fold margins from ``k`` extra
      boosters, each on ``(k - 1) / k`` of the rows, grouped by student when
      ``groups`` is given (or the index of ``X`` is named ``student_id``).
      The fold boosters are discarded; ``booster_`` trains on all rows.
      Training costs about ``1 + (k - 1)`` times a single fit.
    * ``calibration_cv=f`` (float in (0, 1)): hold out a fraction ``f`` of
      the students; ``booster_`` trains on the rest and the calibrator on
      the held-out margins. Costs about ``1 - f`` times a single fit, but
      ``booster_`` sees ``f`` fewer rows.
    * ``calibration_cv="auto"`` (default): ``5`` folds below
      :data:`AUTO_HOLDOUT_ROWS` rows (200,000), ``0.1`` held out at or
      above, where training time matters and 10% of the rows still give the
      calibrator tens of thousands of margins.

    Parameters
    ----------
    n_estimators : int, default=300
        Boosting rounds, or with early stopping the most rounds tried; the
        rounds used are in ``n_estimators_``.
    learning_rate : float, default=0.05
    num_leaves : int, default=8
    max_depth : int, default=3
        Shallow trees learning slowly. Chosen on two out-of-time validation
        folds inside the training cohorts (``benchmarks/tune_model.py``, never
        the test cohort): against LightGBM's defaults and the earlier
        depth-6, 100-round default, depth 3 with 300 rounds at 0.05 had the
        best mean ROC-AUC and recall at a 10% flag rate, and exact SHAP is
        cheap on such trees (its cost grows with leaves x depth squared).
        Early-warning indicators are strong, mostly monotone main effects
        with few deep interactions, which is why deep trees overfit them.
    min_child_samples : int, default=50
        Minimum rows per leaf.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values. Must be > 0: unregularised boosters gave
        margins of -1.7e5 on a million rows and broke Platt scaling.
    subsample : float, default=1.0
        Row fraction per round (bagging); < 1 bags every round.
    colsample_bytree : float, default=1.0
        Feature fraction per tree.
    calibration : {"platt", "isotonic"}, default="platt"
    calibration_cv : int, float or "auto", default="auto"
        See above.
    monotone : "catalogue", mapping or None, default="catalogue"
        Monotone constraints, so that the model, its SHAP values and the
        sentences staff read agree on which way a feature raises risk. With
        ``"catalogue"``, every numeric or binary feature whose indicator
        declares a risk direction gets a LightGBM monotone constraint
        (``"higher"`` raises risk: increasing; ``"lower"``: decreasing); the
        catalogue is ``catalogue`` or, without one, the default catalogue for
        the columns it knows (wide-table specs' ``risk_direction`` count,
        since their catalogue holds them). A mapping gives ``{feature: +1 | -1
        | 0}`` directly; ``None`` trains without constraints. Categorical
        features are never constrained. The constraints used are in
        ``monotone_constraints_``.
    monotone_method : {"basic", "intermediate", "advanced"}, default="advanced"
        LightGBM's ``monotone_constraints_method``. "advanced" constrains the
        least of the three (it bounds each leaf by the leaves it can meet),
        so it costs the least accuracy.
    include_background : bool, default=False
        Use background features (off by default: they are for the fairness
        audit and are not causes).
    catalogue : Catalogue, optional
        Select the catalogue's model features; without one, every
        non-context column of ``X`` is used (see :mod:`dropoutrisk.models._input`).
    early_stopping : bool or "auto", default="auto"
        Choose the number of rounds on students held out inside the training
        data: every fold booster (grouped by student, so that a student's
        snapshots are on one side) records its held-out log loss after each
        round up to ``n_estimators``; the final booster trains on all rows
        with the rounds of the lowest mean. The folds are the out-of-fold
        calibration folds when ``calibration_cv`` is an int (no extra
        boosters), else 5 extra folds. ``"auto"``: on below
        :data:`AUTO_HOLDOUT_ROWS` rows, where a few thousand students overfit
        a fixed 300 rounds; off above, where the default was tuned and the
        extra boosters cost minutes. See ``round_selection_``.
    baseline_check : bool or "auto", default="auto"
        After fitting, compare the model's held-out margins (the same folds,
        or the calibration hold-out) with the logistic baseline refitted on
        each fold and the ABC rule, by a paired bootstrap over students
        (:func:`~dropoutrisk.models.compare_models`). A baseline whose
        interval for ROC-AUC or recall at a 10% flag rate lies wholly above
        the model's raises a :class:`~dropoutrisk.errors.BaselineWarning`; the comparison is in
        ``baseline_comparison_`` and the bundle manifest. ``"auto"``: on
        below :data:`AUTO_HOLDOUT_ROWS` rows.
    random_state : int, optional
        Seed for LightGBM and the calibration split. The same data and seed
        give identical predictions.
    n_jobs : int, optional
        LightGBM threads; ``None`` or ``-1`` uses all cores.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The single final model.
    calibrator_ : PlattCalibrator or IsotonicCalibrator
        ``.method``; Platt has ``.slope_`` and ``.intercept_`` with
        calibrated log-odds ``= slope_ * margin + intercept_``; isotonic has
        the map ``.x_thresholds_`` -> ``.y_thresholds_``.
    calibration_info_ : dict
        How the calibrator was fitted: ``strategy`` ("calibration_set",
        "out_of_fold" or "holdout"), ``n_calibration`` and ``n_train`` rows,
        ``n_folds``.
    feature_names_in_ : ndarray of str
        Model input columns, in the order the booster sees them.
    features_left_out_ : list of str
        Features with no value in any training row (their optional table or column
        was absent): left out of the model, which then neither needs nor uses them.
    n_features_in_ : int
    classes_ : ndarray of shape (2,)
    reference_values_ : dict of str to float or str
        Median of every model feature over the training rows (the most common
        category for categories): the population the SHAP contributions are
        measured against, printed as a reason's reference where the school's
        median points the other way.
    monotone_constraints_ : dict of str to int
        The constraint of every model feature (+1 increasing, -1 decreasing,
        0 none), in model order.
    n_estimators_ : int
        Boosting rounds of ``booster_``.
    round_selection_ : dict
        How they were chosen: ``strategy`` ("held_out_students" or "fixed"),
        ``max_rounds``, ``chosen``; with early stopping also ``n_folds``,
        ``metric`` and the mean held-out log loss at the chosen and at the
        most rounds.
    baseline_comparison_ : dict or None
        The held-out comparison with the baselines (aggregates only):
        ``metrics`` per model, ``differences`` model - baseline with 95%
        intervals, ``ahead`` (the baselines better beyond noise) and
        ``ahead_on`` (on which metrics);
        None without ``baseline_check``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"attendance_rate": rng.uniform(0.5, 1, 400),
    ...                   "failed_courses": rng.poisson(0.5, 400).astype(float)})
    >>> y = (rng.random(400) < 1.2 - X["attendance_rate"]).astype(int)
    >>> model = RiskModel(n_estimators=20, random_state=0).fit(X, y)
    >>> model.predict_proba(X.head(2)).shape
    (2, 2)
    >>> model.calibrator_.method, model.calibration_info_["strategy"]
    ('platt', 'out_of_fold')
    >>> model.round_selection_["strategy"], model.n_estimators_ <= 20
    ('held_out_students', True)
    >>> model.baseline_comparison_["ahead_on"]  # a linear risk: logistic ranks better
    {'logistic': ['roc_auc']}
    >>> model.tier(X.head(3)).tolist()
    ['targeted', 'targeted', 'intensive']
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 8,
        max_depth: int = 3,
        min_child_samples: int = 50,
        reg_lambda: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        calibration: Literal["platt", "isotonic"] = "platt",
        calibration_cv: int | float | Literal["auto"] = "auto",
        monotone: Any = "catalogue",
        monotone_method: Literal["basic", "intermediate", "advanced"] = "advanced",
        include_background: bool = False,
        catalogue: Any = None,
        early_stopping: bool | Literal["auto"] = "auto",
        baseline_check: bool | Literal["auto"] = "auto",
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.monotone = monotone
        self.monotone_method = monotone_method
        self.include_background = include_background
        self.catalogue = catalogue
        self.early_stopping = early_stopping
        self.baseline_check = baseline_check
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ---- parameters -----------------------------------------------------------------
    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.default_rng().integers(2**31 - 1))
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(2**31 - 1))
        return int(self.random_state)

    def _check_params(self) -> None:
        if not (isinstance(self.n_estimators, numbers.Integral) and self.n_estimators >= 1):
            raise ParameterError(parameter="n_estimators", message=
                f"n_estimators={self.n_estimators!r} must be an integer >= 1.")
        if not self.reg_lambda > 0:
            raise ParameterError(parameter="reg_lambda", message=
                f"reg_lambda={self.reg_lambda!r} must be > 0 (use >= 1): without L2 "
                "regularisation LightGBM margins explode on large data and calibration fails."
            )
        if self.calibration not in ("platt", "isotonic"):
            raise ParameterError(parameter="calibration", message=
                f"calibration={self.calibration!r} is not supported. Allowed: 'platt' "
                "(default) or 'isotonic'."
            )
        if self.monotone_method not in ("basic", "intermediate", "advanced"):
            raise ParameterError(parameter="monotone_method", message=
                f"monotone_method={self.monotone_method!r} is not supported. Allowed: 'basic', "
                "'intermediate' or 'advanced' (default)."
            )
        if not (self.monotone is None or self.monotone == "catalogue"
                or isinstance(self.monotone, Mapping)):
            raise ParameterError(parameter="monotone", message=
                f"monotone={self.monotone!r} is not supported. Allowed: 'catalogue' (default), "
                "a mapping {feature: +1, -1 or 0}, or None (no constraints)."
            )
        for name in ("early_stopping", "baseline_check"):
            value = getattr(self, name)
            if not (value == "auto" if isinstance(value, str) else isinstance(value, bool)):
                raise ParameterError(parameter=name, message=
                    f"{name}={value!r} is not supported. Allowed: 'auto' (default: "
                                 f"on below {AUTO_HOLDOUT_ROWS:,} rows), True or False.")
        cv = self.calibration_cv
        ok = (cv == "auto" if isinstance(cv, str) else
              (isinstance(cv, numbers.Integral) and not isinstance(cv, bool) and cv >= 2)
              or (isinstance(cv, numbers.Real) and not isinstance(cv, numbers.Integral)
                  and 0.0 < cv < 1.0))
        if not ok:
            raise ParameterError(parameter="calibration_cv", message=
                f"calibration_cv={cv!r} is not supported. Allowed: an int >= 2 (out-of-fold "
                "folds), a float in (0, 1) (held-out fraction) or 'auto'."
            )

    def lightgbm_params(self, seed: int | None = None) -> dict[str, Any]:
        """The ``lightgbm.train`` parameters this model trains with.

        Examples
        --------
        >>> RiskModel(random_state=0).lightgbm_params()["lambda_l2"]
        1.0
        """
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "max_depth": int(self.max_depth) if self.max_depth is not None else -1,
            "min_data_in_leaf": int(self.min_child_samples),
            "lambda_l2": float(self.reg_lambda),
            "feature_fraction": float(self.colsample_bytree),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "seed": self._seed() if seed is None else int(seed),
            "deterministic": True,
            # LightGBM picks row- or column-wise histograms by timing them at the
            # start of training, which a loaded machine can tip either way; fixing the
            # choice is what ``deterministic`` needs (row-wise was the faster on the
            # synthetic feature frames).
            "force_row_wise": True,
            "num_threads": 0 if self.n_jobs in (None, -1) else int(self.n_jobs),
            "verbosity": -1,
        }
        return params

    def _monotone_constraints(self, features: FeatureFrame) -> dict[str, int]:
        """The constraint (+1, -1 or 0) of every model feature, in model order."""
        names = list(features.names)
        out = dict.fromkeys(names, 0)
        if self.monotone is None:
            return out
        if isinstance(self.monotone, Mapping):
            unknown = sorted(set(map(str, self.monotone)) - set(names))
            if unknown:
                raise ParameterError(parameter="monotone", message=
                    f"monotone names features that are not model features: {unknown[:10]}. "
                    f"Model features: {names[:10]}{' ...' if len(names) > 10 else ''}."
                )
            for name, sign in self.monotone.items():
                if sign not in (-1, 0, 1) or isinstance(sign, bool):
                    raise ParameterError(parameter="monotone", message=
                        f"monotone[{name!r}]={sign!r} must be +1 (higher raises risk), -1 "
                        "(lower raises risk) or 0 (no constraint)."
                    )
                out[str(name)] = int(sign)
        else:
            catalogue = self.catalogue
            if catalogue is None:
                from dropoutrisk.features import default_catalogue

                catalogue = default_catalogue()
            sign_of = {"higher": 1, "lower": -1, "none": 0}
            known = set(getattr(catalogue, "names", ()))  # a duck-typed catalogue may hold none
            for name in names:
                if name in known:
                    out[name] = sign_of[catalogue.get(name).risk_direction]
        for name in features.categories:  # LightGBM constrains numeric splits only
            out[name] = 0
        return out

    # ---- fitting --------------------------------------------------------------------
    def _train(self, Xm: pd.DataFrame, y: np.ndarray, params: dict[str, Any],
               rounds: int | None = None):
        import lightgbm as lgb

        data = lgb.Dataset(Xm, label=y, categorical_feature="auto", params={"verbosity": -1},
                           free_raw_data=True)
        rounds = int(self.n_estimators) if rounds is None else int(rounds)
        return lgb.train(params, data, num_boost_round=rounds)

    def _use(self, name: str, n_rows: int) -> bool:
        value = getattr(self, name)
        return n_rows < AUTO_HOLDOUT_ROWS if isinstance(value, str) else bool(value)

    @staticmethod
    def _folds(y01, groups, k, seed) -> list[tuple[np.ndarray, np.ndarray]]:
        """``k`` folds, grouped by student when ``groups`` is given, else stratified by label."""
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if groups is None:
            splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(
                np.zeros(y01.size), y01)
        else:
            splits = GroupKFold(k, shuffle=True, random_state=seed).split(
                np.zeros(y01.size), y01, groups)
        return list(splits)

    @staticmethod
    def _n_folds(y01, groups, k) -> int:
        n_minority = int(min(y01.sum(), y01.size - y01.sum()))
        return min(k, n_minority) if groups is None else min(k, len(np.unique(groups)))


    def fit(
        self,
        X: Any,
        y: Any,
        *,
        X_calib: Any = None,
        y_calib: Any = None,
        groups: Any = None,
    ) -> RiskModel:
        """Choose the rounds, train the booster, fit the calibrator, compare with the baselines.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Feature rows; context columns (``as_of``, ``school_id``,
            ``cohort``) are ignored.
        y : array-like of shape (n_samples,)
            1 for dropout within the horizon, 0 otherwise; NaN rows are
            dropped with a :class:`~dropoutrisk.errors.MissingLabelWarning`.
        X_calib, y_calib : optional
            A held-out calibration set (e.g. a later cohort). When given,
            ``calibration_cv`` is not used.
        groups : array-like of shape (n_samples,), optional
            Student ids, so that a student's snapshots stay in one fold.
            Defaults to the index of ``X`` when it is named ``student_id``.

        Returns
        -------
        self

        Warns
        -----
        BaselineWarning
            A baseline ranked the held-out students better, beyond noise
            (``baseline_check``).
        """
        self._check_params()
        if (X_calib is None) != (y_calib is None):
            raise ParameterError(parameter="X_calib", message=
                "Pass both X_calib and y_calib, or neither.")
        name = type(self).__name__
        classes, y01, keep, features, Xm = fit_features(self, X, y)
        groups = _resolve_groups(X, groups, keep.size)
        if not keep.all():
            Xm = Xm.iloc[np.flatnonzero(keep)]
            groups = groups[keep] if groups is not None else None
        params = self.lightgbm_params(seed=self._seed())
        seed = params["seed"]
        monotone = self._monotone_constraints(features)
        if any(monotone.values()):
            params["monotone_constraints"] = list(monotone.values())
            params["monotone_constraints_method"] = self.monotone_method
        calibrator = make_calibrator(self.calibration)
        choose = self._use("early_stopping", y01.size)
        check = self._use("baseline_check", y01.size)
        selection: dict[str, Any] = {"strategy": "fixed", "max_rounds": int(self.n_estimators),
                                     "chosen": int(self.n_estimators)}
        held_out = None  # (splits, margins) the baselines are compared on

        if X_calib is not None:
            c_classes, yc, kc = _encode_labels(y_calib, name)
            if not np.array_equal(c_classes, classes):
                raise AlignmentError(table="calibration rows", problem=
                    f"y_calib has classes {c_classes.tolist()}, y has {classes.tolist()}.")
            Xc = features.transform(X_calib)
            Xc = Xc.iloc[np.flatnonzero(kc)] if not kc.all() else Xc
            rounds = int(self.n_estimators)
            k = self._n_folds(y01, groups, SELECTION_FOLDS)
            if (choose or check) and k >= 2:
                folds = self._folds(y01, groups, k, seed)
                rounds, selection, margin = held_out_margins(self._train, Xm, y01, folds, params, choose=choose,
                                                                max_rounds=self.n_estimators)
                held_out = (folds, margin)
            booster = self._train(Xm, y01, params, rounds)
            calibrator.fit(booster.predict(Xc, raw_score=True), yc)
            info = {"strategy": "calibration_set", "n_calibration": int(yc.size),
                    "n_train": int(y01.size), "n_folds": None}
        else:
            cv = self.calibration_cv
            if cv == "auto":
                cv = 5 if y01.size < AUTO_HOLDOUT_ROWS else 0.1
            if isinstance(cv, numbers.Integral):
                k = self._n_folds(y01, groups, int(cv))
                if k < 2:
                    raise EmptyTableError(table="training rows", problem=
                        "Too few rows to calibrate out of fold: the smaller class has "
                        f"{int(min(y01.sum(), y01.size - y01.sum()))} rows. Pass "
                        "X_calib/y_calib or more data."
                    )
                folds = self._folds(y01, groups, k, seed)
                # the calibration folds choose the rounds too: no extra booster
                rounds, selection, margin = held_out_margins(self._train, Xm, y01, folds, params, choose=choose,
                                                                max_rounds=self.n_estimators)
                calibrator.fit(margin, y01)
                booster = self._train(Xm, y01, params, rounds)
                held_out = (folds, margin)
                info = {"strategy": "out_of_fold", "n_calibration": int(y01.size),
                        "n_train": int(y01.size), "n_folds": k}
            else:
                train_idx, calib_idx = self._holdout_split(y01, groups, float(cv), seed)
                Xt, yt = Xm.iloc[train_idx], y01[train_idx]
                gt = groups[train_idx] if groups is not None else None
                rounds = int(self.n_estimators)
                k = self._n_folds(yt, gt, SELECTION_FOLDS)
                if choose and k >= 2:
                    rounds, selection, _ = held_out_margins(
                        self._train, Xt, yt, self._folds(yt, gt, k, seed), params, choose=True,
                        max_rounds=self.n_estimators)
                booster = self._train(Xt, yt, params, rounds)
                margin = np.full(y01.size, np.nan)
                margin[calib_idx] = booster.predict(Xm.iloc[calib_idx], raw_score=True)
                calibrator.fit(margin[calib_idx], y01[calib_idx])
                held_out = ([(train_idx, calib_idx)], margin)
                info = {"strategy": "holdout", "n_calibration": int(calib_idx.size),
                        "n_train": int(train_idx.size), "n_folds": None}

        self.booster_ = booster
        self.calibrator_ = calibrator
        self.calibration_info_ = info
        self._held_out_scores = None
        if X_calib is None:  # the calibrator's own rows, scored by boosters that never saw them
            scored = np.flatnonzero(np.isfinite(margin))
            self._held_out_scores = (np.flatnonzero(keep)[scored],
                                     np.asarray(calibrator.predict(margin[scored]), dtype=float))
        self.n_estimators_ = int(booster.num_trees())
        self.round_selection_ = selection
        self.monotone_constraints_ = monotone
        # what the SHAP contributions are measured against: a reason may print it
        self.reference_values_ = training_references(Xm)
        self.classes_ = classes
        self._features = features
        self.feature_names_in_ = np.asarray(features.names, dtype=object)
        self.n_features_in_ = len(features.names)
        self.features_left_out_ = list(features.left_out)
        self.baseline_comparison_ = None
        if check and held_out is not None:
            from dropoutrisk.models._baseline_check import held_out_comparison, warn_if_beaten

            frame, _ = to_frame(X, estimator=name)
            frame = frame.iloc[np.flatnonzero(keep)] if not keep.all() else frame
            self.baseline_comparison_ = held_out_comparison(
                frame, y01, groups, held_out[0], held_out[1], catalogue=self.catalogue,
                include_background=self.include_background, seed=seed)
            warn_if_beaten(self.baseline_comparison_, stacklevel=2)
        return self

    @staticmethod
    def _holdout_split(y01, groups, fraction, seed) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

        if groups is None:
            split = StratifiedShuffleSplit(1, test_size=fraction, random_state=seed)
            train_idx, calib_idx = next(split.split(np.zeros(y01.size), y01))
        else:
            split = GroupShuffleSplit(1, test_size=fraction, random_state=seed)
            train_idx, calib_idx = next(split.split(np.zeros(y01.size), y01, groups))
        return np.sort(train_idx), np.sort(calib_idx)

    # ---- prediction -----------------------------------------------------------------
    @property
    def categorical_features_(self) -> tuple[str, ...]:
        """The model columns read as categories (the others must be numbers)."""
        check_is_fitted(self, "booster_")
        return tuple(str(c) for c in self._features.categories)

    def transform_input(self, X: Any) -> pd.DataFrame:
        """The frame ``booster_`` sees: model columns in order, float64 and category.

        Use it for exact SHAP with ``booster_.predict(frame, pred_contrib=True)``.
        """
        check_is_fitted(self, "booster_")
        return self._features.transform(X)

    _model_input = transform_input

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw LightGBM margin (log-odds before calibration), shape (n_samples,)."""
        Xm = self.transform_input(X)
        return self.booster_.predict(Xm, raw_score=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, 2), clipped to [1e-4, 1 - 1e-4]."""
        margin = self.decision_function(X)
        p = self.calibrator_.predict(margin)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class label: dropout where the calibrated probability is at least 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= 0.5).astype(int)]

    def __getstate__(self) -> dict[str, Any]:
        # the training rows' held-out scores are for train_model's out-of-fold metrics in
        # this process only: a saved model (pickle, skops, a bundle) holds no row of them
        state = super().__getstate__()
        state.pop("_held_out_scores", None)
        return state

    def rank_score(self, X: Any) -> np.ndarray:
        """The score capacity and flag-rate flags rank on: the margin, in the probabilities' order.

        The margin has no ties where isotonic calibration has them.

        Parameters
        ----------
        X : DataFrame
            Feature rows, as for ``predict_proba``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        margin = self.decision_function(X)
        # A negative Platt slope (a model no better than chance on the calibration rows)
        # reverses the order: capacity flags must follow the probabilities.
        if float(getattr(self.calibrator_, "slope_", 1.0)) < 0:
            return -margin
        return margin
