"""The two CPU layout choices of the engine, each against its alternative in one run.

1. Token projections: `engine.elastic.token_linear` (a 1x1 oneDNN convolution on a channels-last
   view of the tokens, above `CONV_MIN_ROWS` rows and `CONV_MIN_MACS` MACs) vs plain `F.linear`
   (BLAS matmul), forward+backward, over a grid of token counts and widths.
2. SPS feature maps: channels-last (from `CHANNELS_LAST_MIN_DIM`) vs contiguous NCHW, on the
   SPS of a digits-tiny supernet (d=64) and of the 4-384 CIFAR subnet, forward+backward.

Runs alternate A, B, A, B ... and the median of the per-pair ratios is quoted (A/B < 1: A faster).

    python bench/cpu_layout.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

import engine.elastic as elastic
import engine.spikformer as spikformer
from engine.space import SearchSpace
from engine.supernet import Supernet


def paired(a: Callable[[], None], b: Callable[[], None], repeats: int) -> tuple[float, ...]:
    """Median ms of A, of B, and the median A/B ratio over alternating runs."""

    def once(fn: Callable[[], None]) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    for _ in range(2):
        once(a)
        once(b)
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(once(a))
        tb.append(once(b))
    ratio = statistics.median(x / y for x, y in zip(ta, tb, strict=True))
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3, ratio


def linear_grid(repeats: int) -> None:
    print("\n| tokens M | in | out | token_linear | F.linear | ratio | path taken |")
    print("|---|---|---|---|---|---|---|")
    for rows, n in ((512, 16), (2048, 16), (4096, 64), (16384, 64)):
        for d_in, d_out in ((64, 256), (128, 384), (384, 1152), (1536, 384)):
            x = (torch.rand(rows // n, n, d_in) > 0.8).float().requires_grad_()
            w = torch.randn(d_out, d_in, requires_grad=True)
            g = torch.randn(rows // n, n, d_out)
            ma, mb, r = paired(
                lambda x=x, w=w, g=g: elastic.token_linear(x, w, None).backward(g),
                lambda x=x, w=w, g=g: F.linear(x, w).backward(g),
                repeats,
            )
            path = "1x1 conv" if elastic.conv_pays(rows, d_in, d_out) else "F.linear"
            print(f"| {rows} | {d_in} | {d_out} | {ma:.1f} ms | {mb:.1f} ms | {r:.3f} | {path} |")


def sps_step(net: Supernet, x: torch.Tensor, d: int, channels_last: bool) -> None:
    spikformer.CHANNELS_LAST_MIN_DIM = 0 if channels_last else 10**9
    net.sps(net.to_sequence(x, 4), d).sum().backward()
    functional.reset_net(net)


def sps_layouts(repeats: int) -> None:
    print("\n| SPS of | channels-last | NCHW | ratio |")
    print("|---|---|---|---|")
    saved = spikformer.CHANNELS_LAST_MIN_DIM
    cases = (
        ("digits-tiny largest (d=64, 16x16, batch 32)", "digits-tiny", 1, 16, 32),
        ("cifar-snn 4-384 (d=384, 32x32, batch 16)", "cifar-snn", 3, 32, 16),
    )
    try:
        for name, preset, channels, side, batch in cases:
            space = SearchSpace.preset(preset)
            net = Supernet(space, in_channels=channels, num_classes=10, image_size=side).train()
            d = space.largest().embed_dim
            x = torch.randn(batch, channels, side, side)
            ma, mb, r = paired(
                lambda net=net, x=x, d=d: sps_step(net, x, d, True),
                lambda net=net, x=x, d=d: sps_step(net, x, d, False),
                repeats,
            )
            print(f"| {name} | {ma:.1f} ms | {mb:.1f} ms | {r:.3f} |")
    finally:
        spikformer.CHANNELS_LAST_MIN_DIM = saved
    print(f"\nthe engine uses channels-last from d >= {saved}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, forward+backward")
    linear_grid(args.repeats)
    sps_layouts(args.repeats)


if __name__ == "__main__":
    main()
