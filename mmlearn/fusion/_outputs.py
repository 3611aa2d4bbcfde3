"""Member outputs: presence, class alignment, combining (one engine for fusion and evaluate).

A member that has a ``presence_mask(X)`` method is present on the rows that
mask selects; any other member is present on every row. A
:class:`~mmlearn.compose.Modality` gives its output and its presence in one
pass (``_present_output``): a row whose pipeline features are all NaN is
absent too, and finding those needs the features.

Class alignment has one convention, used here and by ``Modality``: output
columns follow the fusion's ``classes``; a class the member never saw gets
probability 0 and, in ``decision_function``, the row's lowest score (a
finite value a linear final estimator can use); probabilities computed in
lower precision are renormalised in float64, so they sum to one.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.utils.parallel import Parallel, delayed

from .._caching import fingerprint, hash_parts
from .._tables import mark_row, n_rows, rows_text, take_rows
from ..backend import to_host
from ._fitting import device_input

# candidates x rows x classes combined at once (bounds temporary memory)
_COMBINE_BLOCK = 1 << 22


# ------------------------------------------------------------ alignment
def align_classes(raw: Any, member_classes: Any, classes: Any, method: str) -> np.ndarray:
    """Columns of ``raw`` (rows: the member's rows) in the order of ``classes``.

    ``predict_proba`` -> (n, k); ``decision_function`` -> (n, k), or (n,)
    for two classes (the second class's score, as sklearn); without
    ``classes`` (regression, transforms) ``raw`` as float64.
    """
    raw = np.asarray(to_host(raw))
    if method == "predict_proba" and raw.dtype.kind == "f" and raw.dtype.itemsize < 8:
        raw = raw.astype(np.float64)
        raw = raw / raw.sum(axis=1, keepdims=True)
    raw = np.asarray(raw, dtype=np.float64)
    if classes is None or member_classes is None:
        return raw
    classes, member_classes = np.asarray(classes), np.asarray(member_classes)
    k = len(classes)
    if method == "decision_function":
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        if k == 2:
            if len(member_classes) == 2:
                return raw if raw.ndim == 1 else raw[:, -1]
            raise ValueError("a member saw a single class; it cannot score two.")
        if raw.ndim == 1 and len(member_classes) == 2:
            raw = np.column_stack([-raw, raw])
        if raw.shape[1] == k and np.array_equal(member_classes, classes) and np.isfinite(raw).all():
            return raw
        block = np.full((len(raw), k), np.nan)
        block[:, _column_positions(member_classes, classes, raw.shape[1])] = raw
        block[~np.isfinite(block)] = np.nan  # -inf marks a class the member never saw
        low = np.nanmin(np.where(np.isnan(block), np.inf, block), axis=1, keepdims=True)
        low = np.where(np.isfinite(low), low, 0.0)
        return np.where(np.isnan(block), low, block)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.shape[1] == k and np.array_equal(member_classes, classes):
        return raw
    block = np.zeros((len(raw), k))
    block[:, _column_positions(member_classes, classes, raw.shape[1])] = raw
    return block


def _column_positions(member_classes: np.ndarray, classes: np.ndarray, width: int) -> np.ndarray:
    if len(member_classes) != width:
        raise ValueError(f"a member returned {width} columns for {len(member_classes)} classes.")
    pos = np.clip(np.searchsorted(classes, member_classes), 0, len(classes) - 1)
    if np.any(classes[pos] != member_classes):
        raise ValueError(
            f"a member knows classes {member_classes.tolist()} that are not all among {classes.tolist()}."
        )
    return pos


def expand_rows(aligned: np.ndarray | None, present: np.ndarray, width: tuple) -> np.ndarray:
    """Output over all rows: ``aligned`` on the present ones, NaN elsewhere."""
    if aligned is not None:
        width = aligned.shape[1:]
    out = np.full((len(present),) + tuple(width), np.nan)
    if aligned is not None:
        out[present] = aligned
    return out


def output_width(method: str, classes: Any) -> tuple:
    """Shape of one row of aligned output (what an all-missing table returns)."""
    if classes is None or (method == "decision_function" and len(classes) == 2):
        return ()
    return (len(classes),)


# -------------------------------------------------------------- outputs
def presence(est: Any, X: Any) -> np.ndarray | None:
    """Bool mask of rows where the member is present, or None for every row."""
    if not hasattr(est, "presence_mask"):
        return None
    mask = np.asarray(est.presence_mask(X), dtype=bool)
    return None if mask.all() else mask


def encode_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    codes = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
    bad = classes[codes] != labels
    if np.any(bad):
        raise ValueError(f"a member predicted labels {np.unique(labels[bad]).tolist()} not among the classes.")
    return codes


def member_output(est: Any, X: Any, method: str, classes: np.ndarray | None,
                  member_classes: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Call ``method`` of a fitted member on the rows where it is present.

    Returns
    -------
    out : ndarray
        ``predict_proba`` / ``decision_function``: (n, n_classes) aligned with
        ``classes`` ((n, 1) for a two-class decision function). ``predict``
        of a classifier: class codes (n,), -1 where missing; of a regressor:
        floats (n,). Missing rows: NaN.
    present : ndarray of bool, shape (n,)
    """
    n = n_rows(X)
    if hasattr(est, "_present_output"):
        # a Modality: presence can depend on the features (a pipeline's
        # all-NaN rows), so it reports both in one pass
        raw, present = est._present_output(method, X)
        raw = None if raw is None else to_host(raw)
    else:
        mask = presence(est, X)
        present = np.ones(n, dtype=bool) if mask is None else mask
        Xp = X if mask is None else take_rows(X, np.flatnonzero(mask))
        raw = to_host(getattr(est, method)(device_input(est, Xp))) if present.any() else None
    if method == "predict":
        if classes is None:
            out = np.full(n, np.nan)
            if raw is not None:
                out[present] = np.asarray(raw, dtype=float).ravel()
            return out, present
        out = np.full(n, -1, dtype=np.intp)
        if raw is not None:
            out[present] = encode_labels(np.asarray(raw).ravel(), classes)
        return out, present
    if member_classes is None:
        member_classes = getattr(est, "classes_", None)
    aligned = None if raw is None else align_classes(raw, member_classes, classes, method)
    out = expand_rows(aligned, present, output_width(method, classes))
    return (out[:, None] if out.ndim == 1 else out), present


def collect_outputs(ests: Sequence[Any], X: Any, method: str | Sequence[str], classes: np.ndarray | None,
                    n_jobs: Any, *, cache: Any = None, keys: Sequence[Any] | None = None,
                    ) -> tuple[list[np.ndarray], np.ndarray]:
    """Outputs of fitted members on X (in parallel) and the (m, n) presence matrix.

    With a member cache and the members' keys, outputs are looked up by
    (member, method, table) first, so a search over fusion parameters does
    not make the members (and their feature extractors) predict the same
    table again for every candidate.
    """
    methods = [method] * len(ests) if isinstance(method, str) else list(method)
    okeys: list = [None] * len(ests)
    if cache is not None and keys is not None and any(k is not None for k in keys):
        table = fingerprint(X)
        okeys = [None if k is None else hash_parts("outputs", k, meth, classes, table)
                 for k, meth in zip(keys, methods)]
    res: list = [cache.get(k) if k is not None else None for k in okeys]
    todo = [j for j, r in enumerate(res) if r is None]
    computed = Parallel(n_jobs=n_jobs)(delayed(member_output)(ests[j], X, methods[j], classes) for j in todo)
    for j, r in zip(todo, computed):
        res[j] = r
        if okeys[j] is not None:
            cache.put(okeys[j], r)
    outs = [r[0] for r in res]
    present = np.vstack([r[1] for r in res]) if res else np.zeros((0, n_rows(X)), dtype=bool)
    return outs, present


def one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(codes), k))
    ok = codes >= 0
    out[np.flatnonzero(ok), codes[ok]] = 1.0
    return out


