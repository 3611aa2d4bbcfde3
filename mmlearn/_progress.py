"""Progress bars that honour one setting: ``set_config(progress=...)``.

Every long loop in mmlearn goes through :func:`progress_bar`, so one switch
(or ``TQDM_DISABLE=1``) controls them all. On a terminal it is a tqdm bar;
when the output is not a terminal (a log file, CI) and progress was asked
for, it prints a plain line every tenth of the work instead of redrawing a
bar with carriage returns; in Jupyter it is tqdm's widget when ipywidgets is
installed and the text bar otherwise (never tqdm's "IProgress not found"
warning).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, TextIO

from ._config import check_progress, get_config

__all__ = ["progress_enabled", "progress_bar"]

_FALSY = ("", "0", "false", "no", "off")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_enabled(progress: bool | str | None = None, *, file: TextIO | None = None) -> bool:
    """Whether to show progress: an explicit argument, else the global setting.

    Parameters
    ----------
    progress : bool, "auto" or None, default=None
        A function's own ``progress=`` argument; ``None`` defers to
        ``mmlearn.get_config()["progress"]``.
    file : text stream, default=None
        Where the bar would go (``sys.stderr`` by default).

    Returns
    -------
    enabled : bool
        False whenever ``TQDM_DISABLE`` is set to a true value.

    Raises
    ------
    ValueError
        If ``progress`` is not True, False, ``"auto"`` or None (``"no"`` is
        an error, not a true value).

    Examples
    --------
    >>> import mmlearn
    >>> from mmlearn._progress import progress_enabled
    >>> with mmlearn.config_context(progress=False):
    ...     progress_enabled()
    False
    >>> progress_enabled(True) in (True, False)
    True
    """
    progress = check_progress(progress)
    setting = get_config()["progress"] if progress is None else progress
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in _FALSY:
        return False
    if setting == "auto":
        return _isatty(file or sys.stderr) or _in_notebook()
    return bool(setting)


class _LineProgress:
    """A tqdm-like counter that prints whole lines (for logs and CI)."""

    def __init__(self, total: int | None, desc: str | None, file: TextIO, iterable: Iterable | None):
        self.total, self.desc, self.file, self.iterable = total, desc or "progress", file, iterable
        self.n, self._t0, self._postfix = 0, time.perf_counter(), ""
        self._shown = -1
        self._step = max(1, -(-(total or 10) // 10))
        self._next = self._step

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()

    def __enter__(self) -> "_LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self._postfix = s

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next or self.n == self.total:
            self._emit()
            self._next = self.n + self._step

    def _emit(self) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        extra = f" [{self._postfix}]" if self._postfix else ""
        elapsed = time.perf_counter() - self._t0
        print(f"{self.desc}: {self.n}{of} ({elapsed:.1f} s){extra}", file=self.file, flush=True)
        self._shown = self.n

    def close(self) -> None:
        if self._shown != self.n:
            self._emit()


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    progress: bool | str | None = None,
    leave: bool = False,
    file: TextIO | None = None,
) -> Any:
    """A progress bar over ``iterable`` (or to ``update`` by hand) that obeys the settings.

    Parameters
    ----------
    iterable : iterable, default=None
        What to iterate over; ``None`` gives a bar that is advanced with
        ``update(n)`` (use it as a context manager).
    total : int, default=None
        Number of steps (taken from ``len(iterable)`` when it has one).
    desc : str, default=None
        Label shown before the counter.
    progress : bool, "auto" or None, default=None
        See :func:`progress_enabled`.
    leave : bool, default=False
        Keep the finished bar on screen.
    file : text stream, default=None
        ``sys.stderr`` by default.

    Returns
    -------
    bar : tqdm or a line printer with the same ``update`` / ``set_postfix_str``
        / ``close`` methods; a disabled tqdm when progress is off.

    Examples
    --------
    >>> from mmlearn._progress import progress_bar
    >>> sum(progress_bar(range(5), desc="demo", progress=False))
    10
    """
    from tqdm.std import tqdm as text_tqdm

    stream = file or sys.stderr
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if not progress_enabled(progress, file=stream):
        return text_tqdm(iterable, total=total, desc=desc, disable=True)
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as widget_tqdm

            return widget_tqdm(iterable, total=total, desc=desc, leave=leave, disable=False)
        except ImportError:
            pass
    elif not _isatty(stream):
        return _LineProgress(total, desc, stream, iterable)
    # disable=False explicitly: tqdm reads TQDM_* defaults once, at import
    return text_tqdm(iterable, total=total, desc=desc, leave=leave, file=stream, disable=False)
