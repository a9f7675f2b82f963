"""Reading a Parquet posterior table and exiting never aborts the interpreter.

astropy's Parquet reader goes through Arrow's thread pool, which can abort the process
at interpreter exit ("terminate called without an active exception", exit 134;
apache/arrow#34314). :func:`astro_galflow.table.read_posterior_table` reads on the
calling thread instead; 50 fresh interpreters each read a table and exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from astro_galflow.params import PARAMETERS
from astro_galflow.table import add_parameter_columns, new_posterior_table, write_posterior_table

ROOT = Path(__file__).resolve().parents[2]
RUNS = 50


@pytest.mark.slow
def test_read_and_exit_50_times(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    table = new_posterior_table(
        source_id=np.arange(n),
        survey="simulated",
        ra_deg=rng.uniform(0, 360, n),
        dec_deg=rng.uniform(-60, 60, n),
        flags=np.zeros(n, dtype=np.int64),
    )
    for spec in PARAMETERS.values():
        add_parameter_columns(table, spec, rng.normal(1.0, 0.2, (n, 20)), quantiles=(0.5,), store_samples=True)
    path = write_posterior_table(table, tmp_path / "post.parquet")
    code = (
        f"from astro_galflow.table import read_posterior_table; assert len(read_posterior_table({str(path)!r})) == {n}"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def run(_):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        return done.returncode, done.stderr.strip()[-300:]

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(RUNS)))
    failed = [(k, rc, err) for k, (rc, err) in enumerate(results) if rc != 0]
    assert not failed, f"{len(failed)} of {RUNS} read-and-exit runs failed, first: {failed[0]}"
