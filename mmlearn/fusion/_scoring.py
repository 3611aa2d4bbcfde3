"""Scoring many fused candidates at once, on cached member outputs.

Common metrics are computed for all candidates in one array expression;
any other sklearn scorer is called once per candidate on a stand-in
estimator that returns the stored outputs (no model is refitted).
"""

from __future__ import annotations

import inspect
import time
import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils.metaestimators import available_if

from ._outputs import candidate_blocks, fuse, one_hot

# scoring names computed in one vectorised pass; others go through sklearn
_FAST_CLASSIFIER = {"accuracy", "neg_log_loss"}
_FAST_REGRESSOR = {"r2", "neg_mean_squared_error", "neg_mean_absolute_error"}


def check_scorer_name(name: str) -> str:
    """``name`` if sklearn has a scorer of that name, else a ValueError with close names.

    sklearn's own error lists all of its scorer names; this one names the
    few that look like what was typed.
    """
    valid = get_scorer_names()
    if name not in valid:
        close = [v for v in sorted(valid) if name.lower() in v or v in name.lower()][:5]
        hint = f" Did you mean one of {close}?" if close else ""
        raise ValueError(
            f"Unknown scoring {name!r}.{hint} Valid names are those of "
            "sklearn.metrics.get_scorer_names()."
        )
    return name


