"""Rows of the tables users pass: counting, selecting, naming them in errors."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .backend import namespace_of

_MAX_ROWS_SHOWN = 10


def n_rows(X: Any) -> int:
    """Number of samples of a table, array, sparse matrix or sequence."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    return len(X)


def as_table(X: Any) -> Any:
    """Leave DataFrames, arrays, sparse and GPU arrays as they are; make the rest an ndarray.

    A DataFrame with repeated column names is refused: selecting a modality
    by name would be ambiguous.
    """
    if isinstance(X, pd.DataFrame):
        dup = X.columns[X.columns.duplicated()].unique().tolist()
        if dup:
            raise ValueError(
                f"X has duplicate column names {dup}: each modality must be one column, "
                "selected by a unique name. Rename or drop the repeated columns."
            )
        return X
    if X is None or isinstance(X, pd.Series):
        return X
    if sp.issparse(X):
        # row selection needs a format that supports indexing
        return X if X.format in ("csr", "csc") else X.tocsr()
    if not isinstance(X, np.ndarray) and namespace_of(X) is np:
        try:
            X = np.asarray(X)
        except ValueError:  # ragged rows
            X = np.asarray(X, dtype=object)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D table (one row per sample), got an array of shape {X.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample; or pass a DataFrame."
        )
    return X


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a DataFrame / Series / ndarray / CuPy array / sparse matrix / list."""
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[idx]
    if sp.issparse(X):
        return X[idx]
    if namespace_of(X) is not np:
        return X[namespace_of(X).asarray(idx)]
    if isinstance(X, np.ndarray):
        return X[idx]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in idx]
    return np.asarray(X)[idx]


def is_per_sample(value: Any, n: int) -> bool:
    """True for metadata with one entry per sample (``sample_weight``, groups, ...)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return False
    try:
        return np.ndim(value) >= 1 and len(value) == n
    except TypeError:  # array-likes with __array__ but no len()
        try:
            return np.shape(value)[:1] == (n,)
        except (TypeError, ValueError):
            return False


def restrict_params(params: dict, rows: np.ndarray, n: int) -> dict:
    """Per-sample metadata (``sample_weight``, ...) restricted to ``rows``; the rest as is."""
    return {k: (take_rows(v, rows) if is_per_sample(v, n) else v) for k, v in params.items()}


def label_text(value: Any) -> str:
    """A label as users wrote it: ``0`` or ``'cat'``, not ``np.int64(0)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def rows_text(rows: np.ndarray, X: Any = None) -> str:
    """Name rows by position in ``X`` and, for a DataFrame, by index label.

    ``"row 3"``, ``"row 'clip-7' (position 3)"`` or
    ``"rows [3, 5, 9 and 12 more]"``.
    """
    rows = np.asarray(rows, dtype=np.intp)
    index = X.index if isinstance(X, (pd.DataFrame, pd.Series)) else None
    labelled = index is not None and not isinstance(index, pd.RangeIndex) or (
        index is not None and not np.array_equal(np.asarray(index[rows]), rows)
    )

    def one(r: int) -> str:
        return f"{label_text(index[r])} (position {r})" if labelled else str(r)

    if len(rows) == 1:
        return f"row {one(int(rows[0]))}"
    shown = ", ".join(one(int(r)) for r in rows[:_MAX_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_ROWS_SHOWN} more" if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"rows [{shown}{more}]"


def check_finite_target(y: np.ndarray, X: Any, owner: str) -> None:
    """Raise a ValueError naming the rows whose target is NaN, None or infinite."""
    missing = np.asarray(pd.isna(y), dtype=bool)
    if y.dtype.kind == "f":
        missing |= np.isinf(y)
    bad = np.flatnonzero(missing.reshape(len(y), -1).any(axis=1)) if len(y) else []
    if len(bad):
        raise ValueError(
            f"{owner}: y is NaN or infinite at {rows_text(bad, X)}; every row needs a finite "
            "target. Drop those rows (or impute their targets) before fitting."
        )


def mark_row(exc: BaseException, position: int, n: int, label: Any = None) -> None:
    """Record on ``exc`` that it is about row ``position`` of a table of ``n`` rows.

    Layers that pass a subset of their rows on (a fusion's cv folds,
    :func:`~mmlearn.model_selection.evaluate`'s folds) restate such an
    error in terms of their own table with :func:`restate_row`.
    """
    exc.row_position, exc.row_table_size = int(position), int(n)
    if label is not None:
        exc.row_label = label


def restate_row(exc: BaseException, rows: np.ndarray, n: int) -> None:
    """Restate an error about one row of ``take_rows(X, rows)`` in terms of X (``n`` rows).

    Acts on errors marked by :func:`mark_row` for a table of ``len(rows)``
    rows (any other error is left as it is): the position in the message
    (``"(position 7)"`` as :func:`rows_text` writes it, else ``"row 7"``)
    and in ``row_position`` becomes ``rows[7]``. Index labels are left
    alone: a subset keeps them.
    """
    pos = getattr(exc, "row_position", None)
    if pos is None or getattr(exc, "row_table_size", None) != len(rows) or not 0 <= pos < len(rows):
        return
    user = int(rows[pos])
    mark_row(exc, user, n)
    if user == pos:
        return

    def restated(text: str) -> str:
        new, found = re.subn(rf"(?<=\(position ){pos}(?=\))", str(user), text, count=1)
        if not found:
            new = re.sub(rf"(?<=row ){pos}\b", str(user), text, count=1)
        return new

    if exc.args and isinstance(exc.args[0], str):
        exc.args = (restated(exc.args[0]),) + exc.args[1:]
    notes = getattr(exc, "__notes__", None)
    if notes:
        exc.__notes__ = [restated(note) if note.startswith("(at row") else note for note in notes]
