"""A thread-safe LRU store that clones share: the base of mmlearn's caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class _SharedLRUStore:
    """Least-recently-used store, shared by clones, pickled without its entries.

    :func:`copy.deepcopy` (and so :func:`sklearn.base.clone`) returns the
    same object, so every clone of an estimator holding one uses the same
    entries; pickling keeps the settings and drops the entries. ``hits`` and
    ``misses`` count lookups. Subclasses hold ``self._lock`` around
    :meth:`_lookup` and :meth:`_insert`.
    """

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __deepcopy__(self, memo: dict) -> "_SharedLRUStore":
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
