"""Timing and formatting helpers shared by the benchmark suites."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls of ``fn`` and the last output."""
    out, best = None, np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``; ``-`` for None."""
    return "-" if value is None else format(value, spec)
