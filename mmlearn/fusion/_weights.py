"""Weight vectors of a voting fusion: checked, enumerated on a simplex, or optimised."""

from __future__ import annotations

import itertools
import math
from numbers import Real
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize

from ._fitting import is_drop

__all__ = ["simplex_grid"]

_MAX_CANDIDATES = 5_000_000


def simplex_grid(n_members: int, step: float) -> np.ndarray:
    """Every weight vector on the simplex with coordinates in multiples of ``step``.

    Parameters
    ----------
    n_members : int
        Length of each weight vector.
    step : float
        Grid spacing; ``1 / step`` must be a whole number.

    Returns
    -------
    grid : ndarray of shape (n_points, n_members)
        Rows sum to 1, in increasing lexicographic order (the first row
        puts all the weight on the last member). There are
        ``comb(1/step + n_members - 1, n_members - 1)`` rows.

    Examples
    --------
    >>> from mmlearn.fusion import simplex_grid
    >>> simplex_grid(2, 0.5)
    array([[0. , 1. ],
           [0.5, 0.5],
           [1. , 0. ]])
    """
    if not isinstance(step, Real) or not 0 < step <= 1:
        raise ValueError(f"step must be in (0, 1]; got {step!r}.")
    total = int(round(1 / step))
    if abs(total * step - 1) > 1e-9:
        raise ValueError(f"1 / step must be a whole number; got step={step!r}.")
    if n_members < 1:
        raise ValueError("simplex_grid needs at least one member.")
    n_points = math.comb(total + n_members - 1, n_members - 1)
    if n_points > _MAX_CANDIDATES:
        raise ValueError(
            f"a simplex grid with step={step} over {n_members} members has {n_points} points; "
            "use a larger step or weights='optimize'."
        )
    rows = []
    # stars and bars: bar positions among total + n_members - 1 slots
    for bars in itertools.combinations(range(total + n_members - 1), n_members - 1):
        edges = (-1,) + bars + (total + n_members - 1,)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_members)])
    grid = np.asarray(rows, dtype=float) / total
    return np.ascontiguousarray(grid)


def check_weights(owner: Any, weights: Any, ests: Sequence[Any]) -> np.ndarray:
    """Weights as a float vector of len(estimators); dropped members get 0."""
    cls = type(owner).__name__
    m = len(ests)
    if weights is None:
        w = np.ones(m)
    else:
        try:
            w = np.asarray(weights, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{cls}: weights must be numbers; got {weights!r}.") from exc
        if w.ndim != 1 or len(w) != m:
            raise ValueError(
                f"{cls}: weights must have one entry per member (including 'drop' members): "
                f"got {w.size} weights for {m} members."
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"{cls}: weights must be finite and non-negative; got {w.tolist()}.")
    w = np.where([is_drop(e) for e in ests], 0.0, w)
    if not np.any(w > 0):
        raise ValueError(
            f"{cls}: the weights of the members that are not 'drop' are all zero "
            f"({np.asarray(weights if weights is not None else w).tolist()}); at least one must be positive."
        )
    return w


def candidate_weights(owner: Any, weights: Any, step: float, ests: Sequence[Any]) -> np.ndarray:
    """The (n_candidates, n_members) weights a search scores; ``"drop"`` members get 0."""
    live = np.array([not is_drop(e) for e in ests])
    if isinstance(weights, str):
        if weights != "simplex":
            raise ValueError(f"weights must be 'simplex', 'optimize' or a list of weight vectors; got {weights!r}.")
        grid = simplex_grid(int(live.sum()), step)
        full = np.zeros((len(grid), len(ests)))
        full[:, live] = grid
        return full
    try:
        cands = list(weights)
    except TypeError as exc:
        raise ValueError(f"weights must be 'simplex', 'optimize' or a list of weight vectors; got {weights!r}.") from exc
    if not cands:
        raise ValueError("weights is an empty list; give at least one weight vector.")
    out = []
    for i, w in enumerate(cands):
        try:
            out.append(check_weights(owner, w, ests))
        except ValueError as exc:
            raise ValueError(f"weight candidate {i}: {exc}") from exc
    return np.vstack(out)


def optimize_weights(arr: np.ndarray, present: np.ndarray, y: np.ndarray, classes: Any) -> tuple[np.ndarray, Any]:
    """Weights on the simplex minimising out-of-fold log loss (classes given) or squared error.

    A row with no weighted member present gets the worst loss, never a
    uniform guess: otherwise dropping the only modality of some rows
    looks free, and those rows become unpredictable.

    Returns the weights (summing to 1) and scipy's ``OptimizeResult``.
    """
    m = arr.shape[0]
    if classes is not None:
        codes = np.searchsorted(classes, y)
        eps = np.finfo(float).eps
        picked = np.where(present, arr[:, np.arange(len(y)), codes], 0.0)  # (m, n)

        def objective(w: np.ndarray) -> float:
            den = w @ present
            p = np.where(den > 0, (w @ picked) / np.where(den > 0, den, 1.0), eps)
            return float(-np.log(np.clip(p, eps, 1 - eps)).mean())
    else:
        pred = np.where(present, arr[:, :, 0], 0.0)
        worst = float(np.ptp(y)) ** 2 + 1.0  # above any error within the range of y

        def objective(w: np.ndarray) -> float:
            den = w @ present
            err = ((w @ pred) / np.where(den > 0, den, 1.0) - y) ** 2
            return float(np.where(den > 0, err, worst).mean())

    start = np.full(m, 1.0 / m)
    res = minimize(
        objective, start, method="SLSQP", bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
    )
    w = np.clip(res.x, 0.0, None)
    w[w < 1e-9] = 0.0
    if w.sum() <= 0:
        w = start
    return w / w.sum(), res
