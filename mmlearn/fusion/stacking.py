"""Stacking over per-modality members, with missing modalities as features."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.utils.metaestimators import available_if

from .._caching import resolve_member_cache
from ..backend import to_host
from ._base import BOOL, FINAL_ESTIMATOR, N_JOBS, _BaseFusion, _MembersMixin, one_of
from ._fitting import apply_device
from ._meta import MetaFeatures, final_input, stack_methods
from ._oof import assemble_oof, check_fold_classes, check_partition, fold_outputs, fold_splits
from ._outputs import collect_outputs, raise_for_uncovered

__all__ = ["StackingFusionClassifier", "StackingFusionRegressor"]

_STACK_METHODS = ("auto", "predict_proba", "decision_function", "predict")


def _final_has(attr: str):
    def check(self: Any) -> bool:
        est = getattr(self, "final_estimator_", None)
        if est is None:
            est = self.final_estimator if self.final_estimator is not None else self._default_final()
        return hasattr(est, attr)

    return check


class _BaseStackingFusion(_MembersMixin, _BaseFusion):
    _parameter_constraints = {
        "final_estimator": FINAL_ESTIMATOR,
        "stack_method": one_of(*_STACK_METHODS),
        "passthrough": BOOL,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        estimators: list,
        final_estimator: Any = None,
        *,
        cv: Any = 5,
        stack_method: str = "auto",
        passthrough: bool = False,
        n_jobs: int | None = None,
        memory: Any = None,
    ):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.stack_method = stack_method
        self.passthrough = passthrough
        self.n_jobs = n_jobs
        self.memory = memory

    def _default_final(self) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, **fit_params: Any) -> Any:
        """Fit the members on all rows and on each training part, then the final estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table (or numeric features).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the members and the final estimator whose fit accepts
            it (restricted to the training part in each fold).
        **fit_params : dict
            Other metadata (only with sklearn's metadata routing enabled).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        classifier = self._kind == "classifier"
        final = apply_device(clone(self.final_estimator if self.final_estimator is not None else self._default_final()))
        fit = self._prepare_fit(X, y, sample_weight, fit_params, extra_routes={"final_estimator": final})
        X, y, n = fit.X, fit.y, len(fit.y)
        methods = stack_methods(self._kind, self.stack_method, fit.names, fit.ests)
        if classifier:
            self.classes_ = fit.classes
        splits = fold_splits(self, self.cv, X, y, classifier=classifier)
        check_partition(self, splits, n)
        if classifier:
            check_fold_classes(self, splits, y)
        full, outputs, _, _ = fold_outputs(
            fit.names, fit.ests, X, y, fit.routed, splits, methods, fit.classes, fit.cache, self.n_jobs,
            data_key=fit.data_key, full_fit=True,
            progress_desc=f"{type(self).__name__} out-of-fold fits",
        )
        oof, present = assemble_oof(outputs, splits, n)
        raise_for_uncovered(self, present, fit.names, X)
        self._set_fitted_members(fit, *full)
        self.stack_method_ = methods
        self._meta = MetaFeatures(fit.names, methods, fit.classes)
        meta = self._meta.fit_transform(oof, present)
        self.oof_predictions_ = meta
        self.meta_feature_names_ = self._meta.feature_names()
        self.final_estimator_ = final
        final.fit(self._final_input(meta, X), y, **fit.routed["final_estimator"])
        return self

    def _routing_extra(self) -> dict:
        final = self.final_estimator if self.final_estimator is not None else self._default_final()
        return {"final_estimator": final}

    # ----------------------------------------------------- meta features
    def _final_input(self, meta: np.ndarray, X: Any) -> Any:
        return final_input(self.final_estimator_, meta, X, self.passthrough)

    def _transform_meta(self, X: Any) -> Any:
        X = self._predict_table(X)
        classes = getattr(self, "classes_", None)
        outs, present = collect_outputs(
            self.estimators_, X, self.stack_method_, classes, self.n_jobs,
            cache=resolve_member_cache(self.memory), keys=self._member_keys,
        )
        raise_for_uncovered(self, present, self._member_names, X)
        return self._final_input(self._meta.transform(outs, present), X)

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the final estimator on the members' outputs.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        meta = self._transform_meta(X)
        return to_host(self.final_estimator_.predict(meta))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # passthrough hands X itself to the final estimator
        tags.input_tags.allow_nan = tags.input_tags.allow_nan and not self.passthrough
        return tags


class StackingFusionClassifier(ClassifierMixin, _BaseStackingFusion):
    """Stack per-modality classifiers under a final classifier, missing rows included.

    Every member is fitted on each training part of ``cv`` and predicts the
    held-out part; the resulting out-of-fold outputs (``oof_predictions_``)
    train ``final_estimator``. The members are then fitted on all rows for
    prediction. With complete data the result equals
    :class:`sklearn.ensemble.StackingClassifier` with the same members,
    ``cv`` and settings.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members (usually :class:`~mmlearn.compose.Modality` objects);
        an estimator may be ``"drop"``.
    final_estimator : estimator, default=None
        Trained on the members' outputs; None means
        :class:`~sklearn.linear_model.LogisticRegression`. An XGBoost model
        with ``device`` unset runs on the mmlearn device.
    cv : int, cross-validation splitter, iterable of splits or "loo", default=5
        Partitioning splitter for the out-of-fold outputs (every sample in
        exactly one test part): an int is a
        :class:`~sklearn.model_selection.StratifiedKFold`, ``"loo"``
        :class:`~sklearn.model_selection.LeaveOneOut`. The folds are drawn
        once, so every member sees the same ones.
    stack_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Member output used as features; ``"auto"`` takes the first of
        ``predict_proba``, ``decision_function``, ``predict`` each member has.
    passthrough : bool, default=False
        Also give the final estimator ``X`` itself (numeric ``X`` only).
    n_jobs : int, default=None
        Members (and folds) fitted in parallel through joblib.
    memory : None, FittedMemberCache, str or joblib.Memory, default=None
        Opt-in fitted-member cache (see :class:`VotingFusionClassifier`);
        None means none. With one, a ``GridSearchCV`` over the final
        estimator's parameters fits the members once per (outer fold,
        inner fold).

    Attributes
    ----------
    estimators_ : list of estimators
        The members fitted on all rows (``"drop"`` ones left out).
    named_estimators_ : Bunch
        Fitted members by name.
    final_estimator_ : estimator
        The fitted final estimator.
    stack_method_ : list of str
        The output method used for each member.
    oof_predictions_ : ndarray of shape (n_samples, n_meta_features)
        The out-of-fold meta features the final estimator was trained on
        (without the ``passthrough`` columns).
    meta_feature_names_ : ndarray of str
        Names of those columns (``"audio__predict_proba_3"``,
        ``"audio__present"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    StackingFusionRegressor : The same for regression.
    VotingFusionClassifier : Fixed weights instead of a learned combiner.

    Notes
    -----
    Missing modalities reach the final estimator in a usable form: a
    member's columns are filled, on rows where it is absent, with their mean
    over the out-of-fold rows where it was present, and a member that missed
    any training row gets an extra ``<name>__present`` column (1 present,
    0 absent). Rows with every modality missing raise a ``ValueError``.

    A training part that lacks some class still yields one column per class:
    probability 0 for the unseen class, and for ``decision_function`` the
    row's lowest score (sklearn's ``cross_val_predict`` uses the most
    negative float, which swamps a linear final estimator). A training part
    with a single class raises a ``ValueError`` naming the fold. For two
    classes only the second class's probability is kept, as in sklearn.

    Members are fitted on ``y`` as given (not label-encoded), so
    ``class_weight`` dictionaries keyed by the labels work.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from mmlearn.fusion import StackingFusionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = StackingFusionClassifier(
    ...     [("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB())], cv=3
    ... ).fit(X, y)
    >>> clf.oof_predictions_.shape
    (150, 6)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    def _default_final(self) -> Any:
        return LogisticRegression()

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the final estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        meta = self._transform_meta(X)
        return to_host(self.final_estimator_.predict_proba(meta))

    @available_if(_final_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores from the final estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The multimodal table.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        meta = self._transform_meta(X)
        return to_host(self.final_estimator_.decision_function(meta))


class StackingFusionRegressor(RegressorMixin, _BaseStackingFusion):
    """Stack per-modality regressors under a final regressor, missing rows included.

    With complete data the result equals
    :class:`sklearn.ensemble.StackingRegressor` with the same members and
    ``cv``.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members; an estimator may be ``"drop"``.
    final_estimator : estimator, default=None
        None means :class:`~sklearn.linear_model.RidgeCV`.
    cv : int, cross-validation splitter, iterable of splits or "loo", default=5
        Partitioning splitter (an int is a
        :class:`~sklearn.model_selection.KFold`).
    stack_method : {"auto", "predict"}, default="auto"
        Regressors are stacked on ``predict``.
    passthrough : bool, default=False
        Also give the final estimator ``X`` itself (numeric ``X`` only).
    n_jobs : int, default=None
        Parallel member fits through joblib.
    memory : None, FittedMemberCache, str or joblib.Memory, default=None
        Opt-in fitted-member cache (see :class:`VotingFusionClassifier`).

    Attributes
    ----------
    estimators_, named_estimators_, final_estimator_ : estimators
        As in :class:`StackingFusionClassifier`.
    stack_method_ : list of str
        ``"predict"`` for each member.
    oof_predictions_, meta_feature_names_ : ndarray
        Out-of-fold meta features and their names (with ``<name>__present``
        columns for members that missed training rows).
    n_features_in_, feature_names_in_ : int, ndarray
        Columns of ``X`` seen in :meth:`fit`.

    See Also
    --------
    StackingFusionClassifier : The same for classification (missing rows,
        folds without a class: see its Notes).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from mmlearn.fusion import StackingFusionRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = StackingFusionRegressor(
    ...     [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3))], cv=3
    ... ).fit(X, y)
    >>> reg.oof_predictions_.shape
    (442, 2)
    """

    _kind = "regressor"

    def _default_final(self) -> Any:
        return RidgeCV()
