"""Every GPU figure in one go, written to a JSON file and a Markdown table (`bench/gpu.sh`).

1. Supernet training throughput on synthetic CIFAR-shaped data, at `cifar-small` and
   `cifar-large` scale: one uniformly sampled arch per step (the default rule), AdamW, bf16
   autocast on CUDA; images/s, ms/step, peak GPU memory.
2. Evaluation throughput of a search: candidates/s for the per-candidate work of a search
   (extract the subnet, re-estimate BN on 4 batches of 128, accuracy and energy on 40 batches of
   128, i.e. a 5,000-image validation split), on synthetic data and a `cifar-small` supernet.
3. CUDA against CPU on one extracted subnet, same input, fp32 (TF32 off): the largest logit
   difference, and the SOP counts of `engine.energy.measure` on both.

    python bench/gpu_check.py --out gpu-results            # on a GPU host (about 3-5 minutes)
    python bench/gpu_check.py --device cpu --tiny --out x  # the smoke test of this script

Sizes, spaces and step counts are printed with the figures. `--tiny` runs every part at toy
sizes (the `digits-tiny` space, a few steps) so the script itself can be checked without a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.energy import measure  # noqa: E402
from engine.evaluate import evaluate_model, recalibrate_bn  # noqa: E402
from engine.space import SearchSpace  # noqa: E402
from engine.supernet import Supernet  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def train_throughput(
    space_name: str, device: torch.device, *, batch: int, steps: int, classes: int, size: int
) -> dict[str, Any]:
    """Supernet training steps (one sampled arch each) on random images."""
    space = SearchSpace.preset(space_name)
    torch.manual_seed(0)
    net = Supernet(space, in_channels=3, num_classes=classes, image_size=size).to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=5e-4)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    rng = np.random.default_rng(0)
    bf16 = device.type == "cuda"
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(steps + 3):  # 3 warm-up steps
        arch = space.sample(rng)
        _sync(device)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x, arch).float(), y)
        loss.backward()
        functional.reset_net(net)
        opt.step()
        _sync(device)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    return {
        "space": space_name,
        "batch": batch,
        "steps": steps,
        "dtype": "bf16 autocast" if bf16 else "fp32",
        "ms_per_step": 1000 * step,
        "images_per_s": batch / step,
        "peak_gib": _peak_gib(device),
    }


def eval_throughput(
    space_name: str,
    device: torch.device,
    *,
    candidates: int,
    recalib: int,
    val: int,
    batch: int,
    classes: int,
    size: int,
) -> dict[str, Any]:
    """The per-candidate work of a search on random images: candidates/s."""
    space = SearchSpace.preset(space_name)
    torch.manual_seed(1)
    net = Supernet(space, in_channels=3, num_classes=classes, image_size=size).to(device).eval()
    gen = torch.Generator().manual_seed(2)

    def batches(n: int):
        return [
            (torch.randn(batch, 3, size, size, generator=gen), torch.randint(0, classes, (batch,)))
            for _ in range(n)
        ]

    recalib_batches, val_batches = batches(recalib), batches(val)
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(candidates + 1)]
    times = []
    for i, arch in enumerate(archs):  # the first one warms up
        _sync(device)
        t0 = time.perf_counter()
        subnet = net.extract(arch)
        recalibrate_bn(subnet, recalib_batches)
        evaluate_model(subnet, val_batches)
        _sync(device)
        if i:
            times.append(time.perf_counter() - t0)
    per = statistics.median(times)
    return {
        "space": space_name,
        "candidates": candidates,
        "recalib_images": recalib * batch,
        "val_images": val * batch,
        "s_per_candidate": per,
        "candidates_per_s": 1 / per,
    }


def cuda_vs_cpu(
    space_name: str, *, batch: int, classes: int, size: int, other: str = "cuda"
) -> dict[str, Any]:
    """One extracted subnet on the same input on CPU and on `other` (CUDA; fp32): logits and
    SOPs. (`other="cpu"` checks this function itself on a machine without a GPU.)"""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    space = SearchSpace.preset(space_name)
    torch.manual_seed(4)
    net = Supernet(space, in_channels=3, num_classes=classes, image_size=size).eval()
    subnet = net.extract(space.sample(np.random.default_rng(5))).eval()
    # Strong input, so an untrained network fires (no spikes: no SOPs to compare).
    x = 4 * torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        cpu_logits = subnet(x)
        functional.reset_net(subnet)
        cpu_sops = measure(subnet, x).sops
        functional.reset_net(subnet)
        gpu = subnet.to(other)
        gpu_logits = gpu(x.to(other)).cpu()
        functional.reset_net(gpu)
        gpu_sops = measure(gpu, x.to(other)).sops
    diff = float((cpu_logits - gpu_logits).abs().max())
    return {
        "space": space_name,
        "batch": batch,
        "max_abs_logit_diff": diff,
        "logits_close": bool(torch.allclose(cpu_logits, gpu_logits, atol=1e-4, rtol=1e-4)),
        "sops_cpu": float(cpu_sops),
        "sops_cuda": float(gpu_sops),
        "sops_equal": float(cpu_sops) == float(gpu_sops),
        "sops_rel_diff": abs(cpu_sops - gpu_sops) / max(abs(cpu_sops), 1e-12),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [f"GPU figures: {result['device']}, torch {result['torch']}, {result['seconds']:.0f} s",
             "", "| what | figure |", "| --- | --- |"]  # fmt: skip
    for t in result["training"]:
        peak = "n/a" if t["peak_gib"] is None else f"{t['peak_gib']:.2f} GiB"
        lines.append(
            f"| supernet training, {t['space']}, batch {t['batch']}, {t['dtype']} | "
            f"{t['images_per_s']:,.0f} img/s, {t['ms_per_step']:.1f} ms/step, peak {peak} |"
        )
    e = result["evaluation"]
    lines.append(
        f"| search evaluation, {e['space']} ({e['recalib_images']} recalibration + "
        f"{e['val_images']} validation images per candidate) | {e['candidates_per_s']:.2f} "
        f"candidates/s ({e['s_per_candidate']:.2f} s each) |"
    )
    c = result.get("cuda_vs_cpu")
    if c is not None:
        lines.append(
            f"| CUDA vs CPU, one {c['space']} subnet, batch {c['batch']}, fp32 | max logit "
            f"difference {c['max_abs_logit_diff']:.2e} (close: {c['logits_close']}); SOPs "
            f"{c['sops_cpu']:.6g} vs {c['sops_cuda']:.6g} (equal: {c['sops_equal']}) |"
        )
    else:
        lines.append("| CUDA vs CPU | not measured (no CUDA device) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="toy sizes, to check the script on a CPU")
    p.add_argument("--out", default="gpu-results", help="folder for gpu.json and gpu.md")
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: no CUDA device; bench/gpu_check.py --device cuda needs a GPU")
    started = time.perf_counter()
    if args.tiny:
        spaces, common = ["digits-tiny"], {"classes": 10, "size": 16}
        train = {"batch": 8, "steps": 2}
        evaluation = {"candidates": 2, "recalib": 1, "val": 2, "batch": 8}
        check = {"batch": 2}
    else:
        spaces, common = ["cifar-small", "cifar-large"], {"classes": 100, "size": 32}
        train = {"batch": 128, "steps": 30}
        evaluation = {"candidates": 8, "recalib": 4, "val": 40, "batch": 128}
        check = {"batch": 16}
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "tiny": args.tiny,
        "training": [],
    }
    for name in spaces:
        result["training"].append(train_throughput(name, device, **train, **common))
        print(json.dumps(result["training"][-1]), flush=True)
    result["evaluation"] = eval_throughput(spaces[0], device, **evaluation, **common)
    print(json.dumps(result["evaluation"]), flush=True)
    result["cuda_vs_cpu"] = (
        cuda_vs_cpu(spaces[0], **check, **common) if torch.cuda.is_available() else None
    )
    result["seconds"] = time.perf_counter() - started
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / "gpu.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
