"""kill -9 a real streaming run at several points; rerunning the same command finishes it.

The final table must hold every input row exactly once, with the values of an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from astropy.io.fits.verify import VerifyWarning

from astro_galflow.scale.journal import JOURNAL_NAME
from astro_galflow.scale.writers import parts_dir_for
from astro_galflow.table import read_posterior_table
from astro_galflow.testing import make_input_table

SCRIPT = """
import sys
from astro_galflow.config import GalflowConfig
from astro_galflow.scale.stream import stream_infer
config = GalflowConfig(model=sys.argv[3], n_samples=16, seed=3, batch_size=64, backend="eager")
stream_infer(sys.argv[1], sys.argv[2], config=config, chunk_rows=128, progress=False)
"""


def _chunks_done(journal_path) -> int:
    try:
        return len(json.loads(journal_path.read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


def _run_and_kill(args, journal_path, *, after_chunks: int, timeout: float = 60.0) -> bool:
    """Start the run; SIGKILL it once the journal lists ``after_chunks`` chunks. True if killed."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, *args], stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if _chunks_done(journal_path) >= after_chunks:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.002)
        if proc.poll() is None:
            pytest.fail("streaming run did not progress in time")
        if proc.returncode != 0:
            pytest.fail(f"streaming run failed: {proc.stderr.read().decode()[-2000:]}")
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_kill_minus_nine_at_several_points_then_resume(tmp_path, tiny_model_dir, scale_config, scale_pm, tiny_model):
    from astro_galflow.pipeline import infer_table

    table = make_input_table(3000, seed=5)
    source = tmp_path / "cat.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # HIERARCH card for extinction_corrected
        table.write(source)
    out = tmp_path / "post.parquet"
    journal = parts_dir_for(out) / JOURNAL_NAME
    args = [str(source), str(out), str(tiny_model_dir)]

    progress = []
    for after in (1, 9):
        killed = _run_and_kill(args, journal, after_chunks=after)
        assert killed, f"the run finished before chunk {after}"
        progress.append(_chunks_done(journal))
        assert not out.exists()
    assert progress == sorted(progress) and progress[0] >= 1
    assert not _run_and_kill(args, journal, after_chunks=10**6)

    result = read_posterior_table(out)
    assert not parts_dir_for(out).exists()
    ids = np.asarray(result["source_id"])
    assert len(ids) == len(table)
    assert len(np.unique(ids)) == len(table)
    np.testing.assert_array_equal(ids, table["source_id"])
    reference = infer_table(table, config=scale_config, pm=scale_pm, model=tiny_model)
    np.testing.assert_allclose(result["log_mstar_p50"].value, reference["log_mstar_p50"].value, rtol=1e-6)
