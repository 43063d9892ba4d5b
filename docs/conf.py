"""Sphinx configuration of rldebug's documentation (``make docs``).

Sphinx with MyST Markdown, because the project's docstrings are already Sphinx-style
(``:param x:``, ``:func:``) and autodoc renders them as they are; Ray, Gymnasium and
Stable-Baselines3, whose users read these pages, document with Sphinx too. Pages are
Markdown so that the guides read the same on GitHub.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "_ext"))

project = "rldebug"
author = "the rldebug developers"
copyright = "2026, the rldebug developers"

from rldebug import __version__ as release  # one version source

version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "cli_reference",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": False}

html_theme = "furo"
html_title = f"rldebug {release}"
html_static_path = ["_static"]
