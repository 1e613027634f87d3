"""Sphinx configuration for the skddpm documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. Nothing is fetched
from the network: there are no remote inventories, and the gallery runs the examples
here.
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import skddpm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "skddpm"
author = "The skddpm developers"
copyright = "2026, The skddpm developers"
version = release = skddpm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]

autosummary_generate = True
# The estimator takes sample, score_samples, save and load from mixins: document them,
# but not what BaseEstimator, set_output or torch.nn.Module give every subclass (their
# docstrings link to pages of the scikit-learn site).
autodoc_default_options = {
    "members": True,
    "inherited-members": "BaseEstimator,_MetadataRequester,_SetOutputMixin,Module",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

html_theme = "pydata_sphinx_theme"
html_title = f"skddpm {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": (True, "jshtml"),
    "abort_on_example_error": True,
    "show_memory": False,
    "run_stale_examples": os.environ.get("SKDDPM_DOCS_RERUN", "") == "1",
}
