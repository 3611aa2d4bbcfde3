"""Cross-modal mapping: a shared space between two modalities, for retrieval and imputation.

:class:`CrossModalMap` learns, from the rows of a multimodal table that have
both modalities, a linear shared space (canonical correlation analysis or
canonical PLS, :class:`sklearn.cross_decomposition.CCA` /
:class:`~sklearn.cross_decomposition.PLSCanonical`) between the features of
a *source* and a *target* modality. It then

- embeds any row in the shared space from whichever modality it has
  (:meth:`CrossModalMap.transform`);
- retrieves, for query rows of one modality, the nearest gallery rows of
  the other (:meth:`CrossModalMap.kneighbors`), e.g. the recordings that
  best match an image;
- fills a missing modality's features at predict time from the other one
  (``transform_output="features"``), so that an early-fusion classifier
  after it sees every row complete.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.cross_decomposition import CCA, PLSCanonical
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

from ._tables import as_table
from .compose import Modality
from .fusion._outputs import expand_rows

__all__ = ["CrossModalMap"]

_METHODS = {"cca": CCA, "pls": PLSCanonical}
_OUTPUTS = ("shared", "features")
_ROLES = ("source", "target")


def _to_float_2d(X: Any) -> np.ndarray:
    """Numeric columns as a 2-D float array (the pass-through feature step).

    A single column arrives as a 1-D sequence: of numbers (one feature) or
    of equal-length vectors (one row of features each).
    """
    values = list(X) if isinstance(X, pd.Series) and X.dtype == object else X
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            "A passthrough modality must hold numbers, or equal-length numeric vectors in a "
            f"single column; converting it to floats failed: {exc}"
        ) from None
    return arr.reshape(len(arr), -1) if arr.ndim == 1 else arr


class CrossModalMap(TransformerMixin, BaseEstimator):
    """Shared space of two modalities (CCA / PLS) for retrieval and for filling a missing one.

    Each modality is one column (or several) of the input table with its own
    feature pipeline, as in :class:`~mmlearn.compose.Modality`. ``fit``
    fits each feature pipeline on the rows where its modality is present,
    then the cross-decomposition on the rows where both are.

    Parameters
    ----------
    source : tuple (column, transformer)
        The source modality: its column label (or position, list of columns
        or slice, as :class:`~mmlearn.compose.Modality` takes) and a
        transformer (usually a pipeline starting with a feature extractor)
        that turns the column into numeric features. ``transformer`` may be
        None or "passthrough" for columns that are numeric already.
    target : tuple (column, transformer)
        The target modality, likewise.
    method : {"cca", "pls"}, default="cca"
        :class:`~sklearn.cross_decomposition.CCA` (maximises correlation) or
        :class:`~sklearn.cross_decomposition.PLSCanonical` (maximises
        covariance).
    n_components : int, default=2
        Dimension of the shared space; at most the number of features of
        either modality and below the number of paired rows.
    scale : bool, default=True
        Scale each feature to unit variance before the decomposition.
    max_iter : int, default=500
        Iterations of the decomposition's power method.
    tol : float, default=1e-6
        Its convergence tolerance.
    transform_output : {"shared", "features"}, default="shared"
        What :meth:`transform` returns: "shared" the shared-space coordinates
        (the mean of the modalities a row has); "features" the source and
        target features side by side, a missing modality's features predicted
        from the other's through the shared space.

    Attributes
    ----------
    source_ : Modality
        The source feature pipeline, fitted on the rows with the source.
    target_ : Modality
        The target feature pipeline, fitted on the rows with the target.
    decomposition_ : CCA or PLSCanonical
        Fitted on the paired rows, source features as X, target as Y.
    reverse_decomposition_ : CCA or PLSCanonical
        Fitted on the paired rows the other way round (target as X), used
        to predict source features from the target.
    n_paired_fit_ : int
        Number of training rows that had both modalities.
    n_iter_ : int
        Most power-method iterations any component of the two
        decompositions took.
    n_source_features_ : int
        Features of the source modality (after its pipeline).
    n_target_features_ : int
        Features of the target modality.
    n_features_in_ : int
        Columns of the table seen in ``fit``.

    See Also
    --------
    sklearn.cross_decomposition.CCA, sklearn.cross_decomposition.PLSCanonical :
        The decompositions.
    mmlearn.compose.Modality : How one modality's column is selected.

    Notes
    -----
    **Shared coordinates.** The source's and target's scores are each
    standardised by their spread on the paired training rows, so that the
    two modalities' coordinates are comparable; a row with both gets their
    mean. A row with neither gets a row of NaN.

    **Imputation.** Source features are predicted from the target with
    ``reverse_decomposition_.predict`` and target features from the source
    with ``decomposition_.predict``: a regression through the shared
    components. A row with neither modality raises an error naming it.

    **Retrieval.** :meth:`kneighbors` ranks gallery rows by cosine
    similarity of the shared coordinates of the query's modality and the
    gallery's modality.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from mmlearn.crossmodal import CrossModalMap
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((60, 2))  # what both modalities share
    >>> a = z @ rng.standard_normal((2, 5)) + 0.1 * rng.standard_normal((60, 5))
    >>> b = z @ rng.standard_normal((2, 4)) + 0.1 * rng.standard_normal((60, 4))
    >>> X = pd.DataFrame({"a": list(a), "b": list(b)})
    >>> X.loc[50:, "b"] = None  # ten rows lack modality b
    >>> stack = FunctionTransformer(lambda s: np.stack(list(s)))
    >>> cm = CrossModalMap(source=("a", stack), target=("b", stack), n_components=2).fit(X)
    >>> cm.n_paired_fit_, cm.transform(X).shape
    (50, (60, 2))
    >>> sa = cm.transform_modality(X.iloc[:50], "source")
    >>> sb = cm.transform_modality(X.iloc[:50], "target")
    >>> bool(np.corrcoef(sa[:, 0], sb[:, 0])[0, 1] > 0.99)  # a and b agree in the shared space
    True
    >>> dist, idx = cm.kneighbors(X.iloc[:5], X.iloc[:50], n_neighbors=3)  # a -> b retrieval
    >>> idx.shape
    (5, 3)
    """

    def __init__(
        self,
        source: tuple[Any, Any],
        target: tuple[Any, Any],
        *,
        method: str = "cca",
        n_components: int = 2,
        scale: bool = True,
        max_iter: int = 500,
        tol: float = 1e-6,
        transform_output: str = "shared",
    ):
        self.source = source
        self.target = target
        self.method = method
        self.n_components = n_components
        self.scale = scale
        self.max_iter = max_iter
        self.tol = tol
        self.transform_output = transform_output

    # ------------------------------------------------------------ checks
    def _modality(self, role: str) -> Modality:
        spec = getattr(self, role)
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(
                f"{role} must be a (column, transformer) tuple, got {spec!r}."
            )
        column, transformer = spec
        if transformer is None or (isinstance(transformer, str) and transformer == "passthrough"):
            transformer = FunctionTransformer(_to_float_2d)
        elif not hasattr(transformer, "fit") or not hasattr(transformer, "transform"):
            raise TypeError(
                f"The {role} transformer must implement fit and transform, got "
                f"{type(transformer).__name__}."
            )
        return Modality(column, clone(transformer))

    def _check_params(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}, got {self.method!r}.")
        n = self.n_components
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_components must be an integer >= 1, got {n!r}.")
        if self.transform_output not in _OUTPUTS:
            raise ValueError(
                f"transform_output must be one of {_OUTPUTS}, got {self.transform_output!r}."
            )

    # --------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None) -> "CrossModalMap":
        """Fit both feature pipelines, then the shared space on the paired rows.

        Parameters
        ----------
        X : DataFrame or 2-D array
            The multimodal table; missing values (None / NaN) mark a row
            without that modality.
        y : None
            Ignored (the mapping is unsupervised; the pairing is the signal).

        Returns
        -------
        self : object
            The fitted map.

        Raises
        ------
        ValueError
            If fewer than ``n_components + 1`` rows have both modalities, or
            ``n_components`` exceeds either modality's number of features.
        """
        self._check_params()
        X = as_table(X)
        # each pipeline runs once: fitted and applied to the training rows in one pass
        source, target = self._modality("source"), self._modality("target")
        F_s = _features_of(source, *source._fit(X, None, {}, transform=True)[:2])
        F_t = _features_of(target, *target._fit(X, None, {}, transform=True)[:2])
        self.source_, self.target_ = source, target
        self.n_features_in_ = self.source_.n_features_in_
        if hasattr(self.source_, "feature_names_in_"):
            self.feature_names_in_ = self.source_.feature_names_in_
        paired = ~np.isnan(F_s).any(axis=1) & ~np.isnan(F_t).any(axis=1)
        n_paired, k = int(paired.sum()), int(self.n_components)
        self.n_source_features_, self.n_target_features_ = F_s.shape[1], F_t.shape[1]
        if n_paired <= k:
            raise ValueError(
                f"CrossModalMap needs more than n_components={k} rows with both modalities "
                f"to fit; got {n_paired} of {F_s.shape[0]} rows."
            )
        if k > min(F_s.shape[1], F_t.shape[1]):
            raise ValueError(
                f"n_components={k} exceeds the number of features of the source "
                f"({F_s.shape[1]}) or target ({F_t.shape[1]}) modality."
            )
        Ps, Pt = F_s[paired], F_t[paired]
        self.decomposition_ = self._decomposition().fit(Ps, Pt)
        self.reverse_decomposition_ = self._decomposition().fit(Pt, Ps)
        xs, ys = self.decomposition_.transform(Ps, Pt)
        self._score_mean_ = (xs.mean(axis=0), ys.mean(axis=0))
        self._score_std_ = (_nonzero(xs.std(axis=0)), _nonzero(ys.std(axis=0)))
        self.n_iter_ = int(max(self.decomposition_.n_iter_ + self.reverse_decomposition_.n_iter_))
        self.n_paired_fit_ = n_paired
        return self

    def _decomposition(self) -> Any:
        return _METHODS[self.method](
            n_components=int(self.n_components), scale=bool(self.scale),
            max_iter=int(self.max_iter), tol=float(self.tol),
        )

    def _features(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        X = as_table(X)
        return (
            _modality_features(self.source_, X, self.n_source_features_),
            _modality_features(self.target_, X, self.n_target_features_),
        )

    # ------------------------------------------------------------ embed
    def _scores(self, F: np.ndarray, role: str) -> np.ndarray:
        """Standardised shared coordinates of one modality's features; NaN rows stay NaN."""
        out = np.full((F.shape[0], int(self.n_components)), np.nan)
        present = ~np.isnan(F).any(axis=1)
        if present.any():
            if role == "source":
                s = self.decomposition_.transform(F[present])
            else:  # the forward fit's Y side: one space for both modalities
                s = _y_scores(self.decomposition_, F[present], self.n_source_features_)
            i = _ROLES.index(role)
            out[present] = (s - self._score_mean_[i]) / self._score_std_[i]
        return out

    def transform_modality(self, X: Any, modality: str = "source") -> np.ndarray:
        """Shared-space coordinates of each row computed from one modality.

        Parameters
        ----------
        X : DataFrame or 2-D array
            The multimodal table.
        modality : {"source", "target"}, default="source"
            Which modality to embed.

        Returns
        -------
        scores : ndarray of shape (n_rows, n_components)
            NaN rows where that modality is missing.
        """
        check_is_fitted(self)
        if modality not in _ROLES:
            raise ValueError(f"modality must be 'source' or 'target', got {modality!r}.")
        X = as_table(X)
        if modality == "source":
            F = _modality_features(self.source_, X, self.n_source_features_)
        else:
            F = _modality_features(self.target_, X, self.n_target_features_)
        return self._scores(F, modality)

    def transform(self, X: Any) -> np.ndarray:
        """Shared coordinates, or both modalities' features with the missing one filled.

        Parameters
        ----------
        X : DataFrame or 2-D array
            The multimodal table.

        Returns
        -------
        Xt : ndarray
            With ``transform_output="shared"``, shape (n_rows, n_components):
            the mean of the shared coordinates of the modalities each row
            has (NaN where it has neither). With "features", shape
            (n_rows, n_source_features_ + n_target_features_): source then
            target features, a missing one predicted from the other.

        Raises
        ------
        ValueError
            With "features", if a row has neither modality (the message
            names the rows).
        """
        check_is_fitted(self)
        F_s, F_t = self._features(X)
        if self.transform_output == "shared":
            stacked = np.stack([self._scores(F_s, "source"), self._scores(F_t, "target")])
            both_missing = np.isnan(stacked).all(axis=(0, 2))
            out = np.full(stacked.shape[1:], np.nan)
            have = ~both_missing
            out[have] = np.nanmean(stacked[:, have], axis=0)
            return out
        miss_s = np.isnan(F_s).any(axis=1)
        miss_t = np.isnan(F_t).any(axis=1)
        neither = np.flatnonzero(miss_s & miss_t)
        if neither.size:
            rows = ", ".join(map(str, neither[:10].tolist())) + (" ..." if neither.size > 10 else "")
            raise ValueError(
                f"CrossModalMap cannot fill a modality for row(s) {rows}: they have neither "
                "the source nor the target modality."
            )
        F_s, F_t = F_s.copy(), F_t.copy()
        fill_t = miss_t & ~miss_s
        if fill_t.any():
            F_t[fill_t] = self.decomposition_.predict(F_s[fill_t])
        fill_s = miss_s & ~miss_t
        if fill_s.any():
            F_s[fill_s] = self.reverse_decomposition_.predict(F_t[fill_s])
        return np.hstack([F_s, F_t])

    def kneighbors(
        self, X_query: Any, X_gallery: Any, *, query: str = "source", n_neighbors: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cross-modal retrieval: the gallery rows nearest to each query row.

        The query rows are embedded from their ``query`` modality, the
        gallery rows from the other one, and ranked by cosine similarity in
        the shared space.

        Parameters
        ----------
        X_query : DataFrame or 2-D array
            Rows whose ``query`` modality is the query (e.g. images).
        X_gallery : DataFrame or 2-D array
            Rows whose other modality is searched (e.g. recordings).
        query : {"source", "target"}, default="source"
            The query's modality.
        n_neighbors : int, default=5
            Gallery rows returned per query.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Cosine distances (1 - cosine similarity), ascending.
        indices : ndarray of shape (n_queries, n_neighbors)
            Positions in ``X_gallery``.

        Raises
        ------
        ValueError
            If a query row lacks the query modality or a gallery row the
            other one (naming the rows), or ``n_neighbors`` exceeds the
            gallery.
        """
        check_is_fitted(self)
        if query not in _ROLES:
            raise ValueError(f"query must be 'source' or 'target', got {query!r}.")
        other = "target" if query == "source" else "source"
        Q = self.transform_modality(X_query, query)
        G = self.transform_modality(X_gallery, other)
        for name, A, role in (("X_query", Q, query), ("X_gallery", G, other)):
            bad = np.flatnonzero(np.isnan(A).any(axis=1))
            if bad.size:
                raise ValueError(
                    f"{name} row(s) {bad[:10].tolist()} lack the {role} modality needed "
                    "for retrieval."
                )
        k = n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= G.shape[0]:
            raise ValueError(
                f"n_neighbors must be an integer in [1, {G.shape[0]}] (the gallery size), "
                f"got {k!r}."
            )
        Qn = Q / _nonzero(np.linalg.norm(Q, axis=1))[:, None]
        Gn = G / _nonzero(np.linalg.norm(G, axis=1))[:, None]
        dist = 1.0 - Qn @ Gn.T
        idx = np.argsort(dist, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, idx, axis=1), idx

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: ``shared0 ...`` or the two modalities' feature names.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self)
        if self.transform_output == "shared":
            return np.asarray([f"shared{i}" for i in range(int(self.n_components))], dtype=object)
        names = []
        for role, est, n in (("source", self.source_, self.n_source_features_),
                             ("target", self.target_, self.n_target_features_)):
            try:
                inner = list(est.get_feature_names_out())
            except Exception:  # a step without feature names
                inner = [f"{i}" for i in range(n)]
            names += [f"{role}__{name}" for name in inner]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing value means a missing modality
        return tags


def _modality_features(est: Modality, X: Any, width: int) -> np.ndarray:
    """One modality's features, NaN rows where it is missing (all rows, if it is nowhere)."""
    # one pass: presence and the features of the present rows together, so a
    # pipeline's extractor runs once
    out, present = est._present_output("transform", X)
    return _features_of(est, out, present, width)


def _features_of(est: Modality, out: Any, present: np.ndarray, width: int | None = None) -> np.ndarray:
    """The present rows' features ``out`` as float rows among all rows, NaN elsewhere.

    ``width`` is the number of features when ``out`` is None (no row has
    the modality; never in fit, where Modality refuses such a column).
    """
    if out is not None:
        out = out.toarray() if hasattr(out, "toarray") else np.asarray(out)
        if out.ndim != 2:
            raise ValueError(
                f"The transformer of modality {est.column!r} must return a 2-D feature array, "
                f"got shape {out.shape}."
            )
    return expand_rows(out, present, (width,))


def _nonzero(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, v, 1.0)


def _y_scores(dec: Any, Y: np.ndarray, n_x_features: int) -> np.ndarray:
    """Y-side scores of a fitted CCA / PLSCanonical (they do not depend on X)."""
    return dec.transform(np.zeros((Y.shape[0], n_x_features)), Y)[1]
