"""Cross-validated evaluation of one or several models, with a per-modality report."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import LeaveOneOut
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ._caching import resolve_feature_memo, using_feature_memo
from ._config import config_context
from ._progress import progress_bar
from ._tables import check_finite_target, label_text, restate_row, restrict_params, take_rows
from .fusion._oof import resolve_cv
from .fusion._outputs import align_classes, member_output
from .fusion._scoring import PrecomputedClassifier, PrecomputedRegressor, check_scorer_name

__all__ = ["evaluate", "EvaluationResult"]

_LOO_NOTE = (
    "leave-one-out: a one-sample fold has no meaningful score, so each score is "
    "computed once, on the pooled out-of-fold predictions of all folds"
)
# roles of the rows of a result (EvaluationResult.roles)
FUSION, MEMBER, MODEL = "fusion", "member", "model"
_STYLE = {  # colour, hatch and legend label of each role in plot()
    FUSION: ("#dd8452", "//", "fusion"),
    MEMBER: ("#8fa8cf", "", "fusion member (one modality)"),
    MODEL: ("#4c72b0", "", "single model"),
}


# ------------------------------------------------------------------ result
@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    scores : DataFrame
        Tidy table with columns ``model``, ``fold``, ``metric``, ``value``.
        ``model`` names a row's model: for a single estimator its class
        name and, for a fusion estimator, each member by its own name; for
        a dict of models the dict key and each member as
        ``"<key>/<member>"``. Members are scored on the same folds, in the
        order of the fusion's ``estimators``. For leave-one-out ``fold`` is
        ``"pooled"``.
    timings : DataFrame
        ``model``, ``fold``, ``fit_time``, ``predict_time`` in seconds.
    predictions : DataFrame or None
        Pooled out-of-fold predictions, when ``return_predictions`` or
        leave-one-out asked for them: ``y_true``, one ``pred_<model>``
        column per model and, for every model with ``predict_proba``, one
        ``proba_<model>_<class>`` column per class (members predict NaN
        where their modality is missing).
    pooled : bool
        True when scores were computed from pooled predictions (LOO).
    notes : list of str
        How to read the numbers.
    classes : ndarray or None
        Class labels (classifiers).
    roles : dict
        Model name -> ``"fusion"`` (an estimator with members, such as a
        voting, stacking or weight-search fusion), ``"member"`` (a member
        of one) or ``"model"`` (any other estimator). :meth:`plot`
        highlights the fusions.

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
    roles: dict[str, str] = field(default_factory=dict)

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
        """A markdown table of mean ± std per model and metric, and the fit times."""
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
        lines.append("")
        per_model = self.timings.groupby("model", sort=False)
        n_folds = int(per_model.size().iloc[0])
        for name, t in per_model:
            who = f"{name}: " if per_model.ngroups > 1 else ""
            lines.append(
                f"{who}fit {t['fit_time'].mean():.3f} s, predict {t['predict_time'].mean():.3f} s per fold "
                f"({n_folds} folds)"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, kind: str = "scores", *, metric: str | None = None, model: str | None = None, ax: Any = None) -> Any:
        """Plot the scores of every model, or a confusion matrix.

        Parameters
        ----------
        kind : {"scores", "confusion"}, default="scores"
            ``"scores"``: one bar per model at its mean score, drawn from 0,
            with the standard deviation as an error bar, each fold's score
            as a dot and the mean written above the bar; fusions are
            coloured and hatched apart from their members and from single
            models. A metric whose sklearn name starts with ``neg_`` (such
            as ``neg_log_loss``) is plotted negated under its plain name
            (``log_loss (lower is better)``), so its bars stand above 0;
            any other metric with negative values (an R² below 0) is drawn
            below the zero line. ``"confusion"`` needs pooled classifier
            predictions (``return_predictions``).
        metric : str, default=None
            The metric to plot (default: the first).
        model : str, default=None
            For ``"confusion"``: the model whose predictions to use (default:
            the first).
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
        if kind not in ("scores", "confusion"):
            raise ValueError(f"kind must be 'scores' or 'confusion', got {kind!r}.")
        if ax is None:
            n_models = self.scores["model"].nunique()
            size = (max(7.0, 0.9 * n_models + 4.5), 4.5) if kind == "scores" else (5.0, 4.5)
            _, ax = plt.subplots(figsize=size)
        if kind == "scores":
            self._plot_scores(ax, metric)
        else:
            self._plot_confusion(ax, model)
        ax.figure.tight_layout()
        return ax

    def _plot_scores(self, ax: Any, metric: str | None) -> None:
        from matplotlib.patches import Patch

        metrics = list(dict.fromkeys(self.scores["metric"]))
        metric = metric or metrics[0]
        if metric not in metrics:
            raise ValueError(f"No scores for metric {metric!r}; have {metrics}.")
        data = self.scores[self.scores["metric"] == metric]
        sign, label = (-1.0, f"{metric[4:]} (lower is better)") if metric.startswith("neg_") else (1.0, metric)
        models = list(dict.fromkeys(data["model"]))
        x = np.arange(len(models))
        values = [sign * data.loc[data["model"] == m, "value"].to_numpy(float) for m in models]
        means = np.array([v.mean() for v in values])
        stds = np.array([v.std() for v in values])
        roles = [self.roles.get(m, MODEL) for m in models]
        ax.bar(
            x, means, 0.7, yerr=None if self.pooled else stds, capsize=4,
            color=[_STYLE[r][0] for r in roles], hatch=None, edgecolor="black", linewidth=0.6, zorder=2,
        )
        for patch, role in zip(ax.patches, roles):
            patch.set_hatch(_STYLE[role][1])
        if not self.pooled:
            rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
            for i, v in enumerate(values):
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=12, color="black", alpha=0.7, zorder=3,
                           label="one fold" if i == 0 else None)
        top = max(float(np.max([v.max() for v in values])), 0.0)
        bottom = min(float(np.min([v.min() for v in values])), 0.0)
        span = (top - bottom) or 1.0
        for i, (m, sd, v) in enumerate(zip(means, stds, values)):
            # the mean written clear of its error bar and dots: above a bar, below a negative one
            spread = 0.0 if self.pooled else sd
            at, offset, va = (max(m + spread, v.max()), 3, "bottom") if m >= 0 else (min(m - spread, v.min()), -3, "top")
            ax.annotate(f"{m:.3f}", (i, at), xytext=(0, offset), textcoords="offset points",
                        ha="center", va=va, fontsize=8, zorder=4)
        ax.set_ylim(bottom - (0.12 * span if bottom < 0 else 0), top + 0.12 * span)
        ax.axhline(0, color="black", linewidth=0.8, zorder=1)
        ax.set_xticks(x, models, rotation=30 if len(models) > 2 else 0, ha="right" if len(models) > 2 else "center")
        ax.set_ylabel(label)
        ax.set_axisbelow(True)
        ax.grid(axis="y", alpha=0.3)
        folds = "pooled leave-one-out" if self.pooled else f"{self.scores['fold'].nunique()} folds"
        ax.set_title(f"{label} per model ({folds})")
        handles = [Patch(facecolor=_STYLE[r][0], hatch=_STYLE[r][1], edgecolor="black", label=_STYLE[r][2])
                   for r in (FUSION, MEMBER, MODEL) if r in roles]
        handles += ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    def _plot_confusion(self, ax: Any, model: str | None) -> None:
        if self.predictions is None or self.classes is None:
            raise ValueError(
                "A confusion matrix needs pooled classifier predictions: call "
                "evaluate(..., return_predictions=True)."
            )
        from sklearn.metrics import ConfusionMatrixDisplay

        model = model or self.scores["model"].iloc[0]
        col = f"pred_{model}"
        if col not in self.predictions:
            have = [c[5:] for c in self.predictions.columns if c.startswith("pred_")]
            raise ValueError(f"No predictions for model {model!r}; have {have}.")
        pred = self.predictions[col]
        keep = pred.notna().to_numpy()
        ConfusionMatrixDisplay.from_predictions(
            self.predictions["y_true"][keep], pred[keep].astype(self.predictions["y_true"].dtype),
            labels=self.classes, ax=ax, colorbar=False,
        )
        ax.set_title(f"confusion matrix: {model}")


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
    for name, s in items:
        if isinstance(s, str):
            out[name] = get_scorer(check_scorer_name(s))
        elif callable(s):
            out[name] = s
        else:
            raise ValueError(f"scoring entries must be names or callables, got {s!r}.")
    return out


