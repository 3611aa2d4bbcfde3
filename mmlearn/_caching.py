"""One opt-in cache design for mmlearn: keys and stores (DESIGN mechanisms 3, 4).

Two things are cached, always because the user passed a store:

* fitted fusion members (and their outputs on a given table), keyed by the
  member's class and parameters, a fingerprint of the data and the fit
  metadata: :class:`FittedMemberCache`, or a ``joblib.Memory`` / directory;
* per-sample feature rows of stateless extractors, keyed by the extractor's
  parameters and the sample's bytes: :class:`FeatureMemo`.

``memory=None`` means no cache, everywhere. There is no process-wide store.
Stores hand out copies, so two estimators never share a fitted object, and a
member whose randomness is not fixed (``random_state=None``) gets no key, so
it is refitted every time.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import pickle
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Hashable, Iterator

import joblib
import numpy as np
import pandas as pd

__all__ = ["FeatureMemo", "FittedMemberCache"]

# splitmix64 constants: a cheap, well-mixed index -> 64-bit key stream that
# is computed on the device the data lives on.
_SM_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SM_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_SM_MUL2 = np.uint64(0x94D049BB133111EB)
_SM_OFFSET = np.uint64(0x5851F42D4C957F2D)
_MASK64 = (1 << 64) - 1
_DEVICE_BLOCK = 1 << 22  # words hashed per block (bounds temporary memory)


# =================================================================== stores
class _Store:
    """Thread-safe LRU store; clones share it, pickling drops the entries.

    :func:`copy.deepcopy` (and so :func:`sklearn.base.clone`) returns the
    same object, which is how the clones made by ``GridSearchCV`` reach one
    store; ``hits`` and ``misses`` count lookups.
    """

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __deepcopy__(self, memo: dict) -> "_Store":
        return self

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_entries"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def _lookup(self, key: Hashable) -> Any:
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
            self._entries.move_to_end(key)
        return value

    def _insert(self, key: Hashable, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > max(int(self.max_entries), 0):
            self._entries.popitem(last=False)


class FittedMemberCache(_Store):
    """In-process store of fitted fusion members and of their outputs.

    Pass one as the ``memory`` of a fusion estimator. A fitted member is
    stored under a key made of (a) the member's class and parameters,
    (b) a fingerprint of the training rows and targets and (c) the fit
    metadata routed to it; a member's outputs on a table are stored under
    the fitted member's key, the method and the table's fingerprint.

    Parameters
    ----------
    max_entries : int, default=256
        Least recently used entries beyond this many are evicted.

    Attributes
    ----------
    hits : int
        Lookups served from the cache.
    misses : int
        Lookups that found nothing.

    See Also
    --------
    mmlearn.fusion.VotingFusionClassifier : Uses it through ``memory``.
    FeatureMemo : The per-sample feature store.

    Notes
    -----
    Entries are stored pickled and every lookup returns a new copy, so two
    estimators never share a fitted member. A member with an unfixed
    ``random_state`` (None or a ``RandomState``) anywhere in its parameters,
    or with parameters that cannot be hashed, is never cached: it is
    refitted, so each fit is a fresh draw. Clones share the cache (as the
    clones made by ``GridSearchCV`` must); pickling keeps the settings and
    drops the entries.

    Examples
    --------
    >>> from mmlearn.fusion import FittedMemberCache
    >>> cache = FittedMemberCache(max_entries=8)
    >>> cache.get("k") is None
    True
    >>> cache.put("k", {"a": 1})
    >>> cache.get("k"), cache.hits, cache.misses
    ({'a': 1}, 1, 1)
    """

    def __init__(self, max_entries: int = 256):
        super().__init__(max_entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_entries={self.max_entries})"

    def get(self, key: str | None) -> Any:
        """Return a copy of the object stored under ``key``, or None."""
        if key is None:
            return None
        with self._lock:
            blob = self._lookup(key)
        return None if blob is None else pickle.loads(blob)

    def put(self, key: str | None, obj: Any) -> None:
        """Store a copy of ``obj`` under ``key`` (no-op for a None key)."""
        if key is None:
            return
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._insert(key, blob)


def _stored(key: str, obj: Any) -> Any:
    return obj


class _DiskCache:
    """A :class:`joblib.Memory` with the get / put interface (pickles: copies)."""

    def __init__(self, memory: joblib.Memory):
        self.memory = memory
        self._func = memory.cache(_stored, ignore=["obj"])

    def get(self, key: str | None) -> Any:
        if key is None or not self._func.check_call_in_cache(key, None):
            return None
        return self._func(key, None)

    def put(self, key: str | None, obj: Any) -> None:
        if key is not None:
            self._func.call(key, obj)  # (re)writes, also over an unreadable entry


def resolve_member_cache(memory: Any) -> Any:
    """Map a fusion estimator's ``memory`` parameter to a store, or None (off)."""
    if memory is None or memory is False:
        return None
    if isinstance(memory, FittedMemberCache):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        return _DiskCache(joblib.Memory(location=os.fspath(memory), verbose=0))
    if isinstance(memory, joblib.Memory):
        return None if memory.location is None else _DiskCache(memory)
    raise ValueError(
        "memory must be None (no cache), a FittedMemberCache, a joblib.Memory or a "
        f"directory path; got {type(memory).__name__}."
    )


