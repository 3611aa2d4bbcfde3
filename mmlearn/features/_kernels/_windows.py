"""Sliding 2-D windows shared by the HOG and convolution kernels."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def _windows_2d(a: Any, window: tuple[int, int], xp: ModuleType) -> Any:
    """All ``wr`` x ``wc`` windows of an (n, r, c, ...) array, as a strided view.

    Shape (n, r - wr + 1, c - wc + 1, wr, wc, ...): the window axes come
    before the trailing axes. Built with ``as_strided`` (NumPy and CuPy
    alike); it aliases memory, so it is only ever read.
    """
    wr, wc = window
    n, r, c = a.shape[:3]
    s = a.strides
    return xp.lib.stride_tricks.as_strided(
        a,
        shape=(n, r - wr + 1, c - wc + 1, wr, wc) + a.shape[3:],
        strides=(s[0], s[1], s[2], s[1], s[2]) + s[3:],
    )
