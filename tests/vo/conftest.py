"""Fixtures of the VO tests: the local DaCHS (``.ci/dachs/setup_dachs.sh``) and broken servers.

Tests marked ``dachs`` take the ``dachs_url`` fixture. When the server does not answer
they are skipped with the reason, except under CI (``CI`` set), where they fail: a CI
run must never pass without having talked to the server.
"""

from __future__ import annotations

import fcntl
import http.server
import os
import tempfile
import threading
import time
import urllib.request

import pytest

DEFAULT_URL = "http://127.0.0.1:48080"


@pytest.fixture(scope="session")
def dachs_url():
    """Base URL of the DaCHS server (env ``GALFLOW_DACHS_URL``)."""
    url = os.environ.get("GALFLOW_DACHS_URL", DEFAULT_URL).rstrip("/")
    try:
        with urllib.request.urlopen(url + "/tap/capabilities", timeout=10):
            pass
    except OSError as exc:
        msg = f"DaCHS does not answer at {url} ({exc}); start it with: sudo .ci/dachs/setup_dachs.sh"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return url


_LOCK_PATH = os.path.join(tempfile.gettempdir(), "galflow-dachs-tests.lock")


@pytest.fixture(autouse=True)
def _dachs_lock(request):
    """Shared lock for tests using the server, exclusive for the one that restarts it.

    Under pytest-xdist the restart test must not stop the server under another worker's
    query; a file lock (shared/exclusive) serialises it against every other DaCHS test.
    """
    if request.node.get_closest_marker("dachs") is None:
        yield
        return
    exclusive = request.node.get_closest_marker("dachs_exclusive") is not None
    with open(_LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_configure(config):
    config.addinivalue_line("markers", "dachs_exclusive: stops or restarts the DaCHS server (runs alone)")


@pytest.fixture(scope="session")
def tap_url(dachs_url):
    return dachs_url + "/tap"


@pytest.fixture(scope="session")
def sia_url(dachs_url):
    return dachs_url + "/galflow_img/q/i/siap.xml"


@pytest.fixture
def sdss(tap_url, sia_url):
    from astro_galflow.sources.sdss import SDSSSource

    return SDSSSource(tap_url=tap_url, sia_url=sia_url, schema="dbo", retries=1, backoff=0.05, timeout=30)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers from ``server.routes``: path -> list of (status, headers, body[, delay_s]) used in turn.

    The last answer of a list repeats. A ``Content-Length`` header in ``headers``
    overrides the true one (a body cut short in transfer).
    """

    def _answer(self):
        path = self.path.split("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.hits.append(path)
        answers = self.server.routes.get(path)
        if not answers:
            status, headers, body = 404, {}, b"not here"
        else:
            status, headers, body, *delay = answers[0] if len(answers) == 1 else answers.pop(0)
            if delay:
                time.sleep(delay[0])
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_server():
    """A tiny local HTTP server whose answers a test sets in ``server.routes``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes, server.hits = {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()
