"""Faults: closed ports, HTTP errors, broken and truncated answers, timeouts, row limits,
bad ADQL, and a DaCHS restart during the retries of a query."""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import from_table, writeto
from astropy.table import Table

from astro_galflow.sources.base import SourceError
from astro_galflow.vo.tap import RetryPolicy, RowLimitError, TruncatedResultWarning, run_query

QUERY = "SELECT TOP 3 objid, ra, dec FROM dbo.photoobj"
FAST = RetryPolicy(retries=2, backoff=0.01, timeout=5)
SETUP = Path(__file__).resolve().parents[2] / ".ci" / "dachs" / "setup_dachs.sh"


def _votable_bytes():
    buf = io.BytesIO()
    writeto(from_table(Table({"objid": np.array([1, 2], dtype=np.int64), "ra": [1.0, 2.0]})), buf)
    return buf.getvalue()


def _sleeps():
    waits = []
    return waits, waits.append


def test_closed_port_retries_then_names_service_and_query():
    waits, sleep = _sleeps()
    with pytest.raises(SourceError) as info:
        run_query("http://127.0.0.1:9/tap", QUERY, service="SDSS", policy=FAST, sleep=sleep)
    msg = str(info.value)
    assert "SDSS" in msg and "127.0.0.1:9" in msg and "after 3 attempt(s)" in msg and QUERY in msg
    assert waits == [0.01, 0.02]


def test_server_errors_are_retried_until_the_service_answers(broken_server):
    broken_server.routes["/tap/sync"] = [(503, {}, b"busy"), (500, {}, b"oops"), (200, {}, _votable_bytes())]
    waits, sleep = _sleeps()
    got = run_query(broken_server.url + "/tap", QUERY, service="flaky", policy=FAST, sleep=sleep)
    assert list(got["objid"]) == [1, 2]
    assert broken_server.hits.count("/tap/sync") == 3 and waits == [0.01, 0.02]


def test_client_errors_are_not_retried(broken_server):
    broken_server.routes["/tap/sync"] = [(404, {}, b"no such service")]
    with pytest.raises(SourceError, match=r"\(not retried\)"):
        run_query(broken_server.url + "/tap", QUERY, service="gone", policy=FAST, sleep=lambda s: None)
    assert broken_server.hits.count("/tap/sync") == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_votable_bytes()[: len(_votable_bytes()) // 2], id="truncated-votable"),
        pytest.param(b"<html><body>proxy error</body></html>", id="not-a-votable"),
        pytest.param(b"", id="empty-body"),
    ],
)
def test_broken_votables_are_retried_then_reported(broken_server, body):
    broken_server.routes["/tap/sync"] = [(200, {"Content-Type": "text/xml"}, body)]
    with pytest.raises(SourceError, match="broken") as info:
        run_query(broken_server.url + "/tap", QUERY, service="broken", policy=FAST, sleep=lambda s: None)
    assert QUERY in str(info.value)
    assert broken_server.hits.count("/tap/sync") == 3


def test_body_cut_short_in_transfer_is_retried(broken_server):
    full = _votable_bytes()
    broken_server.routes["/tap/sync"] = [(200, {"Content-Length": str(len(full))}, full[:200]), (200, {}, full)]
    got = run_query(broken_server.url + "/tap", QUERY, service="cut", policy=FAST, sleep=lambda s: None)
    assert len(got) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_timeout_is_retried_then_reported(broken_server, mode):
    # async: job creation itself hangs
    broken_server.routes[f"/tap/{mode}"] = [(200, {}, _votable_bytes(), 1.0)]
    policy = RetryPolicy(retries=1, backoff=0.01, timeout=0.2)
    with pytest.raises(SourceError, match="after 2 attempt"):
        run_query(broken_server.url + "/tap", QUERY, service="slow", policy=policy, mode=mode, sleep=lambda s: None)


