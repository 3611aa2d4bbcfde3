"""What every fusion estimator shares: the fit preamble, member parameters, routing.

A member is a ``(name, estimator)`` pair; ``estimator`` may be ``"drop"``.
:class:`_BaseFusion` owns the checks that open every ``fit`` (table,
members, target, ``sample_weight``, parameter constraints, routing, the
member cache) and the fitted-member bookkeeping (``estimators_``,
``named_estimators_``); :class:`_MembersMixin` exposes the members as
parameters (``audio__svc__C``) and routes fit metadata to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier, is_regressor
from sklearn.utils import Bunch, get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping
from sklearn.utils.validation import check_is_fitted, validate_data

from .._caching import fingerprint, resolve_member_cache
from .._config import PROGRESS_VALUES, is_progress_value
from .._tables import as_table, check_finite_target, label_text, n_rows
from ..backend import namespace_of, to_host
from ._fitting import is_drop, route_fit_params

# ---------------------------------------------------------- constraints
# One table per class: parameter name -> (what it must be, test).
Constraint = tuple[str, Callable[[Any], bool]]


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def int_at_least(low: int) -> Constraint:
    return f"an int >= {low}", lambda v: _is_int(v) and v >= low


def one_of(*options: Any) -> Constraint:
    return "one of " + ", ".join(repr(o) for o in options), lambda v: isinstance(v, str) and v in options


N_JOBS: Constraint = ("None or an int", lambda v: v is None or _is_int(v))
FRACTION: Constraint = ("a float in (0, 1]", lambda v: isinstance(v, Real) and not isinstance(v, bool) and 0 < v <= 1)
BOOL: Constraint = ("a bool", lambda v: isinstance(v, (bool, np.bool_)))
PROGRESS: Constraint = (PROGRESS_VALUES, is_progress_value)


def _has_fit(v: Any) -> bool:
    return v is None or hasattr(v, "fit")


FINAL_ESTIMATOR: Constraint = ("None or an estimator with a fit method", _has_fit)


# ----------------------------------------------------------- validation
def check_members(owner: Any, estimators: Any, *, kind: str | None) -> tuple[list[str], list[Any]]:
    """Validate ``estimators``; return names and estimators (``"drop"`` kept)."""
    cls = type(owner).__name__
    if not isinstance(estimators, (list, tuple)) or len(estimators) == 0:
        raise ValueError(
            f"{cls}: estimators must be a non-empty list of (name, estimator) pairs; got {estimators!r}."
        )
    for item in estimators:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str):
            raise ValueError(
                f"{cls}: estimators must be a list of (name, estimator) pairs, such as "
                f"[('audio', model)]; got the entry {item!r}."
            )
    names, ests = [n for n, _ in estimators], [e for _, e in estimators]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{cls}: member names must be unique; repeated: {dup}.")
    params = set(owner.get_params(deep=False))
    for n in names:
        if "__" in n:
            raise ValueError(f"{cls}: member name {n!r} must not contain '__'.")
        if n in params:
            raise ValueError(f"{cls}: member name {n!r} conflicts with a constructor argument.")
    if all(isinstance(e, str) and e == "drop" for e in ests):
        raise ValueError(f"{cls}: all members are 'drop'; at least one is needed.")
    for n, e in zip(names, ests):
        if isinstance(e, str) and e == "drop":
            continue
        if not hasattr(e, "fit"):
            raise TypeError(f"{cls}: member {n!r} ({e!r}) has no fit method.")
        if kind == "classifier" and not is_classifier(e):
            raise ValueError(f"{cls}: member {n!r} ({type(e).__name__}) should be a classifier.")
        if kind == "regressor" and not is_regressor(e):
            raise ValueError(f"{cls}: member {n!r} ({type(e).__name__}) should be a regressor.")
    return names, ests


def check_target(owner: Any, X: Any, y: Any, *, classifier: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate y against X; return (y as 1-D host array, classes or None)."""
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import column_or_1d

    cls = type(owner).__name__
    if y is None:
        raise ValueError(f"{cls} requires y to be passed, but the target y is None.")
    y = column_or_1d(to_host(y) if namespace_of(y) is not np else y, warn=True)
    n = n_rows(X)
    if len(y) != n:
        raise ValueError(f"{cls}: X has {n} samples but y has {len(y)}; they must have the same length.")
    if n == 0:
        raise ValueError(f"{cls}: found array with 0 sample(s); a minimum of 1 is required.")
    if not classifier and y.dtype.kind not in "biuf":
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            bad = next(v for v in y if not _is_number(v))
            raise ValueError(
                f"{cls} is a regressor: y must be numeric, but it holds {label_text(bad)} "
                f"({type(bad).__name__}). For class labels use a classifier."
            ) from None
    check_finite_target(y, X, cls)
    if not classifier:
        return y, None
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{cls} needs samples of at least 2 classes in y; got 1 class ({label_text(classes[0])})."
        )
    return y, classes


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def check_sample_weight(owner: Any, sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sw = np.asarray(to_host(sample_weight) if namespace_of(sample_weight) is not np else sample_weight, dtype=float)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"{type(owner).__name__}: sample_weight has shape {sw.shape}; expected ({n},).")
    return sw


