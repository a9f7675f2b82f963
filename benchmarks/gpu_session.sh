#!/usr/bin/env bash
# The prepared GPU session of issue 6: one command on a machine with an NVIDIA GPU.
#
#   OUT=gpu-out bash benchmarks/gpu_session.sh [budget seconds for the backend benchmark]
#
# 1. installs astro_galflow (and galflow-tensorrt) without dependencies into the
#    machine's torch environment; wheels in .whl/ (astropy, pyerfa, astropy-iers-data
#    where the image lacks them) are installed first, with no index;
# 2. runs the tests marked ``gpu`` (CUDA graphs, TensorRT where installed);
# 3. runs the shipped sim-default model end to end on CPU and CUDA (gpu_model_check.py);
# 4. runs the backend benchmark (gpu_benchmark.py) within the given budget.
# Every step writes under $OUT; a failing step does not stop the later ones.
set -uo pipefail
OUT=${OUT:-gpu-out}
BUDGET=${1:-300}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . -e plugins/galflow-tensorrt \
    || export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD:$PWD/plugins/galflow-tensorrt/src"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia_smi.txt"
python3 -m pytest -m gpu -p no:cacheprovider -q -rs tests/backends plugins/galflow-tensorrt/tests 2>&1 | tee "$OUT/pytest_gpu.txt"
python3 benchmarks/gpu_model_check.py --out "$OUT/gpu_model_check.json" 2>&1 | tee "$OUT/model_check.txt"
python3 benchmarks/gpu_benchmark.py --out "$OUT/gpu.json" --budget-s "$BUDGET" "${@:2}" 2>&1 | tee "$OUT/benchmark.txt"
