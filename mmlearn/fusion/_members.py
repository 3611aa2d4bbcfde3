"""Fusion members: validation, routing, cached fitting and class-aligned outputs.

Shared by every estimator of :mod:`mmlearn.fusion`. A member is a
``(name, estimator)`` pair; ``estimator`` may be ``"drop"``. A member that
has a ``presence_mask(X)`` method (a :class:`~mmlearn.compose.Modality`) is
present on the rows that mask selects; any other member is present on every
row.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import get_config as sklearn_get_config
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import has_fit_parameter

from ..backend import namespace_of, resolve_device, to_host
from ._cache import fingerprint, hash_parts, member_key

_MAX_ROWS_SHOWN = 10
# candidates x rows x classes combined at once (bounds temporary memory)
_COMBINE_BLOCK = 1 << 22


# ------------------------------------------------------------------ rows
def n_rows(X: Any) -> int:
    """Number of samples of a table, array, sparse matrix or sequence."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    return len(X)


def as_table(X: Any) -> Any:
    """Leave DataFrames, arrays, sparse and GPU arrays as they are; make the rest an ndarray."""
    if X is None or isinstance(X, (pd.DataFrame, pd.Series)):
        return X
    if sp.issparse(X):
        # row selection needs a format that supports indexing
        return X if X.format in ("csr", "csc") else X.tocsr()
    if not isinstance(X, np.ndarray) and namespace_of(X) is np:
        try:
            X = np.asarray(X)
        except ValueError:  # ragged rows
            X = np.asarray(X, dtype=object)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D table (one row per sample), got an array of shape {X.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample; or pass a DataFrame."
        )
    return X


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a DataFrame / Series / ndarray / CuPy array / sparse matrix / list."""
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[idx]
    if sp.issparse(X):
        return X[idx]
    if namespace_of(X) is not np:
        return X[namespace_of(X).asarray(idx)]
    if isinstance(X, np.ndarray):
        return X[idx]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in idx]
    return np.asarray(X)[idx]


def label_text(value: Any) -> str:
    """A label as users wrote it: ``0`` or ``'cat'``, not ``np.int64(0)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def rows_text(rows: np.ndarray) -> str:
    """``sample 3`` or ``samples [3, 5, 9 and 12 more]`` (positions in X)."""
    rows = np.asarray(rows)
    if len(rows) == 1:
        return f"sample {int(rows[0])}"
    shown = ", ".join(str(int(r)) for r in rows[:_MAX_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_ROWS_SHOWN} more" if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"samples [{shown}{more}]"


# ------------------------------------------------------------ validation
def check_members(owner: Any, estimators: Any, *, kind: str | None) -> tuple[list[str], list[Any]]:
    """Validate ``estimators``; return names and estimators (``"drop"`` kept).

    ``kind`` is "classifier", "regressor" or None (no type check).
    """
    cls = type(owner).__name__
    if not isinstance(estimators, (list, tuple)) or len(estimators) == 0:
        raise ValueError(
            f"{cls}: estimators must be a non-empty list of (name, estimator) pairs; "
            f"got {estimators!r}."
        )
    names, ests = [], []
    for item in estimators:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str):
            raise ValueError(f"{cls}: each member must be a (name, estimator) pair; got {item!r}.")
        names.append(item[0])
        ests.append(item[1])
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{cls}: member names must be unique; repeated: {dup}.")
    params = set(owner.get_params(deep=False))
    for n in names:
        if "__" in n:
            raise ValueError(f"{cls}: member name {n!r} must not contain '__'.")
        if n in params:
            raise ValueError(f"{cls}: member name {n!r} conflicts with a constructor argument.")
    if all(e == "drop" for e in ests):
        raise ValueError(f"{cls}: all members are 'drop'; at least one is needed.")
    for n, e in zip(names, ests):
        if e == "drop":
            continue
        if not hasattr(e, "fit"):
            raise TypeError(f"{cls}: member {n!r} ({e!r}) has no fit method.")
        if kind == "classifier" and not is_classifier(e):
            raise ValueError(f"{cls}: member {n!r} ({type(e).__name__}) should be a classifier.")
        if kind == "regressor" and not is_regressor(e):
            raise ValueError(f"{cls}: member {n!r} ({type(e).__name__}) should be a regressor.")
    return names, ests


