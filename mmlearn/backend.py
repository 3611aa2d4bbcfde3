"""Array namespace and device resolution: NumPy on the CPU, CuPy on a GPU.

Feature kernels are written once against an array namespace ``xp``; this
module chooses that namespace and moves results back to host memory once, at
the estimator boundary.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from ._config import _DEVICES, get_config

__all__ = [
    "gpu_available",
    "resolve_device",
    "get_namespace",
    "namespace_of",
    "to_host",
    "to_namespace",
]

_GPU_HINT = (
    "Install the GPU extra with `pip install 'mmlearn[gpu]'` (CuPy for CUDA 12) "
    "on a machine with an NVIDIA GPU and driver, or use device='cpu' / 'auto'."
)


@functools.lru_cache(maxsize=1)
def _probe_cupy() -> tuple[ModuleType | None, str]:
    """Import CuPy and ask for a GPU once; return (cupy or None, reason)."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return None, f"CuPy could not be imported ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy found no usable GPU ({type(exc).__name__}: {exc})"
    if n < 1:
        return None, "CuPy found no GPU"
    return cupy, ""


def gpu_available() -> bool:
    """Return True when CuPy imports and at least one GPU answers.

    Examples
    --------
    >>> from mmlearn.backend import gpu_available
    >>> isinstance(gpu_available(), bool)
    True
    """
    return _probe_cupy()[0] is not None


def resolve_device(device: str | None = None) -> str:
    """Resolve a device request to ``"cpu"`` or ``"cuda"``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or None, default=None
        ``None`` means the global configuration (:func:`mmlearn.get_config`).
        ``"auto"`` means ``"cuda"`` when a GPU is usable, else ``"cpu"``.

    Returns
    -------
    device : {"cpu", "cuda"}

    Raises
    ------
    RuntimeError
        If ``"cuda"`` is asked for and no GPU is usable; the message says why
        and how to install the ``gpu`` extra.

    Examples
    --------
    >>> from mmlearn.backend import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None:
        device = get_config()["device"]
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {_DEVICES} or None, got {device!r}.")
    if device == "cpu":
        return "cpu"
    cupy, reason = _probe_cupy()
    if device == "auto":
        return "cpu" if cupy is None else "cuda"
    if cupy is None:
        raise RuntimeError(f"device='cuda' was requested but {reason}. {_GPU_HINT}")
    return "cuda"


def get_namespace(device: str | None = None) -> ModuleType:
    """Return the array namespace (``numpy`` or ``cupy``) for a device.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or None, default=None
        Resolved with :func:`resolve_device`.

    Returns
    -------
    xp : module
        ``numpy`` or ``cupy``.

    Examples
    --------
    >>> from mmlearn.backend import get_namespace
    >>> get_namespace("cpu").__name__
    'numpy'
    """
    if resolve_device(device) == "cuda":
        return _probe_cupy()[0]
    return np


def namespace_of(*arrays: Any) -> ModuleType:
    """Return ``cupy`` if any of the arrays lives on a GPU, else ``numpy``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.backend import namespace_of
    >>> namespace_of(np.zeros(3)).__name__
    'numpy'
    """
    for a in arrays:
        if type(a).__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return np


def to_host(array: Any) -> np.ndarray:
    """Return ``array`` as a NumPy array in host memory (no copy if it is one).

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.backend import to_host
    >>> to_host(np.arange(3))
    array([0, 1, 2])
    """
    if namespace_of(array) is not np:
        return array.get()
    return np.asarray(array)


def to_namespace(array: Any, xp: ModuleType, dtype: Any = None) -> Any:
    """Return ``array`` as an array of namespace ``xp`` (one transfer at most).

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.backend import to_namespace
    >>> to_namespace([1, 2], np, dtype=np.float32)
    array([1., 2.], dtype=float32)
    """
    if xp is np:
        return np.asarray(to_host(array), dtype=dtype)
    return xp.asarray(array, dtype=dtype)
