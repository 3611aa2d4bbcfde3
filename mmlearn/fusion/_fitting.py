"""Fitting members: fit metadata per member, clones on mmlearn's device, the opt-in member cache."""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Sequence

import numpy as np
from sklearn import get_config as sklearn_get_config
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import has_fit_parameter

from .._caching import estimator_key, fingerprint, hash_parts
from .._tables import restate_row
from ..backend import get_namespace, resolve_device


# -------------------------------------------------------------- routing
def sample_weight_key(est: Any) -> str | None:
    """How ``est.fit`` takes sample weights without metadata routing, if it does."""
    if has_fit_parameter(est, "sample_weight"):
        return "sample_weight"
    if hasattr(est, "presence_mask") and hasattr(est, "estimator"):
        # Modality passes fit params through to its estimator, row-restricted
        return sample_weight_key(est.estimator)
    if isinstance(est, Pipeline) and est.steps:
        name, last = est.steps[-1]
        if last is None or last == "passthrough":
            return None
        inner = sample_weight_key(last)
        return None if inner is None else f"{name}__{inner}"
    return None


def is_drop(e: Any) -> bool:
    """Whether a member is the ``"drop"`` placeholder (as in sklearn's Voting estimators)."""
    return isinstance(e, str) and e == "drop"


def route_fit_params(owner: Any, names: Sequence[str], ests: Sequence[Any], sample_weight: Any,
                     fit_params: dict, *, extra: dict | None = None) -> dict[str, dict]:
    """Fit metadata per member (and per ``extra`` estimator, such as a final estimator).

    With metadata routing enabled, sklearn's ``process_routing`` decides (the
    members request ``sample_weight`` with ``set_fit_request``). Without it,
    ``sample_weight`` goes to every estimator whose fit accepts it (also
    through a Modality or a Pipeline's last step); members that cannot take
    it are named in a warning.
    """
    cls = type(owner).__name__
    targets = [(n, e) for n, e in zip(names, ests) if not is_drop(e)] + list((extra or {}).items())
    if sklearn_get_config().get("enable_metadata_routing", False):
        if sample_weight is not None:
            fit_params = {**fit_params, "sample_weight": sample_weight}
        routed = process_routing(owner, "fit", **fit_params)
        return {n: dict(routed[n].fit) for n, _ in targets}
    if fit_params:
        raise ValueError(
            f"{cls}.fit got unexpected fit parameters {sorted(fit_params)}: without metadata "
            "routing only sample_weight is accepted. Enable routing with "
            "sklearn.set_config(enable_metadata_routing=True) to pass other metadata."
        )
    out: dict[str, dict] = {}
    ignored = []
    for n, e in targets:
        out[n] = {}
        if sample_weight is not None:
            key = sample_weight_key(e)
            if key is not None:
                out[n][key] = sample_weight
            elif n in names:
                ignored.append(n)
    if ignored:
        warnings.warn(
            f"{cls}: sample_weight was not passed to members {ignored}, whose fit does not accept it.",
            UserWarning,
            stacklevel=3,
        )
    return out


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


def device_input(est: Any, X: Any) -> Any:
    """Host arrays given to an XGBoost model on a GPU go to the GPU first.

    XGBoost would copy them itself, with a "mismatched devices" warning.
    """
    on_gpu = _is_xgboost(est) and str(est.get_params(deep=False).get("device") or "cpu").startswith("cuda")
    if on_gpu and isinstance(X, np.ndarray) and X.dtype != object:
        return get_namespace("cuda").asarray(X)
    return X


# -------------------------------------------------------------- fitting
class FitTask:
    """One member to fit on one set of rows, with its cache key (None: not cacheable)."""

    __slots__ = ("name", "estimator", "X", "y", "params", "key", "where", "rows")

    def __init__(self, name: str, estimator: Any, X: Any, y: Any, params: dict, key: str | None, where: str,
                 rows: tuple[np.ndarray, int] | None = None):
        self.name, self.estimator, self.X, self.y = name, estimator, X, y
        self.params, self.key, self.where, self.rows = params, key, where, rows


def make_task(name: str, est: Any, X: Any, y: Any, params: dict, data_key: str | None, where: str = "",
              rows: tuple[np.ndarray, int] | None = None) -> FitTask:
    """Clone ``est``, set its device, and key it by params + data + metadata.

    ``rows``: ``(positions, n)`` when X is a subset (a cv fold's training
    part) of a table of ``n`` rows; an error about one of its rows is
    restated with the row's position in that table.
    """
    est = apply_device(clone(est))
    key = None
    if data_key is not None:
        mk = estimator_key(est)
        if mk is not None:
            try:
                key = hash_parts("member", mk, data_key, fingerprint(params) if params else None)
            except Exception:
                key = None
    return FitTask(name, est, X, y, params, key, where, rows)


def _fit_one(task: FitTask) -> tuple[Any, float]:
    start = time.perf_counter()
    try:
        task.estimator.fit(device_input(task.estimator, task.X), task.y, **task.params)
    except Exception as exc:
        if task.rows is not None:
            restate_row(exc, *task.rows)
        exc.add_note(f"(while fitting fusion member {task.name!r}{task.where})")
        raise
    return task.estimator, time.perf_counter() - start


def fit_tasks(tasks: Sequence[FitTask], cache: Any, n_jobs: Any, *,
              advance: Callable[[int], Any] | None = None) -> tuple[list[Any], list[float], int]:
    """Fit the tasks (cache hits are looked up, misses fitted in parallel).

    Returns the fitted estimators, the fit time of each (0 for hits) and
    the number of fits made. Hits are copies: no two callers share a
    fitted object. ``advance(n)``, when given, is called as tasks are done
    (hits at once, fits as they finish, in order): a progress bar's update.
    """
    fitted: list[Any] = [None] * len(tasks)
    times = [0.0] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        hit = cache.get(t.key) if cache is not None and t.key is not None else None
        if hit is not None:
            fitted[i] = hit
        else:
            todo.append(i)
    if advance is not None and len(todo) < len(tasks):
        advance(len(tasks) - len(todo))
    if todo:
        results = Parallel(n_jobs=n_jobs, return_as="generator" if advance else "list")(
            delayed(_fit_one)(tasks[i]) for i in todo
        )
        for i, (est, dt) in zip(todo, results):
            fitted[i] = est
            times[i] = dt
            if cache is not None and tasks[i].key is not None:
                cache.put(tasks[i].key, est)
            if advance is not None:
                advance(1)
    return fitted, times, len(todo)