class FeatureMemo(_Store):
    """In-process (optionally on-disk) store of per-sample feature rows.

    Stateless extractors such as :class:`~mmlearn.features.MFCCFeatures` and
    :class:`~mmlearn.features.HOGFeatures` are pure functions of one sample,
    so a sample's row can be reused across cross-validation folds and grid
    points. Pass one ``FeatureMemo`` as the extractor's ``memory`` parameter
    (clones of the extractor, as made by ``GridSearchCV``, share it), or as
    ``memory`` of :func:`mmlearn.model_selection.evaluate`.

    Parameters
    ----------
    max_entries : int, default=1_000_000
        Least recently used rows beyond this many are evicted.
    location : str or path-like, default=None
        If given, rows are also written to ``location`` as ``.npy`` files,
        so they survive the process and are shared between worker processes.

    Attributes
    ----------
    hits : int
        Rows served from the memo.
    misses : int
        Rows that had to be computed.

    Notes
    -----
    A sample's key is a hash of its bytes, dtype and shape (arrays), or of
    its path, size and modification time (files), combined with the
    extractor's class and the parameters that change its output. Clones
    share the memo; pickling keeps the location but drops in-memory rows.

    Examples
    --------
    >>> from mmlearn.features import FeatureMemo
    >>> memo = FeatureMemo()
    >>> memo.get_many("k", ["a"])
    [None]
    >>> memo.put_many("k", ["a"], [[1.0, 2.0]])
    >>> memo.get_many("k", ["a"])[0]
    array([1., 2.])
    """

    def __init__(self, max_entries: int = 1_000_000, location: str | os.PathLike | None = None):
        super().__init__(max_entries)
        self.location = None if location is None else str(location)

    def __repr__(self) -> str:
        loc = "" if self.location is None else f", location={self.location!r}"
        return f"FeatureMemo(entries={len(self)}{loc})"

    def _path(self, namespace: str, key: str) -> Path:
        return Path(self.location, "mmlearn-features", namespace, key[:2], key + ".npy")

    def get_many(self, namespace: str, keys: list[str]) -> list[np.ndarray | None]:
        """Return the stored row for each key, or None where there is none."""
        out: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                if (namespace, key) not in self._entries and self.location is not None:
                    row = self._load(namespace, key)
                    if row is not None:
                        self._insert((namespace, key), row)
                row = self._lookup((namespace, key))
                out.append(None if row is None else row.copy())
        return out

    def _load(self, namespace: str, key: str) -> np.ndarray | None:
        path = self._path(namespace, key)
        if not path.exists():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None  # a torn write: recompute

    def put_many(self, namespace: str, keys: list[str], rows: Any) -> None:
        """Store one row per key."""
        with self._lock:
            for key, row in zip(keys, rows):
                row = np.array(row, copy=True)
                self._insert((namespace, key), row)
                if self.location is not None:
                    path = self._path(namespace, key)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                    with open(tmp, "wb") as fh:
                        np.save(fh, row)
                    os.replace(tmp, path)


