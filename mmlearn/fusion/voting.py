"""Weighted voting over per-modality members, with missing modalities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if

from ._base import N_JOBS, FitInput, _BaseFusion, _MembersMixin, one_of
from ._fitting import fit_tasks, make_task
from ._outputs import collect_outputs, fuse, one_hot, raise_for_uncovered
from ._weights import check_weights
from .._caching import resolve_member_cache

__all__ = ["VotingFusionClassifier", "VotingFusionRegressor"]


class _BaseVotingFusion(_MembersMixin, _BaseFusion):
    """Fit every member once on all rows; fuse their outputs with fixed weights."""

    def _fit_members(self, fit: FitInput) -> None:
        self._weights = check_weights(self, self.weights, fit.ests_all)
        tasks = [make_task(n, e, fit.X, fit.y, fit.routed[n], fit.data_key) for n, e in zip(fit.names, fit.ests)]
        fitted, _, _ = fit_tasks(tasks, fit.cache, self.n_jobs)
        self._set_fitted_members(fit, fitted, [t.key for t in tasks])
        self._live_weights = self._weights[fit.live]

    def _member_outputs(self, X: Any, method: str) -> tuple[np.ndarray, np.ndarray, Any]:
        """(members, rows, outputs) array and (members, rows) presence, on the table by name."""
        X = self._predict_table(X)
        classes = getattr(self, "classes_", None)
        outs, present = collect_outputs(
            self.estimators_, X, method, classes, self.n_jobs,
            cache=resolve_member_cache(self.memory), keys=self._member_keys,
        )
        raise_for_uncovered(self, present, self._member_names, X)
        if method == "predict" and classes is not None:
            outs = [one_hot(o, len(classes)) for o in outs]
        arr = np.stack(outs) if classes is not None else np.stack(outs)[:, :, None]
        return arr, present


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
    memory : None, FittedMemberCache, str or joblib.Memory, default=None
        Opt-in cache of fitted members and of their outputs; None (the
        default) means no cache. A :class:`FittedMemberCache` keeps them in
        memory, a path or a :class:`joblib.Memory` on disk. Members are
        keyed by their parameters and a fingerprint of the training rows
        and fit metadata, so a ``GridSearchCV`` over ``weights`` fits each
        member once per fold and predicts each test fold once. Lookups
        return copies (no two estimators share a fitted member) and a
        member whose ``random_state`` is not an int is always refitted.
        See :ref:`caching`.

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
    it. A row whose present members all have weight 0 is fused with equal
    weights over those members, so a zero weight never makes a row
    unpredictable.

    At prediction time a DataFrame's columns are selected by name: their
    order does not matter, and a column that is absent means that
    modality is missing on every row. At fit time every member's column
    must be there (a ``Modality`` raises, naming it).

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

    _parameter_constraints = {"voting": one_of("soft", "hard"), "n_jobs": N_JOBS}

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
        """Fit every member (looked up in ``memory`` first, if given).

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
        fit = self._prepare_fit(X, y, sample_weight, fit_params)
        if self.voting == "soft":
            lacking = [n for n, e in zip(fit.names, fit.ests) if not hasattr(e, "predict_proba")]
            if lacking:
                raise ValueError(
                    f"voting='soft' needs predict_proba, which members {lacking} do not have. Use "
                    "voting='hard', or give them probabilities (e.g. CalibratedClassifierCV "
                    "around an SVC, or LogisticRegression)."
                )
        self.classes_ = fit.classes
        self._fit_members(fit)
        return self

    def _fused(self, X: Any) -> np.ndarray:
        soft = self.voting == "soft"
        outputs, present = self._member_outputs(X, "predict_proba" if soft else "predict")
        return fuse(outputs, present, self._live_weights[None], mean=soft)[0]

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
        fused = self._fused(X)
        return self.classes_[np.argmax(fused, axis=1)]

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
        return self._fused(X)


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
    memory : None, FittedMemberCache, str or joblib.Memory, default=None
        Opt-in fitted-member cache, as in :class:`VotingFusionClassifier`.

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
    it; a row whose present members all weigh 0 is averaged over them with
    equal weights. Prediction selects a DataFrame's columns by name (see
    :class:`VotingFusionClassifier`).

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
    _parameter_constraints = {"n_jobs": N_JOBS}

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
        """Fit every member (looked up in ``memory`` first, if given).

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
        self._fit_members(self._prepare_fit(X, y, sample_weight, fit_params))
        return self

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
        outputs, present = self._member_outputs(X, "predict")
        return fuse(outputs, present, self._live_weights[None])[0, :, 0]
