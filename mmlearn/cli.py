"""Command line: ``mmlearn demo`` and ``mmlearn bench``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any, Sequence

import numpy as np

__all__ = ["main"]


def _demo_models(memo) -> dict:
    """The demo's models: each modality alone, early fusion and three late fusions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .compose import make_early_fusion, make_modality_pipeline
    from .features import HOGFeatures, MFCCFeatures
    from .fusion import (
        EnsembleSelectionClassifier,
        FusionWeightSearchCV,
        StackingFusionClassifier,
        VotingFusionClassifier,
    )

    def mfcc():
        return MFCCFeatures(sr=8000, n_fft=512, hop_length=128, n_mels=40, deltas=1, memory=memo)

    def hog():
        return HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2), memory=memo)

    def members():
        return [
            ("audio", make_modality_pipeline("audio", mfcc(), StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))),
            ("image", make_modality_pipeline("image", hog(), StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))),
        ]

    audio, image = (m for _, m in members())
    early = make_early_fusion(
        (make_pipeline(mfcc(), StandardScaler()), "audio"),
        (make_pipeline(hog(), StandardScaler()), "image"),
        final_estimator=LogisticRegression(C=0.05, max_iter=2000),
    )
    return {
        "audio only (MFCC)": audio,
        "image only (HOG)": image,
        "early fusion": early,
        "voting, searched weights": FusionWeightSearchCV(VotingFusionClassifier(members()), step=0.1, cv=5),
        "stacking": StackingFusionClassifier(members(), LogisticRegression(max_iter=2000), cv=5),
        "ensemble selection": EnsembleSelectionClassifier(members(), n_iter=30, cv=5, random_state=0),
    }


