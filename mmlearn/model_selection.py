"""Cross-validated evaluation with a per-modality report."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
from sklearn.model_selection import LeaveOneOut
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ._caching import resolve_feature_memo, using_feature_memo
from ._tables import label_text, take_rows
from .fusion._oof import resolve_cv
from .fusion._outputs import member_output
from .fusion._scoring import PrecomputedClassifier, PrecomputedRegressor

__all__ = ["evaluate", "EvaluationResult"]

_LOO_NOTE = (
    "leave-one-out: a one-sample fold has no meaningful score, so each score is "
    "computed once, on the pooled out-of-fold predictions of all folds"
)


# ------------------------------------------------------------------ result
@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    scores : DataFrame
        Tidy table with columns ``model``, ``fold``, ``metric``, ``value``:
        the fused estimator (``model`` = its class name, or ``"fused"``) and,
        for fusion estimators, each member on the same folds. For
        leave-one-out ``fold`` is ``"pooled"``.
    timings : DataFrame
        ``fold``, ``fit_time``, ``predict_time`` in seconds.
    predictions : DataFrame or None
        Pooled out-of-fold predictions (``y_true``, one ``pred_<model>``
        column per model; members predict NaN where their modality is
        missing), when ``return_predictions`` or leave-one-out asked for them.
    pooled : bool
        True when scores were computed from pooled predictions (LOO).
    notes : list of str
        How to read the numbers.
    classes : ndarray or None
        Class labels (classifiers).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mmlearn.model_selection import evaluate
    >>> X, y = load_iris(return_X_y=True)
    >>> result = evaluate(LogisticRegression(max_iter=500), X, y, cv=3, progress=False)
    >>> result.scores.columns.tolist()
    ['model', 'fold', 'metric', 'value']
    >>> print(result.to_markdown().splitlines()[2])
    | LogisticRegression | 0.9733 ± 0.0094 |
    """

    scores: pd.DataFrame
    timings: pd.DataFrame
    predictions: pd.DataFrame | None = None
    pooled: bool = False
    notes: list[str] = field(default_factory=list)
    classes: np.ndarray | None = None

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of each score over folds.

        Returns
        -------
        summary : DataFrame
            Index (model, metric), columns ``mean``, ``std``, ``n_folds``.
        """
        g = self.scores.groupby(["model", "metric"], sort=False)["value"]
        out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n_folds": g.size()})
        return out

    def to_markdown(self) -> str:
        """A markdown table of mean ± std per model and metric."""
        summ = self.summary().reset_index()
        metrics = list(dict.fromkeys(summ["metric"]))
        models = list(dict.fromkeys(summ["model"]))
        lines = ["| model | " + " | ".join(metrics) + " |", "| --- |" + " --- |" * len(metrics)]
        for m in models:
            cells = []
            for metric in metrics:
                row = summ[(summ["model"] == m) & (summ["metric"] == metric)]
                if row.empty:
                    cells.append("")
                elif self.pooled:
                    cells.append(f"{row['mean'].iloc[0]:.4f}")
                else:
                    cells.append(f"{row['mean'].iloc[0]:.4f} ± {row['std'].iloc[0]:.4f}")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        t = self.timings
        lines.append("")
        lines.append(
            f"fit {t['fit_time'].mean():.3f} s, predict {t['predict_time'].mean():.3f} s per fold "
            f"({len(t)} folds)"
        )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, kind: str = "scores", *, metric: str | None = None, model: str | None = None, ax: Any = None) -> Any:
        """Plot scores per model with error bars, or a confusion matrix.

        Parameters
        ----------
        kind : {"scores", "confusion"}, default="scores"
            ``"confusion"`` needs pooled predictions (``return_predictions``).
        metric : str, default=None
            The metric to plot (default: the first).
        model : str, default=None
            For ``"confusion"``: the model whose predictions to use (default:
            the fused one).
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        ax : matplotlib Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover - exercised without the extra
            raise ImportError(
                "EvaluationResult.plot needs matplotlib: pip install 'mmlearn[plot]'."
            ) from None
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if kind == "scores":
            summ = self.summary().reset_index()
            metric = metric or summ["metric"].iloc[0]
            summ = summ[summ["metric"] == metric]
            ax.bar(summ["model"], summ["mean"], yerr=summ["std"], capsize=4, color="#4c72b0")
            ax.set_ylabel(metric)
            ax.set_title(f"{metric} per model" + (" (pooled LOO)" if self.pooled else ""))
            ax.tick_params(axis="x", rotation=30)
            lo = max(0.0, float((summ["mean"] - summ["std"]).min()) - 0.05)
            ax.set_ylim(lo, None)
        elif kind == "confusion":
            if self.predictions is None or self.classes is None:
                raise ValueError(
                    "A confusion matrix needs pooled classifier predictions: call "
                    "evaluate(..., return_predictions=True)."
                )
            from sklearn.metrics import ConfusionMatrixDisplay

            model = model or self.scores["model"].iloc[0]
            col = f"pred_{model}"
            if col not in self.predictions:
                raise ValueError(f"No predictions for model {model!r}; have {list(self.predictions.columns)}.")
            pred = self.predictions[col]
            keep = pred.notna().to_numpy()
            ConfusionMatrixDisplay.from_predictions(
                self.predictions["y_true"][keep], pred[keep].astype(self.predictions["y_true"].dtype),
                labels=self.classes, ax=ax, colorbar=False,
            )
            ax.set_title(f"confusion matrix: {model}")
        else:
            raise ValueError(f"kind must be 'scores' or 'confusion', got {kind!r}.")
        ax.figure.tight_layout()
        return ax