def _check_cv(cv: Any, classifier: bool, y: np.ndarray, groups: Any) -> tuple[Any, bool]:
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
    cv = resolve_cv(cv, y, classifier=classifier)
    if groups is not None and len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries but X has {n} rows; they must match.")
    return cv, isinstance(cv, LeaveOneOut)


# ---------------------------------------------------------------- models
def _check_models(estimator: Any) -> tuple[dict[str, Any], bool]:
    """The models to evaluate (name -> estimator) and whether a dict named them."""
    if isinstance(estimator, Mapping):
        if not estimator:
            raise ValueError("evaluate got an empty dict of models; give at least one name -> estimator.")
        for name, est in estimator.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"model names must be non-empty strings; got {name!r}.")
            if not hasattr(est, "fit"):
                raise TypeError(f"model {name!r} is not an estimator (it has no fit method): {est!r}.")
        kinds = {name: is_classifier(est) for name, est in estimator.items()}
        if len(set(kinds.values())) > 1:
            clf = [n for n, c in kinds.items() if c]
            reg = [n for n, c in kinds.items() if not c]
            raise ValueError(
                f"evaluate compares models of one kind; got classifiers {clf} and non-classifiers {reg}."
            )
        return dict(estimator), True
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"evaluate needs an estimator or a dict name -> estimator; got {type(estimator).__name__}."
        )
    return {type(estimator).__name__: estimator}, False