_ACTIVE_MEMO: contextvars.ContextVar = contextvars.ContextVar("mmlearn_feature_memo", default=None)


@contextmanager
def using_feature_memo(memo: Any) -> Iterator[None]:
    """Give extractors whose ``memory`` is None this memo, inside the block.

    What :func:`mmlearn.model_selection.evaluate` does with its ``memory``
    argument, so the user's estimator is neither edited nor cloned for it.
    """
    token = _ACTIVE_MEMO.set(resolve_feature_memo(memory=memo))
    try:
        yield
    finally:
        _ACTIVE_MEMO.reset(token)


def resolve_feature_memo(memory: Any) -> FeatureMemo | None:
    """An extractor's ``memory`` as a FeatureMemo; None is the active memo, if any."""
    if memory is None:
        return _ACTIVE_MEMO.get()
    if isinstance(memory, FeatureMemo):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        return _disk_memo(str(memory))
    if isinstance(memory, joblib.Memory):
        return None if memory.location is None else _disk_memo(str(memory.location))
    raise ValueError(
        "memory must be None, a mmlearn.features.FeatureMemo, a joblib.Memory "
        f"or a directory path; got {memory!r}."
    )


_DISK_MEMOS: dict[str, FeatureMemo] = {}


def _disk_memo(location: str) -> FeatureMemo:
    # one object per directory the user named, so repeated transforms reuse rows
    memo = _DISK_MEMOS.get(location)
    if memo is None:
        memo = _DISK_MEMOS[location] = FeatureMemo(location=location)
    return memo


