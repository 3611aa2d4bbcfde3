"""Modality: one column of a multimodal table, fed to its own estimator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

__all__ = ["Modality", "make_modality_pipeline", "make_early_fusion"]

_MAX_ROWS_SHOWN = 10


def _estimator_has(attr: str):
    """Gate a method on the (fitted, else unfitted) inner estimator having it."""

    def check(self: "Modality") -> bool:
        est = getattr(self, "estimator_", self.estimator)
        return hasattr(est, attr)

    return check


def _rows_text(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:_MAX_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_ROWS_SHOWN} more" if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"[{shown}{more}]"


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
        Number of training rows where the modality was present.
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
    A value is missing when it is None, NaN or ``pd.NA``. At prediction time
    :meth:`predict_proba`, :meth:`decision_function` and :meth:`transform`
    return a row of NaN for every row whose modality is missing (for a
    sparse ``transform`` output: a row of zeros), so that fusion can skip
    it; :meth:`presence_mask` tells which rows those are. :meth:`predict`
    raises instead, naming the rows. :meth:`score` scores the rows where the
    modality is present.

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
    """

    def __init__(self, column: Any, estimator: Any):
        self.column = column
        self.estimator = estimator

    # ---------------------------------------------------------- selection
    def _validate(self, X: Any, *, reset: bool) -> Any:
        if not isinstance(X, pd.DataFrame):
            if not hasattr(X, "shape") or getattr(X, "ndim", 2) != 2:
                try:
                    X = np.asarray(X)
                except ValueError:
                    X = np.asarray(X, dtype=object)
            if sp.issparse(X):
                raise TypeError("Modality does not accept sparse input; pass a DataFrame or a 2-D array.")
            if X.ndim != 2:
                raise ValueError(
                    f"Modality expects a DataFrame or a 2-D array (one column per modality), "
                    f"got an array of shape {X.shape}. Reshape your data, e.g. with "
                    "X.reshape(-1, 1) for a single column."
                )
        validate_data(self, X, reset=reset, skip_check_array=True)
        if X.shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        if _num_samples(X) == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        return X

    def _columns(self) -> list:
        return list(self.column) if isinstance(self.column, (list, tuple)) else [self.column]

    def _select(self, X: Any) -> Any:
        """Return the modality's values: a 1-D Series / array, or a 2-D table."""
        if isinstance(self.column, slice):
            return X.iloc[:, self.column] if isinstance(X, pd.DataFrame) else X[:, self.column]
        cols = self._columns()
        if isinstance(X, pd.DataFrame):
            if all(c in X.columns for c in cols):
                return X[self.column]
            if all(isinstance(c, (int, np.integer)) and -X.shape[1] <= c < X.shape[1] for c in cols):
                return X.iloc[:, self.column]
            absent = [c for c in cols if c not in X.columns]
            raise ValueError(
                f"Modality column(s) {absent!r} not found in X; its columns are "
                f"{list(X.columns)!r}."
            )
        for c in cols:
            if not isinstance(c, (int, np.integer)) or not -X.shape[1] <= c < X.shape[1]:
                raise ValueError(
                    f"Modality column {c!r} cannot select from an array with {X.shape[1]} "
                    "columns: use an integer position, or pass a DataFrame to select by name."
                )
        return X[:, self.column]

    @staticmethod
    def _mask_of(values: Any) -> np.ndarray:
        missing = pd.isna(values)
        missing = np.asarray(missing)
        if missing.ndim == 2:
            missing = missing.any(axis=1)
        return ~missing

    @staticmethod
    def _take(values: Any, mask: np.ndarray) -> Any:
        if isinstance(values, (pd.Series, pd.DataFrame)):
            return values[mask]
        return values[mask]

    def presence_mask(self, X: Any) -> np.ndarray:
        """Return which rows of ``X`` have this modality.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype bool
            True where the column is present (not None / NaN / NA).
        """
        X = X if isinstance(X, pd.DataFrame) or hasattr(X, "shape") else np.asarray(X, dtype=object)
        return self._mask_of(self._select(X))

    # ---------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> "Modality":
        """Fit a clone of ``estimator`` on the rows where the modality is present.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The multimodal table.
        y : array-like of shape (n_samples,), default=None
            Targets, for the whole table.
        **fit_params : dict
            Passed to ``estimator.fit``; array-likes of length ``n_samples``
            (such as ``sample_weight``) are restricted to the present rows.

        Returns
        -------
        self : Modality
            The fitted meta-estimator.
        """
        X = self._validate(X, reset=True)
        n = _num_samples(X)
        values = self._select(X)
        present = self._mask_of(values)
        if not present.any():
            raise ValueError(
                f"Modality {self.column!r} is missing in every one of the {n} training "
                "rows; there is nothing to fit it on."
            )
        if y is not None:
            y = np.asarray(y) if not hasattr(y, "shape") else y
            if _num_samples(y) != n:
                raise ValueError(
                    f"X has {n} rows but y has {_num_samples(y)}; they must match."
                )
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
            self.classes_ = np.unique(y_arr.reshape(len(y_arr), -1)[:, 0]) if y_arr.ndim > 1 else np.unique(y_arr)
        routed = {
            k: (self._take(np.asarray(v), present) if _is_per_sample(v, n) else v)
            for k, v in fit_params.items()
        }
        y_present = None if y is None else (y[present] if isinstance(y, (pd.Series, pd.DataFrame, np.ndarray)) else np.asarray(y)[present])
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(self._take(values, present), y_present, **routed)
        self.n_present_fit_ = int(present.sum())
        return self

    # ---------------------------------------------------------- prediction
    def _present_values(self, X: Any) -> tuple[Any, np.ndarray, int]:
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        values = self._select(X)
        present = self._mask_of(values)
        return self._take(values, present), present, _num_samples(X)

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
            Naming the rows where the modality is missing: use
            :meth:`presence_mask` to select the others, or a fusion estimator.
        """
        values, present, n = self._present_values(X)
        if not present.all():
            rows = np.flatnonzero(~present)
            raise ValueError(
                f"Modality {self.column!r} is missing in {len(rows)} of {n} rows "
                f"{_rows_text(rows)}, so they cannot be predicted from it alone; select "
                "the rows of presence_mask(X), or use a fusion estimator."
            )
        return self.estimator_.predict(values)

    def _aligned(self, method: str, X: Any) -> np.ndarray:
        # one class-alignment convention for Modality and fusion
        from .fusion._outputs import align_classes, expand_rows, output_width

        values, present, n = self._present_values(X)
        classes = getattr(self, "classes_", None)
        aligned = None
        if present.any():
            raw = getattr(self.estimator_, method)(values)
            aligned = align_classes(raw, getattr(self.estimator_, "classes_", None), classes, method)
        return expand_rows(aligned, present, output_width(method, classes))

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
        """Log of :meth:`predict_proba`; NaN rows where the modality is missing."""
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
        Xt : ndarray or sparse matrix of shape (n_samples, n_features_out)
            Features of the present rows.
        """
        values, present, n = self._present_values(X)
        if not present.any():
            raise ValueError(
                f"Modality {self.column!r} is missing in all {n} rows; there is nothing to transform."
            )
        Xt = self.estimator_.transform(values)
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
        """Fit, then :meth:`transform` the same rows."""
        return self.fit(X, y, **fit_params).transform(X)

    @available_if(_estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Feature names of the inner estimator's output."""
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
        """
        values, present, n = self._present_values(X)
        if not present.any():
            raise ValueError(f"Modality {self.column!r} is missing in all {n} rows; cannot score.")
        y = np.asarray(y)[present]
        sw = None if sample_weight is None else np.asarray(sample_weight)[present]
        y_pred = self.estimator_.predict(values)
        if is_classifier(self):
            return float(accuracy_score(y, y_pred, sample_weight=sw))
        return float(r2_score(y, y_pred, sample_weight=sw))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.target_tags = inner.target_tags
        tags.input_tags.allow_nan = True  # NaN in the column means "missing"
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.sparse = False
        return tags


def _is_per_sample(value: Any, n: int) -> bool:
    if value is None or isinstance(value, (str, bytes, dict)):
        return False
    try:
        return hasattr(value, "__len__") and len(value) == n and np.ndim(value) >= 1
    except TypeError:
        return False


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
