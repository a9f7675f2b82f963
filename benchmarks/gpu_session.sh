#!/usr/bin/env bash
# The prepared GPU session of issues 6 and 14: one command on a machine with an NVIDIA GPU,
# about 5 minutes on an H200 with 16 CPU cores (a few more where TensorRT is installed and builds engines).
#
#   OUT=gpu-out bash benchmarks/gpu_session.sh [budget seconds for the kernel benchmark, default 60]
#
# Prepare the carried folders first, on the development machine: ``bash benchmarks/gpu_carry.sh``
# (trimmed astropy/healpy wheels in .whl/, a 2k-row simulated catalog in .gpu_data/), and
# carry [".whl", ".gpu_data"]. The session of 2026-12-04 stopped at missing healpy before
# this script carried it.
#
# 1. installs astro_galflow (and galflow-tensorrt) without dependencies into the
#    machine's torch environment; wheels in .whl/ (astropy, pyerfa, astropy-iers-data
#    where the image lacks them) are installed first, with no index;
# 2. runs the tests marked ``gpu`` (CUDA graphs, device-side summaries and noise), then
#    the TensorRT plugin's (engines for the samplers and the sim-default image encoder,
#    and galflow infer --backend tensorrt on .gpu_data/img8.parquet; they skip, saying
#    why, where TensorRT is not installed) with a timeout of their own: engine builds
#    take tens of seconds each;
# 3. simulates 1,000,000 photometry-only galaxies and times ``galflow infer --device cuda``
#    on all of them as a process under /usr/bin/time -v (the run's device path: noise,
#    post-processing and summaries on the GPU; rows outside the training domain on the host);
# 4. times the device path (astro_galflow.summaries: noise, sampler, calibration and
#    summaries on the GPU, only the summary columns copied back) on all 1,000,000 rows in
#    fp32 and bf16, beside the host path on 20,000 rows (gpu_user_path.py);
# 5. runs the kernel benchmark (gpu_benchmark.py: sampler and full pipeline) within the budget
#    (0 skips it).
# Every step writes under $OUT; a failing step does not stop the later ones.
set -uo pipefail
OUT=${OUT:-gpu-out}
BUDGET=${1:-60}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
DATA=${TMPDIR:-/tmp}/galflow-gpu-session
mkdir -p "$DATA"
export GALFLOW_CACHE_DIR="$DATA/cache"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . -e plugins/galflow-tensorrt \
    || export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD:$PWD/plugins/galflow-tensorrt/src"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia_smi.txt"
nproc | tee "$OUT/nproc.txt"
timeout 100 python3 -m pytest -m gpu -p no:cacheprovider -q -rs tests/backends/test_torch_backends.py tests/host/test_summaries.py \
    2>&1 | tee "$OUT/pytest_gpu.txt"
python3 -c "import tensorrt; print('tensorrt', tensorrt.__version__)" 2>&1 | tail -1 | tee "$OUT/tensorrt_version.txt"
timeout 420 python3 -m pytest -m gpu -p no:cacheprovider -q -rs plugins/galflow-tensorrt/tests 2>&1 \
    | tee "$OUT/pytest_tensorrt.txt"
if [ -f .gpu_data/phot2k.parquet ]; then
    # no GalSim there: a small simulated catalog travels (carry .gpu_data) and is tiled
    timeout 120 python3 benchmarks/tile_catalog.py .gpu_data/phot2k.parquet "$DATA/phot1m.parquet" --rows 1000000 \
        2>&1 | tee "$OUT/simulate.txt"
else
    timeout 150 python3 -m astro_galflow simulate "$DATA/phot1m.parquet" -n 1000000 --no-images --seed 1 2>&1 \
        | tail -5 | tee "$OUT/simulate.txt"
fi
# the user path: galflow infer as a process, 1M photometry-only rows, summaries on the GPU
timeout 200 /usr/bin/time -v python3 -m astro_galflow infer "$DATA/phot1m.parquet" "$DATA/out1m.parquet" \
    --model sim-photometry --device cuda --batch-size 16384 --chunk-rows 262144 --no-progress --overwrite 2>&1 \
    | tee "$OUT/infer_cuda_1m.txt"
timeout 120 python3 benchmarks/gpu_user_path.py --catalog "$DATA/phot1m.parquet" --out "$OUT/gpu_user_path.json" \
    2>&1 | tee "$OUT/gpu_user_path.txt"
if [ "$BUDGET" -gt 0 ]; then
    timeout $((BUDGET + 60)) python3 benchmarks/gpu_benchmark.py --out "$OUT/gpu.json" --budget-s "$BUDGET" \
        --batch-sizes 4096 16384 --precisions fp32 bf16 --repeats 5 "${@:2}" 2>&1 | tee "$OUT/benchmark.txt"
fi
