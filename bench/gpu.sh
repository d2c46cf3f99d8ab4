#!/usr/bin/env bash
# GPU benchmark: supernet training throughput at cifar-small scale on synthetic data.
# One command of a few minutes on the device machine:  bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The device machine starts bare: bring the project's pure-Python deps if they are missing.
$PY -c "import spikingjelly, yaml, safetensors" 2>/dev/null || \
  $PY -m pip install -q --no-deps spikingjelly pyyaml safetensors 2>/dev/null || true
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
PYTHONPATH=. $PY bench/gpu_train.py --space cifar-small --batch 128 --steps 30
PYTHONPATH=. $PY bench/speed.py --batch 64 --repeats 10