def _pairs(estimators: Any) -> list[tuple[str, Any]]:
    """The well-formed (name, estimator) pairs, whatever ``estimators`` is (fit checks it)."""
    if not isinstance(estimators, (list, tuple)):
        return []
    return [tuple(i) for i in estimators if isinstance(i, (list, tuple)) and len(i) == 2 and isinstance(i[0], str)]


# ------------------------------------------------------------ the base
@dataclass
class FitInput:
    """What the fit preamble hands to a strategy."""

    X: Any
    y: np.ndarray
    classes: np.ndarray | None
    sample_weight: np.ndarray | None
    names_all: list
    ests_all: list
    live: list  # positions of the members that are not "drop"
    routed: dict
    cache: Any
    data_key: str | None

    @property
    def names(self) -> list:
        return [self.names_all[j] for j in self.live]

    @property
    def ests(self) -> list:
        return [self.ests_all[j] for j in self.live]


class _BaseFusion(MetaEstimatorMixin, BaseEstimator):
    """Fit preamble and predict-time table handling of every fusion estimator.

    Subclasses set ``_kind`` ("classifier" / "regressor") and
    ``_parameter_constraints``; the members and cache come from
    ``self._fusion()`` (``self``, or the searched estimator).
    """

    _kind = "classifier"
    _parameter_constraints: dict[str, Constraint] = {"n_jobs": N_JOBS}

    def _fusion(self) -> Any:
        return self

    def _validate_params(self) -> None:
        for name, (what, ok) in self._parameter_constraints.items():
            value = getattr(self, name)
            if not ok(value):
                raise ValueError(f"{type(self).__name__}: {name} must be {what}; got {value!r}.")

    def _prepare_fit(self, X: Any, y: Any, sample_weight: Any, fit_params: dict, *,
                     extra_routes: dict | None = None) -> FitInput:
        self._validate_params()
        X = as_table(X)
        fusion = self._fusion()
        classifier = self._kind == "classifier"
        names_all, ests_all = check_members(fusion, fusion.estimators, kind=self._kind)
        y, classes = check_target(self, X, y, classifier=classifier)
        validate_data(self, X, reset=True, skip_check_array=True)
        sample_weight = check_sample_weight(self, sample_weight, n_rows(X))
        routed = route_fit_params(fusion, names_all, ests_all, sample_weight, fit_params, extra=extra_routes)
        cache = resolve_member_cache(fusion.memory)
        live = [j for j, e in enumerate(ests_all) if not is_drop(e)]
        data_key = None if cache is None else fingerprint(X, y)
        return FitInput(X, y, classes, sample_weight, names_all, ests_all, live, routed, cache, data_key)

    def _set_fitted_members(self, fit: FitInput, fitted: list, keys: list) -> None:
        self.estimators_ = list(fitted)
        self.named_estimators_ = Bunch()
        it = iter(fitted)
        for n, e in zip(fit.names_all, fit.ests_all):
            self.named_estimators_[n] = "drop" if is_drop(e) else next(it)
        self._member_names = fit.names
        self._member_keys = list(keys)

    def _predict_table(self, X: Any) -> Any:
        """The table for prediction: columns selected by name, absent ones missing.

        At fit the columns are checked strictly; at predict a DataFrame's
        columns are taken by name, so their order does not matter, and a
        modality column that is absent means that modality is missing on
        every row.
        """
        check_is_fitted(self)
        X = as_table(X)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None and list(X.columns) != list(names):
            X = X.reindex(columns=list(names))
        validate_data(self, X, reset=False, skip_check_array=True)
        return X


class _MembersMixin:
    """Members exposed as parameters, metadata routed to them, shared input tags.

    get_params / set_params expose members by name (``audio__svc__C``); the
    members live in the ``estimators`` parameter, and replacing one
    (``set_params(audio=...)``) builds a new list, so the list passed by the
    user is never mutated.
    """

    def _routing_extra(self) -> dict | None:
        return None

    def get_metadata_routing(self) -> MetadataRouter:
        """Route ``fit`` metadata to each member (and a final estimator, if any).

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=self)
        for n, e in _pairs(self.estimators) + list((self._routing_extra() or {}).items()):
            if not is_drop(e):
                router.add(**{n: e}, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        return router

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        members = [e for _, e in _pairs(getattr(self, "estimators", None)) if not is_drop(e)]
        try:
            member_tags = [get_tags(e) for e in members]
        except Exception:  # members that are not estimators: fit will say so
            return tags
        if member_tags:
            tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in member_tags)
            tags.input_tags.sparse = all(t.input_tags.sparse for t in member_tags)
            tags.input_tags.string = any(t.input_tags.string for t in member_tags)
        return tags

    def get_params(self, deep: bool = True) -> dict:
        out = super().get_params(deep=deep)
        if not deep:
            return out
        for name, est in _pairs(getattr(self, "estimators", None)):
            out[name] = est
            if hasattr(est, "get_params"):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params: Any) -> Any:
        if "estimators" in params:
            self.estimators = params.pop("estimators")
        pairs = _pairs(getattr(self, "estimators", None))
        replace = {k: params.pop(k) for k in list(params) if k in dict(pairs)}
        if replace:
            self.estimators = [(n, replace.get(n, e)) for n, e in pairs]
        super().set_params(**params)
        return self
