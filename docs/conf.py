"""Sphinx configuration of the imbsk documentation."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
import imbsk  # noqa: E402

project = "imbsk"
author = "The imbsk developers"
copyright = "2026, The imbsk developers"
release = imbsk.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
autosummary_generate = True
# The metadata-routing setters and sklearn's inherited ``score`` carry cross-references into sklearn's
# own docs that do not resolve here.
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": "set_fit_request, set_partial_fit_request, set_score_request, set_predict_request, "
    "set_predict_proba_request, set_transform_request, score",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "sg_execution_times.rst"]
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_title = f"imbsk {release}"

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "imblearn": ("https://imbalanced-learn.org/stable/", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
    "torch": ("https://pytorch.org/docs/stable/", None),
}
# Builds run offline: a missing inventory must not turn into a warning that fails a -W build.
intersphinx_timeout = 2
intersphinx_disabled_reftypes = ["*"]
if os.environ.get("IMBSK_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "plot_gallery": "True",
}

# Matplotlib and sphinx-gallery talk to each other through warnings we do not control.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")
