"""The ``tensorrt`` backend: export, build or load a cached engine, wrap it as a sampler or encoder."""

from __future__ import annotations

from astro_galflow.backends.base import Backend, BackendUnavailable

__all__ = ["TensorRTBackend", "EngineSet", "unavailable_reason"]


def unavailable_reason(device: str) -> str | None:
    """Why the ``tensorrt`` backend cannot run on ``device`` here, or None if it can."""
    if not device.startswith("cuda"):
        return f"TensorRT runs on CUDA devices and the run uses device {device!r}"
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT is not installed (see NVIDIA's TensorRT installation guide)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device is visible to torch"
    return None


class TensorRTBackend(Backend):
    """TensorRT engines built from the exported samplers and image encoder (NVIDIA GPUs).

    Options (``config.plugin_options["tensorrt"]``): ``precision`` (``fp32`` | ``tf32`` |
    ``fp16`` | ``bf16``), ``cache_dir``, ``workspace_bytes``, any
    :class:`~galflow_tensorrt.profiles.ShapeProfile` field (``max_batch``, ...) for the
    samplers and ``encoder_min_batch``/``encoder_opt_batch``/``encoder_max_batch`` for the
    encoder (:func:`~galflow_tensorrt.profiles.encoder_profile`).
    """

    name = "tensorrt"
    devices = ("cuda",)

    def __init__(self, options: dict | None = None, *, batch_size: int = 512, n_samples: int = 1000):
        self.options = dict(options or {})
        self.batch_size = batch_size
        self.n_samples = n_samples

    @classmethod
    def available(cls, device: str = "cuda") -> bool:
        return unavailable_reason(device) is None

    @classmethod
    def versions(cls) -> dict[str, str]:
        import torch

        versions = {"torch": torch.__version__, "cuda": str(torch.version.cuda)}
        try:
            import tensorrt

            versions["tensorrt"] = tensorrt.__version__
        except ImportError:
            pass
        return versions

    def engine_key(self, module, profile, device: str, *, role: str = "sampler", input_shape=(), variant: str = ""):
        """The :class:`~galflow_tensorrt.cache.EngineKey` of ``module`` on ``device``.

        Parameters
        ----------
        module : torch.nn.Module
            A sampler or an image encoder.
        profile : ShapeProfile or BatchProfile
        device : str
        role : {"sampler", "encoder"}
        input_shape : tuple of int
            Fixed shape of one input row (an encoder's ``(bands, H, W)``).
        variant : str
            Graph constants that are not weights (see :meth:`compile_encoder`).
        """
        import tensorrt
        import torch

        from astro_galflow.backends.export import weights_hash
        from galflow_tensorrt.cache import EngineKey
        from galflow_tensorrt.precision import check_precision

        capability = tuple(torch.cuda.get_device_capability(device))
        return EngineKey(
            weights_hash=weights_hash(module),
            gpu_name=torch.cuda.get_device_name(device),
            compute_capability=capability,
            tensorrt_version=tensorrt.__version__,
            profile=profile.as_dict(),
            precision=check_precision(self.options.get("precision"), capability),
            role=role,
            input_shape=tuple(int(n) for n in input_shape),
            variant=variant,
        )

    def compile(self, sampler, example_inputs, device: str = "cuda"):
        """Return an :class:`EngineSet` for ``sampler`` (engines cached on disk).

        The engine for ``(batch_size, n_samples)`` is built (or loaded) now; a call with a
        sample count outside its profile gets an engine of its own on first use.

        Raises
        ------
        BackendUnavailable
            Without TensorRT or CUDA.
        """
        reason = unavailable_reason(device)
        if reason:
            raise BackendUnavailable(reason)
        from galflow_tensorrt.profiles import default_profile

        context, eps = example_inputs
        feature_dims = {"context": context.shape[-1], "eps": eps.shape[-1]}
        return EngineSet(
            lambda profile: self._engine(sampler, profile, feature_dims, device),
            self._profile_for,
            default_profile(self.batch_size, self.n_samples, self.options),
        )

    def _profile_for(self, n_samples: int):
        # another sample count than the run's: 1..n_samples, tuned at n_samples
        from galflow_tensorrt.profiles import default_profile

        options = {k: v for k, v in self.options.items() if not k.endswith("_samples")}
        return default_profile(self.batch_size, n_samples, options)

    def _engine(self, sampler, profile, feature_dims: dict, device: str):
        import copy

        import torch

        from astro_galflow.backends.export import export_sampler
        from galflow_tensorrt.engine import DEFAULT_WORKSPACE_BYTES, TensorRTSampler, build_engine

        key = self.engine_key(sampler, profile, device)

        def build():
            cpu_sampler = copy.deepcopy(sampler).to("cpu").eval()
            # two galaxies and two samples keep both axes dynamic in the export
            example = (torch.zeros(2, feature_dims["context"]), torch.zeros(2, 2, feature_dims["eps"]))
            return build_engine(
                export_sampler(cpu_sampler, example),
                profile,
                feature_dims,
                key.precision,
                int(self.options.get("workspace_bytes", DEFAULT_WORKSPACE_BYTES)),
            )

        return self._cached_engine(key, build, lambda blob: TensorRTSampler(blob, profile, device))

    def compile_encoder(self, encoder, example_inputs, device: str = "cuda"):
        """Return a :class:`~galflow_tensorrt.engine.TensorRTEncoder` for an image encoder.

        The encoder is exported with a dynamic batch axis
        (:func:`astro_galflow.backends.export.export_encoder`, the graph ONNX Runtime runs)
        and built for :func:`~galflow_tensorrt.profiles.encoder_profile`; the engine is
        cached under a key naming the role, the cutout shape and the encoder's asinh
        softening beside the weights, GPU, TensorRT version, profile and precision.

        Parameters
        ----------
        encoder : torch.nn.Module
            Pure ``cutouts (N, bands, H, W) -> features (N, F)`` module
            (:class:`~astro_galflow.encoders.vae.ImageFeatures`).
        example_inputs : tuple of torch.Tensor
            ``(cutouts,)``; only the shape of one cutout is used.
        device : str

        Raises
        ------
        BackendUnavailable
            Without TensorRT or CUDA.
        """
        reason = unavailable_reason(device)
        if reason:
            raise BackendUnavailable(reason)
        import copy

        import torch

        from astro_galflow.backends.export import export_encoder
        from galflow_tensorrt.engine import (
            DEFAULT_WORKSPACE_BYTES,
            TensorRTEncoder,
            build_encoder_engine,
        )
        from galflow_tensorrt.profiles import encoder_profile

        image_shape = tuple(int(n) for n in example_inputs[0].shape[1:])
        profile = encoder_profile(self.batch_size, self.options)
        # the softening is a float attribute, not a weight, yet it is a constant of the graph
        variant = f"softening={getattr(encoder, 'softening', 'none')}"
        key = self.engine_key(encoder, profile, device, role="encoder", input_shape=image_shape, variant=variant)

        def build():
            cpu_encoder = copy.deepcopy(encoder).to("cpu").eval()
            # two cutouts keep the batch axis dynamic in the export (size 1 would be specialised)
            example = torch.zeros((2, *image_shape))
            return build_encoder_engine(
                export_encoder(cpu_encoder, example),
                profile,
                image_shape,
                key.precision,
                int(self.options.get("workspace_bytes", DEFAULT_WORKSPACE_BYTES)),
            )

        return self._cached_engine(key, build, lambda blob: TensorRTEncoder(blob, profile, device))

    def _cached_engine(self, key, build, open_engine):
        """``open_engine(blob)`` of the cached engine ``key``, or of one ``build()`` makes and caches.

        A cached engine TensorRT cannot deserialize (another GPU or TensorRT version, a
        damaged file) is discarded with a warning naming it and built again.
        """
        from galflow_tensorrt.cache import EngineCache
        from galflow_tensorrt.engine import EngineBuildError

        cache = EngineCache(self.options.get("cache_dir"))
        blob = cache.load(key)
        if blob is not None:
            try:
                return open_engine(blob)
            except EngineBuildError as exc:
                cache.discard(key, str(exc))
        blob = build()
        cache.store(key, blob)
        return open_engine(blob)


class EngineSet:
    """Callable ``(context, eps) -> samples`` over engines for different sample counts.

    Parameters
    ----------
    make_engine : callable
        ``profile -> sampler``: builds or loads the engine of a profile.
    profile_for : callable
        ``n_samples -> ShapeProfile`` for a sample count no engine accepts yet.
    first_profile : ShapeProfile
        Profile of the engine built at once (the run's batch size and sample count).
    """

    def __init__(self, make_engine, profile_for, first_profile):
        self._make_engine = make_engine
        self._profile_for = profile_for
        self.engines: list = [make_engine(first_profile)]

    @property
    def profile(self):
        """Profile of the first engine."""
        return self.engines[0].profile

    def engine_for(self, n_samples: int):
        """The engine whose profile accepts ``n_samples``, built on first need."""
        for engine in self.engines:
            if engine.profile.accepts_samples(n_samples):
                return engine
        engine = self._make_engine(self._profile_for(n_samples))
        self.engines.append(engine)
        return engine

    def __call__(self, context, eps):
        return self.engine_for(eps.shape[1])(context, eps)
