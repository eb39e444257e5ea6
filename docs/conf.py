"""Sphinx configuration of the imbsk documentation."""

import importlib
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
# Every page gets the whole site in the left sidebar, the current page expanded to its sections
# (docs/_templates/sidebar-nav-site.html).
html_sidebars = {"**": ["sidebar-nav-site"]}
html_static_path = ["_static"]
# Wider text column, wrapped long code lines, the indentation of the sidebar tree.
html_css_files = ["imbsk.css"]
html_title = f"imbsk {release}"

# Every cross-reference must resolve (``make docs`` runs with -W).
nitpicky = True

# Links into the documentation of the libraries imbsk builds on. Inventories are fetched over the
# network, and a build that cannot reach them gets a warning (which -W makes fatal) that no
# ``suppress_warnings`` entry covers in Sphinx 9; none of these projects ships its objects.inv in a
# package either. So the links are on only when asked for: IMBSK_DOCS_INTERSPHINX=1 make docs.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "imblearn": ("https://imbalanced-learn.org/stable/", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
    "torch": ("https://docs.pytorch.org/docs/stable/", None),
}
intersphinx_timeout = 10
if os.environ.get("IMBSK_DOCS_INTERSPHINX", "0") != "1":
    intersphinx_mapping = {}
# Names of those libraries stay plain text when their inventory is not loaded (and when an inventory
# lacks a name, such as a private base class of theirs): they are not broken links of this project.
nitpick_ignore_regex = [
    ("py:.*", r"(sklearn|imblearn|skorch|torch|numpy|np|scipy|joblib|distributed|dask|matplotlib|PIL)(\..*)?"),
]

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


def _public_bases(app, name, obj, options, bases):
    """Show each base class under the name it is imported by, and private ones by their public bases.

    autodoc names a base by its defining module (``torch.nn.modules.module.Module``,
    ``imbsk.losses._ImbalanceLoss``): neither is documented anywhere, so the "Bases" line would hold
    dead links. A private base of imbsk's is replaced by its own bases, and any other class by the
    shortest import path that reaches the same object (``torch.nn.Module``).
    """

    def public(cls):
        parts = cls.__module__.split(".")
        if parts[0] == "builtins":
            return [cls]
        for i in range(1, len(parts) + 1):
            path = ".".join(parts[:i])
            if cls.__name__.startswith("_") or (parts[0] == "imbsk" and "._" in f".{path}"):
                break
            try:
                module = importlib.import_module(path)
            except ImportError:
                continue
            if getattr(module, cls.__qualname__, None) is cls:
                return [f":py:class:`{path}.{cls.__qualname__}`"]
        if parts[0] == "imbsk":
            return [b for base in cls.__bases__ if base is not object for b in public(base)]
        return [cls]

    new = [b for base in bases for b in (public(base) if isinstance(base, type) else [base])]
    bases[:] = list(dict.fromkeys(new))


def setup(app):
    app.connect("autodoc-process-bases", _public_bases)
