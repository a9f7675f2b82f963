"""Survey scale: streaming, resumable inference on one machine and scale-out on Dask/LSDB.

:func:`stream_infer` (:mod:`~astro_galflow.scale.stream`) streams a catalog file of any
size through the one run (:class:`~astro_galflow.run.InferenceRun`) on one machine and
resumes after being killed; :func:`dask_infer` (:mod:`~astro_galflow.scale.dask_engine`)
drives the same run on every worker over the HEALPix partitions of a HATS catalog on a Dask
cluster and writes a HATS catalog; :mod:`~astro_galflow.scale.compact` stores compact PDFs and exports RAIL
``qp`` ensembles. Importing this package imports neither Dask nor LSDB.
"""

from __future__ import annotations

__all__ = ["stream_infer", "dask_infer"]


def __getattr__(name):
    # Lazy: the Dask engine imports distributed, which the streaming path never needs.
    if name == "stream_infer":
        from astro_galflow.scale.stream import stream_infer

        return stream_infer
    if name == "dask_infer":
        from astro_galflow.scale.dask_engine import dask_infer

        return dask_infer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
