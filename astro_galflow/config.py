"""Run configuration passed (never imported) to hooks and pipeline stages.

Every setting that changes how a run computes is a typed, validated field here (and a flag
of ``galflow infer``); only third-party plugins' own settings travel as a namespaced
mapping, :attr:`GalflowConfig.plugin_options`, which each plugin validates itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["GalflowConfig", "BackendSettings", "CompactPdfSettings", "DEFAULT_QUANTILES"]

#: Quantiles written as ``{param}_p16``, ``{param}_p50``, ``{param}_p84`` by default.
DEFAULT_QUANTILES = (0.16, 0.50, 0.84)


def _positive_or_none(name: str, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")


@dataclass(frozen=True)
class BackendSettings:
    """How the inference backends run (``galflow infer --threads/--rows-per-call/...``).

    Backends receive these as a plain mapping (:meth:`as_options`), so a backend plugin
    reads the same names.

    Parameters
    ----------
    threads : int, optional
        Threads feeding one-thread ONNX Runtime calls with separate chunks of galaxies
        (default: torch's thread count).
    rows_per_call : int, optional
        Galaxies per ONNX Runtime call and ensemble member (default: the backend's measured best).
    restructure : bool
        Export/capture the restructured sampler graph (context projections hoisted out of
        the sample axis); False runs the plain graph (for comparisons).
    compile_mode : str, optional
        ``mode`` passed to :func:`torch.compile` by the ``compile`` backend.
    onnx_cache_dir : str, optional
        Folder of the ONNX export cache; ``""`` disables the cache (export in memory);
        None (default) uses ``$GALFLOW_CACHE_DIR`` or astropy's cache folder.
    device_summaries : bool, optional
        Draw the noise, post-process the samples and reduce them to the summary columns on
        the device the sampler runs on, copying back only the summaries
        (:mod:`astro_galflow.summaries`). None (default): on for CUDA devices. Runs that
        need the samples on the host (``--store-samples``, compact PDFs) use the host path.
        With it, ``galflow_summarize_posterior`` is not called (the samples never reach
        the host).
    """

    threads: int | None = None
    rows_per_call: int | None = None
    restructure: bool = True
    compile_mode: str | None = None
    onnx_cache_dir: str | None = None
    device_summaries: bool | None = None

    def __post_init__(self):
        _positive_or_none("threads", self.threads)
        _positive_or_none("rows_per_call", self.rows_per_call)

    def as_options(self) -> dict:
        """The settings as the mapping :class:`~astro_galflow.backends.base.Backend` takes."""
        options = {k: v for k, v in asdict(self).items() if v is not None}
        if self.onnx_cache_dir is None:
            options.pop("onnx_cache_dir", None)
        elif self.onnx_cache_dir == "":
            options["onnx_cache_dir"] = None
        return options


@dataclass(frozen=True)
class CompactPdfSettings:
    """Compact per-galaxy PDFs written beside the summaries (:mod:`astro_galflow.scale.compact`).

    Parameters
    ----------
    kind : {"quantiles", "histogram"}
        ``{param}_pdf_quantiles`` (``n`` quantiles at levels ``(k + 1/2) / n``) or
        ``{param}_pdf_hist`` (densities in ``bins`` bins over ``ranges[param]``).
    n : int
        Quantiles per parameter.
    bins : int
        Histogram bins per parameter.
    ranges : dict, optional
        ``{param: (lo, hi)}`` histogram ranges in the parameter's unit (default
        :data:`astro_galflow.scale.compact.DEFAULT_RANGES`).
    """

    kind: str = "quantiles"
    n: int = 20
    bins: int = 50
    ranges: dict | None = None

    def __post_init__(self):
        if self.kind not in ("quantiles", "histogram"):
            raise ValueError(f"compact PDF kind must be 'quantiles' or 'histogram', got {self.kind!r}")
        _positive_or_none("compact PDF n", self.n)
        _positive_or_none("compact PDF bins", self.bins)


@dataclass
class GalflowConfig:
    """Options of one run.

    Parameters
    ----------
    model : str
        Shipped model name (e.g. ``"sim-default"``) or path to a model directory.
    n_samples : int
        Posterior samples drawn per object.
    seed : int
        Run seed (>= 0). The noise of a row depends only on this seed and the row's
        ``source_id`` (:func:`astro_galflow.noise.row_noise`), so the same seed gives the same
        posteriors whatever the engine, chunking, batch size or worker count.
    backend : str
        Registered inference backend name, or ``"auto"`` (the model card's preferred
        backends that can run on ``device``).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    batch_size : int
        Objects per forward pass.
    quantiles : tuple of float
        Quantiles written as ``{param}_pNN`` columns.
    store_samples : bool
        Also write ``{param}_samples`` (N x S) columns.
    calibrate : bool
        Apply the model's post-hoc calibration of the marginals (when its card has one).
    source : str, optional
        Registered data source the catalog comes from (names the ``survey`` column; its
        bands and pixel scale are checked against the model).
    backend_settings : BackendSettings
        How the backends run.
    compact_pdf : CompactPdfSettings, optional
        Also write compact PDFs.
    plugin_options : dict
        Third-party plugins' own settings, namespaced by plugin name (e.g.
        ``{"tensorrt": {"precision": "fp16"}}``); each plugin validates its entry.
    command : str, optional
        The command line that started the run (provenance only; changes no number).
    """

    model: str = "sim-photometry"
    n_samples: int = 1000
    seed: int = 0
    backend: str = "auto"
    device: str = "cpu"
    batch_size: int = 512
    quantiles: tuple = DEFAULT_QUANTILES
    store_samples: bool = False
    calibrate: bool = True
    source: str | None = None
    backend_settings: BackendSettings = field(default_factory=BackendSettings)
    compact_pdf: CompactPdfSettings | None = None
    plugin_options: dict[str, Any] = field(default_factory=dict)
    command: str | None = None

    def __post_init__(self):
        for name in ("n_samples", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed!r}")
        self.quantiles = tuple(float(q) for q in self.quantiles)
        for q in self.quantiles:
            if not 0.0 < q < 1.0:
                raise ValueError(f"quantiles must lie strictly between 0 and 1, got {q}")
        kind = str(self.device).split(":")[0]
        if kind not in ("cpu", "cuda") or (":" in str(self.device) and not str(self.device).split(":")[1].isdigit()):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if isinstance(self.backend_settings, dict):
            self.backend_settings = BackendSettings(**self.backend_settings)
        if isinstance(self.compact_pdf, dict):
            self.compact_pdf = CompactPdfSettings(**self.compact_pdf)
        if not isinstance(self.plugin_options, dict):
            raise ValueError(
                f"plugin_options must be a mapping of plugin name to settings, got {self.plugin_options!r}"
            )

    def to_meta(self) -> dict:
        """Plain-dict view for table meta (JSON/YAML-serialisable)."""
        meta = {f.name: getattr(self, f.name) for f in fields(self)}
        meta["quantiles"] = list(self.quantiles)
        meta["backend_settings"] = asdict(self.backend_settings)
        meta["compact_pdf"] = None if self.compact_pdf is None else asdict(self.compact_pdf)
        return meta

    def numeric_identity(self) -> dict:
        """The settings that change a number of the output (for resume keys): all but provenance."""
        meta = self.to_meta()
        meta.pop("command")
        return meta
