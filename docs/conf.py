"""Sphinx configuration for the mmlearn docs (built with -W: warnings fail)."""

import sys
from pathlib import Path

import mmlearn

sys.path.insert(0, str(Path(__file__).parent / "_ext"))
import offline_inventories  # noqa: E402

project = "mmlearn"
author = "mmlearn developers"
release = version = mmlearn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "offline_inventories",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# scikit-learn, NumPy, librosa and scikit-image links: inventories written
# from the installed packages (no network at build time), see _ext/.
intersphinx_mapping = offline_inventories.intersphinx_mapping(
    Path(__file__).parent / "_build" / "inventories"
)
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.ref", "ref.python"]
nitpicky = False
