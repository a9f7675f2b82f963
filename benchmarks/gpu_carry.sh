#!/usr/bin/env bash
# Prepare, on the development machine, what benchmarks/gpu_session.sh needs on the GPU machine
# (whose image has torch, onnxruntime, pyarrow, h5py... but no astropy, healpy or GalSim):
#
#   bash benchmarks/gpu_carry.sh      # then run the session with carry [".whl", ".gpu_data"]
#
# * .whl/: astropy (its test suites and the subpackages the host never imports removed, so
#   that the working tree plus wheels stay under the device tool's 64 MiB), pyerfa,
#   astropy-iers-data and healpy, for CPython 3.12 on x86-64;
# * .gpu_data/phot2k.parquet: 2,000 simulated photometry-only galaxies (input columns only),
#   which benchmarks/tile_catalog.py grows to 1,000,000 rows there;
# * .gpu_data/img8.parquet and img8.cutouts.npy: 8 simulated galaxies with float16 cutouts
#   (1.2 MB; float16 cutouts give the float32 posteriors, tests/host/test_image_model.py),
#   for the TensorRT plugin's end-to-end test (plugins/galflow-tensorrt/tests/test_trt_gpu.py).
# The tree (about 49 MB) plus these must stay under 64 MiB: the script prints the total.
# Both folders are listed in the repository's info/exclude, so they travel only when carried.
set -euo pipefail
cd "$(dirname "$0")/.."
# a worktree's .git is a file: ask git where its exclude file lives
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
for d in /.whl/ /.gpu_data/; do grep -qxF "$d" "$exclude" 2>/dev/null || echo "$d" >>"$exclude"; done
rm -rf .whl .gpu_data && mkdir -p .whl .gpu_data
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
    -d .whl astropy==8.0.2 pyerfa astropy-iers-data healpy
python3 - <<'PY'
import glob, os, zipfile
drop = ("astropy/timeseries/", "astropy/cosmology/", "astropy/modeling/", "astropy/convolution/",
        "astropy/visualization/", "astropy/wcs/", "astropy/samp/")
# the IERS-A/B Earth-orientation tables (2 MB) serve UT1 and polar motion, which no run uses
drop += ("astropy_iers_data/data/finals2000A.all", "astropy_iers_data/data/eopc04")
for wheel in glob.glob(".whl/astropy*.whl") + glob.glob(".whl/healpy-*.whl"):
    tmp = wheel + ".tmp"
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for item in zin.infolist():
            name = item.filename
            tests = ("/tests/" in name and not name.startswith("astropy/tests/")) or "/test/" in name
            if tests or name.startswith(drop) or name.startswith("healpy/data/"):
                continue
            zout.writestr(item, zin.read(name))
    os.replace(tmp, wheel)
PY
galflow simulate /tmp/gpu_carry_sim.parquet -n 2000 --no-images --seed 7 --no-progress --overwrite >/dev/null
python3 - <<'PY'
from astropy.table import QTable
t = QTable.read("/tmp/gpu_carry_sim.parquet")
keep = ["source_id", "ra", "dec"] + [c for c in t.colnames if c.startswith(("mag_", "magerr_"))]
t = t[keep]
t.meta = {"survey": "simulated"}
t.write(".gpu_data/phot2k.parquet", overwrite=True)
PY
# the same 8 galaxies the test simulates where GalSim is installed
galflow simulate .gpu_data/img8.parquet -n 8 --seed 5 --no-progress --overwrite >/dev/null
python3 -c "import numpy as np; p = '.gpu_data/img8.cutouts.npy'; np.save(p, np.load(p).astype(np.float16))"
du -sh .whl .gpu_data
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carry=$(du -sbc .whl .gpu_data | tail -1 | cut -f1)
python3 -c "t = $tree + $carry; print(f'tree + carry: {t / 2**20:.1f} MiB of 64', '(OVER: trim the carry)' if t > 64 * 2**20 else '')"
