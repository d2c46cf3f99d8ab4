"""Supernet training under torchrun with DistributedDataParallel (gloo on CPU, 2 ranks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from engine.checkpoint import load_tensors


def _torchrun(home: Path, *args: str) -> subprocess.CompletedProcess:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch"
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _train_cli(home: Path, run: str, space: Path) -> dict:
    proc = _torchrun(
        home, "--module", "app.cli", "train", "--", "--run", run, "--dataset", "digits",
        "--space", str(space), "--epochs", "2", "--batch-size", "64", "--device", "cpu", "--json",
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 reports; rank 1 stays quiet
    return json.loads(lines[0])


def test_torchrun_two_ranks_train_report_once_and_resume_exactly(
    home: Path, tiny_space_file: Path
) -> None:
    straight = _train_cli(home, "ddp", tiny_space_file)
    assert straight["epochs"] == 2 and Path(straight["checkpoint"]).is_file()
    names = sorted(p.name for p in (home / "runs" / "ddp" / "checkpoints").iterdir())
    assert names == ["epoch-0001.safetensors", "epoch-0002.safetensors"]

    # a run interrupted after epoch 1 holds what the straight run held then: resume it
    stopped = home / "runs" / "ddp-resumed" / "checkpoints"
    stopped.mkdir(parents=True)
    shutil.copy(home / "runs" / "ddp" / "checkpoints" / "epoch-0001.safetensors", stopped)
    resumed = _train_cli(home, "ddp-resumed", tiny_space_file)

    a, meta_a = load_tensors(Path(straight["checkpoint"]))
    b, meta_b = load_tensors(Path(resumed["checkpoint"]))
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:  # model and AdamW state, bit for bit
        assert torch.equal(a[key], b[key]), key
    assert meta_a["step"] == meta_b["step"]
    losses = [[r["loss"] for r in m["history"]] for m in (meta_a, meta_b)]
    assert losses[0] == losses[1]
    assert resumed["val_accuracy_largest"] == straight["val_accuracy_largest"]
    for record in meta_b["history"]:  # rank 0 measured every epoch
        assert {"seconds", "val_accuracy_largest", "val_accuracy_smallest"} <= set(record)
