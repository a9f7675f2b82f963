import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galflow_tensorrt.cache import EngineCache, EngineCacheWarning, EngineKey, default_cache_dir
from galflow_tensorrt.profiles import default_profile, encoder_profile


def _key(**changes):
    fields = dict(
        weights_hash="ab" * 32,
        gpu_name="NVIDIA H100 80GB HBM3",
        compute_capability=(9, 0),
        tensorrt_version="10.15.0",
        profile=default_profile(512, 1000).as_dict(),
        precision="fp32",
    )
    fields.update(changes)
    return EngineKey(**fields)


@pytest.mark.parametrize(
    "change",
    [
        {"weights_hash": "cd" * 32},
        {"gpu_name": "NVIDIA A100-SXM4-40GB"},
        {"compute_capability": (8, 0)},
        {"tensorrt_version": "10.0.1"},
        {"profile": default_profile(256, 1000).as_dict()},
        {"precision": "bf16"},
        {"role": "encoder"},
        {"input_shape": (3, 160, 160)},
        {"variant": "softening=0.02"},
    ],
)
def test_every_key_field_changes_the_digest(change):
    assert _key().digest() != _key(**change).digest()
    assert _key().digest() == _key().digest()


@given(blob=st.binary(min_size=0, max_size=256))
def test_store_then_load_roundtrip(tmp_path_factory, blob):
    cache = EngineCache(tmp_path_factory.mktemp("engines"))
    cache.store(_key(), blob)
    assert cache.load(_key()) == blob
    assert cache.load(_key(gpu_name="other GPU")) is None


def test_engine_for_another_gpu_or_version_is_a_miss(tmp_path):
    cache = EngineCache(tmp_path)
    cache.store(_key(), b"engine")
    assert cache.load(_key(tensorrt_version="10.16.0")) is None
    assert cache.load(_key(compute_capability=(8, 9))) is None
    # A sidecar whose key differs (a copied cache) is also a miss, not a hit.
    _, meta_path = cache._paths(_key())
    meta = json.loads(meta_path.read_text())
    meta["key"]["gpu_name"] = "copied from elsewhere"
    meta_path.write_text(json.dumps(meta))
    assert cache.load(_key()) is None


def test_corrupt_engine_is_discarded_with_warning(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.store(_key(), b"engine bytes")
    path.write_bytes(b"truncated")
    with pytest.warns(EngineCacheWarning, match="SHA-256"):
        assert cache.load(_key()) is None
    assert not path.exists()


def test_unreadable_metadata_is_discarded_with_warning(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.store(_key(), b"engine bytes")
    path.with_suffix(".json").write_text("{not json")
    with pytest.warns(EngineCacheWarning, match="unreadable metadata"):
        assert cache.load(_key()) is None
    assert list(tmp_path.iterdir()) == []


def test_explicit_discard(tmp_path):
    cache = EngineCache(tmp_path)
    cache.store(_key(), b"x")
    with pytest.warns(EngineCacheWarning, match="deserialize"):
        cache.discard(_key(), "TensorRT could not deserialize it")
    assert cache.load(_key()) is None


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GALFLOW_TENSORRT_CACHE", str(tmp_path / "trt"))
    assert default_cache_dir() == tmp_path / "trt"
    monkeypatch.delenv("GALFLOW_TENSORRT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "astro_galflow" / "tensorrt"


def _encoder_key(**changes):
    fields = dict(
        profile=encoder_profile(512).as_dict(),
        role="encoder",
        input_shape=(3, 160, 160),
        variant="softening=0.02",
    )
    fields.update(changes)
    return _key(**fields)


@pytest.mark.parametrize(
    "change",
    [
        {"input_shape": (3, 128, 128)},
        {"variant": "softening=0.05"},
        {"profile": encoder_profile(64).as_dict()},
        {"precision": "fp16"},
        {"weights_hash": "ef" * 32},
        {"tensorrt_version": "11.4.0.106"},
        {"gpu_name": "NVIDIA A100-SXM4-40GB"},
    ],
)
def test_encoder_keys_miss_on_any_change(tmp_path, change):
    cache = EngineCache(tmp_path)
    cache.store(_encoder_key(), b"encoder engine")
    assert cache.load(_encoder_key()) == b"encoder engine"
    assert cache.load(_encoder_key(**change)) is None


def test_encoder_and_sampler_engines_live_side_by_side(tmp_path):
    # the same weights hash under both roles (a shared digest) must never serve the other's engine
    cache = EngineCache(tmp_path)
    cache.store(_key(), b"sampler engine")
    cache.store(_key(role="encoder"), b"encoder engine")
    assert cache.load(_key()) == b"sampler engine"
    assert cache.load(_key(role="encoder")) == b"encoder engine"
    assert len(list(tmp_path.glob("*.engine"))) == 2


def test_encoder_sidecar_records_the_whole_key(tmp_path):
    cache = EngineCache(tmp_path)
    cache.store(_encoder_key(), b"x")
    _, meta_path = cache._paths(_encoder_key())
    key = json.loads(meta_path.read_text())["key"]
    assert key["role"] == "encoder" and key["input_shape"] == [3, 160, 160]
    assert key["variant"] == "softening=0.02" and key["profile"] == {"min_batch": 1, "opt_batch": 256, "max_batch": 256}
