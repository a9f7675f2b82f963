"""Streaming inference: same table as an in-memory run, any format, refuses to clobber, resumes."""

from __future__ import annotations

import numpy as np
import pytest

from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.run import InferenceRun
from astro_galflow.scale.stream import stream_infer
from astro_galflow.scale.writers import parts_dir_for
from astro_galflow.table import read_posterior_table, validate_posterior_table
from astro_galflow.testing import make_input_table


@pytest.fixture
def catalog(tmp_path):
    table = make_input_table(500, seed=2)
    path = tmp_path / "cat.parquet"
    table.write(path)
    return table, path


@pytest.fixture
def reference(catalog, scale_config, scale_pm, tiny_model):
    from astro_galflow.pipeline import infer_table

    return infer_table(catalog[0], config=scale_config, pm=scale_pm, model=tiny_model)


@pytest.mark.parametrize(("fmt", "chunk_rows"), [("parquet", 128), ("fits", 200), ("ecsv", 1000), ("hdf5", 200)])
def test_stream_equals_in_memory_run(tmp_path, catalog, reference, scale_config, scale_pm, tiny_model, fmt, chunk_rows):
    out = tmp_path / f"post.{fmt}"
    stream_infer(
        catalog[1], out, config=scale_config, chunk_rows=chunk_rows, progress=False, pm=scale_pm, model=tiny_model
    )
    result = read_posterior_table(out)
    validate_posterior_table(result)
    assert not parts_dir_for(out).exists()
    np.testing.assert_array_equal(result["source_id"], catalog[0]["source_id"])
    for name in ("log_mstar_p50", "redshift_mean", "redshift_std"):
        np.testing.assert_allclose(result[name].value, reference[name].value, rtol=1e-6)
        assert result[name].unit == reference[name].unit


def test_existing_output_is_not_overwritten(tmp_path, catalog, scale_config, scale_pm, tiny_model):
    out = tmp_path / "post.parquet"
    out.write_bytes(b"precious")
    with pytest.raises(InputError, match="exists.*overwrite"):
        stream_infer(catalog[1], out, config=scale_config, progress=False, pm=scale_pm, model=tiny_model)
    assert out.read_bytes() == b"precious"
    stream_infer(catalog[1], out, config=scale_config, progress=False, pm=scale_pm, model=tiny_model, overwrite=True)
    assert len(read_posterior_table(out)) == len(catalog[0])


def test_unknown_output_format_is_refused_before_anything_runs(tmp_path, catalog, scale_config):
    with pytest.raises(InputError, match=r"post\.txt.*unknown extension"):
        stream_infer(catalog[1], tmp_path / "post.txt", config=scale_config, progress=False)
    assert not parts_dir_for(tmp_path / "post.txt").exists()


def test_failed_run_resumes_only_unfinished_chunks(
    tmp_path, catalog, reference, scale_config, scale_pm, tiny_model, monkeypatch
):
    out = tmp_path / "post.parquet"
    real = InferenceRun._draw_batch  # the sampling stage of each batch (64 rows here)
    ids = list(catalog[0]["source_id"])
    calls = []

    def start_of(table):
        return ids.index(table["source_id"][0])

    def failing(self, table, *args, **kwargs):
        calls.append(start_of(table))
        if calls[-1] == 256:
            raise GalflowError("simulated crash")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(InferenceRun, "_draw_batch", failing)
    with pytest.raises(GalflowError, match="simulated crash"):
        stream_infer(
            catalog[1], out, config=scale_config, chunk_rows=128, progress=False, pm=scale_pm, model=tiny_model
        )
    assert not out.exists()
    assert calls == [0, 64, 128, 192, 256]

    with pytest.raises(InputError, match="partial run"):
        stream_infer(
            catalog[1],
            out,
            config=scale_config,
            chunk_rows=128,
            resume=False,
            progress=False,
            pm=scale_pm,
            model=tiny_model,
        )
    with pytest.raises(InputError, match="different --seed"):
        other = type(scale_config)(**{**scale_config.__dict__, "seed": 99})
        stream_infer(catalog[1], out, config=other, chunk_rows=128, progress=False, pm=scale_pm, model=tiny_model)

    monkeypatch.setattr(
        InferenceRun, "_draw_batch", lambda self, t, *a, **k: (calls.append(start_of(t)), real(self, t, *a, **k))[1]
    )
    calls.clear()
    stream_infer(catalog[1], out, config=scale_config, chunk_rows=128, progress=False, pm=scale_pm, model=tiny_model)
    # the chunks drawn in full before the crash were written although the pipeline was
    # still finishing them when it came: only 256: and 384: run again
    assert calls == [256, 320, 384, 448]
    result = read_posterior_table(out)
    np.testing.assert_array_equal(result["source_id"], catalog[0]["source_id"])
    np.testing.assert_allclose(result["log_mstar_mean"].value, reference["log_mstar_mean"].value, rtol=1e-6)


def test_empty_catalog_is_refused(tmp_path, scale_config):
    path = tmp_path / "empty.parquet"
    make_input_table(0).write(path)
    with pytest.raises(InputError, match="no rows"):
        stream_infer(path, tmp_path / "post.parquet", config=scale_config, progress=False)


def test_image_model_finds_the_cutouts_its_catalog_names(tmp_path):
    """The README's ``galflow infer sim.fits post.parquet --model sim-default`` path (streaming engine)."""
    from astro_galflow.cli import main

    catalog = tmp_path / "sim.fits"
    assert main(["simulate", str(catalog), "-n", "12", "--seed", "5"]) == 0
    out = tmp_path / "post.parquet"
    args = ["infer", str(catalog), str(out), "--model", "sim-default", "-n", "16", "--backend", "eager"]
    assert main([*args, "--no-progress"]) == 0
    post = read_posterior_table(out)
    assert len(post) == 12 and np.isfinite(post["redshift_p50"].value).all()


def test_run_that_cannot_start_leaves_no_partial_run(tmp_path, catalog, capsys):
    """An image model without cutouts fails before the journal, so a corrected rerun just runs."""
    from astro_galflow.cli import main

    _, path = catalog
    out = tmp_path / "post.parquet"
    args = ["infer", str(path), str(out), "--model", "sim-default", "-n", "8", "--no-progress"]
    assert main(args) == 2
    assert "needs gri cutouts" in capsys.readouterr().err
    assert not parts_dir_for(out).exists()
