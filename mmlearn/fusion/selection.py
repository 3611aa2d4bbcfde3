"""Ensemble selection (Caruana et al., 2004) over out-of-fold member probabilities."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._cache import resolve_cache
from ._members import (
    as_table,
    MembersParamsMixin,
    check_members,
    check_sample_weight,
    check_target,
    collect_outputs,
    combine,
    data_key,
    n_rows,
    no_member_rows,
    raise_for_uncovered,
    route_fit_params,
)
from ._oof import assemble_oof, check_fold_classes, check_partition, fold_outputs, fold_splits
from ._scoring import CandidateScorer

__all__ = ["EnsembleSelectionClassifier"]


def _fuse(outputs: np.ndarray, present: np.ndarray, W: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Weighted mean per row; rows whose weighted members are all absent use ``fallback``."""
    num, den = combine(outputs, present, W)
    with np.errstate(invalid="ignore", divide="ignore"):
        fused = num / den[:, :, None]
    empty = den <= 0
    if empty.any():
        fused = np.where(empty[:, :, None], fallback[None], fused)
    return fused


class EnsembleSelectionClassifier(MembersParamsMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
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
    memory : None, False, str, joblib.Memory or FittedMemberCache, default=None
        Fitted-member cache (see :class:`VotingFusionClassifier`).

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

    def _check_params(self) -> None:
        if not isinstance(self.n_iter, Integral) or isinstance(self.n_iter, bool) or self.n_iter < 1:
            raise ValueError(f"n_iter must be an int >= 1; got {self.n_iter!r}.")
        if not isinstance(self.bagging, Integral) or isinstance(self.bagging, bool) or self.bagging < 0:
            raise ValueError(f"bagging must be an int >= 0; got {self.bagging!r}.")
        if not isinstance(self.bagging_fraction, Real) or not 0 < self.bagging_fraction <= 1:
            raise ValueError(f"bagging_fraction must be in (0, 1]; got {self.bagging_fraction!r}.")
        if self.n_jobs is not None and not (isinstance(self.n_jobs, Integral) and not isinstance(self.n_jobs, bool)):
            raise ValueError(f"n_jobs must be None or an int; got {self.n_jobs!r}.")

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
        X = as_table(X)
        self._check_params()
        names_all, ests_all = check_members(self, self.estimators, kind="classifier")
        y, classes = check_target(self, X, y, classifier=True)
        lacking = [nm for nm, e in zip(names_all, ests_all) if e != "drop" and not hasattr(e, "predict_proba")]
        if lacking:
            raise ValueError(
                f"ensemble selection averages probabilities: members {lacking} have no "
                "predict_proba (wrap them in CalibratedClassifierCV, for example)."
            )
        validate_data(self, X, reset=True, skip_check_array=True)
        n = n_rows(X)
        sample_weight = check_sample_weight(self, sample_weight, n)
        scorer = CandidateScorer(self.scoring, classifier=True, soft=True)
        rng = check_random_state(self.random_state)
        live = [j for j, e in enumerate(ests_all) if e != "drop"]
        names = [names_all[j] for j in live]
        ests = [ests_all[j] for j in live]
        routed = route_fit_params(self, names_all, ests_all, sample_weight, fit_params)
        self.classes_ = classes
        splits = fold_splits(self, self.cv, X, y, classifier=True)
        check_partition(self, splits, n)
        check_fold_classes(self, splits, y)
        cache = resolve_cache(self.memory)
        full, outputs, _, _ = fold_outputs(
            names, ests, X, y, routed, splits, ["predict_proba"] * len(ests), classes, cache,
            self.n_jobs, data_key=data_key(cache, X, y), full_fit=True,
        )
        oof, present = assemble_oof(outputs, splits, n)
        raise_for_uncovered(self, present, np.ones(len(ests)), names)
        P = np.stack(oof)
        fallback = self._fallback(P, present)
        m = len(ests)
        if self.bagging == 0:
            counts, self.scores_ = self._select(P, present, fallback, y, scorer, np.arange(m), sample_weight)
            weights = counts / counts.sum()
        else:
            size = max(1, int(round(self.bagging_fraction * m)))
            counts = np.zeros(m)
            weights = np.zeros(m)
            for b in range(self.bagging):
                members = np.sort(rng.choice(m, size=size, replace=False))
                c_b, s_b = self._select(P, present, fallback, y, scorer, members, sample_weight)
                if b == 0:
                    self.scores_ = s_b
                counts += c_b
                weights += c_b / c_b.sum()
            weights /= self.bagging
        self.weights_ = np.zeros(len(ests_all))
        self.weights_[live] = weights
        self.counts_ = np.zeros(len(ests_all))
        self.counts_[live] = counts
        self._live_weights = weights
        self._names = names
        self.oof_score_ = float(scorer(y, _fuse(P, present, weights[None], fallback), classes, sample_weight)[0])
        self.oof_predictions_ = P
        self.estimators_ = full
        self.named_estimators_ = Bunch()
        it = iter(full)
        for nm, e in zip(names_all, ests_all):
            self.named_estimators_[nm] = "drop" if e == "drop" else next(it)
        return self

    @staticmethod
    def _fallback(P: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Equal-weight mean of the members present on each row."""
        num, den = combine(P, present, np.ones((1, P.shape[0])))
        with np.errstate(invalid="ignore", divide="ignore"):
            return num[0] / den[0][:, None]

    def _select(self, P, present, fallback, y, scorer, members, sample_weight) -> tuple[np.ndarray, np.ndarray]:
        m = P.shape[0]
        counts = np.zeros(m)
        scores = np.empty(self.n_iter)
        for it in range(self.n_iter):
            W = np.tile(counts, (len(members), 1))
            W[np.arange(len(members)), members] += 1
            s = scorer(y, _fuse(P, present, W, fallback), self.classes_, sample_weight)
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
        check_is_fitted(self)
        X = as_table(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        outs, present = collect_outputs(self.estimators_, X, "predict_proba", self.classes_, self.n_jobs)
        P = np.stack(outs)
        none, _ = no_member_rows(present, self._live_weights)
        if len(none):
            raise_for_uncovered(self, present, np.ones(len(outs)), self._names)
        return _fuse(P, present, self._live_weights[None], self._fallback(P, present))[0]

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