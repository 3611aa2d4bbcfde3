"""Weighted voting over per-modality members, with missing modalities."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin
from sklearn.utils import Bunch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._cache import resolve_cache
from ._members import (
    as_table,
    MembersParamsMixin,
    check_members,
    check_sample_weight,
    check_target,
    check_weights,
    collect_outputs,
    combine,
    data_key,
    fit_tasks,
    make_task,
    n_rows,
    one_hot,
    raise_for_uncovered,
    route_fit_params,
)

__all__ = ["VotingFusionClassifier", "VotingFusionRegressor"]

_CONSTRAINTS = {
    "voting": ("soft", "hard"),
}


def _check_n_jobs(owner: Any, n_jobs: Any) -> None:
    if n_jobs is not None and not (isinstance(n_jobs, Integral) and not isinstance(n_jobs, bool)):
        raise ValueError(f"{type(owner).__name__}: n_jobs must be None or an int; got {n_jobs!r}.")


class _BaseVotingFusion(MembersParamsMixin, MetaEstimatorMixin, BaseEstimator):
    """Fitting, parameter handling and row-wise weighting shared by both votings."""

    _kind = "classifier"

    def _fit_members(self, X: Any, y: Any, sample_weight: Any, fit_params: dict) -> None:
        names, ests = check_members(self, self.estimators, kind=self._kind)
        self._weights = check_weights(self, self.weights, ests)
        _check_n_jobs(self, self.n_jobs)
        sample_weight = check_sample_weight(self, sample_weight, n_rows(X))
        routed = route_fit_params(self, names, ests, sample_weight, fit_params)
        cache = resolve_cache(self.memory)
        dkey = data_key(cache, X, y)
        live = [(n, e) for n, e in zip(names, ests) if e != "drop"]
        tasks = [make_task(n, e, X, y, routed[n], dkey) for n, e in live]
        fitted, _, _ = fit_tasks(tasks, cache, self.n_jobs)
        self.estimators_ = fitted
        self.named_estimators_ = Bunch()
        it = iter(fitted)
        for n, e in zip(names, ests):
            self.named_estimators_[n] = "drop" if e == "drop" else next(it)
        self._live_names = [n for n, _ in live]
        self._live_weights = np.array([w for w, e in zip(self._weights, ests) if e != "drop"])

    def _check_X(self, X: Any, *, reset: bool) -> None:
        validate_data(self, X, reset=reset, skip_check_array=True)

    def _uncovered(self, present: np.ndarray) -> None:
        raise_for_uncovered(self, present, self._live_weights, self._live_names)


def _has_soft_voting(self: Any) -> bool:
    if self.voting != "soft":
        raise AttributeError(f"predict_proba is not available when voting={self.voting!r}")
    return True


class VotingFusionClassifier(ClassifierMixin, _BaseVotingFusion):
    """Weighted soft or hard voting over members that may miss some rows.

    Each member (usually a :class:`~mmlearn.compose.Modality`, one column of
    a multimodal table) is fitted on the whole table; a ``Modality`` keeps
    the rows where its column is present. At prediction time every row is
    fused over the members present on it, with the weights renormalised over
    those members. With complete data the result equals
    :class:`sklearn.ensemble.VotingClassifier` with the same members,
    ``voting`` and ``weights``.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members. An estimator may be ``"drop"``. Members that are not
        ``Modality`` objects (an early-fusion pipeline over several columns,
        a plain classifier on numeric ``X``) are present on every row.
    voting : {"soft", "hard"}, default="soft"
        ``"soft"`` averages the members' ``predict_proba`` (every member
        needs it); ``"hard"`` takes a weighted majority of their predicted
        labels (ties go to the class that sorts first, as in sklearn).
    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of each member, ``"drop"`` ones included; None
        gives every member weight 1. Not all zero.
    n_jobs : int, default=None
        Members fitted (and asked for predictions) in parallel through
        :class:`joblib.Parallel`; None means 1 unless in a
        :func:`joblib.parallel_backend` context, -1 all processors.
    memory : None, False, str, joblib.Memory or FittedMemberCache, default=None
        Cache of fitted members, keyed by each member's parameters and a
        fingerprint of the training rows and fit metadata. None uses the
        process-wide in-memory cache (:func:`default_member_cache`); a path
        or a :class:`joblib.Memory` stores members on disk (shared between
        processes); False disables caching. With a cache, a
        ``GridSearchCV`` over ``weights`` fits each member once per fold.
        Cached members are shared, read-only, between the fusion estimators
        that look them up, and a member with ``random_state=None`` is reused
        rather than redrawn (see :class:`FittedMemberCache`).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.
    named_estimators_ : Bunch
        Fitted members by name (``"drop"`` for dropped ones).
    classes_ : ndarray of shape (n_classes,)
        The class labels (sorted unique values of ``y``).
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    VotingFusionRegressor : The same for regression.
    StackingFusionClassifier : Learns how to combine the members.
    FusionWeightSearchCV : Finds the weights with one member fit per fold.

    Notes
    -----
    Members are fitted on ``y`` as given, not label-encoded, so members with
    ``class_weight`` dictionaries keyed by the original labels work (unlike
    sklearn's ``VotingClassifier``, sklearn issue 18550). XGBoost models
    whose ``device`` is unset run on the device of the mmlearn
    configuration (``"auto"``: the GPU when there is one).

    A row none of whose members is present raises a ``ValueError`` naming
    it, as does a row whose present members all have weight 0.

    ``sample_weight`` goes to the members whose ``fit`` accepts it (through
    a Modality or a Pipeline's last step as well); with sklearn's metadata
    routing enabled, to the members that request it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from mmlearn.fusion import VotingFusionClassifier
    >>> X = np.array([[0.0], [0.2], [0.9], [1.0]])
    >>> y = np.array(["a", "a", "b", "b"])
    >>> clf = VotingFusionClassifier(
    ...     [("lr", LogisticRegression()), ("nb", GaussianNB())], weights=[2, 1]
    ... ).fit(X, y)
    >>> clf.predict(X)
    array(['a', 'a', 'b', 'b'], dtype='<U1')
    >>> clf.predict_proba(X).shape
    (4, 2)
    """

    def __init__(
        self,
        estimators: list,
        *,
        voting: str = "soft",
        weights: Any = None,
        n_jobs: int | None = None,
        memory: Any = None,
    ):
        self.estimators = estimators
        self.voting = voting
        self.weights = weights
        self.n_jobs = n_jobs
        self.memory = memory

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **fit_params: Any) -> "VotingFusionClassifier":
        """Fit every member (looking it up in the cache first).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table (or numeric features).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the members whose fit accepts it.
        **fit_params : dict
            Other metadata, routed to the members; only with sklearn's
            metadata routing enabled.

        Returns
        -------
        self : VotingFusionClassifier
            The fitted estimator.
        """
        X = as_table(X)
        if self.voting not in _CONSTRAINTS["voting"]:
            raise ValueError(f"voting must be 'soft' or 'hard'; got {self.voting!r}.")
        y, classes = check_target(self, X, y, classifier=True)
        if self.voting == "soft":
            names, ests = check_members(self, self.estimators, kind="classifier")
            lacking = [n for n, e in zip(names, ests) if e != "drop" and not hasattr(e, "predict_proba")]
            if lacking:
                raise ValueError(
                    f"voting='soft' needs predict_proba, which members {lacking} do not have. Use "
                    "voting='hard', or give them probabilities (e.g. CalibratedClassifierCV "
                    "around an SVC, or LogisticRegression)."
                )
        self._check_X(X, reset=True)
        self.classes_ = classes
        self._fit_members(X, y, sample_weight, fit_params)
        if self.voting == "soft":
            lacking = [n for n, e in zip(self._live_names, self.estimators_) if not hasattr(e, "predict_proba")]
            if lacking:
                raise ValueError(f"voting='soft' needs predict_proba; fitted members {lacking} lack it.")
        return self

    def _member_outputs(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """(members, rows, classes) outputs (probabilities or one-hot votes) and presence."""
        check_is_fitted(self)
        X = as_table(X)
        self._check_X(X, reset=False)
        method = "predict_proba" if self.voting == "soft" else "predict"
        outs, present = collect_outputs(self.estimators_, X, method, self.classes_, self.n_jobs)
        k = len(self.classes_)
        if self.voting == "hard":
            outs = [one_hot(o, k) for o in outs]
        return np.stack(outs), present

    def _fused(self, X: Any) -> np.ndarray:
        outputs, present = self._member_outputs(X)
        self._uncovered(present)
        num, den = combine(outputs, present, self._live_weights[None])
        return num[0], den[0]

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class of each row from the members present on it.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        num, den = self._fused(X)
        if self.voting == "soft":
            return self.classes_[np.argmax(num / den[:, None], axis=1)]
        return self.classes_[np.argmax(num, axis=1)]

    @available_if(_has_soft_voting)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the present members' probabilities, row by row.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        num, den = self._fused(X)
        return num / den[:, None]


class VotingFusionRegressor(RegressorMixin, _BaseVotingFusion):
    """Weighted mean of regressors, over the members present on each row.

    With complete data the result equals
    :class:`sklearn.ensemble.VotingRegressor` with the same members and
    ``weights``; a row that lacks a member's modality is averaged over the
    members it has, with the weights renormalised.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members (regressors, usually :class:`~mmlearn.compose.Modality`
        objects); an estimator may be ``"drop"``.
    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of each member; None means equal weights.
    n_jobs : int, default=None
        Members fitted in parallel through joblib.
    memory : None, False, str, joblib.Memory or FittedMemberCache, default=None
        Fitted-member cache, as in :class:`VotingFusionClassifier`.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.
    named_estimators_ : Bunch
        Fitted members by name.
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    VotingFusionClassifier : The same for classification.
    StackingFusionRegressor : Learns how to combine the members.

    Notes
    -----
    A row none of whose members is present raises a ``ValueError`` naming
    it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression, Ridge
    >>> from mmlearn.fusion import VotingFusionRegressor
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> reg = VotingFusionRegressor([("lin", LinearRegression()), ("ridge", Ridge())]).fit(X, y)
    >>> reg.predict([[4.0]]).round(2)
    array([3.79])
    """

    _kind = "regressor"

    def __init__(
        self,
        estimators: list,
        *,
        weights: Any = None,
        n_jobs: int | None = None,
        memory: Any = None,
    ):
        self.estimators = estimators
        self.weights = weights
        self.n_jobs = n_jobs
        self.memory = memory

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **fit_params: Any) -> "VotingFusionRegressor":
        """Fit every member (looking it up in the cache first).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table (or numeric features).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the members whose fit accepts it.
        **fit_params : dict
            Other metadata (only with sklearn's metadata routing enabled).

        Returns
        -------
        self : VotingFusionRegressor
            The fitted estimator.
        """
        X = as_table(X)
        y, _ = check_target(self, X, y, classifier=False)
        self._check_X(X, reset=True)
        self._fit_members(X, y, sample_weight, fit_params)
        return self

    def _member_outputs(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        X = as_table(X)
        self._check_X(X, reset=False)
        outs, present = collect_outputs(self.estimators_, X, "predict", None, self.n_jobs)
        return np.stack(outs)[:, :, None], present

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean of the present members' predictions, row by row.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        outputs, present = self._member_outputs(X)
        self._uncovered(present)
        num, den = combine(outputs, present, self._live_weights[None])
        return num[0, :, 0] / den[0]
