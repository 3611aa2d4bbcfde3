"""Sphinx configuration for the mmlearn docs (built with -W: warnings fail)."""

import mmlearn

project = "mmlearn"
author = "mmlearn developers"
release = version = mmlearn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
intersphinx_mapping = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.ref", "ref.python"]
nitpicky = False
