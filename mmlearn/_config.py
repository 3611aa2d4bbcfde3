"""Global configuration for mmlearn, modelled on :func:`sklearn.get_config`."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

_DEVICES = ("auto", "cpu", "cuda")
PROGRESS_VALUES = "True, False, 'auto' or None"
_global_config: dict[str, Any] = {"device": "auto", "progress": "auto"}
_threadlocal = threading.local()


def is_progress_value(value: Any) -> bool:
    """Whether ``value`` is a valid ``progress`` setting: a bool, ``"auto"`` or None."""
    return value is None or isinstance(value, (bool, np.bool_)) or (isinstance(value, str) and value == "auto")


def check_progress(value: Any) -> bool | str | None:
    """Return ``value`` if it is a valid ``progress`` setting, else raise a ValueError.

    The one check behind :func:`set_config`, every function's own
    ``progress=`` argument and the estimators' ``progress`` parameter, so a
    typo such as ``progress="no"`` is an error everywhere rather than a true
    value somewhere.
    """
    if not is_progress_value(value):
        raise ValueError(f"progress must be {PROGRESS_VALUES}; got {value!r}.")
    return value if value is None or isinstance(value, str) else bool(value)


def _get_threadlocal_config() -> dict[str, Any]:
    if not hasattr(_threadlocal, "global_config"):
        _threadlocal.global_config = _global_config.copy()
    return _threadlocal.global_config


def get_config() -> dict[str, Any]:
    """Return a copy of the current mmlearn configuration.

    Returns
    -------
    config : dict
        Keys are the parameter names of :func:`set_config`.

    See Also
    --------
    config_context : Context manager for a temporary configuration.
    set_config : Set the global configuration.

    Examples
    --------
    >>> import mmlearn
    >>> mmlearn.get_config()["device"]
    'auto'
    """
    return _get_threadlocal_config().copy()


def set_config(device: str | None = None, progress: str | bool | None = None) -> None:
    """Set the global mmlearn configuration.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}, default=None
        Where feature kernels and XGBoost members run. ``"auto"`` picks the
        GPU when CuPy imports and a GPU answers, else the CPU; ``"cuda"``
        demands a GPU and raises when there is none. ``None`` leaves the
        setting unchanged.
    progress : {"auto", True, False}, default=None
        Progress bars on long work (feature extraction over many samples,
        :func:`~mmlearn.model_selection.evaluate`, weight search, stacking's
        out-of-fold fits, ``mmlearn bench``). ``"auto"`` shows them only when
        standard error is a terminal or a Jupyter notebook; ``True`` always
        (as plain lines, without carriage returns, when the output is not a
        terminal); ``False`` never. The environment variable
        ``TQDM_DISABLE=1`` turns them off whatever this says. A function's
        own ``progress=`` argument, where it has one, wins over this.
        ``None`` leaves the setting unchanged.

    See Also
    --------
    config_context : Context manager for a temporary configuration.
    get_config : Retrieve the current configuration.

    Examples
    --------
    >>> import mmlearn
    >>> mmlearn.set_config(device="cpu")
    >>> mmlearn.get_config()["device"]
    'cpu'
    >>> mmlearn.set_config(device="auto")
    """
    config = _get_threadlocal_config()
    if device is not None:
        if device not in _DEVICES:
            raise ValueError(
                f"device must be one of {_DEVICES}, got {device!r}."
            )
        config["device"] = device
    progress = check_progress(progress)
    if progress is not None:
        config["progress"] = progress


@contextmanager
def config_context(*, device: str | None = None, progress: str | bool | None = None) -> Iterator[None]:
    """Temporarily change the mmlearn configuration.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}, default=None
        See :func:`set_config`.
    progress : {"auto", True, False}, default=None
        See :func:`set_config`.

    Yields
    ------
    None

    Notes
    -----
    The configuration is thread-local, as in scikit-learn: worker threads
    started inside the context do not see it. Estimators that take a
    ``device`` parameter resolve ``device=None`` against this configuration
    when they are fitted or called.

    Examples
    --------
    >>> import mmlearn
    >>> with mmlearn.config_context(device="cpu"):
    ...     mmlearn.get_config()["device"]
    'cpu'
    """
    old = get_config()
    set_config(device=device, progress=progress)
    try:
        yield
    finally:
        set_config(**old)
