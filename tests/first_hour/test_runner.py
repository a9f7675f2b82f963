"""``tools/run``, the README's runner, refuses an unusable Python with one line and creates nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "tools" / "run"


def run_tool(*args, python, venv):
    env = {**os.environ, "PYTHON": str(python), "GALFLOW_VENV": str(venv)}
    return subprocess.run(["bash", str(RUN), *args], env=env, capture_output=True, text=True, timeout=60)


def fake_python(tmp_path, version: str) -> Path:
    """An interpreter stand-in that says it is ``version`` and fails every check."""
    path = tmp_path / "python3"
    path.write_text(f'#!/bin/sh\n[ "$1" = -V ] && echo "Python {version}" && exit 0\nexit 1\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("python", "message"),
    [
        ("old", "Python 3.9.18 is too old; astro_galflow needs Python >= 3.10"),
        ("missing", "no '/nonexistent/python3' on PATH"),
    ],
)
def test_unusable_python_is_one_line_and_creates_nothing(tmp_path, python, message):
    interpreter = fake_python(tmp_path, "3.9.18") if python == "old" else Path("/nonexistent/python3")
    venv = tmp_path / "venv"
    result = run_tool("demo", python=interpreter, venv=venv)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not venv.exists()


def test_unknown_command_shows_usage(tmp_path):
    result = run_tool("demoo", python="python3", venv=tmp_path / "venv")
    assert result.returncode == 2
    assert "unknown command 'demoo'" in result.stderr and "tools/run test" in result.stderr
