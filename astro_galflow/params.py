"""Physical parameters the posterior heads infer, and how they are named everywhere.

A :class:`ParameterSpec` is the single source of truth for a parameter's name (used
verbatim in table columns, CLI flags, model cards, docs and plots), its astropy unit,
its UCD and its description. The heads work in a *model space* (e.g. ``log1p`` of a
line flux); ``transform``/``inverse`` map between physical and model space.
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np

__all__ = [
    "ParameterSpec",
    "PARAMETERS",
    "CORE_PARAMETERS",
    "METALLICITY_PARAMETER",
    "LINE_PARAMETERS",
    "LINE_FLUX_UNIT",
    "get_parameter",
]

#: Unit of the SDSS MPA-JHU ``galSpecLine`` fluxes, which the line parameters follow.
LINE_FLUX_UNIT = u.Unit(1e-17 * u.erg / u.s / u.cm**2)


@dataclass(frozen=True)
class ParameterSpec:
    """Description of one inferred quantity.

    Parameters
    ----------
    name : str
        Snake-case identifier; column prefix in posterior tables (``{name}_mean`` ...).
    unit : `~astropy.units.UnitBase`
        Physical unit of the values in the table.
    description : str
        Human-readable description, copied into the table column.
    ucd : str
        IVOA Unified Content Descriptor.
    transform : str
        ``"identity"`` or ``"log1p"``: the space the model learns in.
    label : str
        LaTeX label for plots.
    """

    name: str
    unit: u.UnitBase
    description: str
    ucd: str
    transform: str = "identity"
    label: str = ""

    def to_model_space(self, values):
        """Map physical values (plain floats in ``unit``) to the space the model learns in."""
        values = np.asarray(values, dtype=np.float64)
        if self.transform == "log1p":
            # Measured line fluxes can be slightly negative (noise); clip at zero so
            # log1p stays finite, which is what the paper's log1p targets imply.
            return np.log1p(np.clip(values, 0.0, None))
        return values

    def from_model_space(self, values):
        """Inverse of :meth:`to_model_space`."""
        values = np.asarray(values)
        if self.transform == "log1p":
            return np.expm1(values)
        return values


PARAMETERS: dict[str, ParameterSpec] = {
    p.name: p
    for p in [
        ParameterSpec("log_mstar", u.dex(u.Msun), "Stellar mass", "phys.mass;src", label=r"$\log M_*$"),
        ParameterSpec(
            "log_sfr", u.dex(u.Msun / u.yr), "Star-formation rate", "phys.SFR;src", label=r"$\log\,\mathrm{SFR}$"
        ),
        ParameterSpec("redshift", u.dimensionless_unscaled, "Redshift", "src.redshift", label=r"$z$"),
        ParameterSpec(
            "log_mbh",
            u.dex(u.Msun),
            "Central black-hole mass (McConnell & Ma 2013 M-sigma scale)",
            "phys.mass;src",
            label=r"$\log M_\mathrm{BH}$",
        ),
        ParameterSpec(
            "oh_12",
            u.dimensionless_unscaled,
            "Gas-phase metallicity 12+log(O/H)",
            "phys.abund.Z",
            label=r"$12+\log(\mathrm{O/H})$",
        ),
        ParameterSpec(
            "flux_halpha", LINE_FLUX_UNIT, "H-alpha 6563 line flux", "phot.flux;spect.line", "log1p", r"H$\alpha$"
        ),
        ParameterSpec(
            "flux_hbeta", LINE_FLUX_UNIT, "H-beta 4861 line flux", "phot.flux;spect.line", "log1p", r"H$\beta$"
        ),
        ParameterSpec(
            "flux_nii_6584", LINE_FLUX_UNIT, "[N II] 6584 line flux", "phot.flux;spect.line", "log1p", r"[N II]"
        ),
        ParameterSpec(
            "flux_oiii_5007", LINE_FLUX_UNIT, "[O III] 5007 line flux", "phot.flux;spect.line", "log1p", r"[O III]"
        ),
    ]
}

#: Joint residual flow of the core head, in this order.
CORE_PARAMETERS = ("log_mstar", "log_sfr", "redshift", "log_mbh")
METALLICITY_PARAMETER = "oh_12"
LINE_PARAMETERS = ("flux_halpha", "flux_hbeta", "flux_nii_6584", "flux_oiii_5007")


def get_parameter(name: str) -> ParameterSpec:
    """Return the :class:`ParameterSpec` called ``name``.

    Raises
    ------
    KeyError
        With the list of known names when ``name`` is unknown.
    """
    try:
        return PARAMETERS[name]
    except KeyError:
        raise KeyError(f"unknown parameter {name!r}; known: {', '.join(PARAMETERS)}") from None
