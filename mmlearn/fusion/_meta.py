"""Stacking's meta features: member outputs as columns, missing modalities made usable."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from ..backend import namespace_of
from ._fitting import device_input


def stack_methods(kind: str, stack_method: str, names: list, ests: list) -> list[str]:
    """The output method stacked for each member: ``stack_method``, or with "auto"
    the first of predict_proba, decision_function, predict that it has."""
    if kind == "regressor":
        if stack_method not in ("auto", "predict"):
            raise ValueError(f"stack_method must be 'auto' or 'predict' for a regressor; got {stack_method!r}.")
        return ["predict"] * len(ests)
    order = ["predict_proba", "decision_function", "predict"] if stack_method == "auto" else [stack_method]
    methods = []
    for nm, e in zip(names, ests):
        found = next((m for m in order if hasattr(e, m)), None)
        if found is None:
            raise ValueError(f"member {nm!r} ({type(e).__name__}) does not implement {order}.")
        methods.append(found)
    return methods


def final_input(final_estimator: Any, meta: np.ndarray, X: Any, passthrough: bool) -> Any:
    """The final estimator's input: the meta features, and with ``passthrough`` X beside them
    (on X's device; sparse X stays sparse)."""
    if passthrough:
        xp = namespace_of(X)
        if xp is not np:
            return device_input(final_estimator, xp.hstack([xp.asarray(meta), X.astype(meta.dtype)]))
        if sp.issparse(X):
            return sp.hstack([sp.csr_matrix(meta), X], format="csr")
        return device_input(final_estimator, np.hstack([meta, np.asarray(X, dtype=float)]))
    return device_input(final_estimator, meta)


class MetaFeatures:
    """Turn member outputs into the final estimator's input, and name its columns.

    A two-class ``predict_proba`` keeps the second column (as sklearn); a
    member's columns are filled, where it is absent, with their mean over
    the out-of-fold rows where it was present; a member that missed any
    training row adds a ``<name>__present`` column (1 present, 0 absent).
    """

    def __init__(self, names: Sequence[str], methods: Sequence[str], classes: Any):
        self.names, self.methods, self.classes = list(names), list(methods), classes

    def _columns(self, out: np.ndarray, method: str) -> np.ndarray:
        if out.ndim == 1:
            return out[:, None].astype(float)
        if method == "predict_proba" and self.classes is not None and len(self.classes) == 2:
            return out[:, 1:]
        return out

    def fit_transform(self, oof: Sequence[np.ndarray], present: np.ndarray) -> np.ndarray:
        """Learn fills and indicators from the out-of-fold outputs; return the meta features."""
        self.indicator = [not present[j].all() for j in range(len(oof))]
        self.fill = []
        for j, out in enumerate(oof):
            cols, rows = self._columns(out, self.methods[j]), present[j]
            self.fill.append(cols[rows].mean(axis=0) if rows.any() else np.zeros(cols.shape[1]))
        return self.transform(oof, present)

    def transform(self, outputs: Sequence[np.ndarray], present: np.ndarray) -> np.ndarray:
        blocks = []
        for j, out in enumerate(outputs):
            cols = self._columns(out, self.methods[j]).astype(float, copy=True)
            missing = ~present[j]
            if missing.any():
                cols[missing] = self.fill[j]
            blocks.append(cols)
        blocks += [present[j].astype(float)[:, None] for j, ind in enumerate(self.indicator) if ind]
        return np.hstack(blocks)

    def feature_names(self) -> np.ndarray:
        names = []
        for nm, meth in zip(self.names, self.methods):
            if meth == "predict" or self.classes is None:
                names.append(f"{nm}__predict")
            elif len(self.classes) == 2:
                names.append(f"{nm}__{meth}_{self.classes[1]}")
            else:
                names += [f"{nm}__{meth}_{c}" for c in self.classes]
        names += [f"{nm}__present" for nm, ind in zip(self.names, self.indicator) if ind]
        return np.asarray(names, dtype=object)
