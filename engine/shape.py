"""What a Spikformer's size depends on besides its arch, and what it costs, without building it.

`ModelShape` holds the dataset-side constants (input channels, classes, image side) and the token
grid they give; `count_params` counts a standalone subnet's parameters analytically. Neither
needs torch, so the search, the recorder and the app use them without importing it
(`engine.spikformer` builds the model itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.space import Arch


@dataclass(frozen=True)
class ModelShape:
    """Dataset-side constants of a model: input channels, classes, image side."""

    in_channels: int
    num_classes: int
    image_size: int

    @property
    def n_pools(self) -> int:
        """SPS max-pools: 2 for images up to 32 px, 4 beyond, as Spikformer's CIFAR and DVS models.

        Token grids: digits 16 px -> 4x4 = 16 tokens, mnist-5k 28 px -> 7x7 = 49, CIFAR 32 px ->
        8x8 = 64, DVS 128 px -> 8x8 = 64 (Spikformer's DVS grid).
        """
        return 2 if self.image_size <= 32 else 4

    @property
    def num_tokens(self) -> int:
        side = self.image_size
        for _ in range(self.n_pools):
            side = math.ceil(side / 2)
        return side * side


def count_params(arch: Arch, shape: ModelShape) -> int:
    """Parameters of the standalone subnet of `arch`, computed analytically (no model built)."""
    d, c = arch.embed_dim, shape.in_channels
    widths = [d // 8, d // 4, d // 2, d]
    ins = [c, *widths[:-1]]
    sps = sum(9 * i * o + 2 * o for i, o in zip(ins, widths, strict=True)) + 9 * d * d + 2 * d
    blocks = 0
    for i in range(arch.depth):
        h = arch.mlp_hidden(i)
        blocks += 4 * (d * d + 2 * d) + (d * h + 2 * h) + (h * d + 2 * d)
    head = d * shape.num_classes + shape.num_classes
    return sps + blocks + head
