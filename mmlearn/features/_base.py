"""Shared machinery of the stateless, batched feature extractors."""

from __future__ import annotations

import numbers
import os
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.parallel import Parallel, delayed

from ..backend import get_namespace, to_host
from .._caching import resolve_feature_memo, sample_key
from .._progress import progress_bar, progress_enabled
from ..io import _resolve_path

# Parameters that change how features are computed, not what they are.
# (base_dir changes which file a relative path names; the memo keys a file by
# its path resolved against base_dir, with its size and mtime, not by the
# parameter.)
_EXECUTION_PARAMS = frozenset({"batch_size", "n_jobs", "memory", "device", "base_dir"})

# The progress rule of the extractors: a call shows a bar (when
# mmlearn.set_config(progress=...) allows it) only if it has at least this
# many samples to compute (memo hits do not count), so that the small
# transforms of cross-validation folds and of predict stay silent and pay
# nothing. Extractors whose samples cost much more (a pretrained network)
# pass a lower threshold.
_PROGRESS_MIN_SAMPLES = 1000


def _no_progress(n: int = 1) -> None:
    pass


@contextmanager
def _extraction_progress(
    total: int, n_samples: int, desc: str, *, min_samples: int = _PROGRESS_MIN_SAMPLES
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)`` for a bar of ``total`` steps over ``n_samples`` samples.

    A no-op (no bar created, no setting read) when there are fewer than
    ``min_samples`` samples or fewer than two steps; otherwise a bar of
    :func:`mmlearn._progress.progress_bar`, which obeys the progress setting.
    """
    if n_samples < min_samples or total < 2 or not progress_enabled():
        yield _no_progress
        return
    with progress_bar(total=total, desc=desc) as bar:
        yield bar.update


def _load_each(
    load: Callable[[Any, int], Any], samples: list, desc: str, *,
    min_samples: int = _PROGRESS_MIN_SAMPLES,
) -> list:
    """``[load(sample, i) for i, sample in enumerate(samples)]``, with a loading bar."""
    out = []
    with _extraction_progress(len(samples), len(samples), desc, min_samples=min_samples) as advance:
        for i, sample in enumerate(samples):
            out.append(load(sample, i))
            advance(1)
    return out


def _check_int(name: str, value: Any, minimum: int) -> int:
    """``int(value)``, or a ValueError unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _is_missing(value: Any) -> bool:
    """True for a missing scalar: None, NaN, ``pd.NA`` or ``pd.NaT``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _check_present(samples: list, owner: str | None) -> list:
    """Raise a ValueError naming the first missing sample, else return ``samples``."""
    for i, value in enumerate(samples):
        if _is_missing(value):
            who = owner or "this extractor"
            exc = ValueError(
                f"sample {i} is missing ({value!r}); {who} needs every sample. Drop the "
                "missing rows, or wrap the extractor in mmlearn.compose.Modality(column, "
                "...), which leaves rows with a missing modality out (and fusion skips them)."
            )
            exc.sample_index = i
            raise exc
    return samples


def _as_sample_list(X: Any, owner: str | None = None) -> list:
    """Return the samples of ``X`` as a list, one entry per sample.

    Accepts a list or tuple, a 1-D object array, a pandas Series, a
    one-column DataFrame, or a numeric array with one sample per entry of
    its first axis (clips as rows, an ``(n, H, W)`` image stack). A missing
    sample (None, NaN, ``pd.NA``) is an error naming it; ``owner`` (a class
    name) is used in that message.
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            "Expected a sequence of samples (a list, Series or array), got a single "
            f"{type(X).__name__}; wrap it in a list: [{X!r}]."
        )
    if sp.issparse(X):
        raise TypeError(
            "Sparse input is not supported: pass a sequence of samples (a list, Series, "
            "or an array with one sample per row)."
        )
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"Expected a single column of samples, got a DataFrame with {X.shape[1]} "
                "columns; select one column, or wrap the extractor in "
                "mmlearn.compose.Modality(column, extractor)."
            )
        X = X.iloc[:, 0]
    if isinstance(X, pd.Series):
        return _check_present(list(X.to_numpy(dtype=object)), owner)
    if isinstance(X, np.ndarray):
        if X.dtype == object:
            if X.ndim == 2 and X.shape[1] == 1:
                return _check_present(list(X[:, 0]), owner)
            if X.ndim != 1:
                raise ValueError(
                    f"Expected a 1-D object array of samples, got shape {X.shape}."
                )
            return _check_present(list(X), owner)
        if X.ndim < 2:
            raise ValueError(
                f"A {X.ndim}-D numeric array is ambiguous (one sample, or one value per "
                "sample?). Reshape your data to one sample per row (shape (n_clips, "
                "n_samples) or (n_images, height, width); X.reshape(1, -1) for a single "
                "clip), or pass a list of samples."
            )
        return list(X)
    try:
        samples = list(X)
    except TypeError:
        if hasattr(X, "__array__"):  # an array-like that does not iterate
            return _as_sample_list(np.asarray(X), owner)
        raise TypeError(
            f"Expected a sequence of samples, got {type(X).__name__}."
        ) from None
    return _check_present(samples, owner)