def _fusion_of(fitted: Any) -> Any:
    """The fitted object holding the members: the estimator, or a search's refitted best one."""
    if getattr(fitted, "named_estimators_", None) is not None:
        return fitted
    best = getattr(fitted, "best_estimator_", None)  # FusionWeightSearchCV, GridSearchCV over a fusion
    if best is not None and getattr(best, "named_estimators_", None) is not None:
        return best
    return None


def _members(fusion: Any) -> list[tuple[str, Any]]:
    if fusion is None:
        return []
    return [(name, est) for name, est in fusion.named_estimators_.items() if not isinstance(est, str) and est is not None]


def _predict_all(est: Any, X: Any, classes: np.ndarray | None) -> dict[str, np.ndarray]:
    out = {"predict": np.asarray(est.predict(X))}
    if classes is not None:
        for method in ("predict_proba", "decision_function"):
            if hasattr(est, method):
                try:
                    values = np.asarray(getattr(est, method)(X), dtype=float)
                except (AttributeError, NotImplementedError):
                    continue
                # columns under evaluate's classes, as for the members (a class
                # absent from a training part: probability 0, the row's lowest score)
                out[method] = align_classes(values, getattr(est, "classes_", None), classes, method)
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


# ----------------------------------------------------------- one fold
def _fold(estimator: Any, X: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray,
          scorers: dict, classes: np.ndarray | None, pooled: bool, per_modality: bool, fit_params: dict,
          blas_threads: int | None, memory: Any) -> dict:
    args = (estimator, X, y, train, test, scorers, classes, pooled, per_modality, fit_params)
    # evaluate's bar is the progress: no bars of the model's own inside a fold
    with using_feature_memo(memory), config_context(progress=False):
        if blas_threads is None:
            return _fold_body(*args)
        # folds already run in parallel: BLAS threads on top would oversubscribe
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            return _fold_body(*args)


def _fold_body(estimator: Any, X: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray,
               scorers: dict, classes: np.ndarray | None, pooled: bool, per_modality: bool,
               fit_params: dict) -> dict:
    """Fit a clone on the training part, predict and score the test part.

    ``work_time`` is all it did (fit, predict, member outputs, scoring); the
    BLAS limit that :func:`_fold` sets around it in a worker is left out, a
    cost of running in parallel rather than work a sequential run would do.
    An error about one row names the user's row, not the fold's.
    """
    start = time.perf_counter()
    n = len(X)
    est, X_train = clone(estimator), take_rows(X, train)
    fit_start = time.perf_counter()
    try:
        est.fit(X_train, y[train], **fit_params)
    except Exception as exc:
        restate_row(exc, train, n)
        raise
    fit_time = time.perf_counter() - fit_start
    try:
        result = _test_fold(est, take_rows(X, test), y, test, scorers, classes, pooled, per_modality, fit_time)
    except Exception as exc:
        restate_row(exc, test, n)
        raise
    result["work_time"] = time.perf_counter() - start
    return result


