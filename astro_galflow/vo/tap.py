"""Running TAP queries robustly: timeouts, retries with backoff, overflow, clear errors.

Transient faults (connection refused or reset, timeouts, HTTP 5xx and 429, truncated or
malformed VOTables) are retried with exponential backoff; errors the service reports
about the query itself (bad ADQL, HTTP 4xx) are not. When every attempt fails,
:class:`~astro_galflow.sources.base.SourceError` names the service, the query and the
last cause. A result the service marks as truncated (``QUERY_STATUS=OVERFLOW``) is never
returned silently: it raises :class:`RowLimitError` or, with ``on_overflow="warn"``,
warns with :class:`TruncatedResultWarning`.

pyvo is imported inside the functions so that importing the survey sources stays cheap.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

from astro_galflow.exceptions import GalflowWarning, SourceError

__all__ = [
    "RetryPolicy",
    "RowLimitError",
    "TruncatedResultWarning",
    "make_session",
    "run_query",
    "with_retries",
]

log = logging.getLogger(__name__)


class RowLimitError(SourceError):
    """A result was truncated at the service's or the caller's row limit."""


class TruncatedResultWarning(GalflowWarning):
    """A result was truncated at a row limit and returned anyway (``on_overflow='warn'``)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    Attempt ``k`` (from 0) waits ``min(backoff * 2**k, max_wait)`` seconds before the next.
    """

    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 30.0
    timeout: float = 60.0

    def waits(self):
        """Seconds to sleep before each retry."""
        return [min(self.backoff * 2**k, self.max_wait) for k in range(self.retries)]


def make_session(*, timeout: float, token: str | None = None):
    """A :class:`requests.Session` with a default timeout and optional bearer token.

    The token is sent as an ``Authorization`` header and never logged or put in an
    error message.
    """
    import requests

    class _Session(requests.Session):
        def __init__(self):
            super().__init__()
            self._streams = []

        def request(self, method, url, **kwargs):
            kwargs.setdefault("timeout", timeout)
            response = super().request(method, url, **kwargs)
            if kwargs.get("stream"):
                # pyvo reads streamed responses without closing them; close them with the
                # session so that no socket outlives it
                self._streams.append(response)
            return response

        def close(self):
            for response in self._streams:
                response.close()
            self._streams.clear()
            super().close()

    session = _Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _is_transient(exc: BaseException) -> bool:
    import requests
    from pyvo.dal import DALFormatError, DALQueryError, DALServiceError

    if isinstance(exc, DALQueryError):
        return False
    transient_types = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,  # body cut short (server died mid-transfer)
        DALFormatError,
        OSError,
    )
    if isinstance(exc, transient_types):
        return True
    if isinstance(exc, DALServiceError):
        code = getattr(exc, "code", None)
        if not code:  # pyvo's code 0 or None: no HTTP status, the connection failed or timed out
            return True
        return code >= 500 or code == 429
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    # astropy's VOTable parser raises these for truncated or malformed XML
    return type(exc).__name__ in {"ExpatError", "VOTableSpecError", "E19", "ParseError"}


def _short(query: str, limit: int = 300) -> str:
    q = " ".join(query.split())
    return q if len(q) <= limit else q[:limit] + " ..."


def with_retries(func, *, policy: RetryPolicy, service: str, what: str, sleep=time.sleep):
    """Call ``func()`` and retry transient failures according to ``policy``.

    Parameters
    ----------
    func : callable
        Does one attempt and returns its result.
    policy : RetryPolicy
    service : str
        Service name and URL, for the error message.
    what : str
        The query or request, for the error message.

    Raises
    ------
    SourceError
        After the last attempt, or at once for a non-transient error; names ``service``
        and ``what`` and chains the cause.
    """
    waits = policy.waits()
    attempt = 0
    while True:
        try:
            return func()
        except RowLimitError:
            raise
        except Exception as exc:
            transient = _is_transient(exc)
            if not transient or attempt == len(waits):
                tries = f"after {attempt + 1} attempt(s)" if transient else "(not retried)"
                raise SourceError(
                    f"{service} failed {tries}: {type(exc).__name__}: {exc}; query: {_short(what)}"
                ) from exc
            log.info("%s: transient %s, retrying in %.1f s", service, type(exc).__name__, waits[attempt])
            sleep(waits[attempt])
            attempt += 1


def _check_overflow(result, *, maxrec, service, query, on_overflow):
    status = (getattr(result, "query_status", None) or "").upper()
    if status != "OVERFLOW":
        return
    msg = (
        f"{service} truncated the result at {len(result)} rows (row limit "
        f"{maxrec if maxrec is not None else 'of the service'}); query: {_short(query)}"
    )
    if on_overflow == "warn":
        warnings.warn(msg + "; the table is incomplete", TruncatedResultWarning, stacklevel=4)
    else:
        raise RowLimitError(msg + "; raise the row limit, narrow the query or page through it")


def _run_async(svc, query, *, maxrec, uploads, timeout):
    """Run a UWS job and delete it whatever happens.

    pyvo's ``run_async`` leaves the job on the server when waiting fails; a job left
    executing there keeps one of the service's execution slots, and enough of them
    block every later job. Deleting it (which aborts it) frees the slot.
    """
    import requests
    from pyvo.dal import DALServiceError

    job = svc.submit_job(query, maxrec=maxrec, uploads=uploads)
    try:
        job.run()
        job.wait(timeout=timeout)
        job.raise_if_error()
        return job.fetch_result()
    finally:
        try:
            job.delete()
        except (DALServiceError, requests.RequestException) as exc:
            log.info("could not delete TAP job %s: %s", job.url, exc)


def run_query(
    tap_url: str,
    query: str,
    *,
    service: str,
    policy: RetryPolicy = RetryPolicy(),
    maxrec: int | None = None,
    uploads: dict | None = None,
    mode: str = "sync",
    on_overflow: str = "raise",
    session=None,
    sleep=time.sleep,
):
    """Run ADQL on a TAP service and return an astropy Table.

    Parameters
    ----------
    tap_url : str
        TAP service base URL.
    query : str
        ADQL, built with :mod:`astro_galflow.vo.adql`.
    service : str
        Human-readable service name used in errors (the URL is appended).
    policy : RetryPolicy
        Timeout and retries.
    maxrec : int, optional
        Row limit sent as ``MAXREC``.
    uploads : dict, optional
        ``{name: table}`` for TAP upload (``TAP_UPLOAD.name``).
    mode : {"sync", "async"}
        Synchronous query, or an asynchronous UWS job polled until done and deleted.
    on_overflow : {"raise", "warn"}
        What a truncated result does.
    session : requests.Session, optional
        Defaults to :func:`make_session` with the policy's timeout.

    Returns
    -------
    astropy.table.Table
    """
    import pyvo
    from pyvo.dal import DALOverflowWarning

    if mode not in ("sync", "async"):
        raise ValueError(f"mode must be 'sync' or 'async', got {mode!r}")
    if on_overflow not in ("raise", "warn"):
        raise ValueError(f"on_overflow must be 'raise' or 'warn', got {on_overflow!r}")
    own_session = session is None
    session = session or make_session(timeout=policy.timeout)
    label = f"TAP service {service} ({tap_url}, {mode})"

    def attempt():
        svc = pyvo.dal.TAPService(tap_url, session=session)
        with warnings.catch_warnings():
            # pyvo warns on overflow; _check_overflow turns it into our own error/warning
            warnings.simplefilter("ignore", DALOverflowWarning)
            if mode == "sync":
                result = svc.run_sync(query, maxrec=maxrec, uploads=uploads)
            else:
                result = _run_async(svc, query, maxrec=maxrec, uploads=uploads, timeout=policy.timeout)
        _check_overflow(result, maxrec=maxrec, service=label, query=query, on_overflow=on_overflow)
        return result.to_table()

    try:
        return with_retries(attempt, policy=policy, service=label, what=query, sleep=sleep)
    finally:
        if own_session:
            session.close()
