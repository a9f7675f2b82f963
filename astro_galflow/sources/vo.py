"""The base class of the survey sources that speak the Virtual Observatory (TAP + SIA).

Written in the style of astroquery's per-service modules: each survey module defines an
:class:`astropy.config.ConfigNamespace` with its service URLs, timeouts, row limits and
data release; a source instance takes keyword overrides of those; every query method is
keyword-only and, with ``get_query_payload=True``, returns the request it would send
instead of sending it. pyvo and photutils are imported only when a query runs.

A subclass says how its archive's rows become the host's input convention
(:mod:`astro_galflow.inputs`) by defining :attr:`VOSource.position_columns`,
:meth:`VOSource.catalog_table`, :meth:`VOSource.select_list`,
:meth:`VOSource.conditions` and :meth:`VOSource.to_inputs`.
"""

from __future__ import annotations

import os
from typing import ClassVar

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from astro_galflow.exceptions import InputError
from astro_galflow.sources.base import DataSource, SourceError
from astro_galflow.vo import adql

__all__ = ["VOSource", "parse_coordinates", "float_column"]


def parse_coordinates(coordinates):
    """ICRS :class:`~astropy.coordinates.SkyCoord` from a SkyCoord or an unambiguous string.

    Names are not resolved (that would need a network name service); pass positions.
    """
    from astropy.coordinates import SkyCoord

    if isinstance(coordinates, SkyCoord):
        coord = coordinates
    elif isinstance(coordinates, str):
        try:
            coord = SkyCoord(coordinates, unit=(u.deg, u.deg))
        except ValueError as exc:
            raise InputError(f"cannot read coordinates {coordinates!r}: {exc}") from None
    else:
        raise InputError(f"coordinates must be a SkyCoord or a string, got {type(coordinates).__name__}")
    if not coord.isscalar:
        raise InputError("query_region takes one position; use query_objects for a list")
    return coord.icrs


