"""Command line: ``mmlearn demo`` and ``mmlearn bench``."""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any, Sequence

import numpy as np

__all__ = ["main"]


def _demo_models(memo) -> dict:
    """The demo's models: each modality alone, early fusion and three late fusions.

    The accuracy suite's models (one definition, ``mmlearn._bench._av_models``)
    with MFCC mean and std only, less equal-weight voting.
    """
    from ._bench._av_models import av_digits_models

    renamed = {"voting (searched weights)": "voting, searched weights"}
    return {renamed.get(k, k): m for k, m in av_digits_models(memo).items() if k != "voting (equal weights)"}


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


def run_bench(
    suites: Sequence[str],
    *,
    data_dir: str | None,
    out: str,
    quick: bool,
    progress: bool | str | None = None,
) -> dict:
    """Run benchmark suites; write per-suite JSON, plots and ``summary.md`` to ``out``.

    Parameters
    ----------
    suites : sequence of str
        Names from ``mmlearn._bench.SUITES``; each is a module of the
        installed package, so no source checkout is needed.
    data_dir : str or None
        Folder of the real datasets; ``None``: ``$MMLEARN_DATA_DIR``, else
        ``../shared/data`` from the current directory. Absent data sets are
        skipped with a note. Not read when ``quick``.
    out : str
        Output folder (created).
    quick : bool
        Smoke run: tiny sizes, embedded or synthetic data only; every output
        says that its figures are not the benchmark's.
    progress : bool, "auto" or None, default=None
        Progress over the suites; ``None`` follows ``mmlearn.set_config``.

    Returns
    -------
    results : dict
        Suite name -> its result.
    """
    import json
    from pathlib import Path

    from ._bench import SMOKE_NOTE, load_suite
    from ._bench._plots import plot_suite
    from ._config import config_context
    from ._progress import progress_bar, progress_enabled

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    md = ["# mmlearn benchmarks", ""]
    if quick:
        md += [f"> **{SMOKE_NOTE}**", ""]
    have_plots = True
    show = progress_enabled(progress)
    with progress_bar(total=len(suites), desc="mmlearn bench", progress=show) as bar:
        for name in suites:
            bar.set_postfix_str(name)
            module = load_suite(name)
            t0 = time.perf_counter()
            # one bar, over the suites: the library's own bars stay out of the timings
            with config_context(progress=False):
                result = dict(module.run(quick=quick, data_dir=data_dir))
            result.setdefault("wall_s", round(time.perf_counter() - t0, 2))
            result["quick"] = quick
            if quick:
                result["note"] = SMOKE_NOTE
            results[name] = result
            (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
            plots = plot_suite(name, result, out_dir, labels=getattr(module, "PLOTS", None), quick=quick)
            have_plots = have_plots and (bool(plots) or not (result.get("speedups") or result.get("accuracy")))
            heading = f"## {name}" + (" (smoke run, not benchmark figures)" if quick else "")
            body = result.get("markdown", "```\n" + json.dumps(result, indent=2, default=str) + "\n```")
            md += [heading, "", body, "", f"Suite wall time: {result['wall_s']:.1f} s.", ""]
            md += [f"![{p}]({p})" for p in plots] + [""]
            bar.update()
    if not have_plots:
        md += ["Plots skipped: matplotlib is not installed (pip install 'mmlearn[plot]').", ""]
    (out_dir / "summary.md").write_text("\n".join(md))
    return results


def _bench_description() -> str:
    from ._bench import SUITES

    width = max(map(len, SUITES))
    lines = [f"  {name:<{width}}  {what}" for name, what in SUITES.items()]
    return (
        "Run mmlearn's benchmark suites: speed against the reference libraries (measured\n"
        "side by side in the same run) and accuracy on real data sets. Writes, per suite,\n"
        "NAME.json and NAME_*.png plots, and summary.md, to --out.\n\n"
        "suites:\n" + "\n".join(lines) + "\n\n"
        "Real data (FSDD, MNIST, 20 Newsgroups) is read from --data-dir; a missing data\n"
        "set is skipped with a note. --quick reads none: it is a smoke run on tiny\n"
        "embedded or synthetic data whose ratios are not the benchmark figures."
    )


def _fold_count(text: str) -> int:
    """argparse type of ``--folds``: an integer of at least 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds, got {value}")
    return value


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
    demo.add_argument("--folds", type=_fold_count, default=5, help="number of stratified folds (default 5)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.add_argument("--plot", metavar="FILE", default=None, help="save a bar chart of the scores (PNG)")
    demo.add_argument("--json", metavar="FILE", default=None, help="write the per-fold scores as JSON")
    from ._bench import SUITES

    bench = sub.add_parser(
        "bench",
        help="run the benchmark suites; write JSON, markdown and plots",
        description=_bench_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--data-dir", default=None,
        help="folder of the real datasets (default: $MMLEARN_DATA_DIR, else ../shared/data)",
    )
    bench.add_argument(
        "--suite", nargs="+", choices=list(SUITES), default=list(SUITES), metavar="SUITE",
        help="suites to run (default: all of them)",
    )
    bench.add_argument("--out", default="bench-out", help="output folder (default bench-out)")
    bench.add_argument(
        "--quick", action="store_true",
        help="smoke run in well under a minute: tiny sizes, no real data; not the benchmark figures",
    )
    bench.add_argument("--no-progress", action="store_true", help="hide the progress bar")
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
        from pathlib import Path

        from ._bench import SMOKE_NOTE

        if args.quick:
            print(SMOKE_NOTE + "\n", flush=True)
        t0 = time.perf_counter()
        run_bench(
            args.suite, data_dir=args.data_dir, out=args.out, quick=args.quick,
            progress=False if args.no_progress else None,
        )
        print((Path(args.out) / "summary.md").read_text())
        print(f"\n{time.perf_counter() - t0:.1f} s; results in {args.out}/")
        if args.quick:
            print(SMOKE_NOTE)
    return 0
