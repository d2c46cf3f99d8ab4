"""Supernet training throughput at cifar-small scale on synthetic CIFAR-shaped data.

Sandwich-rule steps (largest + smallest + random arch, AMP bf16 on CUDA) on random 32x32
images; prints images/s, step time and peak GPU memory. Compares against training the
largest arch alone (the cost of one plain Spikformer step) in the same run.

    python bench/gpu_train.py --space cifar-small --batch 64 --steps 30
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from engine.space import SearchSpace
from engine.supernet import Supernet


def run(net, archs_per_step, x, y, steps: int, dev) -> tuple[float, float]:
    opt = torch.optim.AdamW(net.parameters(), lr=5e-4)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    t = None
    for i in range(steps + 3):  # 3 warm-up steps
        if i == 3:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        for arch in archs_per_step(i):
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                loss = F.cross_entropy(net(x, arch).float(), y)
            loss.backward()
            functional.reset_net(net)
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t
    peak = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else float("nan")
    return elapsed / steps, peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="cifar-small")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--classes", type=int, default=100)
    args = p.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    space = SearchSpace.preset(args.space)
    net = Supernet(space, in_channels=3, num_classes=args.classes, image_size=32).to(dev).train()
    x = torch.randn(args.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, args.classes, (args.batch,), device=dev)
    rng = np.random.default_rng(0)
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    print(
        f"# {args.space} supernet, batch {args.batch}, {args.steps} steps, {name}, "
        f"torch {torch.__version__}"
    )
    sandwich = lambda i: [space.largest(), space.smallest(), space.sample(rng)]  # noqa: E731
    largest = lambda i: [space.largest()]  # noqa: E731
    for label, rule in (("sandwich step (3 archs)", sandwich), ("largest arch only", largest)):
        step, peak = run(net, rule, x, y, args.steps, dev)
        print(
            f"{label:24s}: {step * 1000:8.1f} ms/step, {args.batch / step:8.1f} images/s, "
            f"peak memory {peak:.2f} GiB"
        )


if __name__ == "__main__":
    main()