# ------------------------------------------------------------ validation
def _check_scoring(estimator: Any, scoring: Any) -> dict[str, Any]:
    if scoring is None:
        return {"accuracy" if is_classifier(estimator) else "r2": check_scoring(estimator)}
    if isinstance(scoring, str):
        scoring = [scoring]
    if isinstance(scoring, dict):
        items = list(scoring.items())
    elif callable(scoring):
        items = [("score", scoring)]
    else:
        items = [(s, s) for s in scoring]
    out = {}
    valid = set(get_scorer_names())
    for name, s in items:
        if isinstance(s, str):
            if s not in valid:
                close = [v for v in sorted(valid) if s.lower() in v or v in s.lower()][:5]
                hint = f" Did you mean one of {close}?" if close else ""
                raise ValueError(
                    f"Unknown scoring {s!r}.{hint} Valid names are those of "
                    "sklearn.metrics.get_scorer_names()."
                )
            out[name] = get_scorer(s)
        elif callable(s):
            out[name] = s
        else:
            raise ValueError(f"scoring entries must be names or callables, got {s!r}.")
    return out


def _check_cv(cv: Any, estimator: Any, y: np.ndarray, groups: Any) -> tuple[Any, bool]:
    n = len(y)
    if isinstance(cv, str):
        if cv.lower() != "loo":
            raise ValueError(f"cv must be an int, a splitter or 'loo', got {cv!r}.")
        cv = LeaveOneOut()
    if isinstance(cv, LeaveOneOut) and n < 2:
        raise ValueError(f"Leave-one-out needs at least 2 samples, got {n}.")
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        if cv > n:
            raise ValueError(f"cv={cv} folds but there are only {n} samples.")
    cv = resolve_cv(cv, y, classifier=is_classifier(estimator))
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries but X has {n} rows; they must match.")
    return cv, isinstance(cv, LeaveOneOut)


# ----------------------------------------------------------- one fold
def _members(fitted: Any) -> list[tuple[str, Any]]:
    named = getattr(fitted, "named_estimators_", None)
    if named is None:
        return []
    return [(name, est) for name, est in named.items() if est not in (None, "drop")]


def _encoder(fitted: Any) -> Any:
    # sklearn's Voting/Stacking fit members on label-encoded y (le_)
    return getattr(fitted, "le_", None)


