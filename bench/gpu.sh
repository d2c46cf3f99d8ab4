#!/usr/bin/env bash
# Every GPU figure in one command (a few minutes on one GPU; 8 at most):
#   bash bench/gpu.sh [OUT_FOLDER]          -> OUT_FOLDER/gpu.json and OUT_FOLDER/gpu.md
# supernet training throughput (cifar-small, cifar-large; bf16), search evaluation throughput,
# CUDA vs CPU on one subnet (logits, SOPs). See bench/gpu_check.py for what each figure is.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${1:-${OUT:-gpu-results}}
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "error: no CUDA device (or no torch with CUDA) here; bench/gpu.sh measures GPU figures only" >&2
  exit 1
fi
# The device machine starts bare: bring the project's pure-Python deps if they are missing.
$PY -c "import spikingjelly, yaml, safetensors" 2>/dev/null || \
  $PY -m pip install -q --no-deps spikingjelly pyyaml safetensors >/dev/null 2>&1 || true
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# 8 minutes at most for the whole check; what finished is in $OUT even if it stops early.
timeout 480 env PYTHONPATH=. $PY bench/gpu_check.py --device cuda --out "$OUT"