# ===================================================================== keys
def sample_key(sample: Any) -> str:
    """Hash one sample: array bytes + dtype + shape, or path + size + mtime.

    An ``(array or path, rate)`` audio pair hashes both parts.
    """
    h = hashlib.blake2b(digest_size=20)
    if isinstance(sample, tuple) and len(sample) == 2:
        h.update(f"pair:{sample_key(sample[0])}:{sample[1]!r}".encode())
        return h.hexdigest()
    if isinstance(sample, (str, os.PathLike)):
        path = os.fspath(sample)
        try:
            st = os.stat(path)
            h.update(f"path:{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"path:{path}:missing".encode())
        return h.hexdigest()
    arr = np.ascontiguousarray(sample)
    h.update(f"{arr.dtype.str}:{arr.shape}".encode())
    h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
    return h.hexdigest()


def estimator_key(estimator: Any) -> str | None:
    """Hash an estimator's class and parameters; None when it must not be cached.

    None when the parameters cannot be hashed (a lambda), or when some
    ``random_state`` is not an int (None or a RandomState: every fit is a
    new draw). Stores among the parameters (feature memos, member caches,
    ``joblib.Memory``) count by their type only.
    """
    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return None
    for name, value in params.items():
        if name.split("__")[-1] == "random_state" and not isinstance(value, (int, np.integer)):
            return None
    try:
        tokens = sorted((k, _param_token(v)) for k, v in params.items())
        return joblib.hash((_estimator_token(estimator), tokens))
    except Exception:  # unpicklable parameters (lambdas, open handles, ...)
        return None


def _estimator_token(est: Any) -> tuple:
    cls = type(est)
    # set_output and set_*_request change what an estimator returns / receives
    return (
        cls.__module__,
        cls.__qualname__,
        repr(getattr(est, "_sklearn_output_config", None)),
        repr(getattr(est, "_metadata_request", None)),
    )


def _param_token(value: Any) -> Any:
    if isinstance(value, (joblib.Memory, _Store)):
        return ("store", type(value).__qualname__, str(getattr(value, "location", None)))
    if hasattr(value, "get_params") and not isinstance(value, type):
        return ("estimator",) + _estimator_token(value)  # its parameters appear flattened
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [_param_token(v) for v in value]
    if isinstance(value, dict):
        return "dict", sorted((str(k), _param_token(v)) for k, v in value.items())
    return value


def fingerprint(*objects: Any) -> str:
    """Content hash of arrays, tables and metadata; GPU arrays hashed on the device.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn._caching import fingerprint
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3).copy())
    True
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(1, 4))
    False
    """
    return joblib.hash([_digest(obj) for obj in objects])


def hash_parts(*parts: Any) -> str:
    """Combine already computed digests and small objects into one key."""
    h = hashlib.sha1()
    for p in parts:
        h.update(joblib.hash(p).encode())
    return h.hexdigest()


def _digest(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    if isinstance(obj, dict):
        return sorted((str(k), _digest(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and len(obj) < 64:
        return [_digest(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        # the index does not change a fit; columns, dtypes and values do
        return (
            "frame",
            [str(c) for c in obj.columns],
            [str(d) for d in obj.dtypes],
            [_digest(obj.iloc[:, j].to_numpy()) for j in range(obj.shape[1])],
        )
    if isinstance(obj, pd.Series):
        return ("series", str(obj.name), str(obj.dtype), _digest(obj.to_numpy()))
    if type(obj).__module__.split(".")[0] == "cupy":
        import cupy

        return device_digest(obj, cupy)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            return _object_array_digest(obj)
        a = np.ascontiguousarray(obj)
        return f"array{a.dtype.str}{a.shape}:" + hashlib.sha256(a.reshape(-1).view(np.uint8)).hexdigest()
    return joblib.hash(obj)


def _object_array_digest(arr: np.ndarray) -> str:
    """Hash a column of per-sample objects (clips, images, texts) in one pass.

    Arrays and strings feed their bytes to one SHA-256, each prefixed by
    what fixes its length (dtype and shape, or byte count), so no two
    different columns give the same stream; other objects (None, NaN,
    paths) go through ``joblib.hash``.
    """
    h = hashlib.sha256()
    for v in arr.reshape(-1):
        if isinstance(v, np.ndarray) and not v.dtype.hasobject:
            v = np.ascontiguousarray(v)
            h.update(f"A{v.dtype.str}{v.shape}".encode())
            h.update(v.reshape(-1).view(np.uint8))
        elif isinstance(v, str):
            data = v.encode("utf-8", "surrogatepass")
            h.update(f"S{len(data)}:".encode())
            h.update(data)
        else:
            h.update(f"P{joblib.hash(v)}".encode())
    return f"objects{arr.shape}:{h.hexdigest()}"


def _splitmix64(index: Any, xp: Any) -> Any:
    z = index * _SM_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _SM_MUL1
    z = (z ^ (z >> np.uint64(27))) * _SM_MUL2
    return z ^ (z >> np.uint64(31))


def device_digest(array: Any, xp: Any) -> str:
    """Hash an array where it lives (CuPy on a GPU, or NumPy), no host copy.

    A multilinear hash over 32-bit words with two 64-bit key streams
    (splitmix64 of the word index), summed modulo 2**64: two scalars come
    back to the host, not the data.

    Parameters
    ----------
    array : ndarray of namespace ``xp``
        Any shape and dtype.
    xp : module
        ``numpy`` or ``cupy``.

    Returns
    -------
    digest : str

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn._caching import device_digest
    >>> a = np.arange(10, dtype=np.float32)
    >>> device_digest(a, np) == device_digest(a.copy(), np)
    True
    """
    a = xp.ascontiguousarray(array)
    raw = a.reshape(-1).view(xp.uint8)
    pad = (-raw.size) % 4
    if pad:
        raw = xp.concatenate([raw, xp.zeros(pad, dtype=xp.uint8)])
    words = raw.view(xp.uint32)
    h1 = h2 = 0
    for start in range(0, words.size, _DEVICE_BLOCK):
        w = words[start : start + _DEVICE_BLOCK].astype(xp.uint64)
        idx = xp.arange(start, start + w.size, dtype=xp.uint64)
        # unsigned products and sums wrap modulo 2**64 on both namespaces
        h1 += int((w * _splitmix64(idx, xp)).sum(dtype=xp.uint64))
        h2 += int((w * _splitmix64(idx + _SM_OFFSET, xp)).sum(dtype=xp.uint64))
    h1 &= _MASK64
    h2 &= _MASK64
    return f"{xp.__name__}:{a.shape}:{a.dtype.str}:{h1:016x}{h2:016x}"
