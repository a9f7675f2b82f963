"""TensorRT engines for astro_galflow samplers (the ``tensorrt`` backend).

Registered through the ``astro_galflow`` entry-point group; see :mod:`galflow_tensorrt.plugin`.
"""

__version__ = "0.1.0"
