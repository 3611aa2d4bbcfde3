"""The benchmark suites behind ``mmlearn bench``, shipped inside the package.

Each suite is a module of this package with ``run(quick=False,
data_dir=None)`` returning a JSON-ready dict (``"markdown"``: a summary;
``"speedups"`` / ``"accuracy"``: name -> figure, plotted by the command),
``PLOTS`` (how to label those plots) and ``main(argv)``, the command line
that ``benchmarks/bench_<suite>.py`` in a source checkout calls.

Nothing here reads a path relative to a source checkout: the real datasets
come from ``data_dir``, else ``$MMLEARN_DATA_DIR``, else ``../shared/data``
seen from the current directory (beside the checkout for the scripts in
``benchmarks/``); a suite whose data is absent says so and
goes on. ``quick=True`` reads no real dataset at all (embedded and synthetic
data only), so a smoke run works from any installed copy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from pathlib import Path
from types import ModuleType

__all__ = ["SUITES", "SMOKE_NOTE", "data_absent", "load_suite", "resolve_data_dir", "suite_parser", "write_result"]

#: suite name -> one line on what it measures (``mmlearn bench --help``)
SUITES = {
    "audio": "MFCCFeatures vs a librosa loop (clips/s); FSDD digit accuracy",
    "image": "HOGFeatures vs a skimage loop (images/s), ConvEmbedding; MNIST accuracy",
    "text": "Word2VecEmbedding vs per-text gensim loops (texts/s); 20 Newsgroups accuracy",
    "fusion_search": "voting-weight search: GridSearchCV vs FusionWeightSearchCV (wall time, member fits)",
    "accuracy": "test accuracy of single modalities and fusions on AV digits, clean and degraded",
}

SMOKE_NOTE = (
    "SMOKE RUN (--quick): tiny sizes and embedded or synthetic data only, to check that "
    "every suite runs. Its ratios and accuracies are NOT the benchmark figures; run "
    "without --quick for those."
)


def load_suite(name: str) -> ModuleType:
    """The module of suite ``name`` (one of :data:`SUITES`)."""
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose from {', '.join(SUITES)}.")
    return importlib.import_module(f"{__name__}.{name}")


def resolve_data_dir(data_dir: str | os.PathLike | None, *, fallback: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$MMLEARN_DATA_DIR``, else ``fallback``, else ``../shared/data`` from the current directory.

    ``fallback`` is a script's own default (``benchmarks/bench_<suite>.py``:
    ``../shared/data`` beside the checkout); the environment variable still
    comes first.
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("MMLEARN_DATA_DIR")
    if env:
        return Path(env)
    return Path(fallback) if fallback is not None else Path.cwd() / ".." / "shared" / "data"


def data_absent(what: str, where: str | os.PathLike) -> dict:
    """The result of an accuracy figure whose data set is absent: no figure, a note saying so."""
    return {"accuracy": None, "note": f"{what} not found under {where}; skipped"}


def suite_parser(
    doc: str,
    *,
    quick: str,
    data: str | None,
    default_data_dir: str | os.PathLike | None = None,
    default_json: str | os.PathLike | None = None,
) -> argparse.ArgumentParser:
    """A suite's command line: ``--quick`` (help ``quick``), ``--json`` and ``--data-dir`` (for ``data``).

    ``--data-dir`` defaults to :func:`resolve_data_dir` with ``default_data_dir``
    as the fallback, and its help shows that folder and where it came from;
    ``data=None``: no ``--data-dir`` (embedded data only). ``default_json``:
    where ``--json`` writes unless told (default: nowhere).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    where = f" (default: {default_json})" if default_json is not None else ""
    parser.add_argument("--json", metavar="PATH", default=default_json, help=_escape(f"write the results as JSON{where}"))
    if data is not None:
        default = resolve_data_dir(None, fallback=default_data_dir)
        source = "$MMLEARN_DATA_DIR" if os.environ.get("MMLEARN_DATA_DIR") else "set $MMLEARN_DATA_DIR to change it"
        parser.add_argument("--data-dir", default=str(default),
                            help=_escape(f"folder holding {data} (default: {default}; {source})"))
    return parser


def _escape(help_text: str) -> str:
    """``help_text`` for argparse, which %-formats help (a path may hold a %)."""
    return help_text.replace("%", "%%")


def write_result(
    result: dict, path: str | os.PathLike, *, labels: dict | None = None, quick: bool = False
) -> list[Path]:
    """Write ``result`` as JSON to ``path``, its ``"markdown"`` beside it (``.md``) and its plots.

    The plots are :func:`~mmlearn._bench._plots.plot_suite`'s, named
    ``<stem>_<key>.png`` (``labels``: the suite's ``PLOTS``; ``quick``
    marks them as a smoke run). Returns the files written.
    """
    from ._plots import plot_suite

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    written = [path]
    if result.get("markdown"):
        written.append(path.with_suffix(".md"))
        written[-1].write_text(result["markdown"] + "\n")
    plots = plot_suite(path.stem, result, path.parent, labels=labels, quick=quick)
    return written + [path.parent / name for name in plots]