def check_weights(owner: Any, weights: Any, ests: Sequence[Any]) -> np.ndarray:
    """Weights as a float vector of len(estimators); dropped members get 0."""
    cls = type(owner).__name__
    m = len(ests)
    if weights is None:
        w = np.ones(m)
    else:
        try:
            w = np.asarray(weights, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{cls}: weights must be numbers; got {weights!r}.") from exc
        if w.ndim != 1 or len(w) != m:
            raise ValueError(
                f"{cls}: weights must have one entry per member (including 'drop' members): "
                f"got {w.size} weights for {m} members."
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"{cls}: weights must be finite and non-negative; got {w.tolist()}.")
    w = np.where([e == "drop" for e in ests], 0.0, w)
    if not np.any(w > 0):
        raise ValueError(
            f"{cls}: the weights of the members that are not 'drop' are all zero "
            f"({np.asarray(weights if weights is not None else w).tolist()}); at least one must be positive."
        )
    return w


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
        raise ValueError(
            f"{cls}: X has {n} samples but y has {len(y)}; they must have the same length."
        )
    if n == 0:
        raise ValueError(f"{cls}: found array with 0 sample(s); a minimum of 1 is required.")
    if not classifier:
        return y, None
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{cls} needs samples of at least 2 classes in y; got 1 class ({label_text(classes[0])})."
        )
    return y, classes