class _BatchFeatureExtractor(TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """Base of stateless per-sample extractors (MFCC, HOG).

    Subclasses define ``__init__`` (with ``batch_size``, ``n_jobs``,
    ``memory`` and ``device`` among the parameters) and implement
    ``_load(sample, index)``, ``_check_params()``,
    ``_extract_batch(batch, xp)`` and ``get_feature_names_out``; optionally
    ``_batch_sort_key(sample)`` to group samples of similar size.

    Progress: a call with at least ``_PROGRESS_MIN_SAMPLES`` samples to
    compute shows two bars, over loading (samples) and over extraction
    (batches), when the progress setting allows it.
    """

    # Bump in a subclass when its kernel's output changes, so on-disk memos
    # computed by an older version are not reused.
    _memo_version = 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- hooks (every subclass implements these) ----------------------------
    @abstractmethod
    def _load(self, sample: Any, index: int) -> np.ndarray:
        """Load and check one sample (host memory), naming it in errors."""

    @abstractmethod
    def _check_params(self) -> None:
        """Raise ValueError for invalid parameters."""

    @abstractmethod
    def _extract_batch(self, batch: list[np.ndarray], xp: ModuleType) -> Any:
        """Call the kernel once on ``batch``; return (len(batch), n_features) in ``xp``."""

    _batch_sort_key = None

    # -- public API ---------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "_BatchFeatureExtractor":
        """Check the parameters and the container of ``X``; learn nothing.

        Parameters
        ----------
        X : sequence of samples
            As accepted by :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The extractor.
        """
        self._check_common_params()
        self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        if not samples:
            raise ValueError(f"{type(self).__name__} got 0 samples; at least 1 is required.")
        self.n_samples_seen_ = len(samples)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Extract one fixed-length feature row per sample.

        Parameters
        ----------
        X : sequence of samples
            A list, 1-D object array, pandas Series or one-column DataFrame
            of arrays or file paths, or a numeric array with one sample per
            entry of its first axis.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), dtype float32
            In host memory, whatever ``device`` the kernel ran on.
        """
        self._check_common_params()
        self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        n = len(samples)
        if n == 0:
            raise ValueError(f"{type(self).__name__} got 0 samples; at least 1 is required.")
        memo = resolve_feature_memo(self.memory)
        rows: list[np.ndarray | None] = [None] * n
        if memo is not None:
            namespace = self._memo_namespace()
            base_dir = getattr(self, "base_dir", None)
            keys = [
                sample_key(_resolve_path(s, base_dir) if isinstance(s, (str, os.PathLike)) else s)
                for s in samples
            ]
            rows = memo.get_many(namespace, keys)
        todo = [i for i, r in enumerate(rows) if r is None]
        if todo:
            computed = self._compute(samples, todo)
            for i, row in zip(todo, computed):
                rows[i] = row
            if memo is not None:
                memo.put_many(namespace, [keys[i] for i in todo], computed)
        return np.stack(rows).astype(np.float32, copy=False)

    # -- machinery ----------------------------------------------------------
    def _check_common_params(self) -> None:
        bs = self.batch_size
        if not isinstance(bs, (int, np.integer)) or isinstance(bs, bool) or bs < 1:
            raise ValueError(f"batch_size must be a positive integer, got {bs!r}.")
        resolve_feature_memo(self.memory)

    def _memo_namespace(self) -> str:
        params = {
            k: v for k, v in self.get_params(deep=False).items() if k not in _EXECUTION_PARAMS
        }
        cls = type(self)
        token = joblib.hash((cls.__module__, cls.__qualname__, self._memo_version, params))
        return f"{cls.__name__}-{token}"

    def _compute(self, samples: list, todo: list[int]) -> np.ndarray:
        """Load and extract the samples at positions ``todo``, batched."""
        n_jobs = self.n_jobs
        parallel = n_jobs not in (None, 1) and len(todo) > 1
        name = type(self).__name__
        with _extraction_progress(len(todo), len(todo), f"{name} loading") as advance:
            if parallel:
                # a generator, so the bar moves as samples arrive (in order)
                results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                    delayed(self._load_tagged)(samples[i], i) for i in todo
                )
            else:
                results = (self._load_tagged(samples[i], i) for i in todo)
            loaded = []
            for item in results:
                loaded.append(item)
                advance(1)
        order = np.arange(len(todo))
        if self._batch_sort_key is not None:
            order = np.argsort([self._batch_sort_key(s) for s in loaded], kind="stable")
        bs = int(self.batch_size)
        batches = [order[k : k + bs] for k in range(0, len(order), bs)]
        xp = get_namespace(self.device)
        jobs = [([loaded[j] for j in b], [todo[j] for j in b]) for b in batches]
        with _extraction_progress(len(batches), len(todo), f"{name} batches") as advance:
            if parallel and len(batches) > 1:
                results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                    delayed(self._run_batch_named)(batch, where, xp) for batch, where in jobs
                )
            else:
                results = (self._run_batch_named(batch, where, xp) for batch, where in jobs)
            result = None
            for b, out in zip(batches, results):
                if result is None:
                    result = np.empty((len(todo), out.shape[1]), dtype=np.float32)
                result[b] = out
                advance(1)
        return result

    def _load_tagged(self, sample: Any, index: int) -> np.ndarray:
        # The sample's position travels with the error, so that a caller that
        # knows the user's rows (Modality) can name the row instead.
        try:
            return self._load(sample, index)
        except Exception as exc:
            if getattr(exc, "sample_index", None) is None:
                exc.sample_index = index
            raise

    def _run_batch_named(
        self, batch: list[np.ndarray], where: list[int], xp: ModuleType
    ) -> np.ndarray:
        # A kernel names a bad sample by its position in the batch
        # (exc.batch_position, exc.reason); restate it as the user's sample.
        try:
            return to_host(self._extract_batch(batch, xp)).astype(np.float32, copy=False)
        except ValueError as exc:
            pos = getattr(exc, "batch_position", None)
            if pos is None:
                raise
            err = ValueError(f"sample {where[pos]}: {exc.reason}")
            err.sample_index = where[pos]
            raise err from None
