"""Ensemble selection (Caruana et al., 2004) over out-of-fold member probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils import check_random_state

from .._caching import resolve_member_cache
from ._base import FRACTION, N_JOBS, _BaseFusion, _MembersMixin, int_at_least
from ._oof import assemble_oof, check_fold_classes, check_partition, fold_outputs, fold_splits
from ._outputs import collect_outputs, fuse, raise_for_uncovered
from ._scoring import CandidateScorer

__all__ = ["EnsembleSelectionClassifier"]


class EnsembleSelectionClassifier(ClassifierMixin, _MembersMixin, _BaseFusion):
    """Greedy forward selection of members, with replacement, on out-of-fold probabilities.

    Caruana et al. (2004): start from an empty ensemble and, ``n_iter``
    times, add the member (possibly again) whose addition gives the best
    score of the averaged probabilities; a member's weight is the number of
    times it was chosen. The probabilities are the members' out-of-fold
    outputs over ``cv``, so the selection is not fitted to in-sample
    predictions; the members are then fitted on all rows. With ``bagging``
    the selection is repeated on random subsets of the members and the
    weights are averaged (the paper's bagged ensemble selection), which
    reduces over-fitting of the selection.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        Classifiers with ``predict_proba`` (usually
        :class:`~mmlearn.compose.Modality` objects); ``"drop"`` allowed.
    n_iter : int, default=50
        Number of greedy additions (the ensemble size, with repeats).
    cv : int, cross-validation splitter, iterable or "loo", default=5
        Partitioning splitter for the out-of-fold probabilities.
    scoring : None, str or callable, default=None
        Any sklearn scorer (greater is better); None is accuracy.
        ``"accuracy"`` and ``"neg_log_loss"`` are evaluated for all
        candidates at once.
    bagging : int, default=0
        Number of bags; 0 selects once over all members.
    bagging_fraction : float, default=0.5
        Fraction of the members drawn (without replacement) for each bag,
        at least one.
    random_state : int, RandomState instance or None, default=None
        Draws the bags.
    n_jobs : int, default=None
        Member fits (folds x members) in parallel through joblib.
    memory : None, FittedMemberCache, str or joblib.Memory, default=None
        Opt-in fitted-member cache (see :class:`VotingFusionClassifier`).

    Attributes
    ----------
    weights_ : ndarray of shape (n_estimators,)
        Selection frequency of each member (sums to 1; 0 for ``"drop"``).
    counts_ : ndarray of shape (n_estimators,)
        Times each member was chosen (summed over bags).
    scores_ : ndarray of shape (n_iter,)
        Score of the ensemble after each addition (first bag, or the only
        selection).
    oof_score_ : float
        Score of the final weights on the out-of-fold probabilities.
    oof_predictions_ : ndarray of shape (n_members, n_samples, n_classes)
        Out-of-fold probabilities of the members that are not ``"drop"``
        (NaN where a member's modality is missing).
    estimators_ : list of estimators
        Members fitted on all rows (``"drop"`` ones left out).
    named_estimators_ : Bunch
        Fitted members by name.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    FusionWeightSearchCV : Exhaustive or continuous weight search.
    VotingFusionClassifier : Voting with given weights.

    Notes
    -----
    Ties between candidate additions go to the member listed first. On a
    row where every selected member's modality is missing, the members
    present on it are averaged with equal weights (during selection and
    prediction); a row with no member present raises a ``ValueError``.
    Paper's "sorted initialisation" is not used: selection starts empty.

    References
    ----------
    R. Caruana, A. Niculescu-Mizil, G. Crew and A. Ksikes, "Ensemble
    selection from libraries of models", ICML 2004.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from mmlearn.fusion import EnsembleSelectionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> sel = EnsembleSelectionClassifier(
    ...     [("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB()),
    ...      ("stump", DecisionTreeClassifier(max_depth=1, random_state=0))],
    ...     n_iter=10, cv=3, scoring="neg_log_loss").fit(X, y)
    >>> float(sel.weights_.sum())
    1.0
    >>> sel.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        "n_iter": int_at_least(1),
        "bagging": int_at_least(0),
        "bagging_fraction": FRACTION,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        estimators: list,
        *,
        n_iter: int = 50,
        cv: Any = 5,
        scoring: Any = None,
        bagging: int = 0,
        bagging_fraction: float = 0.5,
        random_state: Any = None,
        n_jobs: int | None = None,
        memory: Any = None,
    ):
        self.estimators = estimators
        self.n_iter = n_iter
        self.cv = cv
        self.scoring = scoring
        self.bagging = bagging
        self.bagging_fraction = bagging_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.memory = memory

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **fit_params: Any) -> "EnsembleSelectionClassifier":
        """Fit the members per fold and on all rows; select the weights greedily.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table (or numeric features).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the members whose fit accepts it, and to the scorer
            (when it accepts weights) during the selection.
        **fit_params : dict
            Other metadata (only with sklearn's metadata routing enabled).

        Returns
        -------
        self : EnsembleSelectionClassifier
            The fitted estimator.
        """
        fit = self._prepare_fit(X, y, sample_weight, fit_params)
        lacking = [nm for nm, e in zip(fit.names, fit.ests) if not hasattr(e, "predict_proba")]
        if lacking:
            raise ValueError(
                f"ensemble selection averages probabilities: members {lacking} have no "
                "predict_proba (wrap them in CalibratedClassifierCV, for example)."
            )
        X, y, n, sample_weight = fit.X, fit.y, len(fit.y), fit.sample_weight
        scorer = CandidateScorer(self.scoring, classifier=True, soft=True)
        rng = check_random_state(self.random_state)
        self.classes_ = classes = fit.classes
        splits = fold_splits(self, self.cv, X, y, classifier=True)
        check_partition(self, splits, n)
        check_fold_classes(self, splits, y)
        full, outputs, _, _ = fold_outputs(
            fit.names, fit.ests, X, y, fit.routed, splits, ["predict_proba"] * len(fit.ests), classes,
            fit.cache, self.n_jobs, data_key=fit.data_key, full_fit=True,
            progress_desc=f"{type(self).__name__} out-of-fold fits",
        )
        oof, present = assemble_oof(outputs, splits, n)
        raise_for_uncovered(self, present, fit.names, X)
        P = np.stack(oof)
        m = len(fit.ests)
        if self.bagging == 0:
            counts, self.scores_ = self._select(P, present, y, scorer, np.arange(m), sample_weight)
            weights = counts / counts.sum()
        else:
            size = max(1, int(round(self.bagging_fraction * m)))
            counts = np.zeros(m)
            weights = np.zeros(m)
            for b in range(self.bagging):
                members = np.sort(rng.choice(m, size=size, replace=False))
                c_b, s_b = self._select(P, present, y, scorer, members, sample_weight)
                if b == 0:
                    self.scores_ = s_b
                counts += c_b
                weights += c_b / c_b.sum()
            weights /= self.bagging
        self.weights_ = np.zeros(len(fit.ests_all))
        self.weights_[fit.live] = weights
        self.counts_ = np.zeros(len(fit.ests_all))
        self.counts_[fit.live] = counts
        self._live_weights = weights
        self.oof_score_ = float(scorer(y, fuse(P, present, weights[None]), classes, sample_weight)[0])
        self.oof_predictions_ = P
        self._set_fitted_members(fit, *full)
        return self

    def _select(self, P, present, y, scorer, members, sample_weight) -> tuple[np.ndarray, np.ndarray]:
        m = P.shape[0]
        counts = np.zeros(m)
        scores = np.empty(self.n_iter)
        for it in range(self.n_iter):
            W = np.tile(counts, (len(members), 1))
            W[np.arange(len(members)), members] += 1
            s = scorer(y, fuse(P, present, W), self.classes_, sample_weight)
            if np.all(np.isnan(s)):
                raise ValueError("every candidate addition scored NaN; check the scoring.")
            best = int(np.nanargmax(s))
            counts[members[best]] += 1
            scores[it] = s[best]
        return counts, scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Selection-weighted mean of the present members' probabilities.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._predict_table(X)
        outs, present = collect_outputs(
            self.estimators_, X, "predict_proba", self.classes_, self.n_jobs,
            cache=resolve_member_cache(self.memory), keys=self._member_keys,
        )
        raise_for_uncovered(self, present, self._member_names, X)
        return fuse(np.stack(outs), present, self._live_weights[None])[0]

    def predict(self, X: Any) -> np.ndarray:
        """Class with the highest fused probability.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]