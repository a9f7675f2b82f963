"""Cross-match any table against a TAP service by uploading its positions.

Only the positions and a row index travel (``TAP_UPLOAD.galflow_input``), so a
posterior table with sample arrays uploads as fast as a three-column one; the remote
columns are joined back to the full local rows. The join is
``1 = CONTAINS(POINT(remote), CIRCLE(uploaded, radius))`` with the angular separation
from ``DISTANCE`` (ADQL 2.1, section 2.4).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table, hstack

from astro_galflow.exceptions import InputError
from astro_galflow.inputs import check_columns, column_values
from astro_galflow.vo import adql

__all__ = ["crossmatch", "crossmatch_query", "position_columns"]


def position_columns(tap_url: str, table_name: str, *, policy=None, session=None) -> tuple[str, str]:
    """The (ra, dec) columns of a remote table, from the UCDs in its ``TAP_SCHEMA``.

    Raises
    ------
    InputError
        If the table is unknown or has no ``pos.eq.ra;meta.main``/``pos.eq.dec;meta.main``
        columns (pass ``remote_ra``/``remote_dec`` then).
    """
    from astro_galflow.vo.tap import RetryPolicy, run_query

    query = (
        f"SELECT column_name, ucd FROM TAP_SCHEMA.columns WHERE table_name = {adql.string(adql.identifier(table_name))}"
    )
    cols = run_query(tap_url, query, service="cross-match", policy=policy or RetryPolicy(), session=session)
    found = {}
    for name, ucd in zip(cols["column_name"], cols["ucd"]):
        ucd = str(ucd or "").lower()
        if ucd.startswith("pos.eq.ra") and (ucd.endswith("meta.main") or "ra" not in found):
            found["ra"] = str(name)
        if ucd.startswith("pos.eq.dec") and (ucd.endswith("meta.main") or "dec" not in found):
            found["dec"] = str(name)
    if len(cols) == 0:
        raise InputError(f"TAP service {tap_url} has no table {table_name!r} in TAP_SCHEMA")
    if set(found) != {"ra", "dec"}:
        raise InputError(
            f"table {table_name!r} at {tap_url} has no columns with UCDs pos.eq.ra/pos.eq.dec; "
            "pass remote_ra= and remote_dec="
        )
    return found["ra"], found["dec"]


def crossmatch_query(table_name, *, radius_deg, remote_ra, remote_dec, columns=None) -> str:
    """ADQL of the upload join (what :func:`crossmatch` sends)."""
    ra_col, dec_col = f"r.{adql.identifier(remote_ra)}", f"r.{adql.identifier(remote_dec)}"
    select = ", ".join(f"r.{adql.identifier(c)}" for c in columns) if columns else "r.*"
    sep = f"DISTANCE(POINT('ICRS', {ra_col}, {dec_col}), POINT('ICRS', u.gf_ra, u.gf_dec))"
    join = adql.upload_match_condition(ra_col, dec_col, "u.gf_ra", "u.gf_dec", radius_deg)
    return (
        f"SELECT u.gf_row AS gf_row, {sep} AS gf_sep_deg, {select} "
        f"FROM {adql.identifier(table_name)} AS r JOIN TAP_UPLOAD.galflow_input AS u ON {join}"
    )


def crossmatch(
    table,
    *,
    tap_url,
    table_name,
    radius=1 * u.arcsec,
    columns=None,
    remote_ra=None,
    remote_dec=None,
    nearest=True,
    mode="sync",
    policy=None,
    get_query_payload=False,
):
    """Join ``table`` with a remote TAP table within ``radius``.

    Parameters
    ----------
    table : Table or QTable
        Any table with ``ra``/``dec`` in degrees (an input catalog, a posterior table).
    tap_url : str
        TAP service base URL.
    table_name : str
        Remote table (``schema.table``).
    radius : Quantity (angle)
    columns : list of str, optional
        Remote columns to fetch (default all).
    remote_ra, remote_dec : str, optional
        Remote position columns; found from their UCDs when not given.
    nearest : bool
        Keep only the nearest remote match per local row (else every pair).
    mode : {"sync", "async"}
    policy : astro_galflow.vo.tap.RetryPolicy, optional
    get_query_payload : bool
        Return ``{"url", "query", "upload"}`` instead of running it.

    Returns
    -------
    astropy.table.QTable
        Matched local rows (all their columns) beside the remote columns (a remote name
        already in ``table`` gets the suffix ``_remote``), plus ``match_sep`` (arcsec).
        Local rows without a match are not in the result (``meta["n_unmatched"]``).
    """
    from astro_galflow.vo.tap import RetryPolicy, make_session, run_query

    check_columns(table, ["ra", "dec"], what="table to cross-match")
    radius_deg = adql.angle_deg(radius, what="radius")
    ra = column_values(table, "ra", u.deg)
    dec = column_values(table, "dec", u.deg)
    ok = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    upload = Table({"gf_row": np.flatnonzero(ok).astype(np.int64), "gf_ra": ra[ok], "gf_dec": dec[ok]})
    policy = policy or RetryPolicy()
    if get_query_payload:
        if remote_ra is None or remote_dec is None:
            raise InputError("get_query_payload=True needs remote_ra= and remote_dec= (no service lookup)")
        query = crossmatch_query(
            table_name, radius_deg=radius_deg, remote_ra=remote_ra, remote_dec=remote_dec, columns=columns
        )
        return {"url": tap_url, "query": query, "upload": {"galflow_input": upload}}
    with make_session(timeout=policy.timeout) as session:
        if remote_ra is None or remote_dec is None:
            remote_ra, remote_dec = position_columns(tap_url, table_name, policy=policy, session=session)
        query = crossmatch_query(
            table_name, radius_deg=radius_deg, remote_ra=remote_ra, remote_dec=remote_dec, columns=columns
        )
        remote = run_query(
            tap_url,
            query,
            service="cross-match",
            policy=policy,
            uploads={"galflow_input": upload},
            mode=mode,
            session=session,
        )
    rows = np.asarray(remote["gf_row"], dtype=np.int64)
    sep = np.asarray(remote["gf_sep_deg"], dtype=float) * 3600.0
    order = np.lexsort((sep, rows))
    if nearest:
        keep = np.ones(len(order), dtype=bool)
        keep[1:] = rows[order][1:] != rows[order][:-1]
        order = order[keep]
    remote = remote[order]
    remote.remove_columns(["gf_row", "gf_sep_deg"])
    remote.meta.clear()  # VOTable bookkeeping (ID, name) of the service's answer
    for name in remote.colnames:
        if name in table.colnames:
            remote.rename_column(name, f"{name}_remote")
    local = QTable(table)[rows[order]]
    result = hstack([local, QTable(remote)], join_type="exact", metadata_conflicts="silent")
    result["match_sep"] = sep[order] * u.arcsec
    result.meta["crossmatch"] = {"tap_url": tap_url, "table": table_name, "radius_arcsec": radius_deg * 3600}
    result.meta["n_unmatched"] = int(len(table) - len(np.unique(rows)))
    return result
