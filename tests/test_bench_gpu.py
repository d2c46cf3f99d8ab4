"""`bench/gpu.sh` and its script, checked without a GPU: the one-line refusal, and every part of
`bench/gpu_check.py` at toy sizes on the CPU (JSON and Markdown written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_sh_refuses_in_one_line_without_cuda(tmp_path: Path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", "bench/gpu.sh", str(tmp_path / "out")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no CUDA device (or no torch with CUDA) here; bench/gpu.sh measures GPU figures only"
    ]
    assert not (tmp_path / "out").exists()


def test_gpu_check_runs_every_part_at_toy_sizes(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "bench/gpu_check.py", "--device", "cpu", "--tiny", "--out", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "gpu.json").read_text())
    (train,) = result["training"]
    assert train["images_per_s"] > 0 and train["dtype"] == "fp32"
    assert result["evaluation"]["candidates_per_s"] > 0
    table = (tmp_path / "gpu.md").read_text()
    assert "supernet training" in table and "candidates/s" in table


def test_the_cuda_vs_cpu_comparison_itself() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from gpu_check import cuda_vs_cpu

    same = cuda_vs_cpu("digits-tiny", batch=2, classes=10, size=16, other="cpu")
    assert same["logits_close"] and same["sops_equal"] and same["max_abs_logit_diff"] == 0.0
    assert same["sops_cpu"] > 0
