"""Supernet training under torchrun with DistributedDataParallel (gloo on CPU, 2 ranks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def test_torchrun_two_ranks_train_and_report_once(home: Path, tiny_space_file: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch"
    cmd = [
        torchrun,
        "--nproc_per_node",
        "2",
        "--module",
        "app.cli",
        "train",
        "--",
        "--run",
        "ddp",
        "--dataset",
        "digits",
        "--space",
        str(tiny_space_file),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--device",
        "cpu",
        "--json",
    ]
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 reports; rank 1 stays quiet
    result = json.loads(lines[0])
    assert result["epochs"] == 1 and Path(result["checkpoint"]).is_file()
    assert [p.name for p in (home / "runs" / "ddp" / "checkpoints").iterdir()] == [
        "epoch-0001.safetensors"
    ]
