"""Project-wide test configuration."""

import os

import pytest

# Tests never reach the internet: astropy must not try to refresh IERS tables.
from astropy.utils import iers

iers.conf.auto_download = False


@pytest.fixture(autouse=True)
def _single_torch_thread_per_test_worker():
    """Keep CPU tests from oversubscribing the 2-core CI machine."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    yield
