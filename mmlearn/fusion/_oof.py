"""Out-of-fold member outputs: one cached member fit per fold, outputs per test part.

Shared by stacking, ensemble selection and the weight search.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.model_selection import LeaveOneOut, check_cv
from sklearn.utils.parallel import Parallel, delayed

from .._caching import hash_parts
from .._progress import progress_bar, progress_enabled
from .._tables import label_text, n_rows, restate_row, restrict_params, take_rows
from ._fitting import fit_tasks, make_task
from ._outputs import member_output


def resolve_cv(cv: Any, y: Any, *, classifier: bool, owner: str = "") -> Any:
    """``"loo"`` -> LeaveOneOut; otherwise :func:`sklearn.model_selection.check_cv`.

    An int with a classifier is a stratified k-fold: every class needs at
    least that many rows, and a class with a single row cannot be both
    trained on and tested, whatever the number of folds.
    """
    prefix = f"{owner}: " if owner else ""
    if isinstance(cv, str):
        if cv.lower() == "loo":
            return LeaveOneOut()
        raise ValueError(f"{prefix}cv must be an int, a splitter, an iterable of splits or 'loo'; got {cv!r}.")
    if classifier and isinstance(cv, (int, np.integer)) and not isinstance(cv, bool) and y is not None:
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        if counts.min() < cv:
            small = labels[counts.argmin()]
            if counts.min() == 1:
                row = int(np.flatnonzero(np.asarray(y) == small)[0])
                advice = (
                    f"class {label_text(small)} has a single row (row {row}), so no fold can both "
                    "train on it and test it. Add rows of that class or drop it"
                )
            else:
                advice = (
                    f"class {label_text(small)} has only {counts.min()} rows, fewer than the "
                    f"{cv} stratified folds. Use cv <= {counts.min()}"
                )
            raise ValueError(f"{prefix}{advice}; or pass a splitter of your own.")
    return check_cv(cv, y, classifier=classifier)


def fold_splits(owner: Any, cv: Any, X: Any, y: Any, *, classifier: bool, groups: Any = None) -> list:
    """The (train, test) index pairs, computed once so every member sees the same folds."""
    splitter = resolve_cv(cv, y, classifier=classifier, owner=type(owner).__name__)
    splits = [(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in splitter.split(X, y, groups)]
    if not splits:
        raise ValueError(f"{type(owner).__name__}: cv produced no splits.")
    return splits


def check_partition(owner: Any, splits: Sequence, n: int) -> None:
    """Out-of-fold outputs need every sample in exactly one test part."""
    test = np.concatenate([te for _, te in splits])
    counts = np.bincount(test, minlength=n)
    if len(test) != n or np.any(counts != 1):
        missing = np.flatnonzero(counts == 0)
        repeated = np.flatnonzero(counts > 1)
        raise ValueError(
            f"{type(owner).__name__}: cv must partition the samples (each in exactly one test "
            f"fold) to build out-of-fold predictions; {len(missing)} samples are in no test fold "
            f"and {len(repeated)} in more than one. Use KFold, StratifiedKFold, GroupKFold, "
            "LeaveOneOut ('loo') or a similar partitioning splitter."
        )


def check_fold_classes(owner: Any, splits: Sequence, y: np.ndarray) -> None:
    """Each training part must have two classes, or no classifier can be fitted on it.

    A training part that lacks some classes is allowed (the members' columns
    stay aligned), with a warning naming the fold.
    """
    classes = np.unique(y)
    lacking = []
    for i, (train, _) in enumerate(splits):
        present = np.unique(y[train])
        if len(present) < 2:
            raise ValueError(
                f"{type(owner).__name__}: the training part of cv fold {i} holds a single "
                f"class ({label_text(present[0])}) so no member can be fitted on it; use a stratified "
                "splitter or fewer folds."
            )
        if len(present) < len(classes):
            missing = [label_text(c) for c in np.setdiff1d(classes, present)]
            lacking.append(f"fold {i} lacks {', '.join(missing)}")
    if lacking:
        warnings.warn(
            f"{type(owner).__name__}: some cv training parts lack classes ({'; '.join(lacking)}); "
            "members fitted there give those classes probability 0.",
            RuntimeWarning,
            stacklevel=3,
        )


def fold_outputs(
    names: Sequence[str],
    ests: Sequence[Any],
    X: Any,
    y: np.ndarray,
    routed: dict,
    splits: Sequence,
    methods: Sequence[str],
    classes: np.ndarray | None,
    cache: Any,
    n_jobs: Any,
    *,
    data_key: str | None,
    full_fit: bool,
    progress_desc: str | None = None,
    advance: Callable[[int], Any] | None = None,
) -> tuple[tuple | None, list, np.ndarray, int]:
    """Fit each member on each training part (and on all rows), predict the test parts.

    Parameters
    ----------
    names, ests : the live members (no ``"drop"``).
    routed : dict name -> fit metadata for all rows.
    methods : the output method of each member.
    data_key : fingerprint of (X, y), or None without a cache.
    full_fit : also fit each member on all rows (returned first).
    progress_desc : label of a progress bar over the member fits (one step
        per member and fold, cache hits included), shown when the
        ``mmlearn.set_config(progress=...)`` setting allows; None: no bar.
    advance : callable, default=None
        Instead of a bar of its own: ``advance(n)`` as ``n`` member fits
        are done (the caller's bar's ``update``).

    Returns
    -------
    full : (fitted members, their cache keys), or None
    outputs : list over folds of list over members of (out, present)
        ``out`` covers the fold's test rows.
    fit_time : ndarray of shape (n_folds,)
        Seconds spent fitting members for each fold (0 for cache hits).
    n_fits : int
        Member fits made (cache misses), the full fits included.
    """
    n = n_rows(X)
    tasks = []
    if full_fit:
        tasks += [make_task(nm, e, X, y, routed[nm], data_key) for nm, e in zip(names, ests)]
    for f, (train, _) in enumerate(splits):
        fold_key = None if data_key is None else hash_parts(data_key, "rows", train)
        X_tr, y_tr = take_rows(X, train), y[train]
        for nm, e in zip(names, ests):
            tasks.append(make_task(nm, e, X_tr, y_tr, restrict_params(routed[nm], train, n), fold_key,
                                   f" on cv fold {f}", rows=(train, n)))
    if advance is None and progress_desc is not None and progress_enabled():
        with progress_bar(total=len(tasks), desc=progress_desc) as bar:
            fitted, times, n_fits = fit_tasks(tasks, cache, n_jobs, advance=bar.update)
    else:
        fitted, times, n_fits = fit_tasks(tasks, cache, n_jobs, advance=advance)
    m = len(ests)
    full = (fitted[:m], [t.key for t in tasks[:m]]) if full_fit else None
    offset = m if full_fit else 0
    per_fold = [fitted[offset + f * m : offset + (f + 1) * m] for f in range(len(splits))]
    fit_time = np.array([sum(times[offset + f * m : offset + (f + 1) * m]) for f in range(len(splits))])
    jobs = []
    for f, (_, test) in enumerate(splits):
        X_te = take_rows(X, test)
        for j in range(m):
            jobs.append(delayed(_test_output)(per_fold[f][j], X_te, methods[j], classes, test, n))
    res = Parallel(n_jobs=n_jobs)(jobs)
    outputs = [res[f * m : (f + 1) * m] for f in range(len(splits))]
    return full, outputs, fit_time, n_fits


def _test_output(est: Any, X_te: Any, method: str, classes: Any, test: np.ndarray, n: int) -> tuple:
    """``member_output`` on a fold's test part; an error about one of its rows names the row in X."""
    try:
        return member_output(est, X_te, method, classes)
    except Exception as exc:
        restate_row(exc, test, n)
        raise


def assemble_oof(outputs: list, splits: Sequence, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-member OOF arrays of all rows (from a partition) and the (m, n) presence."""
    m = len(outputs[0])
    oof: list[np.ndarray | None] = [None] * m
    present = np.zeros((m, n), dtype=bool)
    for f, (_, test) in enumerate(splits):
        for j, (out, pres) in enumerate(outputs[f]):
            if oof[j] is None:
                oof[j] = np.full((n,) + out.shape[1:], np.nan if out.dtype.kind == "f" else -1, dtype=out.dtype)
            oof[j][test] = out
            present[j, test] = pres
    return oof, present