def _test_fold(est: Any, X_test: Any, y: np.ndarray, test: np.ndarray, scorers: dict,
               classes: np.ndarray | None, pooled: bool, per_modality: bool, fit_time: float) -> dict:
    t0 = time.perf_counter()
    outputs = {"fused": _predict_all(est, X_test, classes)}
    predict_time = time.perf_counter() - t0
    scores: dict[str, dict[str, float]] = {}
    if not pooled:
        scores["fused"] = {name: float(s(est, X_test, y[test])) for name, s in scorers.items()}
    present: dict[str, np.ndarray] = {}
    fusion = _fusion_of(est)
    members = _members(fusion) if per_modality else []
    enc = getattr(fusion, "le_", None)  # sklearn's Voting/Stacking fit members on label-encoded y
    for name, member in members:
        out, mask = _member_outputs(member, X_test, classes, enc)
        present[name] = mask
        if not mask.any():
            continue
        outputs[name] = out
        if not pooled:
            frozen = _frozen(out, classes)
            idx = np.arange(int(mask.sum())).reshape(-1, 1)
            scores[name] = {n: float(s(frozen, idx, y[test][mask])) for n, s in scorers.items()}
    return {
        "test": test, "fit_time": fit_time, "predict_time": predict_time, "outputs": outputs,
        "present": present, "scores": scores, "fusion": fusion is not None,
    }


def _frozen(outputs: dict, classes: np.ndarray | None) -> Any:
    """A stand-in estimator that serves stored outputs to sklearn scorers."""
    if classes is not None:
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
    if getattr(exc, "row_table_size", None) == len(X):
        return  # restated by the fold already: the message has the position in X
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


# ------------------------------------------------------- pooling, tables
def _pool(results: list[dict], n: int) -> tuple[list[str], dict, dict]:
    """One model's out-of-fold outputs over all folds: names (fused first), outputs, presence."""
    # members in the fusion's own order, whether or not a fold's test rows have them
    names = list(dict.fromkeys(["fused"] + [m for r in results for m in r["present"]]))
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
                    kind = values.dtype if method == "predict" else float
                    store[method] = np.empty((n,) + values.shape[1:], dtype=kind)
                store[method][rows] = values
        pooled_out[name] = store
        pooled_mask[name] = mask
    return names, pooled_out, pooled_mask


def _prediction_columns(label: str, out: dict, mask: np.ndarray, classes: np.ndarray | None) -> dict:
    cols = {}
    pred = pd.Series(out["predict"], dtype=object if classes is not None else float)
    pred[~mask] = np.nan
    cols[f"pred_{label}"] = pred.to_numpy()
    proba = out.get("predict_proba")
    if classes is not None and proba is not None:
        proba = np.where(mask[:, None], proba, np.nan)
        for j, c in enumerate(classes):
            cols[f"proba_{label}_{c}"] = proba[:, j]
    return cols


