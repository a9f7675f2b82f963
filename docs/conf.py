"""Sphinx configuration of the astro_galflow documentation (offline build, -W clean)."""

from importlib.metadata import version as _version

project = "astro_galflow"
author = "astro_galflow developers"
copyright = "2026, astro_galflow developers"
release = _version("astro_galflow")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_automodapi.automodapi",
]

# The build runs without network: no intersphinx inventories.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
autodoc_typehints = "none"
nitpicky = False

templates_path = []
exclude_patterns = ["_build", "api/*.rst.tmp"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"astro_galflow {version}"
html_theme_options = {"navigation_with_keys": False}