def test_truncated_fits_image_is_never_used(broken_server):
    from astro_galflow.vo.images import CutoutFetcher

    buf = io.BytesIO()
    fits.PrimaryHDU(np.ones((50, 50), dtype=np.float32)).writeto(buf)
    data = buf.getvalue()
    broken_server.routes["/img.fits"] = [(200, {}, data[: len(data) // 3])]
    broken_server.routes["/cut.fits"] = [(200, {"Content-Length": str(len(data))}, data[:1000])]
    import requests

    with requests.Session() as session:
        fetcher = CutoutFetcher(
            broken_server.url,
            bands=("g",),
            pixel_scale=0.396 * u.arcsec,
            service="SIA test",
            policy=FAST,
            session=session,
        )
        for path in ("/img.fits", "/cut.fits"):
            with pytest.raises(SourceError, match="SIA test") as info:
                fetcher.image(broken_server.url + path)
            assert path in str(info.value)


@pytest.mark.dachs
def test_bad_adql_is_reported_at_once(tap_url):
    with pytest.raises(SourceError, match=r"not retried.*nosuchcolumn"):
        run_query(tap_url, "SELECT nosuchcolumn FROM dbo.photoobj", service="DaCHS", policy=FAST)


@pytest.mark.dachs
def test_empty_result_is_an_empty_table(tap_url):
    got = run_query(tap_url, "SELECT objid, ra FROM dbo.photoobj WHERE ra > 400", service="DaCHS", policy=FAST)
    assert len(got) == 0 and got.colnames == ["objid", "ra"]


@pytest.mark.dachs
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_row_limit_overflow_raises(sdss, mode):
    sdss.row_limit = 5
    with pytest.raises(RowLimitError, match="truncated the result at 5 rows"):
        sdss.query_region("180 0", radius=180 * u.deg, mode=mode)


@pytest.mark.dachs
def test_row_limit_overflow_can_warn_instead(sdss):
    sdss.row_limit, sdss.on_overflow = 5, "warn"
    with pytest.warns(TruncatedResultWarning, match="incomplete"):
        got = sdss.query_region("180 0", radius=180 * u.deg)
    assert len(got) == 5


def _can_restart(dachs_url):
    return os.geteuid() == 0 and SETUP.exists() and dachs_url.startswith("http://127.0.0.1:")


#: A query that keeps the server busy for seconds (36 million joined rows counted).
SLOW_QUERY = "SELECT COUNT(*) AS n FROM dbo.photoobj AS a, dbo.photoobj AS b, dbo.galspecline AS c"


def _live_jobs(tap_url):
    import re
    import urllib.request

    with urllib.request.urlopen(tap_url + "/async", timeout=10) as response:
        phases = re.findall(r"<uws:phase>(\w+)</uws:phase>", response.read().decode())
    return sum(p in ("QUEUED", "EXECUTING") for p in phases)


@pytest.mark.dachs
@pytest.mark.dachs_exclusive
def test_async_job_given_up_on_is_deleted_from_the_server(tap_url):
    # a job left running would hold one of the server's execution slots for ever
    assert _live_jobs(tap_url) == 0
    with pytest.raises(SourceError, match="async"):
        run_query(tap_url, SLOW_QUERY, service="DaCHS", mode="async", policy=RetryPolicy(retries=0, timeout=0.3))
    assert _live_jobs(tap_url) == 0


@pytest.mark.dachs
@pytest.mark.dachs_exclusive
def test_server_crash_mid_query_and_restart_is_survived(dachs_url, tap_url):
    if not _can_restart(dachs_url):
        msg = "restarting DaCHS needs root and the local server of .ci/dachs/setup_dachs.sh"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)

    def crash_and_restart():
        time.sleep(0.5)  # the slow query is running now
        subprocess.run([str(SETUP), "crash"], check=True, capture_output=True, timeout=60)
        subprocess.run([str(SETUP), "start"], check=True, capture_output=True, timeout=120)

    waits = []

    def sleep(seconds):  # record the retries, and really wait for the restart
        waits.append(seconds)
        time.sleep(seconds)

    restarter = threading.Thread(target=crash_and_restart)
    restarter.start()
    try:
        got = run_query(
            tap_url,
            SLOW_QUERY,
            service="DaCHS",
            policy=RetryPolicy(retries=8, backoff=0.5, max_wait=2),
            sleep=sleep,
        )
    finally:
        restarter.join()
        if not _answers(tap_url):  # leave the server as the test found it
            subprocess.run([str(SETUP), "start"], check=True, capture_output=True, timeout=120)
    assert waits, "the query finished before the crash: nothing was tested"
    n_photo = len(run_query(tap_url, "SELECT objid FROM dbo.photoobj", service="t"))
    n_line = len(run_query(tap_url, "SELECT specobjid FROM dbo.galspecline", service="t"))
    assert got["n"][0] == n_photo**2 * n_line


def _answers(tap_url):
    import urllib.request

    try:
        with urllib.request.urlopen(tap_url + "/capabilities", timeout=5):
            return True
    except OSError:
        return False
