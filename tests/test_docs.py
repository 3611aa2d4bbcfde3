"""The documentation covers the public API, and its links into other projects resolve."""

from __future__ import annotations

import importlib
import re
import sys
import zlib
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PUBLIC_MODULES = [
    "mmlearn",
    "mmlearn.augment",
    "mmlearn.backend",
    "mmlearn.compose",
    "mmlearn.crossmodal",
    "mmlearn.datasets",
    "mmlearn.features",
    "mmlearn.fusion",
    "mmlearn.io",
    "mmlearn.model_selection",
]


def _documented() -> set[str]:
    text = (DOCS / "api.rst").read_text()
    return {m.group(1) for m in re.finditer(r"^   ([A-Za-z_][\w.]*)\s*$", text, flags=re.M)}


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module):
    names = [n for n in importlib.import_module(module).__all__ if n != "__version__"]
    prefix = "" if module == "mmlearn" else module.removeprefix("mmlearn.") + "."
    missing = [prefix + n for n in names if prefix + n not in _documented()]
    assert not missing, f"add to docs/api.rst: {missing}"


def test_api_reference_lists_only_existing_names():
    for entry in _documented():
        module, _, name = ("mmlearn." + entry).rpartition(".")
        assert hasattr(importlib.import_module(module), name), entry


def test_every_public_module_is_checked():
    import pkgutil

    import mmlearn

    found = {"mmlearn"} | {
        f"mmlearn.{m.name}" for m in pkgutil.iter_modules(mmlearn.__path__)
        if not m.name.startswith("_") and m.name not in ("cli",)
    }
    assert found == set(PUBLIC_MODULES)


def test_offline_inventory_links_to_the_projects_pages(tmp_path):
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import offline_inventories
    finally:
        sys.path.pop(0)
    n = offline_inventories.write_inventory("librosa", tmp_path / "librosa.inv")
    raw = (tmp_path / "librosa.inv").read_bytes()
    header, _, body = raw.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2\n# Project: librosa\n")
    lines = zlib.decompress(body).decode().splitlines()
    assert len(lines) == n > 100
    assert (
        "librosa.feature.mfcc py:function 1 generated/librosa.feature.mfcc.html"
        "#librosa.feature.mfcc -" in lines
    )
