"""The Spikformer supernet: every arch of a search space in one set of weights.

Transformer genes share weights by weight entanglement (each layer uses the leading slice of its
largest weights; blocks beyond the sampled depth are skipped). SNN genes (threshold, tau, T) have
no weights: the sampled values are applied to the block's LIF neurons on every call (alternate
choice, the paper's DSPS). The arch is always an argument; nothing from an earlier call leaks.
"""

from __future__ import annotations

import torch

from engine.elastic import copy_leading_slices
from engine.shape import ModelShape, count_params
from engine.space import Arch, SearchSpace
from engine.spikformer import Spikformer, SpikformerBody


class Supernet(SpikformerBody):
    """Args:
    space: the search space; the supernet is built at its largest widths.
    in_channels: image (or event polarity) channels.
    num_classes: classifier outputs.
    image_size: side of the square input.
    """

    def __init__(
        self, space: SearchSpace, *, in_channels: int, num_classes: int, image_size: int
    ) -> None:
        shape = ModelShape(in_channels, num_classes, image_size)
        max_dim = max(space.embed_dim)
        max_hidden = int(max(space.mlp_ratio) * max_dim)
        super().__init__(shape, max_dim, [max_hidden] * max(space.depth))
        self.space = space

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        """Logits of subnet `arch` for images (B, C, S, S) or events (B, T, C, S, S)."""
        self.space.validate(arch)
        return self.forward_arch(x, arch)

    def extract(self, arch: Arch) -> Spikformer:
        """A standalone Spikformer of `arch` with copied weights (and BN statistics)."""
        self.space.validate(arch)
        subnet = Spikformer(arch, self.shape)
        copy_leading_slices(self, subnet)
        subnet.train(self.training)
        return subnet.to(next(self.parameters()).device)

    def count_params(self, arch: Arch) -> int:
        return count_params(arch, self.shape)