def _predict_all(est: Any, X: Any, classifier: bool) -> dict[str, np.ndarray]:
    out = {"predict": np.asarray(est.predict(X))}
    if classifier:
        for method in ("predict_proba", "decision_function"):
            if hasattr(est, method):
                try:
                    out[method] = np.asarray(getattr(est, method)(X), dtype=float)
                except (AttributeError, NotImplementedError):
                    pass
    return out


def _member_outputs(member: Any, X: Any, classes: Any, enc: Any) -> tuple[dict, np.ndarray]:
    """A fitted member's outputs on its present rows, through the fusion's output engine."""
    member_classes = getattr(member, "classes_", None)
    if classes is None:
        pred, mask = member_output(member, X, "predict", None)
        return {"predict": pred[mask]}, mask
    if enc is not None:  # sklearn's Voting/Stacking fit members on label-encoded y
        member_classes = enc.inverse_transform(member_classes)
    codes, mask = member_output(member, X, "predict", np.arange(len(classes)) if enc is not None else classes)
    out = {"predict": np.asarray(classes)[codes[mask]]}
    for method in ("predict_proba", "decision_function"):
        if hasattr(member, method):
            try:
                values, _ = member_output(member, X, method, classes, member_classes)
            except (AttributeError, NotImplementedError):
                continue
            out[method] = values[mask][:, 0] if values.shape[1] == 1 else values[mask]
    return out, mask


def _fold(estimator: Any, X: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray,
          scorers: dict, classifier: bool, pooled: bool, per_modality: bool, fit_params: dict,
          blas_threads: int | None, memory: Any) -> dict:
    args = (estimator, X, y, train, test, scorers, classifier, pooled, per_modality, fit_params)
    with using_feature_memo(memory):
        if blas_threads is None:
            return _fold_body(*args)
        # folds already run in parallel: BLAS threads on top would oversubscribe
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            return _fold_body(*args)


def _fold_body(estimator: Any, X: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray,
               scorers: dict, classifier: bool, pooled: bool, per_modality: bool, fit_params: dict) -> dict:
    est = clone(estimator)
    X_train, X_test = take_rows(X, train), take_rows(X, test)
    t0 = time.perf_counter()
    est.fit(X_train, y[train], **fit_params)
    fit_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    outputs = {"fused": _predict_all(est, X_test, classifier)}
    predict_time = time.perf_counter() - t0
    scores: dict[str, dict[str, float]] = {}
    if not pooled:
        scores["fused"] = {name: float(s(est, X_test, y[test])) for name, s in scorers.items()}
    present: dict[str, np.ndarray] = {}
    if per_modality:
        enc = _encoder(est)
        classes = getattr(est, "classes_", None) if classifier else None
        for name, member in _members(est):
            out, mask = _member_outputs(member, X_test, classes, enc)
            present[name] = mask
            if not mask.any():
                continue
            outputs[name] = out
            if not pooled:
                frozen = _frozen(out, classifier, classes)
                idx = np.arange(int(mask.sum())).reshape(-1, 1)
                scores[name] = {n: float(s(frozen, idx, y[test][mask])) for n, s in scorers.items()}
    return {
        "test": test, "fit_time": fit_time, "predict_time": predict_time,
        "outputs": outputs, "present": present, "scores": scores,
    }


def _frozen(outputs: dict, classifier: bool, classes: Any) -> Any:
    """A stand-in estimator that serves stored outputs to sklearn scorers."""
    if classifier:
        return PrecomputedClassifier(
            classes, proba=outputs.get("predict_proba"), labels=outputs["predict"],
            decision=outputs.get("decision_function"),
        ).fit(None)
    return PrecomputedRegressor(outputs["predict"]).fit(None)


