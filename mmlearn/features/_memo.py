"""Per-sample memo for stateless feature extractors (DESIGN mechanism 3)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from .._lru import _SharedLRUStore

__all__ = ["FeatureMemo"]


class FeatureMemo(_SharedLRUStore):
    """In-process (optionally on-disk) store of per-sample feature rows.

    Stateless extractors such as :class:`~mmlearn.features.MFCCFeatures` and
    :class:`~mmlearn.features.HOGFeatures` are pure functions of one sample,
    so a sample's row can be reused across cross-validation folds and grid
    points. Pass one ``FeatureMemo`` as the extractor's ``memory`` parameter;
    clones of the extractor (as made by ``GridSearchCV`` or
    ``cross_validate``) share it.

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
    extractor's class and the parameters that change its output. Copies made
    by :func:`copy.deepcopy` (and therefore by :func:`sklearn.base.clone`)
    are the same object, so clones share the memo; pickling keeps the
    location but drops in-memory rows.

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
                out.append(self._lookup((namespace, key)))
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

def _resolve_memory(memory: Any) -> FeatureMemo | None:
    """Turn an estimator's ``memory`` parameter into a FeatureMemo or None."""
    if memory is None or isinstance(memory, FeatureMemo):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        return _disk_memo(str(memory))
    if isinstance(memory, joblib.Memory):
        if memory.location is None:
            return None
        return _disk_memo(str(memory.location))
    raise ValueError(
        "memory must be None, a mmlearn.features.FeatureMemo, a joblib.Memory "
        f"or a directory path; got {memory!r}."
    )


_DISK_MEMOS: dict[str, FeatureMemo] = {}


def _disk_memo(location: str) -> FeatureMemo:
    # one object per directory, so repeated transforms reuse in-memory rows too
    memo = _DISK_MEMOS.get(location)
    if memo is None:
        memo = _DISK_MEMOS[location] = FeatureMemo(location=location)
    return memo


def _sample_key(sample: Any) -> str:
    """Hash one sample: array bytes + dtype + shape, or path + size + mtime."""
    h = hashlib.blake2b(digest_size=20)
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
