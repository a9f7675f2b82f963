"""Every hook has a test and an entry in the hook reference (datasette's meta-tests)."""

import inspect
import re
from pathlib import Path

import pytest

from astro_galflow import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("galflow_"))


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))


def test_there_are_hooks():
    assert len(HOOKS) >= 12


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    page = (ROOT / "docs" / "reference" / "hooks.rst").read_text()
    assert f".. autofunction:: astro_galflow.hookspecs.{hook}" in page


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    assert re.search(rf"def test_hook_{hook}\b", _test_sources()), f"no test named test_hook_{hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_prefix_and_docstring(hook):
    function = getattr(hookspecs, hook)
    assert function.__doc__ and "Parameters" in function.__doc__