def _name_user_row(exc: BaseException, X: Any) -> None:
    """Add the position in the user's table of the row an error names by index label."""
    label = getattr(exc, "row_label", None)
    if label is None or not isinstance(X, pd.DataFrame) or not exc.args or not isinstance(exc.args[0], str):
        return
    try:
        pos = X.index.get_loc(label)
    except (KeyError, TypeError):
        return
    if not isinstance(pos, (int, np.integer)):
        return  # a repeated index label: no single position
    if f"position {pos}" not in exc.args[0]:
        exc.args = (
            f"{exc.args[0]} [row {label_text(label)} is at position {pos} of the table given to evaluate]",
        ) + exc.args[1:]


# ------------------------------------------------------------ evaluate
def evaluate(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    cv: Any = 5,
    scoring: Any = None,
    groups: Any = None,
    n_jobs: int | None = None,
    per_modality: bool = True,
    return_predictions: bool = False,
    progress: bool = True,
    fit_params: dict | None = None,
    memory: Any = None,
) -> EvaluationResult:
    """Cross-validate an estimator, reporting each fusion member beside the fusion.

    Parameters
    ----------
    estimator : estimator object
        Any sklearn estimator; for a fusion estimator (anything with
        ``named_estimators_`` after fitting, such as
        :class:`~mmlearn.fusion.VotingFusionClassifier` or sklearn's
        ``VotingClassifier``) each member is scored on the same test folds,
        from the members fitted inside those folds (no extra fits). A
        :class:`~mmlearn.compose.Modality` member is scored on the test rows
        that have its modality.
    X : DataFrame or array-like of shape (n_samples, n_columns)
        The multimodal table.
    y : array-like of shape (n_samples,)
        Targets.
    cv : int, cross-validation splitter or "loo", default=5
        An int means stratified k-fold for classifiers (k-fold otherwise),
        without shuffling, as in sklearn; any sklearn splitter (grouped,
        repeated, shuffled) is used as given; ``"loo"`` means leave-one-out,
        whose scores are computed once on the pooled out-of-fold predictions.
    scoring : str, callable, list or dict, default=None
        sklearn scorer names or callables; None means accuracy for
        classifiers and R² for regressors.
    groups : array-like of shape (n_samples,), default=None
        Group labels for grouped splitters.
    n_jobs : int, default=None
        Folds run in parallel through joblib, so
        ``joblib.parallel_config(backend="dask")`` spreads them over a Dask
        cluster unchanged.
    per_modality : bool, default=True
        Score each member of a fusion estimator too.
    return_predictions : bool, default=False
        Keep the pooled out-of-fold predictions (needed for
        ``plot("confusion")``).
    progress : bool, default=True
        Show a tqdm progress bar over folds.
    fit_params : dict, default=None
        Passed to ``estimator.fit`` (array-likes of length ``n_samples`` are
        split with the folds).
    memory : None, FeatureMemo, str or joblib.Memory, default=None
        Opt-in per-sample feature memo for the run: stateless extractors
        (:class:`~mmlearn.features.MFCCFeatures`,
        :class:`~mmlearn.features.HOGFeatures`) whose own ``memory`` is None
        use it inside each fold, so each sample's features are computed
        once across all folds. The estimator is neither edited nor cloned
        for it. None (the default) means no memo. With ``n_jobs`` running
        folds in other processes, give a memo with a ``location`` (or a
        directory) so that the workers share rows.

    Returns
    -------
    result : EvaluationResult
        Tidy scores, a markdown summary, timings and optional predictions.

    Notes
    -----
    An error raised for one row (a bad clip, a row with every modality
    missing) names it by its index label; ``evaluate`` adds the row's
    position in ``X``, not its position inside a fold.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mmlearn.model_selection import evaluate
    >>> X, y = load_iris(return_X_y=True)
    >>> result = evaluate(LogisticRegression(max_iter=500), X, y, cv=5, progress=False)
    >>> round(result.summary().loc[("LogisticRegression", "accuracy"), "mean"], 3)
    np.float64(0.973)
    """
    from tqdm.auto import tqdm

    y = np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}; they must match.")
    if n == 0:
        raise ValueError("evaluate needs at least one sample.")
    classifier = is_classifier(estimator)
    scorers = _check_scoring(estimator, scoring)
    splitter, pooled = _check_cv(cv, estimator, y, groups)
    folds = list(splitter.split(np.zeros((n, 1)), y, groups))
    if classifier and not pooled:
        all_classes = np.unique(y)
        for k, (train, _) in enumerate(folds):
            absent = np.setdiff1d(all_classes, y[train])
            if len(absent):
                raise ValueError(
                    f"fold {k}: its training part has no sample of class(es) "
                    f"{absent.tolist()}; use a stratified splitter or fewer folds."
                )
    fit_params = dict(fit_params or {})
    parallel = n_jobs not in (None, 1)
    resolve_feature_memo(memory)  # a bad value fails here, not in a worker
    model_name = type(estimator).__name__

    def fold_params(train):
        return {k: (np.asarray(v)[train] if hasattr(v, "__len__") and len(v) == n else v)
                for k, v in fit_params.items()}

    jobs = (
        delayed(_fold)(
            estimator, X, y, train, test, scorers, classifier, pooled, per_modality, fold_params(train),
            1 if parallel else None, memory,
        )
        for train, test in folds
    )
    results = []
    try:
        with tqdm(total=len(folds), desc=f"CV {model_name}", disable=not progress, file=sys.stderr) as bar:
            for res in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
                results.append(res)
                bar.update()
    except Exception as exc:
        _name_user_row(exc, X)
        raise

    classes = np.unique(y) if classifier else None
    # pool the out-of-fold outputs
    names = ["fused"] + [k for r in results for k in r["outputs"] if k != "fused"]
    names = list(dict.fromkeys(names))
    pooled_out: dict[str, dict[str, np.ndarray]] = {}
    pooled_mask: dict[str, np.ndarray] = {}
    for name in names:
        store: dict[str, np.ndarray] = {}
        mask = np.zeros(n, bool)
        for r in results:
            out = r["outputs"].get(name)
            if out is None:
                continue
            rows = r["test"] if name == "fused" else r["test"][r["present"][name]]
            mask[rows] = True
            for method, values in out.items():
                if method not in store:
                    store[method] = np.empty((n,) + values.shape[1:], dtype=values.dtype if method == "predict" else float)
                store[method][rows] = values
        pooled_out[name] = store
        pooled_mask[name] = mask

    display = {"fused": model_name}
    rows = []
    if pooled:
        for name in names:
            mask = pooled_mask[name]
            if not mask.any():
                continue
            sub = {m: v[mask] for m, v in pooled_out[name].items()}
            frozen = _frozen(sub, classifier, classes)
            idx = np.arange(int(mask.sum())).reshape(-1, 1)
            for metric, s in scorers.items():
                rows.append((display.get(name, name), "pooled", metric, float(s(frozen, idx, y[mask]))))
    else:
        for k, r in enumerate(results):
            for name, sc in r["scores"].items():
                for metric, value in sc.items():
                    rows.append((display.get(name, name), k, metric, value))
    scores = pd.DataFrame(rows, columns=["model", "fold", "metric", "value"])
    timings = pd.DataFrame(
        {"fold": range(len(results)), "fit_time": [r["fit_time"] for r in results],
         "predict_time": [r["predict_time"] for r in results]}
    )
    predictions = None
    if return_predictions or pooled:
        cols = {"y_true": y}
        for name in names:
            pred = pd.Series(pooled_out[name]["predict"], dtype=object if classifier else float)
            pred[~pooled_mask[name]] = np.nan
            cols[f"pred_{display.get(name, name)}"] = pred.to_numpy()
        predictions = pd.DataFrame(cols)
    notes = [_LOO_NOTE] if pooled else []
    if per_modality and len(names) > 1:
        notes.append(
            "members are the fusion's own members fitted inside each fold, scored on the test "
            "rows that have their modality"
        )
    return EvaluationResult(scores, timings, predictions, pooled, notes, classes)
