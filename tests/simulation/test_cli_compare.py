"""``galflow simulate`` and the MGS comparison command."""

import json

import numpy as np
import pytest

from astro_galflow.cli import main
from astro_galflow.simulation import compare, read_simulated_catalog


def test_simulate_writes_catalog_and_cutouts(tmp_path, capsys):
    out = tmp_path / "sim.fits"
    assert main(["simulate", str(out), "-n", "4", "--seed", "1"]) == 0
    cat = read_simulated_catalog(out)
    assert len(cat.table) == 4 and cat.cutouts.shape == (4, 3, 160, 160)
    assert "wrote 4 galaxies" in capsys.readouterr().out


def test_simulate_no_images_and_footprint(tmp_path):
    out = tmp_path / "sim.ecsv"
    assert main(["simulate", str(out), "-n", "5", "--no-images", "--footprint", "0", "1", "0", "1"]) == 0
    cat = read_simulated_catalog(out)
    assert cat.cutouts is None and np.all(cat.table["ra"].value <= 1)


@pytest.mark.parametrize(
    "args, message",
    [(["-n", "0"], "positive"), (["--footprint", "5", "1", "0", "1"], "footprint"), (["-n", "2"], "extension")],
)
def test_simulate_usage_errors_exit_2(tmp_path, args, message, capsys):
    name = "x.txt" if message == "extension" else "x.ecsv"
    assert main(["simulate", str(tmp_path / name), "--no-images", *args]) == 2
    assert message in capsys.readouterr().err


def test_simulate_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "x.ecsv"
    assert main(["simulate", str(out), "-n", "2", "--no-images"]) == 0
    assert main(["simulate", str(out), "-n", "2", "--no-images"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["simulate", str(out), "-n", "2", "--no-images", "--overwrite"]) == 0


def test_compare_statistics_detect_a_shift():
    rng = np.random.default_rng(0)
    mags = rng.normal(17, 0.5, (500, 5))
    same = compare.quantities_of(rng.uniform(0, 0.2, 500), mags)
    shifted = compare.quantities_of(same["redshift"] + 0.05, mags)
    stats = compare.compare(same, shifted)
    assert stats["r"]["ks_statistic"] == 0.0
    assert stats["redshift"]["ks_statistic"] > 0.2
    assert np.isclose(stats["redshift"]["median_mgs"] - stats["redshift"]["median_sim"], 0.05)


def test_compare_command_writes_json_and_figure(tmp_path):
    mgs = tmp_path / "mgs.txt"
    rng = np.random.default_rng(1)
    z = rng.uniform(0.02, 0.2, 300)
    r = rng.uniform(15, 17.7, 300)
    mags = np.column_stack([r + 1.6, r + 0.8, r, r - 0.4, r - 0.7])
    cols = np.column_stack([z, mags, mags[:, :-1] - mags[:, 1:], np.full((300, 5), 0.01)])
    np.savetxt(mgs, cols, header="zs u g r i z")
    assert compare.main(["--out", str(tmp_path / "cmp"), "--mgs", str(mgs), "--lines", "", "-n", "300"]) == 0
    result = json.loads((tmp_path / "cmp.json").read_text())
    assert set(result["statistics"]) == set(compare.QUANTITIES)
    assert result["n_mgs"] == 300 and (tmp_path / "cmp.png").stat().st_size > 0
    assert result["median_magerr_mgs"]["r"] == 0.01


def test_gallery_writes_png(tmp_path):
    from astro_galflow.simulation import gallery

    out = tmp_path / "g.png"
    assert gallery.main(["--out", str(out), "-n", "2"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_mpajhu_line_detection_applies_the_criterion(tmp_path):
    header = "z,petroMag_r,extinction_r," + ",".join(
        f"{c}_flux,{c}_flux_err" for c in ("h_alpha", "h_beta", "nii_6584", "oiii_5007")
    )
    rows = [
        "0.05,17.0,0.1,100,1,30,1,40,1,10,1",  # star-forming, all lines detected
        "0.05,17.0,0.1,100,1,30,1,150,1,60,1",  # AGN-like ratios
        "0.05,17.0,0.1,100,1,2,1,40,1,10,1",  # Hbeta S/N = 2
        "0.05,17.9,0.0,100,1,30,1,40,1,10,1",  # fainter than the MGS limit: not counted
    ]
    path = tmp_path / "lines.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    result = compare.mpajhu_line_detection(path)
    assert result["n"] == 3
    assert np.isclose(result["all_lines_snr_gt_3"], 2 / 3, atol=1e-3)
    assert np.isclose(result["metallicity_detectable_fraction"], 1 / 3, atol=1e-3)
