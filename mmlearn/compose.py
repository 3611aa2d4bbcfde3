"""Modality: one column of a multimodal table, fed to its own estimator."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import get_config as sklearn_get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._tables import label_text, mark_row, restrict_params, rows_text, take_rows
from .backend import to_host

__all__ = ["Modality", "make_modality_pipeline", "make_early_fusion"]

# How mmlearn.io and the extractors start a per-sample error message.
_SAMPLE_PREFIX = re.compile(r"^sample \d+")
# sklearn's errors for a 1-D input where a 2-D one is needed
_WANTS_2D = re.compile(r"Expected (a )?2D array|Expected a 2-dimensional container")


def _estimator_has(attr: str):
    """Gate a method on the (fitted, else unfitted) inner estimator having it."""

    def check(self: "Modality") -> bool:
        est = getattr(self, "estimator_", self.estimator)
        return hasattr(est, attr)

    return check


def _can_set_output(self: "Modality") -> bool:
    est = getattr(self, "estimator_", self.estimator)
    return hasattr(est, "transform") and hasattr(est, "set_output")


def _is_position(c: Any, n_columns: int) -> bool:
    return isinstance(c, (int, np.integer)) and not isinstance(c, bool) and -n_columns <= c < n_columns


def _split_pipeline(est: Any) -> tuple[Pipeline | None, Any]:
    """(transformer steps, final step) of a pipeline; ``(None, est)`` for anything else.

    Only a scikit-learn Pipeline of two or more steps whose final step is
    an estimator (not "passthrough") is split; not a subclass (imblearn's
    resamples y in its steps), nor one that sets ``transform_input`` (its
    metadata would need the whole pipeline). The transformer steps are a
    slice of ``est``: they share its step objects.
    """
    if type(est) is not Pipeline or len(est.steps) < 2 or getattr(est, "transform_input", None) is not None:
        return None, est
    final = est.steps[-1][1]
    if final is None or (isinstance(final, str) and final == "passthrough"):
        return None, est
    return est[:-1], final


def _all_nan_rows(Xt: Any) -> np.ndarray | None:
    """Mask of the rows of a transformer's output whose every value is NaN; None if there is none."""
    if sp.issparse(Xt):
        Xt = Xt.tocsr()
        if Xt.shape[1] == 0 or Xt.dtype.kind not in "fc":
            return None
        nans = sp.csr_matrix((np.isnan(Xt.data).astype(np.intp), Xt.indices, Xt.indptr), shape=Xt.shape)
        empty = np.asarray(nans.sum(axis=1)).ravel() == Xt.shape[1]
    else:
        try:
            arr = np.asarray(to_host(Xt))
        except (TypeError, ValueError):
            return None
        if arr.ndim != 2 or arr.shape[1] == 0 or arr.dtype.kind not in "fc":
            return None
        empty = np.isnan(arr).all(axis=1)
    return empty if empty.any() else None


