#!/usr/bin/env bash
# On a machine with a CUDA GPU and CuPy: the GPU tests, then the GPU benchmarks (tables last).
# Logs go to $OUT (or benchmarks/results) as well as the terminal.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
logs="${OUT:-benchmarks/results}"
mkdir -p "$logs"
python -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__,
  'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion(), cupy.cuda.Device().pci_bus_id)"
workers=()
python -c "import xdist" 2>/dev/null && workers=(-n 4)
status=0
# every test marked gpu but the distributed ones (next)
timeout 240 python -m pytest -q -m gpu -p no:cacheprovider "${workers[@]}" -rfE tests \
  --ignore=tests/test_gpu_distributed.py 2>&1 | tee "$logs/gpu_tests.log" | tail -n 60 \
  || status=1
# NCCL data parallelism: mpiexec -n 1, and one rank per GPU where there are more (they skip
# without the gpu-distributed extra: mpi4py, mpich, nvidia-nccl-cu12)
timeout 300 python -m pytest -q -m gpu -p no:cacheprovider -rfEs tests/test_gpu_distributed.py \
  2>&1 | tee "$logs/gpu_distributed_tests.log" | tail -n 30 || status=1
timeout 120 python -m benchmarks.bench_gpu --repeats 30 --out "$logs/gpu.json" 2>&1 \
  | tee "$logs/gpu_bench.log" || status=1
# PyTorch's word-language-model step: the engine eager and compiled, PyTorch eager and
# torch.compile (where Triton is installed; its first call compiles for a minute or two)
timeout 300 python -m benchmarks.lm_step --device cuda --repeats 20 --out "$logs/lm_step.json" \
  2>&1 | tee "$logs/lm_step.log" || status=1
# the book's 3-layer LSTM step: the engine eager and compiled against PyTorch's fused cuDNN LSTM
timeout 120 python -m benchmarks.lstm_step --device cuda --repeats 10 --out "$logs/lstm_step.json" \
  2>&1 | tee "$logs/lstm_step.log" || status=1
exit "$status"
