"""Test helpers for astro_galflow and for authors of its plugins.

The pytest plugin :mod:`astro_galflow.testing.pytest_plugin` is registered through the
``pytest11`` entry point, so its fixtures are available in any project that has
astro_galflow installed.
"""

from astro_galflow.testing.tables import make_input_table

__all__ = ["make_input_table"]
