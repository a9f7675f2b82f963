"""The on-disk cache of ONNX exports: where it lives, keys, reuse, and an unwritable directory."""

import pytest
import torch

from astro_galflow.backends import export as export_module
from astro_galflow.backends.export_cache import (
    CACHE_ENV,
    cache_dir_from,
    cached_export,
    default_cache_dir,
    export_key,
)
from astro_galflow.exceptions import GalflowWarning

from .conftest import assert_parity


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path / "onnx"
    assert cache_dir_from({}) == tmp_path / "onnx"
    assert cache_dir_from({"onnx_cache_dir": str(tmp_path / "mine")}) == tmp_path / "mine"
    for off in ("", None, False):
        assert cache_dir_from({"onnx_cache_dir": off}) is None
    monkeypatch.setenv(CACHE_ENV, "")
    assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir().name == "onnx" and "astro_galflow" in str(default_cache_dir())


def test_key_follows_weights_and_variant(small_flow):
    import copy

    module = small_flow.module
    key = export_key("sampler", module, variant="fast")
    assert key.startswith("sampler-") and key.endswith(".onnx") and f"torch{torch.__version__}" in key
    assert export_key("sampler", module, variant="plain") != key
    changed = copy.deepcopy(module)
    with torch.no_grad():
        next(changed.parameters()).add_(1e-3)
    assert export_key("sampler", changed, variant="fast") != key
    assert export_key("sampler", copy.deepcopy(module), variant="fast") == key


def test_written_once_then_reused(tmp_path):
    calls = []

    def export(path):
        calls.append(path)
        if path is None:
            return b"graph"
        path.write_bytes(b"graph")
        return path

    first = cached_export("k.onnx", export, tmp_path)
    second = cached_export("k.onnx", export, tmp_path)
    assert first == second == tmp_path / "k.onnx" and len(calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.onnx", "k.onnx.sha256"]  # no scratch file left behind
    assert cached_export("k.onnx", export, None) == b"graph"  # no cache: in memory


def test_unwritable_cache_warns_and_exports_in_memory(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")

    def export(path):
        if path is None:
            return b"graph"
        path.write_bytes(b"graph")
        return path

    with pytest.warns(GalflowWarning, match="cannot write the ONNX export cache"):
        assert cached_export("k.onnx", export, blocked / "onnx") == b"graph"


def test_backend_default_uses_the_environment_cache(small_flow, tmp_path, monkeypatch):
    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    OnnxRuntimeBackend({"threads": 1}).compile(small_flow.module, small_flow.inputs(2, 2))
    assert len(list((tmp_path / "onnx").glob("sampler-*.onnx"))) == 1


def test_encoder_export_is_cached(tmp_path, monkeypatch):
    from astro_galflow.backends.encoder import EncoderFeatures
    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend
    from astro_galflow.encoders.vae import ImageVAE

    torch.manual_seed(0)
    vae = ImageVAE(3, 4, (4, 4, 4)).eval()
    images = torch.randn(3, 3, 160, 160)
    backend = OnnxRuntimeBackend({"threads": 1, "onnx_cache_dir": str(tmp_path)})
    first = backend.compile_encoder(EncoderFeatures(vae), (images[:2],))
    assert len(list(tmp_path.glob("encoder-*-3x160x160-*.onnx"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("exported again although the cache holds this encoder")

    monkeypatch.setattr(export_module, "export_encoder", refuse)
    second = backend.compile_encoder(EncoderFeatures(vae), (images[:2],))
    with torch.inference_mode():
        assert_parity(second(images), vae.features(images))
    assert torch.equal(first(images), second(images))


def test_tampered_cached_graph_is_discarded_and_reexported(small_flow, tmp_path):
    """Issue 15: scaling one initializer of a cached sampler-*.onnx must not change the samples."""
    import onnx
    from onnx import numpy_helper

    from astro_galflow.backends.export_cache import graph_sha256
    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend

    options = {"threads": 1, "onnx_cache_dir": str(tmp_path)}
    inputs = small_flow.inputs(3, 5)
    first = OnnxRuntimeBackend(options).compile(small_flow.module, inputs)
    expected = first(*inputs)
    (graph,) = tmp_path.glob("sampler-*.onnx")
    assert first.graph_sha256 == graph_sha256(graph) == (tmp_path / (graph.name + ".sha256")).read_text().strip()

    model = onnx.load(graph)
    init = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 3, init.name))
    onnx.save(model, graph)
    with pytest.warns(GalflowWarning, match="discarded the cached export .*recorded"):
        second = OnnxRuntimeBackend(options).compile(small_flow.module, inputs)
    assert torch.equal(second(*inputs), expected)
    assert second.graph_sha256 == first.graph_sha256


def test_cached_graph_without_its_hash_is_reexported(tmp_path):
    def export(path):
        path.write_bytes(b"graph")
        return path

    cached_export("k.onnx", export, tmp_path)
    (tmp_path / "k.onnx.sha256").unlink()
    with pytest.warns(GalflowWarning, match="no recorded sha256"):
        assert cached_export("k.onnx", export, tmp_path) == tmp_path / "k.onnx"
    assert (tmp_path / "k.onnx.sha256").exists()