def _with_missing(X, *, fraction: float = 0.3, seed: int = 0):
    """Copy of X with ``fraction`` of rows missing audio and another ``fraction`` missing the image."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    k = int(round(fraction * len(X)))
    X = X.copy()
    X.iloc[order[:k], X.columns.get_loc("audio")] = None
    X.iloc[order[k : 2 * k], X.columns.get_loc("image")] = None
    return X


def run_demo(*, n_splits: int = 5, random_state: int = 0, progress: bool | str | None = None) -> dict:
    """Cross-validate every demo model on the embedded AV digits, complete and with missing modalities.

    Parameters
    ----------
    n_splits : int, default=5
        Folds of the stratified k-fold (shuffled with ``random_state``).
    random_state : int, default=0
        Seed of the fold shuffle and of the missing rows.
    progress : bool, "auto" or None, default=None
        A progress bar; None follows ``mmlearn.set_config(progress=...)``.

    Returns
    -------
    results : dict
        ``"complete"``: the :class:`~mmlearn.model_selection.EvaluationResult`
        of every model on the complete table; ``"missing"``: that of the
        late fusions with 30 % of the rows missing audio and another 30 %
        missing the image. Both use the same folds.
    """
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    from .datasets import load_av_digits
    from .features import FeatureMemo
    from .model_selection import evaluate

    X, y = load_av_digits(return_X_y=True)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    models = _demo_models(FeatureMemo())
    late = {name: m for name, m in models.items() if name not in _SINGLE and name != "early fusion"}
    # small models: one BLAS thread avoids thread wake-ups that dominate here
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        # with modalities missing, the grid's one-member vertices cannot cover
        # every row; the search ranks them last, as it should: no news here
        warnings.filterwarnings("ignore", message=r".*weight candidates left some test rows")
        return {
            "complete": evaluate(models, X, y, cv=cv, per_modality=False, progress=progress),
            "missing": evaluate(late, _with_missing(X, seed=random_state), y, cv=cv, per_modality=False,
                                progress=progress),
        }


_SINGLE = ("audio only (MFCC)", "image only (HOG)")
_MISSING = "30 % audio + 30 % image missing"


def _fold_scores(result, name: str) -> np.ndarray | None:
    values = result.scores.loc[result.scores["model"] == name, "value"].to_numpy(float)
    return values if len(values) else None


def _table(results: dict) -> str:
    lines = [f"| model | accuracy, complete | accuracy, {_MISSING} |", "| --- | --- | --- |"]
    for name in dict.fromkeys(results["complete"].scores["model"]):
        cells = []
        for variant in ("complete", "missing"):
            v = _fold_scores(results[variant], name)
            cells.append("—" if v is None else f"{v.mean():.4f} ± {v.std():.4f}")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _demo_json(results: dict) -> dict:
    return {
        variant: {name: _fold_scores(r, name).tolist() for name in dict.fromkeys(r.scores["model"])}
        for variant, r in results.items()
    }


def _demo_plot(results: dict, path: str) -> Any:
    """Bar chart of :func:`run_demo`'s results saved to ``path``; returns the (closed) figure."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'mmlearn[plot]'") from None
    names = list(dict.fromkeys(results["complete"].scores["model"]))
    n_folds = results["complete"].scores["fold"].nunique()
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.38
    colours = {"complete": "#4c72b0", "missing": "#dd8452"}
    for j, variant in enumerate(("complete", "missing")):
        for i, name in enumerate(names):
            v = _fold_scores(results[variant], name)
            if v is None:
                continue
            paired = _fold_scores(results["missing"], name) is not None
            x = i + (j - 0.5) * width if paired else i
            ax.bar(x, v.mean(), width, yerr=v.std(), capsize=3, color=colours[variant], edgecolor="black",
                   linewidth=0.6, hatch="" if name in _SINGLE else "//", zorder=2)
            ax.scatter(np.full(len(v), x) + np.linspace(-0.1, 0.1, len(v)), v, s=9, color="black", zorder=3)
            ax.annotate(f"{v.mean():.3f}", (x, max(v.max(), v.mean() + v.std())), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel(f"accuracy ({n_folds}-fold stratified CV)")
    ax.set_ylim(0, 1.1)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles = [
        Patch(facecolor=colours["complete"], edgecolor="black", label="complete table"),
        Patch(facecolor=colours["missing"], edgecolor="black", label=_MISSING),
        Patch(facecolor="white", edgecolor="black", hatch="//", label="fusion of audio and image"),
        ax.scatter([], [], s=9, color="black", label="one fold"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(f"AV digits (embedded): single modalities and fusions, mean of {n_folds} folds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig


SUITES = ("audio", "image", "text", "fusion_search", "accuracy")


def _benchmarks_dir(explicit: str | None = None):
    """The ``benchmarks/`` folder of a source checkout."""
    from pathlib import Path

    candidates = [Path(explicit)] if explicit else [
        Path(__file__).resolve().parents[1] / "benchmarks",
        Path.cwd() / "benchmarks",
    ]
    for cand in candidates:
        if (cand / "bench_audio.py").exists() or (cand / "bench_accuracy.py").exists():
            return cand
    raise FileNotFoundError(
        "mmlearn bench runs the scripts in a source checkout's benchmarks/ folder; none found at "
        + ", ".join(str(c) for c in candidates)
        + ". Run it from the repository root or pass --bench-dir."
    )


def _load_suite(bench_dir, name: str):
    import importlib.util

    path = bench_dir / f"bench_{name}.py"
    if not path.exists():
        raise FileNotFoundError(f"benchmark suite {name!r}: {path} does not exist.")
    spec = importlib.util.spec_from_file_location(f"mmlearn_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plot_suite(name: str, result: dict, out_dir) -> list[str]:
    """Bar charts of any ``speedups`` / ``accuracy`` mappings in a result."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    files = []
    for key, ylabel in (("speedups", "speed-up vs reference (x)"), ("accuracy", "accuracy")):
        data = result.get(key)
        if not isinstance(data, dict) or not data:
            continue
        fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(data) + 2), 3.5))
        ax.bar(list(data), [float(v) for v in data.values()], color="#4c72b0")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name}: {key}")
        ax.tick_params(axis="x", rotation=30)
        if key == "speedups":
            ax.axhline(1.0, color="gray", lw=0.8)
        fig.tight_layout()
        path = out_dir / f"{name}_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path.name)
    return files


def run_bench(suites: Sequence[str], *, data_dir: str | None, out: str, quick: bool, bench_dir: str | None = None) -> dict:
    """Run benchmark suites and write JSON, a markdown summary and plots to ``out``."""
    import json
    from pathlib import Path

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    where = _benchmarks_dir(bench_dir)
    results, md = {}, ["# mmlearn benchmarks", ""]
    for name in suites:
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        module = _load_suite(where, name)
        result = module.run(quick=quick, data_dir=data_dir)
        result = dict(result)
        result.setdefault("wall_s", round(time.perf_counter() - t0, 2))
        results[name] = result
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
        plots = _plot_suite(name, result, out_dir)
        md += [f"## {name}", "", result.get("markdown", "```\n" + json.dumps(result, indent=2, default=str) + "\n```"), ""]
        md += [f"![{p}]({p})" for p in plots] + [""]
    (out_dir / "summary.md").write_text("\n".join(md))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmlearn`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mmlearn",
        description="Multimodal (text, image, audio) machine learning for scikit-learn: "
        "run the demo or the benchmarks.",
        epilog="Run 'mmlearn COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mmlearn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="cross-validate audio, image and fused models on the embedded AV digits")
    demo.add_argument("--folds", type=int, default=5, help="number of stratified folds (default 5)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.add_argument("--plot", metavar="FILE", default=None, help="save a bar chart of the scores (PNG)")
    demo.add_argument("--json", metavar="FILE", default=None, help="write the per-fold scores as JSON")
    bench = sub.add_parser("bench", help="run the benchmark scripts; write JSON, markdown and plots")
    bench.add_argument("--data-dir", default=None, help="folder of the real datasets (default ../shared/data)")
    bench.add_argument("--suite", nargs="+", choices=SUITES, default=list(SUITES), help="suites to run (default all)")
    bench.add_argument("--out", default="bench-out", help="output folder (default bench-out)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, to check that everything runs")
    bench.add_argument("--bench-dir", default=None, help="the benchmarks/ folder (default: the checkout's)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        t0 = time.perf_counter()
        results = run_demo(n_splits=args.folds, progress=False if args.no_progress else None)
        print(f"AV digits (embedded, 2,400 rows), {args.folds}-fold stratified CV, accuracy mean ± std\n")
        print(_table(results))
        if args.json:
            import json

            with open(args.json, "w") as fh:
                json.dump(_demo_json(results), fh, indent=2)
        if args.plot:
            _demo_plot(results, args.plot)
        print(f"\n{time.perf_counter() - t0:.1f} s")
    elif args.command == "bench":
        run_bench(args.suite, data_dir=args.data_dir, out=args.out, quick=args.quick, bench_dir=args.bench_dir)
        print((__import__("pathlib").Path(args.out) / "summary.md").read_text())
    return 0
