import warnings

import numpy as np
import pytest

from astro_galflow.cutouts import asinh_scale, bad_cutout_mask, create_cutouts, cutouts_path_for, open_cutouts
from astro_galflow.exceptions import InputError


def test_bad_cutout_mask_without_warnings():
    images = np.random.default_rng(0).normal(size=(5, 3, 16, 16)).astype(np.float32)
    images[1] = np.nan
    images[2, 1] = 5.0
    images[3, 0, 0, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(bad_cutout_mask(images)) == [False, True, True, True, False]


def test_create_open_round_trip_and_shape_errors(tmp_path):
    path = cutouts_path_for(tmp_path / "cat.fits")
    assert path.name == "cat.cutouts.npy"
    arr = create_cutouts(path, 2)
    arr[:] = 1.0
    arr.flush()
    back = open_cutouts(path, n_bands=3)
    assert back.shape == (2, 3, 160, 160) and isinstance(back, np.memmap)
    with pytest.raises(InputError, match="expected"):
        open_cutouts(path, n_bands=5)
    np.save(tmp_path / "flat.npy", np.zeros((2, 10)))
    with pytest.raises(InputError, match="flat.npy"):
        open_cutouts(tmp_path / "flat.npy")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match="cannot be read"):
        open_cutouts(tmp_path / "broken.npy")
    with pytest.raises(InputError, match="does not exist"):
        open_cutouts(tmp_path / "none.npy")


def test_asinh_scale_is_linear_near_zero_and_odd():
    x = np.array([-1e-4, 0.0, 1e-4, 10.0])
    y = asinh_scale(x, softening=0.02)
    np.testing.assert_allclose(y[:3], x[:3] / 0.02, rtol=1e-4)
    assert y[0] == -y[2] and y[3] < 10.0 / 0.02