def _warn_parallel_slower(n_jobs: Any, results: list[dict], wall: float) -> None:
    """Say so when worker processes cost more than the work they ran in parallel.

    ``wall`` is the elapsed time of the parallel run; the folds it ran
    (cloning, fitting, predicting, scoring the model and its members) took
    ``work`` seconds in the workers. ``wall > work`` means that running the
    same folds one after the other at the workers' speed would have
    finished sooner: start-up, pickling and dispatch outweighed the
    parallelism.
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if type(backend).__name__ not in ("LokyBackend", "MultiprocessingBackend"):
        return  # threads, dask, ...: not the process overhead this is about
    work = sum(r["work_time"] for r in results)
    if wall > work:
        warnings.warn(
            f"evaluate(n_jobs={n_jobs}) took {wall:.2f} s for {work:.2f} s of work in the folds: "
            "starting and feeding worker processes cost more than running the folds in parallel saved. "
            "For work this small use n_jobs=None, or threads: "
            "joblib.parallel_config(backend='threading').",
            UserWarning,
            stacklevel=3,
        )


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
    progress: bool | str | None = None,
    fit_params: dict | None = None,
    memory: Any = None,
) -> EvaluationResult:
    """Cross-validate one or several models on the same folds, reporting each fusion member too.

    Parameters
    ----------
    estimator : estimator object or dict of str -> estimator
        Any sklearn estimator, or several as a dict ``{name: estimator}``
        (all classifiers, or all regressors), compared on the same folds in
        one result. For a fusion estimator (anything with
        ``named_estimators_`` after fitting, such as
        :class:`~mmlearn.fusion.VotingFusionClassifier` or sklearn's
        ``VotingClassifier``, or a search whose ``best_estimator_`` has
        them, such as :class:`~mmlearn.fusion.FusionWeightSearchCV`) each
        member is scored on the same test folds, from the members fitted
        inside those folds (no extra fits). A
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
        whose scores are computed once on the pooled out-of-fold
        predictions. The splits are drawn once and every model uses them.
    scoring : str, callable, list or dict, default=None
        sklearn scorer names or callables; None means accuracy for
        classifiers and R² for regressors.
    groups : array-like of shape (n_samples,), default=None
        Group labels for grouped splitters.
    n_jobs : int, default=None
        The (model, fold) fits run in parallel through joblib, so
        ``joblib.parallel_config(backend="dask")`` spreads them over a Dask
        cluster unchanged. With worker processes (joblib's default) a
        ``UserWarning`` says so when the run took longer than its fits and
        predictions did in the workers: for small work, starting and
        feeding processes costs more than the parallelism saves.
    per_modality : bool, default=True
        Score each member of a fusion estimator too.
    return_predictions : bool, default=False
        Keep the pooled out-of-fold predictions and probabilities (needed
        for ``plot("confusion")``); always kept for leave-one-out.
    progress : bool, "auto" or None, default=None
        A progress bar over the (model, fold) fits. None follows
        ``mmlearn.set_config(progress=...)`` (by default, a bar only on a
        terminal or in Jupyter); True or False decides here. Inside the
        folds the global setting is off, so the models' own bars (feature
        extraction, weight search) stay quiet unless a model was built
        with an explicit ``progress=True``.
    fit_params : dict, default=None
        Passed to each model's ``fit`` (array-likes of length ``n_samples``
        are split with the folds).
    memory : None, FeatureMemo, str or joblib.Memory, default=None
        Opt-in per-sample feature memo for the run: stateless extractors
        (:class:`~mmlearn.features.MFCCFeatures`,
        :class:`~mmlearn.features.HOGFeatures`) whose own ``memory`` is None
        use it inside each fold, so each sample's features are computed
        once across all folds and models. The estimator is neither edited
        nor cloned for it. None (the default) means no memo. With
        ``n_jobs`` running folds in other processes, give a memo with a
        ``location`` (or a directory) so that the workers share rows.

    Returns
    -------
    result : EvaluationResult
        Tidy scores, a markdown summary, timings, a plot and optional
        predictions. Rows are named by model: a single estimator by its
        class name and its members by their own names; a dict's models by
        their keys and their members as ``"<key>/<member>"``.

    Notes
    -----
    Per-fold scores are those of :func:`sklearn.model_selection.cross_val_score`
    on the same splits. An error raised for one row (a bad clip, a row with
    every modality missing) names it by its index label; ``evaluate`` adds
    the row's position in ``X``, not its position inside a fold.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import StratifiedKFold
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from mmlearn.model_selection import evaluate
    >>> X, y = load_iris(return_X_y=True)
    >>> result = evaluate(LogisticRegression(max_iter=500), X, y, cv=5, progress=False)
    >>> round(result.summary().loc[("LogisticRegression", "accuracy"), "mean"], 3)
    np.float64(0.973)

    Several models on the same shuffled folds, with probabilities kept:

    >>> cv = StratifiedKFold(5, shuffle=True, random_state=0)
    >>> result = evaluate({"logreg": LogisticRegression(max_iter=500), "nb": GaussianNB()},
    ...                   X, y, cv=cv, return_predictions=True, progress=False)
    >>> result.summary()["mean"].round(3).to_dict()
    {('logreg', 'accuracy'): 0.96, ('nb', 'accuracy'): 0.96}
    >>> [c for c in result.predictions.columns if c.startswith("proba_nb")]
    ['proba_nb_0', 'proba_nb_1', 'proba_nb_2']
    """
    models, named = _check_models(estimator)
    y = np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}; they must match.")
    if n == 0:
        raise ValueError("evaluate needs at least one sample.")
    check_finite_target(y, X, "evaluate")
    first = next(iter(models.values()))
    classifier = is_classifier(first)
    scorers = _check_scoring(first, scoring)
    splitter, pooled = _check_cv(cv, classifier, y, groups)
    folds = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(np.zeros((n, 1)), y, groups)]
    if classifier and not pooled:
        all_classes = np.unique(y)
        for k, (train, _) in enumerate(folds):
            absent = np.setdiff1d(all_classes, y[train])
            if len(absent):
                raise ValueError(
                    f"fold {k}: its training part has no sample of class(es) "
                    f"{absent.tolist()}; use a stratified splitter or fewer folds."
                )
    classes = np.unique(y) if classifier else None
    fit_params = dict(fit_params or {})
    parallel = n_jobs not in (None, 1)
    resolve_feature_memo(memory)  # a bad value fails here, not in a worker

    fold_params = [restrict_params(fit_params, train, n) for train, _ in folds]
    jobs = [
        delayed(_fold)(
            est, X, y, train, test, scorers, classes, pooled, per_modality, fold_params[k],
            1 if parallel else None, memory,
        )
        for est in models.values()
        for k, (train, test) in enumerate(folds)
    ]
    desc = f"evaluate {len(models)} models" if named else f"CV {next(iter(models))}"
    results = []
    start = time.perf_counter()
    try:
        with progress_bar(total=len(jobs), desc=desc, progress=progress) as bar:
            for res in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
                results.append(res)
                bar.update()
    except Exception as exc:
        _name_user_row(exc, X)
        raise
    if parallel:
        _warn_parallel_slower(n_jobs, results, time.perf_counter() - start)

    k = len(folds)
    rows, timing_rows, roles = [], [], {}
    predictions = {"y_true": y} if (return_predictions or pooled) else None
    for i, (key, est) in enumerate(models.items()):
        per_model = results[i * k : (i + 1) * k]
        names, pooled_out, pooled_mask = _pool(per_model, n)

        def label(name: str) -> str:
            if name == "fused":
                return key
            return f"{key}/{name}" if named else name

        is_fusion = any(r["fusion"] for r in per_model)
        for name in names:
            roles[label(name)] = (FUSION if is_fusion else MODEL) if name == "fused" else MEMBER
        if pooled:
            for name in names:
                mask = pooled_mask[name]
                if not mask.any():
                    continue
                sub = {m: v[mask] for m, v in pooled_out[name].items()}
                frozen = _frozen(sub, classes)
                idx = np.arange(int(mask.sum())).reshape(-1, 1)
                for metric, s in scorers.items():
                    rows.append((label(name), "pooled", metric, float(s(frozen, idx, y[mask]))))
        else:
            for name in names:
                for f, r in enumerate(per_model):
                    for metric, value in r["scores"].get(name, {}).items():
                        rows.append((label(name), f, metric, value))
        timing_rows += [(key, f, r["fit_time"], r["predict_time"]) for f, r in enumerate(per_model)]
        if predictions is not None:
            for name in names:
                if pooled_mask[name].any():
                    predictions.update(_prediction_columns(label(name), pooled_out[name], pooled_mask[name], classes))
    scores = pd.DataFrame(rows, columns=["model", "fold", "metric", "value"])
    timings = pd.DataFrame(timing_rows, columns=["model", "fold", "fit_time", "predict_time"])
    notes = [_LOO_NOTE] if pooled else []
    if per_modality and MEMBER in roles.values():
        notes.append(
            "members are the fusion's own members fitted inside each fold, scored on the test "
            "rows that have their modality"
        )
    return EvaluationResult(
        scores, timings, None if predictions is None else pd.DataFrame(predictions), pooled, notes, classes, roles,
    )
