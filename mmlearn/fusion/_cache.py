"""Fitted-member cache shared by the fusion estimators (DESIGN mechanism 4).

A fusion estimator fits clones of its members. When the same member (same
class and parameters) is fitted on the same rows with the same fit metadata,
the result is the same model, so it is looked up instead of refitted. This is
what lets ``GridSearchCV(VotingFusionClassifier(...), {"weights": grid})``
fit each member once per fold, however large the grid.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import joblib
import numpy as np
import pandas as pd

from .._lru import _SharedLRUStore

__all__ = ["FittedMemberCache", "default_member_cache"]

# splitmix64 constants: a cheap, well-mixed index -> 64-bit key stream that
# is computed on the device the data lives on.
_SM_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SM_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_SM_MUL2 = np.uint64(0x94D049BB133111EB)
_SM_OFFSET = np.uint64(0x5851F42D4C957F2D)
_MASK64 = (1 << 64) - 1
_DEVICE_BLOCK = 1 << 22  # words hashed per block (bounds temporary memory)


class FittedMemberCache(_SharedLRUStore):
    """In-process store of fitted fusion members, keyed by what determines them.

    The key of a fitted member combines (a) the member's class and
    parameters (``joblib.hash`` of ``get_params(deep=True)``; feature memos
    and caches among them count by type only), (b) a fingerprint of the
    training rows and targets and (c) the fit metadata routed to the member
    (``sample_weight`` and friends).

    Parameters
    ----------
    max_entries : int, default=256
        Least recently used members beyond this many are evicted.

    Attributes
    ----------
    hits : int
        Members served from the cache.
    misses : int
        Members that had to be fitted.

    See Also
    --------
    VotingFusionClassifier : Uses this cache through its ``memory`` parameter.

    Notes
    -----
    Copies made by :func:`copy.deepcopy` (and therefore by
    :func:`sklearn.base.clone`) are the same object, so clones of a fusion
    estimator share the cache; pickling keeps the settings but drops the
    stored models. A cached member is shared by every fusion estimator that
    looks it up: treat fitted members as read-only. Members whose parameters
    cannot be hashed (a lambda, say) are never cached. A member with
    ``random_state=None`` is fitted once per key and then reused, which is a
    valid draw but not a fresh one.

    Examples
    --------
    >>> from mmlearn.fusion import FittedMemberCache
    >>> cache = FittedMemberCache(max_entries=8)
    >>> cache.get("k") is None
    True
    >>> cache.put("k", "model")
    >>> cache.get("k"), cache.hits, cache.misses
    ('model', 1, 1)
    """

    def __init__(self, max_entries: int = 256):
        super().__init__(max_entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_entries={self.max_entries})"

    def get(self, key: str | None) -> Any:
        """Return the member stored under ``key``, or None (counted as a miss)."""
        if key is None:
            return None
        with self._lock:
            return self._lookup(key)

    def put(self, key: str | None, estimator: Any) -> None:
        """Store a fitted member under ``key`` (no-op for a None key)."""
        if key is None:
            return
        with self._lock:
            self._insert(key, estimator)

def _store_member(key: str, estimator: Any) -> Any:
    return estimator


class _DiskMemberCache:
    """Adapter giving a :class:`joblib.Memory` the get / put interface."""

    def __init__(self, memory: joblib.Memory):
        self.memory = memory
        self._func = memory.cache(_store_member, ignore=["estimator"])

    def get(self, key: str | None) -> Any:
        if key is None or not self._func.check_call_in_cache(key, None):
            return None
        return self._func(key, None)

    def put(self, key: str | None, estimator: Any) -> None:
        if key is not None:
            self._func.call(key, estimator)  # (re)writes, also over an unreadable entry


_DEFAULT_CACHE = FittedMemberCache()


def default_member_cache() -> FittedMemberCache:
    """Return the process-wide cache used when a fusion estimator has ``memory=None``.

    Returns
    -------
    cache : FittedMemberCache
        Call ``default_member_cache().clear()`` to free the stored members.

    Examples
    --------
    >>> from mmlearn.fusion import default_member_cache
    >>> default_member_cache().max_entries
    256
    """
    return _DEFAULT_CACHE


def resolve_cache(memory: Any) -> Any:
    """Map a fusion estimator's ``memory`` parameter to a cache (or None)."""
    if memory is None:
        return _DEFAULT_CACHE
    if memory is False:
        return None
    if isinstance(memory, FittedMemberCache):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        return _DiskMemberCache(joblib.Memory(location=os.fspath(memory), verbose=0))
    if isinstance(memory, joblib.Memory):
        return None if memory.location is None else _DiskMemberCache(memory)
    raise ValueError(
        "memory must be None (the in-process default cache), False (no cache), a "
        "FittedMemberCache, a joblib.Memory or a directory path; got "
        f"{type(memory).__name__}."
    )


# ---------------------------------------------------------------- keys
def member_key(estimator: Any) -> str | None:
    """Hash a member's class and parameters; None if they cannot be hashed.

    Parameters are taken deep (nested estimators flattened); stores that do
    not change a fit's result (feature memos, member caches,
    ``joblib.Memory``) count by their type only, so their changing
    contents and counters do not change the key.
    """
    try:
        params = estimator.get_params(deep=True)
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


def _is_store(value: Any) -> bool:
    # caches and feature memos (in memory or on disk) do not change a fit
    return isinstance(value, (joblib.Memory, _SharedLRUStore))


def _param_token(value: Any) -> Any:
    if _is_store(value):
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
    >>> from mmlearn.fusion._cache import fingerprint
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3).copy())
    True
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(1, 4))
    False
    """
    return joblib.hash([_digest(obj) for obj in objects])


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
            [_digest(obj[c].to_numpy()) for c in obj.columns],
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

    Arrays and strings feed their bytes to one md5, each prefixed by what
    fixes its length (dtype and shape, or character count), so no two
    different columns give the same stream; other objects (None, NaN, paths)
    go through ``joblib.hash``. SHA-256 (hardware-accelerated on current
    CPUs) over the raw bytes is several times faster than pickling the
    column through ``joblib.hash``.
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
    >>> from mmlearn.fusion._cache import device_digest
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


def hash_parts(*parts: Any) -> str:
    """Combine already computed digests and small objects into one key."""
    h = hashlib.sha1()
    for p in parts:
        h.update(joblib.hash(p).encode())
    return h.hexdigest()
