"""The run's two-stage pipeline: draws on the calling thread, post-processing on the finisher.

``InferenceRun.infer_many`` overlaps one batch's post-processing with the next batch's
draw (issue 14). Whatever the overlap, the tables must be those of sequential
``infer`` calls, row for row, errors must surface on the caller, and the progress
callback must count every row once.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from astropy.table import QTable

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import GalflowError
from astro_galflow.run import InferenceRun


@pytest.fixture(scope="module")
def catalog(simulated_catalog_path):
    return QTable.read(simulated_catalog_path)[:230]


def _config(**kwargs):
    return GalflowConfig(**{"n_samples": 64, "seed": 5, "batch_size": 32, "backend": "eager", **kwargs})


def test_pipelined_tables_equal_one_table_at_a_time(tiny_model, catalog):
    pieces = [catalog[:70], catalog[70:71], catalog[71:230]]
    with InferenceRun(_config(), model=tiny_model) as run:
        whole = run.infer(catalog)
        streamed = list(run.infer_many(iter(pieces)))
    assert [len(t) for t in streamed] == [70, 1, 159]
    for piece, table in zip(pieces, streamed, strict=True):
        np.testing.assert_array_equal(table["source_id"], piece["source_id"])
    joined = np.concatenate([np.asarray(t["log_mstar_p50"].value) for t in streamed])
    np.testing.assert_array_equal(joined, np.asarray(whole["log_mstar_p50"].value))


def test_post_processing_runs_off_the_calling_thread_and_counts_every_row(tiny_model, catalog):
    seen_threads, counted = set(), []
    real = InferenceRun._summarize

    def recording(self, batch):
        seen_threads.add(threading.current_thread().name)
        return real(self, batch)

    run = InferenceRun(_config(), model=tiny_model)
    run._summarize = recording.__get__(run)
    with run:
        out = run.infer(catalog, on_rows=counted.append)
    assert len(out) == len(catalog)
    assert sum(counted) == len(catalog) and len(counted) == 8  # 230 rows in batches of 32
    assert seen_threads and threading.current_thread().name not in seen_threads


def test_an_error_while_post_processing_reaches_the_caller(tiny_model, catalog):
    real = InferenceRun._summarize
    calls = []

    def failing(self, batch):
        calls.append(len(batch.table))
        if len(calls) == 3:
            raise GalflowError("post-processing failed")
        return real(self, batch)

    run = InferenceRun(_config(), model=tiny_model)
    run._summarize = failing.__get__(run)
    with run, pytest.raises(GalflowError, match="post-processing failed"):
        run.infer(catalog)


def test_tables_drawn_before_a_failure_are_still_handed_out(tiny_model, catalog):
    """A streaming run writes the chunks finished before the failing one (a resume redoes less)."""
    real = InferenceRun._draw_batch

    def failing(self, table, cutouts):
        if int(table["source_id"][0]) == int(catalog["source_id"][64]):
            raise GalflowError("draw failed")
        return real(self, table, cutouts)

    run = InferenceRun(_config(), model=tiny_model)
    run._draw_batch = failing.__get__(run)
    got = []
    with run, pytest.raises(GalflowError, match="draw failed"):
        for table in run.infer_many(iter([catalog[:32], catalog[32:64], catalog[64:96]])):
            got.append(len(table))
    assert got == [32, 32]


@pytest.fixture
def quantity_info_touched_on_another_thread():
    """A thread reading the class-level ``Quantity.info``, as building any QTable does.

    The run's finisher does that while the caller's thread joins the batches. The
    class-level ``info`` remembers the class it was last read through, shared by every
    Quantity subclass; astropy's ``vstack`` relies on it between two reads.
    """
    import sys

    import astropy.units as u

    stop = threading.Event()

    def touch():
        while not stop.is_set():
            u.Quantity.info  # noqa: B018 - the read is the point
            u.Dex.info  # noqa: B018

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a window of a few bytecodes is hit
    thread = threading.Thread(target=touch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def test_the_finisher_thread_never_touches_astropy_tables(tiny_model, catalog, monkeypatch):
    """Only the calling thread reads the class-level ``info`` of astropy's columns.

    That read writes state shared by every thread (the class it was read through), which
    astropy's readers and ``vstack`` rely on between two reads: a table built on the
    finisher made the streaming engine's next chunk read fail ("mag is not a physical
    unit") or the batches' join raise ``UnitTypeError`` (CI, issue 14's pipeline).
    """
    from astropy.utils.data_info import DataInfo

    threads = set()
    real_get = DataInfo.__get__

    def recording_get(self, instance, owner):
        if instance is None:  # the class-level read
            threads.add(threading.current_thread().name)
        return real_get(self, instance, owner)

    monkeypatch.setattr(DataInfo, "__get__", recording_get)
    with InferenceRun(_config(), model=tiny_model) as run:
        tables = list(run.infer_many(iter([catalog[:100], catalog[100:]])))
    assert [len(t) for t in tables] == [100, 130]
    assert threads == {threading.current_thread().name}


def test_batches_join_while_another_thread_builds_tables(tiny_model, catalog, quantity_info_touched_on_another_thread):
    """Regression: CI saw ``UnitTypeError`` from astropy's vstack in a streaming run."""
    with InferenceRun(_config(batch_size=4), model=tiny_model) as run:
        tables = [run.infer(catalog[:120]) for _ in range(5)]
    for table in tables:
        assert type(table["log_mstar_p50"]).__name__ == "Dex"
        assert type(table["log_mstar_std"]).__name__ == "Quantity"
        np.testing.assert_array_equal(table["log_mstar_p50"].value, tables[0]["log_mstar_p50"].value)