def check_sample_weight(owner: Any, sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sw = np.asarray(to_host(sample_weight) if namespace_of(sample_weight) is not np else sample_weight, dtype=float)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(
            f"{type(owner).__name__}: sample_weight has shape {sw.shape}; expected ({n},)."
        )
    return sw


# -------------------------------------------------------------- routing
def _sample_weight_key(est: Any) -> str | None:
    """How ``est.fit`` takes sample weights without metadata routing, if it does."""
    if has_fit_parameter(est, "sample_weight"):
        return "sample_weight"
    if hasattr(est, "presence_mask") and hasattr(est, "estimator"):
        # Modality passes fit params through to its estimator, row-restricted
        return _sample_weight_key(est.estimator)
    if isinstance(est, Pipeline) and est.steps:
        name, last = est.steps[-1]
        if last is None or last == "passthrough":
            return None
        inner = _sample_weight_key(last)
        return None if inner is None else f"{name}__{inner}"
    return None


def route_fit_params(
    owner: Any, names: Sequence[str], ests: Sequence[Any], sample_weight: Any, fit_params: dict
) -> dict[str, dict]:
    """Per-member fit metadata.

    With metadata routing enabled, sklearn's ``process_routing`` decides (the
    members request ``sample_weight`` with ``set_fit_request``). Without it,
    ``sample_weight`` goes to every member whose fit accepts it (also through
    a Modality or a Pipeline's last step); the others are named in a warning.
    """
    cls = type(owner).__name__
    if sklearn_get_config().get("enable_metadata_routing", False):
        if sample_weight is not None:
            fit_params = {**fit_params, "sample_weight": sample_weight}
        routed = process_routing(owner, "fit", **fit_params)
        return {n: dict(routed[n].fit) for n, e in zip(names, ests) if e != "drop"}
    if fit_params:
        raise ValueError(
            f"{cls}.fit got unexpected fit parameters {sorted(fit_params)}: without metadata "
            "routing only sample_weight is accepted. Enable routing with "
            "sklearn.set_config(enable_metadata_routing=True) to pass other metadata."
        )
    out: dict[str, dict] = {}
    ignored = []
    for n, e in zip(names, ests):
        if e == "drop":
            continue
        out[n] = {}
        if sample_weight is not None:
            key = _sample_weight_key(e)
            if key is None:
                ignored.append(n)
            else:
                out[n][key] = sample_weight
    if ignored:
        warnings.warn(
            f"{cls}: sample_weight was not passed to members {ignored}, whose fit does not "
            "accept it.",
            UserWarning,
            stacklevel=3,
        )
    return out


def routing_router(owner: Any, names: Sequence[str], ests: Sequence[Any], extra: dict | None = None):
    """MetadataRouter sending ``fit`` metadata to each member (as sklearn's voting)."""
    from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

    router = MetadataRouter(owner=owner)
    for n, e in zip(names, ests):
        if e == "drop":
            continue
        router.add(**{n: e}, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
    for n, e in (extra or {}).items():
        router.add(**{n: e}, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
    return router


# --------------------------------------------------------------- device
def _is_xgboost(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "xgboost" and hasattr(obj, "get_xgb_params")


def apply_device(est: Any) -> Any:
    """Give XGBoost models inside ``est`` (itself included) mmlearn's device.

    Only models whose ``device`` is unset (None) are changed; the device is
    :func:`mmlearn.backend.resolve_device` of the mmlearn configuration.
    """
    if not hasattr(est, "get_params"):
        return est
    found = [est] if _is_xgboost(est) else []
    found += [v for v in est.get_params(deep=True).values() if _is_xgboost(v)]
    todo = [o for o in found if o.get_params(deep=False).get("device") is None]
    if todo:
        device = resolve_device(None)
        for o in todo:
            o.set_params(device=device)
    return est


def _on_gpu_model(est: Any) -> bool:
    return _is_xgboost(est) and str(est.get_params(deep=False).get("device") or "cpu").startswith("cuda")


def device_input(est: Any, X: Any) -> Any:
    """Host arrays given to an XGBoost model on a GPU go to the GPU first.

    XGBoost would copy them itself, with a "mismatched devices" warning.
    """
    if _on_gpu_model(est) and isinstance(X, np.ndarray) and X.dtype != object:
        from ..backend import get_namespace

        return get_namespace("cuda").asarray(X)
    return X


# -------------------------------------------------------------- fitting
class FitTask:
    """One member to fit on one set of rows, with its cache key."""

    __slots__ = ("name", "estimator", "X", "y", "params", "key", "where")

    def __init__(self, name: str, estimator: Any, X: Any, y: Any, params: dict, key: str | None, where: str):
        self.name, self.estimator, self.X, self.y = name, estimator, X, y
        self.params, self.key, self.where = params, key, where


def make_task(name: str, est: Any, X: Any, y: Any, params: dict, data_key: str | None, where: str = "") -> FitTask:
    """Clone ``est``, set its device, and key it by params + data + metadata."""
    est = apply_device(clone(est))
    key = None
    if data_key is not None:
        mk = member_key(est)
        if mk is not None:
            try:
                key = hash_parts(mk, data_key, fingerprint(params) if params else None)
            except Exception:
                key = None
    return FitTask(name, est, X, y, params, key, where)


def _fit_one(task: FitTask) -> tuple[Any, float]:
    start = time.perf_counter()
    try:
        task.estimator.fit(device_input(task.estimator, task.X), task.y, **task.params)
    except Exception as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(f"(while fitting fusion member {task.name!r}{task.where})")
        raise
    return task.estimator, time.perf_counter() - start


def fit_tasks(tasks: Sequence[FitTask], cache: Any, n_jobs: Any) -> tuple[list[Any], list[float], int]:
    """Fit the tasks (cache hits are looked up, misses fitted in parallel).

    Returns the fitted estimators, the fit time of each (0 for hits) and
    the number of fits made.
    Lookups and stores happen in this process, so the in-process cache also
    learns the fits made by worker processes.
    """
    fitted: list[Any] = [None] * len(tasks)
    times = [0.0] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        hit = cache.get(t.key) if cache is not None else None
        if hit is not None:
            fitted[i] = hit
        else:
            todo.append(i)
    if todo:
        results = Parallel(n_jobs=n_jobs)(delayed(_fit_one)(tasks[i]) for i in todo)
        for i, (est, dt) in zip(todo, results):
            fitted[i] = est
            times[i] = dt
            if cache is not None:
                cache.put(tasks[i].key, est)
    return fitted, times, len(todo)


def data_key(cache: Any, *parts: Any) -> str | None:
    """Fingerprint of training data, computed only when a cache is in use."""
    return None if cache is None else fingerprint(*parts)


# -------------------------------------------------------------- outputs
def presence(est: Any, X: Any) -> np.ndarray | None:
    """Bool mask of rows where the member is present, or None for every row."""
    if not hasattr(est, "presence_mask"):
        return None
    mask = np.asarray(est.presence_mask(X), dtype=bool)
    return None if mask.all() else mask


def member_output(est: Any, X: Any, method: str, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Call ``method`` of a fitted member on the rows where it is present.

    Returns
    -------
    out : ndarray
        ``predict_proba`` / ``decision_function``: (n, n_classes) aligned with
        ``classes`` ((n, 1) for a two-class decision function); classes the
        member never saw get probability 0, and a decision score equal to the
        row's lowest score. ``predict`` of a classifier: class codes (n,),
        -1 where missing; of a regressor: floats (n,). Missing rows: NaN.
    present : ndarray of bool, shape (n,)
    """
    n = n_rows(X)
    mask = presence(est, X)
    present = np.ones(n, dtype=bool) if mask is None else mask
    rows = None if mask is None else np.flatnonzero(mask)
    Xp = X if rows is None else take_rows(X, rows)
    raw = None
    if rows is None or len(rows):
        raw = to_host(getattr(est, method)(device_input(est, Xp)))
    if method == "predict":
        if classes is None:
            out = np.full(n, np.nan)
            if raw is not None:
                out[present] = np.asarray(raw, dtype=float).ravel()
            return out, present
        out = np.full(n, -1, dtype=np.intp)
        if raw is not None:
            out[present] = encode_labels(np.asarray(raw).ravel(), classes)
        return out, present
    k = len(classes)
    width = 1 if (method == "decision_function" and k == 2) else k
    out = np.full((n, width), np.nan)
    if raw is None:
        return out, present
    out[present] = _align(np.asarray(raw, dtype=float), np.asarray(est.classes_), classes, method)
    return out, present


def encode_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    codes = np.searchsorted(classes, labels)
    codes = np.clip(codes, 0, len(classes) - 1)
    bad = classes[codes] != labels
    if np.any(bad):
        raise ValueError(f"a member predicted labels {np.unique(labels[bad]).tolist()} not among the classes.")
    return codes


def _align(raw: np.ndarray, est_classes: np.ndarray, classes: np.ndarray, method: str) -> np.ndarray:
    k = len(classes)
    if method == "decision_function":
        if raw.ndim == 1:
            raw = raw[:, None]
        if k == 2:
            if len(est_classes) == 2:
                return raw[:, -1:] if raw.shape[1] > 1 else raw
            raise ValueError("a member saw a single class; it cannot score two.")
        if raw.shape[1] == 1 and len(est_classes) == 2:
            raw = np.column_stack([-raw[:, 0], raw[:, 0]])
        if raw.shape[1] == k and np.array_equal(est_classes, classes) and np.isfinite(raw).all():
            return raw
        cols = _column_positions(est_classes, classes, raw.shape[1])
        block = np.full((len(raw), k), np.nan)
        block[:, cols] = raw
        block[~np.isfinite(block)] = np.nan  # -inf marks a class the member never saw
        low = np.nanmin(np.where(np.isnan(block), np.inf, block), axis=1, keepdims=True)
        low = np.where(np.isfinite(low), low, 0.0)
        return np.where(np.isnan(block), low, block)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.shape[1] == k and np.array_equal(est_classes, classes):
        return raw
    cols = _column_positions(est_classes, classes, raw.shape[1])
    block = np.zeros((len(raw), k))
    block[:, cols] = raw
    return block


def _column_positions(est_classes: np.ndarray, classes: np.ndarray, width: int) -> np.ndarray:
    if len(est_classes) != width:
        raise ValueError(f"a member returned {width} columns for {len(est_classes)} classes.")
    pos = np.searchsorted(classes, est_classes)
    pos = np.clip(pos, 0, len(classes) - 1)
    if np.any(classes[pos] != est_classes):
        raise ValueError(
            f"a member knows classes {est_classes.tolist()} that are not all among {classes.tolist()}."
        )
    return pos


def collect_outputs(
    ests: Sequence[Any], X: Any, method: str | Sequence[str], classes: np.ndarray | None, n_jobs: Any
) -> tuple[list[np.ndarray], np.ndarray]:
    """Outputs of fitted members on X (in parallel) and the (m, n) presence matrix."""
    methods = [method] * len(ests) if isinstance(method, str) else list(method)
    res = Parallel(n_jobs=n_jobs)(
        delayed(member_output)(e, X, meth, classes) for e, meth in zip(ests, methods)
    )
    outs = [r[0] for r in res]
    present = np.vstack([r[1] for r in res]) if res else np.zeros((0, n_rows(X)), dtype=bool)
    return outs, present


def one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(codes), k))
    ok = codes >= 0
    out[np.flatnonzero(ok), codes[ok]] = 1.0
    return out


# ------------------------------------------------------------- combining
def combine(outputs: np.ndarray, present: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of member outputs over the present members.

    Parameters
    ----------
    outputs : ndarray of shape (n_members, n_samples, n_outputs)
        NaN (or anything) where a member is absent.
    present : ndarray of bool, shape (n_members, n_samples)
    weights : ndarray of shape (n_candidates, n_members)

    Returns
    -------
    num : ndarray of shape (n_candidates, n_samples, n_outputs)
        Sum over present members of weight * output, accumulated member by
        member in order: on complete data that is the same floating-point
        sum as :func:`numpy.average` over the members (sklearn's voting).
    den : ndarray of shape (n_candidates, n_samples)
        Sum of the weights of the present members.
    """
    m, n, k = outputs.shape
    c = weights.shape[0]
    num = np.zeros((c, n, k))
    den = np.zeros((c, n))
    for j in range(m):
        wj = weights[:, j]
        if not np.any(wj):
            continue
        pres = present[j]
        oj = outputs[j] if pres.all() else np.where(pres[:, None], outputs[j], 0.0)
        num += wj[:, None, None] * oj[None]
        den += wj[:, None] * pres[None].astype(float)
    return num, den


def candidate_blocks(n_candidates: int, n: int, k: int) -> list[slice]:
    size = max(1, _COMBINE_BLOCK // max(1, n * k))
    return [slice(s, min(s + size, n_candidates)) for s in range(0, n_candidates, size)]


def no_member_rows(present: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with no member present, and rows whose present members all weigh 0."""
    any_present = present.any(axis=0)
    weighted = (weights[:, None] > 0) & present
    return np.flatnonzero(~any_present), np.flatnonzero(any_present & ~weighted.any(axis=0))


def raise_for_uncovered(owner: Any, present: np.ndarray, weights: np.ndarray, names: Sequence[str]) -> None:
    """Clear error for rows that no weighted member can predict."""
    cls = type(owner).__name__
    none, zero = no_member_rows(present, weights)
    if len(none):
        raise ValueError(
            f"{cls}: {rows_text(none)} {'has' if len(none) == 1 else 'have'} every modality "
            f"missing: none of the members {list(names)} is present, so there is nothing "
            "to fuse. Drop such rows or add a member that covers them."
        )
    if len(zero):
        raise ValueError(
            f"{cls}: {rows_text(zero)} only {'has' if len(zero) == 1 else 'have'} modalities "
            "whose members have weight 0, so no weighted member can predict "
            f"{'it' if len(zero) == 1 else 'them'}."
        )


# ------------------------------------------------------ scoring helpers
class PrecomputedClassifier(ClassifierMixin, BaseEstimator):
    """Classifier that returns stored outputs for rows given by index (for scorers).

    ``X`` passed to its methods is a column of row indices into the stored
    arrays. Used to score fused outputs with any sklearn scorer without
    refitting anything.
    """

    def __init__(self, classes: Any = None, proba: Any = None, codes: Any = None):
        self.classes = classes
        self.proba = proba
        self.codes = codes

    def fit(self, X: Any, y: Any = None) -> "PrecomputedClassifier":
        self.classes_ = np.asarray(self.classes)
        return self

    def _idx(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.intp).reshape(-1)

    def predict(self, X: Any) -> np.ndarray:
        i = self._idx(X)
        if self.codes is not None:
            return self.classes_[np.asarray(self.codes)[i]]
        return self.classes_[np.argmax(np.asarray(self.proba)[i], axis=1)]

    @available_if(lambda self: self.proba is not None)
    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.proba)[self._idx(X)]


class PrecomputedRegressor(RegressorMixin, BaseEstimator):
    """Regressor that returns stored predictions for rows given by index."""

    def __init__(self, pred: Any = None):
        self.pred = pred

    def fit(self, X: Any, y: Any = None) -> "PrecomputedRegressor":
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.pred)[np.asarray(X, dtype=np.intp).reshape(-1)]



# ------------------------------------------------------------ parameters
class MembersParamsMixin:
    """What every fusion estimator over ``(name, estimator)`` members shares.

    get_params / set_params expose members by name (``audio__svc__C``); the
    members live in the ``estimators`` parameter, and replacing one
    (``set_params(audio=...)``) builds a new list, so the list passed by the
    user is never mutated. Metadata routing sends fit metadata to each
    member (plus ``_routing_extra()``), and the input tags are those that
    all members share.
    """

    def _routing_extra(self) -> dict | None:
        return None

    def get_metadata_routing(self):
        """Route ``fit`` metadata to each member (and a final estimator, if any).

        Returns
        -------
        routing : MetadataRouter
        """
        names = [item[0] for item in self.estimators]
        ests = [item[1] for item in self.estimators]
        return routing_router(self, names, ests, extra=self._routing_extra())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        members = [e for _, e in getattr(self, "estimators", []) if e != "drop"]
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
        estimators = getattr(self, "estimators", None)
        if not isinstance(estimators, (list, tuple)):
            return out
        for item in estimators:
            if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)):
                continue
            name, est = item
            out[name] = est
            if hasattr(est, "get_params"):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params: Any) -> Any:
        if "estimators" in params:
            self.estimators = params.pop("estimators")
        estimators = getattr(self, "estimators", None)
        if isinstance(estimators, (list, tuple)):
            names = [item[0] for item in estimators if isinstance(item, (list, tuple)) and len(item) == 2]
            replace = {k: params.pop(k) for k in list(params) if k in names}
            if replace:
                self.estimators = [
                    (n, replace[n]) if n in replace else (n, e) for n, e in estimators
                ]
        super().set_params(**params)
        return self