def _split_featureless(present: np.ndarray, kept: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows present with features, rows present without) over all rows; ``kept`` is over the present ones."""
    featureless = np.zeros(len(present), dtype=bool)
    if kept is not None:
        featureless[np.flatnonzero(present)[~kept]] = True
    return present & ~featureless, featureless


def _fit_step(est: Any, X: Any, y: Any, params: dict, transform: bool) -> Any:
    """``est.fit``; with ``transform``, its output on X too (``fit_transform`` where it has one)."""
    if not transform:
        est.fit(X, y, **params)
        return None
    if hasattr(est, "fit_transform"):
        return est.fit_transform(X, y, **params)
    return est.fit(X, y, **params).transform(X)


def _pipeline_fit_params(pipe: Pipeline, head: Pipeline, params: dict) -> tuple[dict, dict] | None:
    """Split a pipeline's fit metadata into (transformer steps', final step's).

    None when the names do not follow the ``step__param`` form (the
    pipeline's own fit then gives its error).
    """
    final_name = pipe.steps[-1][0]
    if sklearn_get_config().get("enable_metadata_routing", False):
        routed = process_routing(pipe, "fit", **params)
        consumed = head.get_metadata_routing().consumes("fit_transform", list(params))
        return {k: params[k] for k in consumed}, dict(routed[final_name].fit)
    if any("__" not in k for k in params):
        return None
    head_params = {k: v for k, v in params.items() if k.split("__", 1)[0] != final_name}
    final_params = {k.split("__", 1)[1]: v for k, v in params.items() if k.split("__", 1)[0] == final_name}
    return head_params, final_params


class Modality(MetaEstimatorMixin, BaseEstimator):
    """Feed one column of a multimodal table to its own estimator.

    A ``Modality`` selects ``column`` from a pandas DataFrame (or a column
    position of a 2-D array), fits a clone of ``estimator`` on the rows where
    that column is present, and predicts on the rows where it is present.
    It is the usual member of the fusion estimators in :mod:`mmlearn.fusion`.

    Parameters
    ----------
    column : str, int, list of str or int, or slice
        The column label (DataFrame) or position (array). A single column is
        passed to ``estimator`` as a 1-D sequence (a pandas Series of texts,
        clips or images: what the extractors in :mod:`mmlearn.features`
        expect); a list of columns or a slice of positions is passed as a
        2-D table, present where none of its columns is missing.
    estimator : estimator object
        A classifier, regressor or transformer, usually a
        :class:`~sklearn.pipeline.Pipeline` that starts with a feature
        extractor. It is cloned before fitting.

    Attributes
    ----------
    estimator_ : estimator object
        The clone fitted on the rows where ``column`` is present.
    classes_ : ndarray of shape (n_classes,)
        Class labels of the whole ``y`` given to :meth:`fit`, including
        classes that have no row with this modality present (classifiers
        only).
    n_present_fit_ : int
        Number of training rows where the modality was present (its
        column, and for a pipeline, features that are not all NaN).
    n_features_in_ : int
        Number of columns of ``X`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.

    See Also
    --------
    make_modality_pipeline : Build a Modality around a pipeline of steps.
    mmlearn.fusion.VotingFusionClassifier : Fuses Modality members.

    Notes
    -----
    **Missing values.** A value is missing when it is None, NaN or
    ``pd.NA``. At prediction time :meth:`predict_proba`,
    :meth:`decision_function` and :meth:`transform` return a row of NaN for
    every row whose modality is missing (for a sparse ``transform`` output:
    a row of zeros), so that fusion can skip it; :meth:`presence_mask` tells
    which rows those are. :meth:`predict` raises instead, naming the rows.
    :meth:`score` scores the rows where the modality is present. Because
    :meth:`predict` does not accept missing values, the estimator's
    ``allow_nan`` tag is False: NaN marks a missing modality, it is not a
    value the inner estimator predicts from.

    **Rows without features.** When ``estimator`` is a
    :class:`~sklearn.pipeline.Pipeline` (two or more steps, the last one an
    estimator), a row whose features, the output of the transformer steps,
    are all NaN counts as missing too:
    :class:`~mmlearn.features.Word2VecEmbedding` gives such rows with
    ``oov="missing"`` for a text without a known word, and so may any
    transformer. :meth:`fit` runs the transformer steps on the rows where
    the column is present, then fits the final step on the rows that have
    features (per-sample metadata such as ``sample_weight`` restricted to
    them; ``n_present_fit_`` counts them). At prediction time those rows
    are absent like rows with a missing value: :meth:`presence_mask` is
    False there, :meth:`predict_proba`, :meth:`decision_function` and
    :meth:`transform` give NaN rows, fusion predicts them from the other
    modalities, and :meth:`predict` raises naming them. The transformer
    steps run once per call (fusion gets outputs and presence together);
    :meth:`presence_mask` alone runs them too. A pipeline with
    ``transform_input`` set, or a Pipeline subclass, is used as a whole,
    without this rule.

    **Columns.** :meth:`fit` is strict: the column(s) must be in ``X`` (a
    label of a DataFrame, or a position), and each must occur once. A
    Modality fitted on a DataFrame then selects its columns *by name*: at
    prediction time a DataFrame may hold its columns in another order, or
    extra columns, and if a column of the modality is absent the modality is
    missing in every row (:meth:`presence_mask` is all False). A 2-D array
    is read by position, and must have the columns seen in :meth:`fit`. The
    column names of a DataFrame must be unique, at fit and prediction time.

    **Errors name the user's row.** When the inner estimator fails on one
    sample (a corrupt audio file, an unreadable image) it sees only the
    present rows; Modality restates the error with the row of ``X``: its
    position and, for a DataFrame, its index label, and sets ``row_label``
    and ``row_position`` on the exception (the original is its
    ``__cause__``). For an array, ``row_label`` is the position. The fusion
    estimators and :func:`~mmlearn.model_selection.evaluate` restate such
    an error raised on one of their cv folds with the row's position in the
    table given to them, not in the fold.

    **Metadata routing.** Without metadata routing, :meth:`fit` passes its
    ``**fit_params`` to ``estimator.fit`` (``logisticregression__sample_weight``
    for a pipeline). With ``sklearn.set_config(enable_metadata_routing=True)``
    Modality is a router, like :class:`~sklearn.pipeline.Pipeline`: request
    the metadata on the inner estimator
    (``LogisticRegression().set_fit_request(sample_weight=True)``) and pass
    ``sample_weight=...`` to the fusion, :func:`~sklearn.model_selection.cross_validate`
    (``params=``) or Modality itself. Either way, per-sample metadata is
    restricted to the rows where the modality is present. Modality consumes
    ``sample_weight`` in :meth:`score` (``set_score_request``).

    **Output containers.** For a transformer, :meth:`set_output` configures
    the fitted clone; with ``transform="pandas"`` :meth:`transform` returns
    a DataFrame with the index of ``X`` and the inner feature names, NaN in
    the rows where the modality is missing.

    Columns of :meth:`predict_proba` follow ``classes_``: a class that the
    inner estimator never saw gets probability 0 (and the row's lowest
    score in :meth:`decision_function`), the convention of the fusion
    estimators; probabilities computed in float32 are renormalised in
    float64.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mmlearn.compose import Modality
    >>> X = pd.DataFrame({"pixels": [[0.0, 1.0], None, [1.0, 0.0], [0.9, 0.1]]})
    >>> X["pixels"] = X["pixels"].map(lambda v: None if v is None else np.array(v))
    >>> y = np.array([0, 1, 1, 1])
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn.pipeline import make_pipeline
    >>> stack = FunctionTransformer(lambda s: np.stack(list(s)))
    >>> m = Modality("pixels", make_pipeline(stack, LogisticRegression())).fit(X, y)
    >>> m.presence_mask(X)
    array([ True, False,  True,  True])
    >>> np.isnan(m.predict_proba(X)[1]).all()
    np.True_

    A table without the column: the modality is missing in every row.

    >>> m.presence_mask(X.drop(columns="pixels").assign(text="hi"))
    array([False, False, False, False])

    A transformer with pandas output keeps the table's index:

    >>> from sklearn.preprocessing import StandardScaler
    >>> T = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [0.0, 1.0, 2.0]}, index=["x", "y", "z"])
    >>> Modality(["a", "b"], StandardScaler()).set_output(transform="pandas").fit_transform(T)
         a    b
    x -1.0 -1.0
    y  NaN  NaN
    z  1.0  1.0
    """

    def __init__(self, column: Any, estimator: Any):
        self.column = column
        self.estimator = estimator

    # ---------------------------------------------------------- selection
    def _single(self) -> bool:
        """True when the inner estimator gets a 1-D sequence (one column)."""
        return not isinstance(self.column, (list, tuple, slice))

    def _columns(self) -> list:
        return list(self.column) if isinstance(self.column, (list, tuple)) else [self.column]

    def _as_table(self, X: Any) -> Any:
        """DataFrames (unique column names) and 2-D arrays as they are; other array-likes as an ndarray."""
        if isinstance(X, pd.DataFrame):
            if not X.columns.is_unique:
                names = list(X.columns[X.columns.duplicated()].unique())
                raise ValueError(
                    f"X has duplicate column name(s) {names!r}; Modality {self.column!r} selects "
                    "columns by name, so each name must occur once. Rename or drop the duplicates."
                )
            return X
        if sp.issparse(X):
            raise TypeError("Modality does not accept sparse input; pass a DataFrame or a 2-D array.")
        if not hasattr(X, "shape") or getattr(X, "ndim", 2) != 2:
            try:
                X = np.asarray(X)
            except ValueError:  # ragged rows
                X = np.asarray(X, dtype=object)
        if X.ndim != 2:
            raise ValueError(
                f"Modality expects a DataFrame or a 2-D array (one column per modality), "
                f"got an array of shape {X.shape}. Reshape your data, e.g. with "
                "X.reshape(-1, 1) for a single column."
            )
        return X

    def _by_name(self, X: Any) -> bool:
        """Whether prediction-time selection is by column name."""
        return isinstance(X, pd.DataFrame) and getattr(self, "_fit_labels", None) is not None

    def _validate(self, X: Any, *, reset: bool) -> Any:
        X = self._as_table(X)
        if reset or not self._by_name(X):
            # By name, other columns and their order do not matter, so
            # sklearn's feature-name and column-count checks do not apply.
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[1] == 0:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
                )
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        return X

    def _positions(self, X: Any) -> list[int]:
        """Positions of the modality's columns in X, by the rules of :meth:`fit`."""
        n_columns = X.shape[1]
        if isinstance(self.column, slice):
            positions = list(range(n_columns))[self.column]
            if not positions:
                raise ValueError(f"Modality column {self.column!r} selects no column of X ({n_columns} columns).")
        else:
            wanted = self._columns()
            if not wanted:
                raise ValueError("Modality column is an empty list; name at least one column.")
            try:
                by_label = isinstance(X, pd.DataFrame) and all(c in X.columns for c in wanted)
            except TypeError as exc:  # unhashable column spec
                raise ValueError(
                    f"Modality column must be a column label, a position, a list of them or a "
                    f"slice; got {self.column!r}."
                ) from exc
            if by_label:
                positions = [int(X.columns.get_loc(c)) for c in wanted]
            elif all(_is_position(c, n_columns) for c in wanted):
                positions = [int(c) % n_columns for c in wanted]
            elif isinstance(X, pd.DataFrame):
                absent = [c for c in wanted if c not in X.columns]
                raise ValueError(
                    f"Modality column(s) {absent!r} not found in X; its columns are "
                    f"{list(X.columns)!r}."
                )
            else:
                bad = next(c for c in wanted if not _is_position(c, n_columns))
                raise ValueError(
                    f"Modality column {bad!r} cannot select from an array with {n_columns} "
                    "columns: use an integer position, or pass a DataFrame to select by name."
                )
        return positions

    def _values_at(self, X: Any, positions: list[int]) -> Any:
        """The modality's values: a 1-D Series / array, or a 2-D table."""
        if isinstance(X, pd.DataFrame):
            return X.iloc[:, positions[0]] if self._single() else X.iloc[:, positions]
        return X[:, positions[0]] if self._single() else X[:, positions]

    def _predict_selection(self, X: Any) -> tuple[Any, np.ndarray, list]:
        """(values or None, presence mask, absent column names) of validated X."""
        n = X.shape[0]
        if self._by_name(X):
            absent = [label for label in self._fit_labels if label not in X.columns]
            if absent:
                return None, np.zeros(n, dtype=bool), absent
            positions = [int(X.columns.get_loc(label)) for label in self._fit_labels]
        elif isinstance(X, pd.DataFrame):  # fitted on an array: as in fit
            positions = self._positions(X)
        else:
            positions = self._fit_positions
        values = self._values_at(X, positions)
        return values, self._mask_of(values), []

    @staticmethod
    def _mask_of(values: Any) -> np.ndarray:
        missing = np.asarray(pd.isna(values))
        if missing.ndim == 2:
            missing = missing.any(axis=1)
        return ~missing

    def presence_mask(self, X: Any) -> np.ndarray:
        """Return which rows of ``X`` have this modality.

        Before :meth:`fit` the column(s) must be in ``X``; after it, the
        prediction-time rules apply (see Notes): a DataFrame without the
        column has the modality in no row, and for a fitted pipeline a row
        whose features (the output of its transformer steps) are all NaN
        is absent too; finding those runs the transformer steps.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype bool
            True where the column is present (not None / NaN / NA) and,
            after fit, its features are not all NaN.
        """
        if hasattr(self, "_fit_positions"):
            return self._present_rows_output(None, X)[1]
        X = self._as_table(X)
        return self._mask_of(self._values_at(X, self._positions(X)))

    # ---------------------------------------------------------- errors
    def _user_position(self, X: Any, present: np.ndarray | None, sample_index: Any) -> int | None:
        """Position in X of the ``sample_index``-th present row, or None."""
        try:
            rows = np.flatnonzero(present if present is not None else self.presence_mask(X))
            i = int(sample_index)
            return int(rows[i]) if 0 <= i < len(rows) else None
        except Exception:
            return None

    @contextmanager
    def _naming_rows(self, X: Any, present: np.ndarray | None = None) -> Iterator[None]:
        """Restate per-sample errors of the inner estimator in terms of X's rows.

        Extractors tag such errors with ``sample_index``: a position among the
        present rows they were given. ``present`` is the mask of those rows
        (recomputed from the fitted selection when None).
        """
        try:
            yield
        except Exception as exc:
            i = getattr(exc, "sample_index", None)
            if i is None:
                if self._single() and isinstance(exc, ValueError) and _WANTS_2D.search(str(exc)):
                    exc.add_note(
                        f"Modality {self.column!r} passes its single column to the estimator as a "
                        "1-D sequence (what the extractors of mmlearn.features take). For an "
                        "estimator that needs a 2-D table, select the column as a list: "
                        f"Modality([{self.column!r}], ...)."
                    )
                raise
            position = self._user_position(X, present, i)
            if position is None:  # an index we cannot map: leave the error as it is
                raise
            index = X.index if isinstance(X, pd.DataFrame) else None
            label = position if index is None else index[position]
            label = label.item() if isinstance(label, np.generic) else label
            where = f"row {position}" if index is None else f"row {position} (index label {label_text(label)})"
            where += f" of column {self.column!r}"
            old = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
            message, found = _SAMPLE_PREFIX.subn(where, old, count=1)
            if not found:
                message = f"{where}: {old}"
            try:
                new = type(exc)(message)
                same = new.args == (message,)
            except Exception:
                same = False
            if not same:  # an exception type that takes other arguments
                mark_row(exc, position, X.shape[0], label)
                exc.add_note(f"(at {where})")
                raise
            mark_row(new, position, X.shape[0], label)
            raise new from exc

    # ---------------------------------------------------------- fitting
    def _fit_metadata(self, fit_params: dict) -> dict:
        if sklearn_get_config().get("enable_metadata_routing", False):
            return dict(process_routing(self, "fit", **fit_params).estimator.fit)
        return dict(fit_params)

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> "Modality":
        """Fit a clone of ``estimator`` on the rows where the modality is present.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table. Its modality column(s) must be present.
        y : array-like of shape (n_samples,), default=None
            Targets, for the whole table.
        **fit_params : dict
            Passed to ``estimator.fit`` (with metadata routing enabled: the
            metadata the inner estimator requested). Array-likes of length
            ``n_samples`` (such as ``sample_weight``) are restricted to the
            present rows.

        Returns
        -------
        self : Modality
            The fitted meta-estimator.
        """
        self._fit(X, y, fit_params)
        return self

    def _fit(self, X: Any, y: Any, fit_params: dict, *, transform: bool = False) -> tuple:
        """Fit; with ``transform``, also the training rows' output in the same pass.

        Returns what :meth:`_placed` takes: the output on the rows kept (or
        None without ``transform``), the mask of those rows over X, the
        featureless rows, the validated X and the absent columns (none).
        """
        if not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"Modality {self.column!r}: estimator must be an estimator with a fit method, "
                f"got {self.estimator!r}."
            )
        X = self._validate(X, reset=True)
        n = X.shape[0]
        positions = self._positions(X)
        values = self._values_at(X, positions)
        present = self._mask_of(values)
        if not present.any():
            raise ValueError(
                f"Modality {self.column!r} is missing (None/NaN/NA) in every one of the {n} "
                "training rows; there is nothing to fit it on."
            )
        if y is not None:
            y = y if hasattr(y, "shape") else np.asarray(y)
            if y.ndim == 0 or y.shape[0] != n:
                raise ValueError(f"X has {n} rows but y has {y.shape[0] if y.ndim else 0}; they must match.")
        classes = None
        if is_classifier(self.estimator):
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None "
                    "(it wraps a classifier)."
                )
            y_arr = np.asarray(y)
            check_classification_targets(y_arr)
            if y_arr.ndim > 1 and y_arr.shape[1:] != (1,):
                raise ValueError("Modality supports single-output classification only.")
            classes = np.unique(y_arr.reshape(len(y_arr), -1)[:, 0]) if y_arr.ndim > 1 else np.unique(y_arr)
        routed = restrict_params(self._fit_metadata(fit_params), np.flatnonzero(present), n)
        y_present = None if y is None else y[present]
        estimator = clone(self.estimator)
        output = getattr(self, "_sklearn_output_config", {}).get("transform")
        if output is not None and hasattr(estimator, "set_output"):
            estimator.set_output(transform=output)
        with self._naming_rows(X, present):
            kept, out = self._fit_inner(estimator, values[present], y_present, routed, transform=transform)
        # fitted state only once the inner fit succeeded
        if classes is not None:
            self.classes_ = classes
        elif hasattr(self, "classes_"):  # refitted with a non-classifier
            del self.classes_
        self.estimator_ = estimator
        self._fit_positions = positions
        self._fit_labels = list(X.columns[positions]) if isinstance(X, pd.DataFrame) else None
        self.n_present_fit_ = int(present.sum() if kept is None else kept.sum())
        return (out, *_split_featureless(present, kept), X, [])

    def _fit_inner(self, estimator: Any, values: Any, y: Any, params: dict, *,
                   transform: bool = False) -> tuple[np.ndarray | None, Any]:
        """Fit ``estimator`` on the present rows; a pipeline's final step skips featureless rows.

        Returns the mask (over ``values``) of the rows the final step was
        fitted on (None when it was fitted on all of them) and, with
        ``transform``, its output on those rows, from ``fit_transform`` as
        a :class:`~sklearn.pipeline.Pipeline` gets it (else None).
        """
        head, final = _split_pipeline(estimator)
        split = None if head is None else _pipeline_fit_params(estimator, head, params)
        if split is None:
            return None, _fit_step(estimator, values, y, params, transform)
        head_params, final_params = split
        Xt = head.fit_transform(values, y, **head_params)
        # with Pipeline(memory=...) the slice holds the fitted (cached) clones
        estimator.steps = list(head.steps) + [estimator.steps[-1]]
        empty = _all_nan_rows(Xt)
        if empty is None:
            return None, _fit_step(final, Xt, y, final_params, transform)
        if empty.all():
            raise ValueError(
                f"Modality {self.column!r}: the transformer steps of its pipeline gave all-NaN "
                f"features for every one of the {len(empty)} training rows where the modality is "
                "present (as Word2VecEmbedding(oov='missing') does for a text without a known "
                "word); there is nothing to fit the final step on."
            )
        keep = np.flatnonzero(~empty)
        n = len(empty)
        final_params = restrict_params(final_params, keep, n)
        out = _fit_step(final, take_rows(Xt, keep), None if y is None else take_rows(y, keep), final_params, transform)
        return ~empty, out

    def get_metadata_routing(self) -> MetadataRouter:
        """Route ``fit`` metadata to the inner estimator.

        ``sample_weight`` of :meth:`score` is Modality's own
        (``set_score_request``). See the Notes of :class:`Modality`.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping().add(caller="fit", callee="fit").add(caller="fit_transform", callee="fit"),
            )
        )

    @available_if(_can_set_output)
    def set_output(self, *, transform: str | None = None) -> "Modality":
        """Set the output container of :meth:`transform` and :meth:`fit_transform`.

        Parameters
        ----------
        transform : {"default", "pandas"}, default=None
            ``"pandas"``: a DataFrame with the index of ``X`` and the
            columns of :meth:`get_feature_names_out`, NaN in the rows where
            the modality is missing; ``"default"``: what the inner estimator
            returns; None: unchanged. Applied to the fitted clone of
            ``estimator`` (``estimator`` itself is left as it is).

        Returns
        -------
        self : Modality
            This estimator.
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                f"Modality.set_output supports transform='default' or 'pandas', got {transform!r} "
                "(a polars frame has no index to keep the rows of X)."
            )
        self._sklearn_output_config = {"transform": transform}
        if hasattr(self, "estimator_"):
            self.estimator_.set_output(transform=transform)
        return self

    # ---------------------------------------------------------- prediction
    def _inner(self, method: str | None, values: Any) -> tuple[Any, np.ndarray | None]:
        """``method`` of the fitted estimator on ``values`` (present rows), minus featureless rows.

        For a pipeline, the transformer steps run once; rows whose features
        are all NaN are left out of the final step. Returns the output on
        the rows kept (None if none is kept, or ``method`` is None) and the
        mask of those rows among ``values`` (None: all of them).
        """
        head, final = _split_pipeline(self.estimator_)
        if head is None:
            return (None if method is None else getattr(self.estimator_, method)(values)), None
        Xt = head.transform(values)
        empty = _all_nan_rows(Xt)
        if empty is None:
            return (None if method is None else getattr(final, method)(Xt)), None
        kept = ~empty
        if method is None or not kept.any():
            return None, kept
        return getattr(final, method)(take_rows(Xt, np.flatnonzero(kept))), kept

    def _present_rows_output(self, method: str | None, X: Any) -> tuple[Any, np.ndarray, np.ndarray, Any, list]:
        """Output on the present rows (or None), the presence mask over X, the rows
        without features (all-NaN pipeline features), the validated X and the absent columns.

        A row is present when its column is and, for a pipeline, its
        features are not all NaN.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        values, present, absent = self._predict_selection(X)
        if not present.any():
            return None, present, np.zeros(len(present), dtype=bool), X, absent
        with self._naming_rows(X, present):
            out, kept = self._inner(method, values[present])
        return (out, *_split_featureless(present, kept), X, absent)

    def _present_output(self, method: str, X: Any) -> tuple[Any, np.ndarray]:
        """``method``'s output on the present rows (or None) and the presence mask, in one pass.

        Fusion calls this instead of :meth:`presence_mask` then ``method``,
        so a pipeline's transformer steps run once. Probabilities and
        decision scores are aligned with ``classes_``, as
        :meth:`predict_proba` and :meth:`decision_function` align them.
        """
        from .fusion._outputs import align_classes

        out, present, _, _, _ = self._present_rows_output(method, X)
        if out is not None and method in ("predict_proba", "decision_function"):
            out = align_classes(out, getattr(self.estimator_, "classes_", None),
                                getattr(self, "classes_", None), method)
        return out, present

    def _missing_error(self, X: Any, present: np.ndarray, absent: list, what: str,
                       featureless: np.ndarray | None = None) -> ValueError:
        n = len(present)
        if absent:
            return ValueError(
                f"Modality {self.column!r}: column(s) {absent!r} not in X, so the modality is "
                f"missing in all {n} rows; {what}"
            )
        parts = []
        if featureless is None:
            featureless = np.zeros(n, dtype=bool)
        rows = np.flatnonzero(~present & ~featureless)
        if len(rows):
            parts.append(
                f"is missing (None/NaN/NA) in {len(rows)} of {n} rows ({rows_text(rows, X)})"
            )
        rows = np.flatnonzero(featureless)
        if len(rows):
            parts.append(
                f"has no features in {len(rows)} of {n} rows ({rows_text(rows, X)}): the "
                "transformer steps of its pipeline gave all-NaN rows there (as "
                "Word2VecEmbedding(oov='missing') does for a text without a known word), which "
                "mark the modality as absent"
            )
        return ValueError(f"Modality {self.column!r} {'; it '.join(parts)}; {what}")

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the inner estimator; every row must have the modality.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions.

        Raises
        ------
        ValueError
            Naming the rows where the modality is missing (positions and
            index labels), or where a pipeline's transformer steps gave
            all-NaN features: use :meth:`presence_mask` to select the
            others, or a fusion estimator.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        values, present, absent = self._predict_selection(X)
        what = (
            "they cannot be predicted from it alone: select the rows of presence_mask(X), "
            "or use a fusion estimator."
        )
        if not present.all():
            raise self._missing_error(X, present, absent, what)
        with self._naming_rows(X, present):
            out, kept = self._inner("predict", values)
        if kept is not None:
            raise self._missing_error(X, kept, absent, what, featureless=~kept)
        return out

    def _aligned(self, method: str, X: Any) -> np.ndarray:
        # one class-alignment convention for Modality and fusion
        from .fusion._outputs import expand_rows, output_width

        aligned, present = self._present_output(method, X)
        return expand_rows(aligned, present, output_width(method, getattr(self, "classes_", None)))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, aligned with ``classes_``; NaN rows where missing.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows where the modality is missing are all NaN.
        """
        return self._aligned("predict_proba", X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`; NaN rows where the modality is missing.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Rows where the modality is missing are all NaN.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores, aligned with ``classes_``; NaN rows where missing.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As the inner estimator returns them; when it saw fewer classes
            than ``classes_`` the output has one column per class and the
            unseen classes get the row's lowest score.
        """
        return self._aligned("decision_function", X)

    @available_if(_estimator_has("transform"))
    def transform(self, X: Any) -> Any:
        """Transform the present rows; NaN rows (zero rows if sparse) elsewhere.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        Xt : ndarray, sparse matrix or DataFrame of shape (n_samples, n_features_out)
            Features of the present rows. A DataFrame (see :meth:`set_output`)
            has the index of ``X`` (a RangeIndex for an array).
        """
        return self._placed(*self._present_rows_output("transform", X))

    def _placed(self, Xt: Any, present: np.ndarray, featureless: np.ndarray, X: Any, absent: list) -> Any:
        """The present rows' output ``Xt`` placed among all rows of X (NaN or zero rows elsewhere)."""
        n = X.shape[0]
        if Xt is None:
            raise self._missing_error(X, present, absent, "there is nothing to transform.", featureless)
        if isinstance(Xt, pd.DataFrame):
            index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)
            # Place by position: the index of X may repeat labels.
            out = Xt.set_axis(np.flatnonzero(present), axis=0).reindex(np.arange(n))
            return out.set_axis(index, axis=0)
        if present.all():
            return Xt
        if sp.issparse(Xt):
            rows = np.flatnonzero(present)
            sel = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(n, len(rows)))
            return (sel @ Xt).tocsr()
        Xt = np.asarray(Xt)
        out = np.full((n,) + Xt.shape[1:], np.nan, dtype=np.result_type(Xt.dtype, np.float32))
        out[present] = Xt
        return out

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, and transform the same rows in the same pass.

        The feature steps run once: a pipeline's transformer steps are
        fitted with ``fit_transform`` and its final step too, as
        :class:`~sklearn.pipeline.Pipeline` does, so the result equals
        ``fit(X, y).transform(X)`` for transformers whose ``fit_transform``
        does (all of :mod:`mmlearn.features`).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.
        y : array-like of shape (n_samples,), default=None
            Targets, if the inner estimator uses them.
        **fit_params : dict
            As for :meth:`fit`.

        Returns
        -------
        Xt : ndarray, sparse matrix or DataFrame of shape (n_samples, n_features_out)
            As :meth:`transform` returns it.
        """
        return self._placed(*self._fit(X, y, fit_params, transform=True))

    @available_if(_estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Feature names of the inner estimator's output.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; the inner estimator names its own output.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The inner estimator's output feature names.
        """
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out()

    @available_if(_estimator_has("score"))
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classifiers) or R² (regressors) on the rows with the modality.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The score on the rows where the modality is present.
        """
        y_pred, present, featureless, X, absent = self._present_rows_output("predict", X)
        n = X.shape[0]
        if y_pred is None:
            raise self._missing_error(X, present, absent, "cannot score.", featureless)
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0] if y.ndim else 0}; they must match.")
        sw = None if sample_weight is None else np.asarray(sample_weight)[present]
        if is_classifier(self):
            return float(accuracy_score(y[present], y_pred, sample_weight=sw))
        return float(r2_score(y[present], y_pred, sample_weight=sw))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.target_tags = inner.target_tags
        # NaN marks a missing modality: fit skips those rows, predict_proba /
        # transform give NaN rows, but predict raises; so NaN is not "allowed".
        tags.input_tags.allow_nan = False
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.sparse = False
        return tags


def make_modality_pipeline(column: Any, *steps: Any, memory: Any = None) -> Modality:
    """Build a :class:`Modality` around ``make_pipeline(*steps)``.

    Parameters
    ----------
    column : str, int or list
        The column (see :class:`Modality`).
    *steps : estimators
        The pipeline's steps, the last one a classifier, regressor or
        transformer.
    memory : str or joblib.Memory, default=None
        Passed to :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    modality : Modality

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mmlearn.compose import make_modality_pipeline
    >>> m = make_modality_pipeline("text", TfidfVectorizer(), LogisticRegression())
    >>> m.column, [name for name, _ in m.estimator.steps]
    ('text', ['tfidfvectorizer', 'logisticregression'])
    """
    if not steps:
        raise ValueError("make_modality_pipeline needs at least one step.")
    return Modality(column, make_pipeline(*steps, memory=memory))


def make_early_fusion(*transformers: tuple[Any, Any], final_estimator: Any, n_jobs: Any = None) -> Any:
    """Concatenate per-modality features, then fit one estimator (early fusion).

    A thin helper over :class:`~sklearn.compose.ColumnTransformer` and
    :func:`~sklearn.pipeline.make_pipeline`: every row must have every
    modality it uses.

    Parameters
    ----------
    *transformers : tuples (transformer, column)
        Each transformer gets its column as a 1-D sequence (a single column
        label) or a table (a list of labels).
    final_estimator : estimator
        Fitted on the concatenated features.
    n_jobs : int, default=None
        Passed to the ColumnTransformer.

    Returns
    -------
    pipeline : Pipeline

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mmlearn.compose import make_early_fusion
    >>> model = make_early_fusion(
    ...     (TfidfVectorizer(), "title"), (TfidfVectorizer(), "body"),
    ...     final_estimator=LogisticRegression())
    >>> [name for name, _ in model.steps]
    ['columntransformer', 'logisticregression']
    """
    if not transformers:
        raise ValueError("make_early_fusion needs at least one (transformer, column) pair.")
    ct = ColumnTransformer(
        [(f"{type(t).__name__.lower()}_{i}", t, c) for i, (t, c) in enumerate(transformers)],
        n_jobs=n_jobs,
    )
    return make_pipeline(ct, final_estimator)