# ------------------------------------------------------------- combining
# Below this, a row's total weight may leave weight * output to underflow (float64).
_UNDERFLOW_WEIGHT = 1e-250


def combine(outputs: np.ndarray, present: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of member outputs over the present members.

    Parameters
    ----------
    outputs : ndarray of shape (n_members, n_samples, n_outputs)
        NaN (or anything) where a member is absent.
    present : ndarray of bool, shape (n_members, n_samples)
    weights : ndarray of shape (n_candidates, n_members)

    Returns
    -------
    num : ndarray of shape (n_candidates, n_samples, n_outputs)
        Sum over present members of weight * output, accumulated member by
        member in order: on complete data that is the same floating-point
        sum as :func:`numpy.average` over the members (sklearn's voting).
    den : ndarray of shape (n_candidates, n_samples)
        Sum of the weights of the present members.
    """
    m, n, k = outputs.shape
    c = weights.shape[0]
    num = np.zeros((c, n, k))
    den = np.zeros((c, n))
    for j in range(m):
        wj = weights[:, j]
        if not np.any(wj):
            continue
        pres = present[j]
        oj = outputs[j] if pres.all() else np.where(pres[:, None], outputs[j], 0.0)
        num += wj[:, None, None] * oj[None]
        den += wj[:, None] * pres[None].astype(float)
    return num, den


def fuse(outputs: np.ndarray, present: np.ndarray, weights: np.ndarray, *, mean: bool = True) -> np.ndarray:
    """Fused outputs of each candidate weight vector, row by row.

    The weighted mean over the present members (``mean=False``: the
    weighted sum, for hard votes). A row whose present members all weigh 0
    falls back to equal weights over its present members, so a zero weight
    never makes a row unpredictable. A row with no member present is NaN.

    Returns
    -------
    fused : ndarray of shape (n_candidates, n_samples, n_outputs)
    """
    num, den = combine(outputs, present, weights)
    if mean:
        with np.errstate(invalid="ignore", divide="ignore"):
            num = num / den[:, :, None]
        # present weights so small (subnormal) that weight * output underflowed to 0:
        # those rows again, with the weights scaled up first (rare: a loop is fine)
        for ci, ni in zip(*np.nonzero((den > 0) & (den < _UNDERFLOW_WEIGHT))):
            w = weights[ci] * present[:, ni]
            w = w / w.max()
            num[ci, ni] = np.einsum("m,mk->k", w, np.where(present[:, ni, None], outputs[:, ni], 0.0)) / w.sum()
    empty = den <= 0
    if empty.any():
        eq_num, eq_den = combine(outputs, present, np.ones((1, outputs.shape[0])))
        with np.errstate(invalid="ignore", divide="ignore"):
            fallback = eq_num[0] / eq_den[0][:, None] if mean else eq_num[0]
        fallback = np.where(eq_den[0][:, None] > 0, fallback, np.nan)
        num = np.where(empty[:, :, None], fallback[None], num)
    return num


def candidate_blocks(n_candidates: int, n: int, k: int) -> list[slice]:
    size = max(1, _COMBINE_BLOCK // max(1, n * k))
    return [slice(s, min(s + size, n_candidates)) for s in range(0, n_candidates, size)]


def raise_for_uncovered(owner: Any, present: np.ndarray, names: Sequence[str], X: Any = None) -> None:
    """Clear error for rows on which no member is present."""
    none = np.flatnonzero(~present.any(axis=0))
    if len(none):
        exc = ValueError(
            f"{type(owner).__name__}: {rows_text(none, X)} {'has' if len(none) == 1 else 'have'} every "
            f"modality missing: none of the members {list(names)} is present, so there is nothing "
            "to fuse. Drop such rows or add a member that covers them."
        )
        index = getattr(X, "index", None)
        exc.row_label = none[0] if index is None else index[none[0]]
        if len(none) == 1:
            mark_row(exc, none[0], present.shape[1], exc.row_label)
        raise exc
