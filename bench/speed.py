"""Training-step speed, side by side in one process (forward + backward, same batch).

1. The extracted Spikformer-4-384 (T=4) subnet vs spikingjelly's reference `spikformer_cifar10`
   (target ratio <= 1.0).
2. The supernet running its largest arch vs the extracted standalone model (target <= 1.15).

Runs alternate A, B, A, B ... so drift in machine speed hits both; the median ratio is quoted.

    python bench/speed.py --batch 16 --repeats 7 [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from spikingjelly.activation_based import functional
from spikingjelly.activation_based.model.spikformer import spikformer_cifar10

from engine.space import SearchSpace
from engine.supernet import Supernet


def step_time(model, x, y, arch=None) -> float:
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t = time.perf_counter()
    logits = model(x) if arch is None else model(x, arch)
    if logits.dim() == 3:  # spikingjelly returns (T, B, K): mean over time as Spikformer does
        logits = logits.mean(0)
    torch.nn.functional.cross_entropy(logits, y).backward()
    functional.reset_net(model)
    sync()
    return time.perf_counter() - t


def compare(name: str, a, b, x, y, repeats: int, arch_a=None, arch_b=None) -> float:
    for _ in range(2):  # warm-up
        step_time(a, x, y, arch_a)
        step_time(b, x, y, arch_b)
    ta, tb, ratios = [], [], []
    for _ in range(repeats):
        ta.append(step_time(a, x, y, arch_a))
        tb.append(step_time(b, x, y, arch_b))
        ratios.append(ta[-1] / tb[-1])
    ma, mb, r = statistics.median(ta), statistics.median(tb), statistics.median(ratios)
    print(
        f"| {name} | {ma * 1000:.1f} ms | {mb * 1000:.1f} ms | {r:.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}) |"
    )
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    torch.manual_seed(0)
    dev = torch.device(args.device)
    space = SearchSpace.preset("cifar-snn")
    arch = space.largest()  # 4-384, MLP 4, 12 heads, T=4
    supernet = Supernet(space, in_channels=3, num_classes=10, image_size=32).to(dev).train()
    subnet = supernet.extract(arch).train()
    reference = spikformer_cifar10(T=4).to(dev).train()
    x = torch.randn(args.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (args.batch,), device=dev)
    print(
        f"# forward+backward, batch {args.batch}, T=4, 32x32, device {dev}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print("| comparison | A | B | A/B median |")
    print("|---|---|---|---|")
    compare(
        "extracted 4-384 (A) vs spikingjelly spikformer_cifar10 (B)",
        subnet,
        reference,
        x,
        y,
        args.repeats,
    )
    compare(
        "supernet at largest arch (A) vs extracted (B)",
        supernet,
        subnet,
        x,
        y,
        args.repeats,
        arch_a=arch,
    )


if __name__ == "__main__":
    main()
