#!/usr/bin/env bash
# On a machine with a CUDA GPU and CuPy: the GPU tests, then the GPU benchmark (table last).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
timeout 200 python -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py || status=$?
timeout 90 python -m benchmarks.bench_gpu --repeats 30 || status=$?
exit "$status"
