"""Hook implementations astro_galflow finds through the ``astro_galflow`` entry point."""

from astro_galflow import hookimpl


@hookimpl
def galflow_register_sources(registry):
    """Register :class:`~galflow_skyserver.source.SkyServerCSVSource`."""
    from galflow_skyserver.source import SkyServerCSVSource

    registry.add(SkyServerCSVSource)
