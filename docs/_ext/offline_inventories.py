"""Intersphinx inventories for scikit-learn, NumPy, librosa and scikit-image, built offline.

The docs build where only package registries are reachable, so the projects'
``objects.inv`` files cannot be fetched. This extension writes an inventory
for each from the *installed* package instead: every public class and
function of its public modules (and the public methods of scikit-learn's
classes), with the address of its page in that project's online reference,
following each project's page layout:

- scikit-learn: ``modules/generated/<name>.html#<name>``;
- NumPy: ``reference/generated/<name>.html#<name>``;
- librosa: ``generated/<name>.html#<name>``;
- scikit-image: ``api/<module>.html#<name>``.

``intersphinx_mapping`` then points at these files, so
``:class:`~sklearn.pipeline.Pipeline``` becomes a link to scikit-learn's page.
A reference into one of these packages that does not resolve is a warning
(an error under ``sphinx -W``): see :func:`_warn_unresolved`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

# name -> (base URL, importable top module, public submodules, page of a name)
_PROJECTS: dict[str, tuple[str, str, tuple[str, ...], Callable[[str, str], str]]] = {
    "sklearn": (
        "https://scikit-learn.org/stable/",
        "sklearn",
        (),  # every public submodule (walked)
        lambda module, name: f"modules/generated/{name}.html#{name}",
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        "numpy",
        ("numpy", "numpy.random", "numpy.linalg", "numpy.fft"),
        lambda module, name: f"reference/generated/{name}.html#{name}",
    ),
    "librosa": (
        "https://librosa.org/doc/latest/",
        "librosa",
        ("librosa", "librosa.feature", "librosa.effects", "librosa.filters", "librosa.util",
         "librosa.onset", "librosa.beat", "librosa.decompose", "librosa.segment",
         "librosa.sequence", "librosa.display"),
        lambda module, name: f"generated/{name}.html#{name}",
    ),
    "skimage": (
        "https://scikit-image.org/docs/stable/",
        "skimage",
        ("skimage.color", "skimage.data", "skimage.draw", "skimage.exposure",
         "skimage.feature", "skimage.filters", "skimage.io", "skimage.measure",
         "skimage.morphology", "skimage.restoration", "skimage.segmentation",
         "skimage.transform", "skimage.util"),
        lambda module, name: f"api/{module}.html#{name}",
    ),
}


def _public_modules(top: str, listed: tuple[str, ...]) -> Iterator[Any]:
    if listed:
        for name in listed:
            try:
                yield importlib.import_module(name)
            except ImportError:
                continue
        return
    package = importlib.import_module(top)
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=top + "."):
        if any(part.startswith("_") for part in info.name.split(".")) or ".tests" in info.name:
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - optional dependencies of a submodule
            continue


def _entries(project: str) -> Iterator[tuple[str, str, str]]:
    """(full name, role, page) for every public class, function and method."""
    _, top, listed, page = _PROJECTS[project]
    for module in _public_modules(top, listed):
        mod = module.__name__
        yield mod, "py:module", page(mod, mod) if project != "sklearn" else f"api/{mod}.html"
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            try:
                obj = getattr(module, name)
            except Exception:  # noqa: BLE001 - lazy loaders may fail on optional parts
                continue
            full = f"{mod}.{name}"
            if inspect.isclass(obj):
                yield full, "py:class", page(mod, full)
                if project == "sklearn":
                    for meth, _ in inspect.getmembers(obj, inspect.isfunction):
                        if not meth.startswith("_"):
                            yield f"{full}.{meth}", "py:method", page(mod, full) + f".{meth}"
            elif callable(obj):
                yield full, "py:function", page(mod, full)


# Every name written to an inventory, to tell a typo from a name intersphinx resolves.
_KNOWN: set[str] = set()


def write_inventory(project: str, path: Path) -> int:
    """Write the Sphinx v2 inventory of ``project`` to ``path``; return its number of entries."""
    import warnings

    seen: dict[str, tuple[str, str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, role, uri in _entries(project):
            seen.setdefault(name, (role, uri))
    module = importlib.import_module(_PROJECTS[project][1])
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {getattr(module, '__version__', '')}\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    _KNOWN.update(seen)
    body = "".join(f"{n} {role} 1 {uri} -\n" for n, (role, uri) in sorted(seen.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + zlib.compress(body.encode()))
    return len(seen)


def intersphinx_mapping(out_dir: Path) -> dict[str, tuple[str, str]]:
    """Write the four inventories under ``out_dir``; the mapping for ``conf.py``."""
    mapping = {}
    for project, (base, *_rest) in _PROJECTS.items():
        path = out_dir / f"{project}.inv"
        write_inventory(project, path)
        mapping[project] = (base, str(path))
    return mapping


def _warn_unresolved(app: Any, env: Any, node: Any, contnode: Any) -> None:
    # Any reference into these packages must resolve: it is a typo or a name
    # the package no longer has, not something to drop silently.
    # (Called before or after intersphinx depending on the Sphinx version: a
    # name in an inventory is left to intersphinx.)
    target = node.get("reftarget", "")
    if (
        node.get("refdomain") == "py"
        and target.split(".")[0] in _PROJECTS
        and target not in _KNOWN
    ):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "unresolved reference to %s (not in the offline %s inventory)",
            target, target.split(".")[0], location=node,
        )


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _warn_unresolved, priority=900)
    return {"parallel_read_safe": True}
