"""Search the weights of a voting fusion on cached out-of-fold member outputs."""

from __future__ import annotations

import time
from copy import deepcopy
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._progress import progress_bar
from ._base import BOOL, N_JOBS, PROGRESS, _BaseFusion
from ._oof import check_fold_classes, fold_outputs, fold_splits
from ._scoring import CandidateScorer, score_candidates, search_results, stack_fold_outputs
from ._weights import candidate_weights, optimize_weights
from .voting import VotingFusionClassifier, VotingFusionRegressor

__all__ = ["FusionWeightSearchCV"]


def _delegate(attr: str):
    def check(self: Any) -> bool:
        if not self.refit:
            return False
        est = getattr(self, "best_estimator_", self.estimator)
        return hasattr(est, attr)

    return check


class FusionWeightSearchCV(_BaseFusion):
    """Find the weights of a voting fusion with one member fit per fold.

    Each member of ``estimator`` is fitted once on each training part of
    ``cv``; its outputs on the test part are cached, and every candidate
    weight vector is scored on them in one vectorised pass (the members'
    outputs are combined for all candidates at once, row by row over the
    members present). ``GridSearchCV`` over ``weights`` would refit every
    member for every candidate (or, with the fitted-member cache of the
    fusion estimators, look the fits up per candidate and still predict per
    candidate).

    Parameters
    ----------
    estimator : VotingFusionClassifier or VotingFusionRegressor
        The fusion whose ``weights`` are searched; its ``voting``, ``memory``
        and members are used as they are. No cache is needed: each member
        is fitted once per fold anyway.
    weights : "simplex", "optimize" or list of array-like, default="simplex"
        The candidates: every point of the simplex grid with spacing
        ``step`` over the members that are not ``"drop"``; an explicit list
        of weight vectors (one entry per member, ``"drop"`` ones included);
        or ``"optimize"``, continuous minimisation of the out-of-fold log
        loss (soft voting) or squared error (regression) over the simplex
        with :func:`scipy.optimize.minimize` (SLSQP), which gives one
        candidate.
    step : float, default=0.1
        Spacing of the simplex grid (``1 / step`` a whole number).
    cv : int, cross-validation splitter or iterable, default=5
        As in :class:`~sklearn.model_selection.GridSearchCV` (an int is a
        stratified k-fold for classifiers); ``"loo"`` is leave-one-out.
    scoring : None, str or callable, default=None
        As in ``GridSearchCV``; None uses the estimator's ``score``
        (accuracy or R²). ``"accuracy"``, ``"neg_log_loss"``, ``"r2"``,
        ``"neg_mean_squared_error"`` and ``"neg_mean_absolute_error"`` are
        computed for all candidates at once; other scorers are called once
        per candidate and fold on the cached outputs.
    refit : bool, default=True
        Fit ``estimator`` with the best weights on all rows
        (``best_estimator_``); prediction methods delegate to it.
    n_jobs : int, default=None
        Member fits (folds x members) run in parallel through joblib.
    progress : bool, "auto" or None, default=None
        A progress bar over the member fits (one step per member and fold,
        cache hits included, then one per member for the refit). None
        follows ``mmlearn.set_config(progress=...)`` (by default, a bar
        only on a terminal or in Jupyter); True or False decides here.

    Attributes
    ----------
    cv_results_ : dict of ndarrays
        Shaped like ``GridSearchCV.cv_results_``: ``params``,
        ``param_weights``, ``split{k}_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``.
    best_index_ : int
        Index of the best candidate (the first of the best-ranked ones, as
        in ``GridSearchCV``).
    best_weights_ : ndarray of shape (n_estimators,)
        The best weight vector, one entry per member of
        ``estimator.estimators`` in their order (``"drop"`` members get 0).
    best_weights_by_name_ : dict of str -> float
        The same weights keyed by member name.
    best_params_ : dict
        ``{"weights": best_weights_}``.
    best_score_ : float
        Mean cross-validated score of the best candidate.
    best_estimator_ : estimator
        ``estimator`` refitted with the best weights (if ``refit``).
    scorer_ : callable
        The scorer used by :meth:`score`.
    n_splits_ : int
        Number of cv splits.
    n_member_fits_ : int
        Member fits done for the folds (cache hits not counted), not
        counting the refit.
    optimize_result_ : scipy.optimize.OptimizeResult
        With ``weights="optimize"``: the optimiser's result.
    refit_time_ : float
        Seconds spent refitting the best estimator.
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    VotingFusionClassifier : The fusion whose weights are searched.
    EnsembleSelectionClassifier : Greedy weights from out-of-fold outputs.

    Notes
    -----
    The fit time of a fold (the member fits it needed) is shared by all
    candidates, and is reported as each candidate's fit time in
    ``cv_results_``. A candidate whose weighted members are all missing
    on a row is fused there with equal weights over the members present,
    as :class:`VotingFusionClassifier` predicts it; with
    ``weights="optimize"`` such rows get the worst loss in the objective
    (never a uniform guess), so the optimiser keeps a weight on every
    modality that some rows depend on. ``sample_weight`` is
    routed to the members' fits and, as ``GridSearchCV`` does in sklearn
    1.9, to the scorer when it accepts it. The fast
    ``neg_log_loss`` uses every class of ``y`` on every fold (sklearn's
    ``log_loss`` fails on a test part that lacks a class). With
    ``weights="optimize"`` the reported score is measured on the same
    out-of-fold outputs the weights were fitted to, so it is optimistic.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from mmlearn.fusion import FusionWeightSearchCV, VotingFusionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> fusion = VotingFusionClassifier([
    ...     ("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB()),
    ...     ("tree", DecisionTreeClassifier(max_depth=1, random_state=0))],
    ... )
    >>> search = FusionWeightSearchCV(fusion, step=0.25, cv=3).fit(X, y)
    >>> len(search.cv_results_["params"]), search.n_member_fits_
    (15, 9)
    >>> search.best_weights_.sum()
    np.float64(1.0)
    >>> list(search.best_weights_by_name_)
    ['lr', 'nb', 'tree']
    """

    _parameter_constraints = {
        "estimator": ("a VotingFusionClassifier or VotingFusionRegressor",
                      lambda v: isinstance(v, (VotingFusionClassifier, VotingFusionRegressor))),
        "refit": BOOL,
        "n_jobs": N_JOBS,
        "progress": PROGRESS,
    }

    def __init__(
        self,
        estimator: Any,
        weights: Any = "simplex",
        *,
        step: float = 0.1,
        cv: Any = 5,
        scoring: Any = None,
        refit: bool = True,
        n_jobs: int | None = None,
        progress: bool | str | None = None,
    ):
        self.estimator = estimator
        self.weights = weights
        self.step = step
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.progress = progress

    @property
    def _kind(self) -> str:
        return "classifier" if is_classifier(self.estimator) else "regressor"

    def _fusion(self) -> Any:
        return self.estimator

    def fit(self, X: Any, y: Any, *, groups: Any = None, sample_weight: Any = None, **fit_params: Any) -> "FusionWeightSearchCV":
        """Fit the members once per fold, score every candidate, refit the best.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table (or numeric features).
        y : array-like of shape (n_samples,)
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the members' fits (restricted to each training part)
            and to the scorer on each test part (if it accepts weights).
        **fit_params : dict
            Other metadata (only with sklearn's metadata routing enabled).

        Returns
        -------
        self : FusionWeightSearchCV
            The fitted search.
        """
        est = self.estimator
        if not isinstance(est, (VotingFusionClassifier, VotingFusionRegressor)):
            raise TypeError(
                "FusionWeightSearchCV searches the weights of a VotingFusionClassifier or "
                f"VotingFusionRegressor; got {type(est).__name__}."
            )
        est._validate_params()
        classifier = is_classifier(est)
        soft = classifier and est.voting == "soft"
        optimize = isinstance(self.weights, str) and self.weights == "optimize"
        if optimize and classifier and not soft:
            raise ValueError("weights='optimize' needs voting='soft' (hard votes are not differentiable).")
        fit = self._prepare_fit(X, y, sample_weight, fit_params)
        X, y, classes, sample_weight = fit.X, fit.y, fit.classes, fit.sample_weight
        if soft:
            lacking = [nm for nm, e in zip(fit.names, fit.ests) if not hasattr(e, "predict_proba")]
            if lacking:
                raise ValueError(f"voting='soft' needs predict_proba, which members {lacking} do not have.")
        candidates = None if optimize else candidate_weights(est, self.weights, self.step, fit.ests_all)
        self.scorer_ = CandidateScorer(self.scoring, classifier=classifier, soft=soft)
        live = fit.live
        splits = fold_splits(self, self.cv, X, y, classifier=classifier, groups=groups)
        if classifier:
            check_fold_classes(self, splits, y)
        self.n_splits_ = len(splits)
        method = "predict_proba" if soft else "predict"
        m = len(fit.ests)
        with progress_bar(total=(len(splits) + int(bool(self.refit))) * m, desc=type(self).__name__,
                          progress=self.progress) as bar:
            bar.set_postfix_str(f"member fits on {len(splits)} folds")
            _, outputs, fold_fit_time, self.n_member_fits_ = fold_outputs(
                fit.names, fit.ests, X, y, fit.routed, splits, [method] * m,
                classes, fit.cache, self.n_jobs, data_key=fit.data_key, full_fit=False, advance=bar.update,
            )
            bar.set_postfix_str("scoring")
            fold_data = stack_fold_outputs(self.scorer_, outputs, splits, y, sample_weight, classes)
            if optimize:
                w_live, self.optimize_result_ = optimize_weights(
                    np.concatenate([d[0] for d in fold_data], axis=1),
                    np.concatenate([d[1] for d in fold_data], axis=1),
                    np.concatenate([d[2] for d in fold_data]),
                    classes if classifier else None,
                )
                candidates = np.zeros((1, len(fit.ests_all)))
                candidates[0, live] = w_live
            scores, score_time = score_candidates(
                self.scorer_, fold_data, candidates[:, live], classes)
            self.cv_results_, self.best_index_ = search_results(candidates, scores, fold_fit_time, score_time)
            self.best_weights_ = candidates[self.best_index_].copy()
            self.best_weights_by_name_ = {nm: float(w) for nm, w in zip(fit.names_all, self.best_weights_)}
            self.best_params_ = {"weights": self.best_weights_.tolist()}
            self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
            if self.refit:
                bar.set_postfix_str("refit")
                start = time.perf_counter()
                best = clone(est).set_params(weights=self.best_weights_.tolist())
                fit_kw = dict(fit_params)
                if sample_weight is not None:
                    fit_kw["sample_weight"] = sample_weight
                self.best_estimator_ = best.fit(X, y, **fit_kw)
                self.refit_time_ = time.perf_counter() - start
                bar.update(m)
        return self

    # ------------------------------------------------------ delegation
    @available_if(_delegate("predict"))
    def predict(self, X: Any) -> np.ndarray:
        """Predict with ``best_estimator_``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_delegate("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from ``best_estimator_``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_delegate("predict"))
    def score(self, X: Any, y: Any) -> float:
        """Score ``best_estimator_`` on (X, y) with the search's scorer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return float(self.scorer_.scorer(self.best_estimator_, X, y))

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.classes_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = deepcopy(sub.classifier_tags)
        tags.regressor_tags = deepcopy(sub.regressor_tags)
        tags.target_tags = deepcopy(sub.target_tags)
        tags.input_tags = deepcopy(sub.input_tags)
        return tags