class CandidateScorer:
    """Score fused outputs of many candidates against one y.

    Parameters
    ----------
    scoring : None, str or callable
        As in :class:`~sklearn.model_selection.GridSearchCV`. None is the
        estimator's ``score``: accuracy (classifiers) or R² (regressors).
    classifier : bool
    soft : bool
        Whether classifier outputs are probabilities (else vote counts).
    """

    def __init__(self, scoring: Any, *, classifier: bool, soft: bool):
        self.scoring = scoring
        self.classifier = classifier
        self.soft = soft
        name = check_scorer_name(scoring) if isinstance(scoring, str) else scoring
        if scoring is None:
            name = "accuracy" if classifier else "r2"
        fast = _FAST_CLASSIFIER if classifier else _FAST_REGRESSOR
        self.fast = name if isinstance(name, str) and name in fast else None
        if self.fast == "neg_log_loss" and not soft:
            raise ValueError("scoring='neg_log_loss' needs probabilities: use voting='soft'.")
        stand_in = PrecomputedClassifier() if classifier else PrecomputedRegressor()
        self.scorer = check_scoring(stand_in, scoring=scoring)
        # GridSearchCV (sklearn >= 1.9) weights the scores too when the scorer accepts it
        accepts = getattr(self.scorer, "_accept_sample_weight", None)
        if accepts is not None:
            self.accepts_sample_weight = bool(accepts())
        else:
            try:
                self.accepts_sample_weight = "sample_weight" in inspect.signature(self.scorer).parameters
            except (TypeError, ValueError):
                self.accepts_sample_weight = False
        if self.fast is not None:
            self.accepts_sample_weight = True

    def __call__(
        self, y: np.ndarray, fused: np.ndarray, classes: np.ndarray | None, sample_weight: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of each candidate.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            True labels (classifiers) or targets.
        fused : ndarray of shape (n_candidates, n_samples, n_classes) or (n_candidates, n_samples)
            Probabilities (soft voting), weighted votes (hard voting) or
            predictions (regression). Rows of a candidate that are NaN make
            its score NaN.
        classes : ndarray of shape (n_classes,) or None
        sample_weight : ndarray of shape (n_samples,), default=None
            Weights of the scored rows; ignored by scorers that do not
            accept them.

        Returns
        -------
        scores : ndarray of shape (n_candidates,)
        """
        c = fused.shape[0]
        bad = np.isnan(fused.reshape(c, -1)).any(axis=1)
        scores = np.full(c, np.nan)
        ok = np.flatnonzero(~bad)
        if len(ok) == 0:
            return scores
        f = fused[ok]
        w = sample_weight if self.accepts_sample_weight else None
        if self.fast is not None:
            scores[ok] = self._fast(y, f, classes, w)
            return scores
        kw = {} if w is None else {"sample_weight": w}
        idx = np.arange(len(y))[:, None]
        for i, row in zip(ok, f):
            if self.classifier:
                est = PrecomputedClassifier(
                    classes=classes,
                    proba=row if self.soft else None,
                    codes=None if self.soft else np.argmax(row, axis=1),
                ).fit(None)
            else:
                est = PrecomputedRegressor(pred=row).fit(None)
            scores[i] = self.scorer(est, idx, y, **kw)
        return scores

    def _fast(self, y: np.ndarray, f: np.ndarray, classes: np.ndarray | None, w: np.ndarray | None) -> np.ndarray:
        def mean(values: np.ndarray) -> np.ndarray:
            return values.mean(axis=1) if w is None else (values @ w) / w.sum()

        if self.classifier:
            codes = np.searchsorted(classes, y)
            if self.fast == "accuracy":
                return mean((np.argmax(f, axis=2) == codes[None]).astype(float))
            # neg_log_loss as sklearn.metrics.log_loss: clip to [eps, 1 - eps]
            p = f[:, np.arange(len(y)), codes]
            eps = np.finfo(f.dtype).eps
            return mean(np.log(np.clip(p, eps, 1 - eps)))
        err = f - y[None]
        if self.fast == "neg_mean_squared_error":
            return -mean(err**2)
        if self.fast == "neg_mean_absolute_error":
            return -mean(np.abs(err))
        ww = np.ones(len(y)) if w is None else w
        num = (err**2) @ ww
        centre = y.mean() if w is None else np.average(y, weights=w)
        den = ((y - centre) ** 2) @ ww
        if den == 0:
            return np.where(num == 0, 1.0, 0.0)
        return 1 - num / den


class PrecomputedClassifier(ClassifierMixin, BaseEstimator):
    """Classifier that returns stored outputs for rows given by index (for scorers).

    ``X`` passed to its methods is a column of row indices into the stored
    arrays. Used to score fused or member outputs with any sklearn scorer
    without refitting anything (the weight search, ensemble selection and
    :func:`mmlearn.model_selection.evaluate`). ``predict`` returns
    ``labels``, else ``classes[codes]``, else the most probable class.
    """

    def __init__(self, classes: Any = None, proba: Any = None, codes: Any = None,
                 labels: Any = None, decision: Any = None):
        self.classes = classes
        self.proba = proba
        self.codes = codes
        self.labels = labels
        self.decision = decision

    def fit(self, X: Any, y: Any = None) -> "PrecomputedClassifier":
        self.classes_ = np.asarray(self.classes)
        return self

    def _idx(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.intp).reshape(-1)

    def predict(self, X: Any) -> np.ndarray:
        i = self._idx(X)
        if self.labels is not None:
            return np.asarray(self.labels)[i]
        if self.codes is not None:
            return self.classes_[np.asarray(self.codes)[i]]
        return self.classes_[np.argmax(np.asarray(self.proba)[i], axis=1)]

    @available_if(lambda self: self.proba is not None)
    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.proba)[self._idx(X)]

    @available_if(lambda self: self.decision is not None)
    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(self.decision)[self._idx(X)]


class PrecomputedRegressor(RegressorMixin, BaseEstimator):
    """Regressor that returns stored predictions for rows given by index."""

    def __init__(self, pred: Any = None):
        self.pred = pred

    def fit(self, X: Any, y: Any = None) -> "PrecomputedRegressor":
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.pred)[np.asarray(X, dtype=np.intp).reshape(-1)]


def search_results(candidates: np.ndarray, scores: np.ndarray, fold_fit_time: np.ndarray,
                   score_time: np.ndarray) -> tuple[dict, int]:
    """``cv_results_`` shaped like GridSearchCV's, and the best index (NaN ranks last)."""
    c, n_splits = scores.shape
    res: dict[str, Any] = {}
    fit_t = np.broadcast_to(fold_fit_time, (c, n_splits))
    score_t = np.broadcast_to(score_time / c, (c, n_splits))
    res["mean_fit_time"] = fit_t.mean(axis=1)
    res["std_fit_time"] = fit_t.std(axis=1)
    res["mean_score_time"] = score_t.mean(axis=1)
    res["std_score_time"] = score_t.std(axis=1)
    param = np.ma.MaskedArray(np.empty(c, dtype=object), mask=False)
    for i in range(c):
        param[i] = candidates[i].tolist()
    res["param_weights"] = param
    res["params"] = [{"weights": candidates[i].tolist()} for i in range(c)]
    for f in range(n_splits):
        res[f"split{f}_test_score"] = scores[:, f]
    means = np.average(scores, axis=1)
    res["mean_test_score"] = means
    res["std_test_score"] = np.sqrt(np.average((scores - means[:, None]) ** 2, axis=1))
    if np.isnan(means).all():
        rank = np.ones(c, dtype=np.int32)
    else:
        filled = np.nan_to_num(means, nan=np.nanmin(means) - 1)
        rank = rankdata(-filled, method="min").astype(np.int32)
    res["rank_test_score"] = rank
    return res, int(rank.argmin())


def stack_fold_outputs(scorer: CandidateScorer, outputs: list, splits: list, y: np.ndarray,
                       sample_weight: Any, classes: Any) -> list[tuple]:
    """Per fold: member outputs stacked ``(n_members, n_test, k)``, presence, y and weights.

    Hard votes become one-hot rows, so that every candidate's fused vote is a
    weighted sum, like soft probabilities and regressor predictions.
    """
    classifier, soft = scorer.classifier, scorer.soft
    k = len(classes) if classifier else 1
    fold_data = []
    for f, (_, test) in enumerate(splits):
        outs = [o for o, _ in outputs[f]]
        present = np.vstack([p for _, p in outputs[f]])
        if classifier and not soft:
            outs = [one_hot(o, k) for o in outs]
        arr = np.stack(outs) if classifier else np.stack(outs)[:, :, None]
        fold_data.append((arr, present, y[test], None if sample_weight is None else sample_weight[test]))
    return fold_data


def score_candidates(scorer: CandidateScorer, fold_data: list, W: np.ndarray,
                     classes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(n_candidates, n_folds)`` of every weight row of ``W`` and each fold's scoring time."""
    classifier, soft = scorer.classifier, scorer.soft
    c = len(W)
    scores = np.full((c, len(fold_data)), np.nan)
    score_time = np.zeros(len(fold_data))
    for f, (arr, present, y_f, sw_f) in enumerate(fold_data):
        start = time.perf_counter()
        for block in candidate_blocks(c, arr.shape[1], arr.shape[2]):
            fused = fuse(arr, present, W[block], mean=soft or not classifier)
            scores[block, f] = scorer(y_f, fused if classifier else fused[:, :, 0], classes, sw_f)
        score_time[f] = time.perf_counter() - start
    n_bad = int(np.isnan(scores).any(axis=1).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {c} weight candidates scored NaN on some fold (rows with every "
            "modality missing, or a scorer that failed); they rank last.",
            UserWarning,
            stacklevel=3,
        )
    return scores, score_time