class VOSource(DataSource):
    """A survey archive reached through TAP (catalogs) and SIA (images).

    Parameters
    ----------
    tap_url, sia_url : str, optional
        Service URLs; default to the survey's ``conf``.
    timeout : float, optional
        Seconds per HTTP request.
    retries : int, optional
        Retries of a transient failure (with exponential backoff from ``backoff`` s).
    backoff : float, optional
    row_limit : int, optional
        ``MAXREC`` of catalog queries; a result truncated there raises (or warns with
        ``on_overflow="warn"``).
    data_release : str, optional
        Release whose tables are queried.
    """

    #: The survey's :class:`astropy.config.ConfigNamespace` instance.
    conf: ClassVar = None
    #: Service name used in error messages.
    service_name: ClassVar[str] = ""
    #: Catalog (ra, dec) column names, in degrees.
    position_columns: ClassVar[tuple[str, str]] = ("ra", "dec")
    #: Unique object id column of the catalog table (pages of a training-set build).
    id_column: ClassVar[str] = ""
    #: Label name -> catalog column for archives that hold truth values (simulations).
    truth_columns: ClassVar[dict] = {}
    #: Environment variables tried in order for an access token (never logged).
    token_env: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        tap_url=None,
        sia_url=None,
        timeout=None,
        retries=None,
        backoff=None,
        row_limit=None,
        data_release=None,
        on_overflow="raise",
    ):
        conf = self.conf
        self.tap_url = tap_url or conf.tap_url
        self.sia_url = sia_url or conf.sia_url
        self.timeout = float(timeout if timeout is not None else conf.timeout)
        self.retries = int(retries if retries is not None else conf.retries)
        self.backoff = float(backoff if backoff is not None else conf.backoff)
        self.row_limit = int(row_limit if row_limit is not None else conf.row_limit)
        # checked here so a bad limit is refused before any query is sent (issue 15)
        if self.row_limit < 1:
            raise InputError(f"row_limit must be >= 1, got {self.row_limit}")
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0:
            raise InputError(
                f"timeout must be > 0 and retries, backoff >= 0; got {self.timeout}, {self.retries}, {self.backoff}"
            )
        self.data_release = str(data_release or conf.data_release)
        self.on_overflow = on_overflow

    # -- what a subclass defines -------------------------------------------------
    def catalog_table(self) -> str:
        """Qualified name of the catalog table queried by region and object list."""
        raise NotImplementedError

    def select_list(self) -> list[str]:
        """``expression AS alias`` items selected from the catalog (aliased ``p``)."""
        raise NotImplementedError

    def conditions(self) -> list[str]:
        """Extra ADQL conditions every catalog query carries (e.g. galaxies only)."""
        return []

    def to_inputs(self, raw: Table) -> QTable:
        """Convert a query result (columns named by :meth:`select_list`) to the input convention."""
        raise NotImplementedError

    # -- services ----------------------------------------------------------------------
    def _token(self) -> str | None:
        for name in self.token_env:
            if os.environ.get(name):
                return os.environ[name]
        return None

    def new_session(self):
        """A new HTTP session (default timeout, bearer token where the survey needs one).

        Use it as a context manager so that its connections are closed.
        """
        from astro_galflow.vo.tap import make_session

        return make_session(timeout=self.timeout, token=self._token())

    @property
    def policy(self):
        """The :class:`~astro_galflow.vo.tap.RetryPolicy` of this source."""
        from astro_galflow.vo.tap import RetryPolicy

        return RetryPolicy(retries=self.retries, backoff=self.backoff, timeout=self.timeout)

    def run_adql(self, query: str, *, uploads=None, mode="sync", maxrec=None) -> Table:
        """Run ADQL on this survey's TAP service with its retry policy and row limit."""
        from astro_galflow.vo.tap import run_query

        with self.new_session() as session:
            return run_query(
                self.tap_url,
                query,
                service=self.service_name,
                policy=self.policy,
                maxrec=maxrec if maxrec is not None else self.row_limit,
                uploads=uploads,
                mode=mode,
                on_overflow=self.on_overflow,
                session=session,
            )

    # -- queries ---------------------------------------------------------------------
    def _payload(self, query, **extra):
        return {"url": self.tap_url, "query": query, "maxrec": self.row_limit, "lang": "ADQL", **extra}

    def query_region(self, coordinates, *, radius=None, width=None, height=None, get_query_payload=False, mode="sync"):
        """Galaxies in a cone (``radius``) or a box (``width``, optionally ``height``).

        Parameters
        ----------
        coordinates : SkyCoord or str
            Centre (ICRS).
        radius, width, height : Quantity (angle), optional
            Exactly one shape: a radius, or a width (and height, default ``width``).
        get_query_payload : bool
            Return the request (URL, ADQL, MAXREC) instead of running it.
        mode : {"sync", "async"}

        Returns
        -------
        astropy.table.QTable or dict
        """
        coord = parse_coordinates(coordinates)
        ra_col, dec_col = (f"p.{c}" for c in self.position_columns)
        if (radius is None) == (width is None):
            raise InputError("query_region needs exactly one of radius= or width= (with optional height=)")
        if radius is not None:
            shape = adql.cone_condition(
                ra_col, dec_col, coord.ra.deg, coord.dec.deg, adql.angle_deg(radius, what="radius")
            )
        else:
            w = adql.angle_deg(width, what="width")
            h = adql.angle_deg(height, what="height") if height is not None else w
            shape = adql.box_condition(ra_col, dec_col, coord.ra.deg, coord.dec.deg, w, h)
        where = " AND ".join([shape, *self.conditions()])
        query = f"SELECT {', '.join(self.select_list())} FROM {self.catalog_table()} AS p WHERE {where}"
        if get_query_payload:
            return self._payload(query)
        table = self.to_inputs(self.run_adql(query, mode=mode))
        table.meta["query"] = query
        return table

    def query_objects(self, table, *, radius=1 * u.arcsec, get_query_payload=False, mode="sync"):
        """Catalog rows for a list of positions, by TAP upload; one output row per input row.

        The nearest catalog object within ``radius`` is taken (``match_sep`` in arcsec);
        input rows without one keep their position and get NaN magnitudes,
        ``matched = False`` and a ``source_id`` of -1 (int ids) or ``""``, so the host flags
        them and no row is ever dropped.

        Parameters
        ----------
        table : Table
            With ``ra`` and ``dec`` columns (degrees).
        radius : Quantity (angle)
        get_query_payload : bool
            Return the request instead of running it.
        """
        from astro_galflow.inputs import check_columns, column_values

        check_columns(table, ["ra", "dec"], what="object list")
        ra = column_values(table, "ra", u.deg)
        dec = column_values(table, "dec", u.deg)
        bad = ~np.isfinite(ra) | ~np.isfinite(dec) | (np.abs(dec) > 90)
        upload = Table({"row_id": np.arange(len(table), dtype=np.int64)[~bad], "up_ra": ra[~bad], "up_dec": dec[~bad]})
        r_deg = adql.angle_deg(radius, what="radius")
        ra_col, dec_col = (f"p.{c}" for c in self.position_columns)
        sep = f"DISTANCE(POINT('ICRS', {ra_col}, {dec_col}), POINT('ICRS', u.up_ra, u.up_dec))"
        join = adql.upload_match_condition(ra_col, dec_col, "u.up_ra", "u.up_dec", r_deg)
        where = " AND ".join(self.conditions()) or "1 = 1"
        query = (
            f"SELECT u.row_id AS input_row, {sep} AS sep_deg, {', '.join(self.select_list())} "
            f"FROM {self.catalog_table()} AS p JOIN TAP_UPLOAD.objects AS u ON {join} WHERE {where}"
        )
        if get_query_payload:
            return self._payload(query, upload={"objects": upload})
        raw = self.run_adql(query, uploads={"objects": upload}, mode=mode)
        out = self._one_row_per_input(raw, len(table))
        # unmatched rows keep the position they were asked for
        out["ra"][~out["matched"]] = ra[~out["matched"]] * u.deg
        out["dec"][~out["matched"]] = dec[~out["matched"]] * u.deg
        out.meta["query"] = query
        return out

    def _one_row_per_input(self, raw: Table, n: int) -> QTable:
        rows = np.asarray(raw["input_row"], dtype=np.int64)
        sep = np.asarray(raw["sep_deg"], dtype=float)
        order = np.lexsort((sep, rows))
        first = np.ones(len(order), dtype=bool)
        first[1:] = rows[order][1:] != rows[order][:-1]
        best = raw[order[first]]
        matched = self.to_inputs(best)
        out = QTable()
        where = np.full(n, -1, dtype=np.int64)
        where[np.asarray(best["input_row"], dtype=np.int64)] = np.arange(len(best))
        hit = where >= 0
        for name in matched.colnames:
            col = matched[name]
            data = col.value if isinstance(col, u.Quantity) else np.asarray(col)
            values = np.full((n,) + data.shape[1:], _fill_value(data), dtype=data.dtype)
            values[hit] = data[where[hit]]
            out[name] = values * col.unit if isinstance(col, u.Quantity) else values
        out["matched"] = hit
        match_sep = np.full(n, np.nan)
        match_sep[hit] = sep[order[first]][where[hit]] * 3600.0
        out["match_sep"] = match_sep * u.arcsec
        out.meta.update(matched.meta)
        return out

    # -- images --------------------------------------------------------------------------
    def get_cutouts(self, table, *, preprocess=True, get_query_payload=False):
        """Cutouts of the rows of ``table`` from the survey's SIA service.

        Parameters
        ----------
        table : Table
            With ``ra`` and ``dec`` (degrees).
        preprocess : bool
            Background subtraction, recentring and neighbour masking
            (:func:`astro_galflow.vo.images.preprocess_cutout`).
        get_query_payload : bool
            Return the SIA request of each row instead of running it.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(n, len(image_bands), 160, 160)``, in nanomaggies per pixel;
            NaN where an image is missing (a :class:`GalflowWarning` names the rows).
        """
        from astro_galflow.inputs import check_columns, column_values
        from astro_galflow.vo import images

        check_columns(table, ["ra", "dec"], what="cutout table")
        if not self.sia_url:
            raise SourceError(f"source {self.name!r} has no SIA service configured (conf.sia_url)")
        ra = column_values(table, "ra", u.deg)
        dec = column_values(table, "dec", u.deg)
        with self.new_session() as session:
            fetcher = images.CutoutFetcher(
                self.sia_url,
                bands=self.image_bands,
                pixel_scale=self.pixel_scale,
                service=f"SIA service {self.service_name}",
                policy=self.policy,
                session=session,
                sia_version=int(self.conf.sia_version),
                collection=self.conf.sia_collection or None,
            )
            if get_query_payload:
                return [fetcher.payload(a, d) for a, d in zip(ra, dec)]
            return fetcher.cutouts(ra, dec, preprocess=preprocess)

    # -- helpers for subclasses ------------------------------------------------------------
    def _base_table(self, raw: Table, *, id_col: str, extinction_corrected: bool) -> QTable:
        out = QTable()
        out["source_id"] = np.asarray(raw[id_col])
        out["ra"] = float_column(raw["ra"]) * u.deg
        out["dec"] = float_column(raw["dec"]) * u.deg
        out.meta.update(
            {
                "survey": self.survey,
                "source": self.name,
                "bands": list(self.photometry_bands),
                "extinction_corrected": extinction_corrected,
                "data_release": self.data_release,
                "service": self.tap_url,
            }
        )
        return out


def float_column(col) -> np.ndarray:
    """Float64 values of a (possibly masked) result column, masked entries as NaN."""
    return np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)


def _fill_value(data: np.ndarray):
    kind = data.dtype.kind
    if kind in "iu":
        return -1
    if kind == "b":
        return False
    if kind in "SU":
        return ""
    return np.nan
