"""HEASARC fitsverify passes the FITS outputs (the streaming engine's assembled file) cleanly."""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import MODELS, require_binary


@pytest.mark.parametrize("model", MODELS)
def test_fitsverify_has_no_errors_and_no_warnings(outputs, model):
    binary = require_binary("fitsverify")
    done = subprocess.run([binary, str(outputs[model]["fits"])], capture_output=True, text=True, timeout=60)
    summary = re.search(r"Verification found (\d+) warning\(s\) and (\d+) error\(s\)", done.stdout)
    assert summary, done.stdout[-2000:]
    assert summary.groups() == ("0", "0"), done.stdout[-3000:]
    assert done.returncode == 0
