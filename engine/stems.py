"""The SPS stem computed once per stem key, for the evaluation of many candidates.

Evaluating a candidate runs its subnet over fixed recalibration and validation batches. The SPS
stem at the front (four conv-BN-LIF stages and the RPE: most of the forward's time on the small
spaces) depends only on `engine.spikformer.stem_key(arch)`, that is on embed_dim and T: its
weights are the supernet's leading slices for that width, its neurons are fixed, and BN
recalibration gives its layers the same statistics whichever blocks follow. So a `StemCache`
keeps, per key, what the stem produced: its recalibrated BN statistics, its tokens for every
recalibration and validation batch, and the energy counts of its layers on the validation
batches. Candidates sharing the key run only their blocks and head on those tokens, with the
very same arithmetic as a full forward, so their results are bit-identical to it.

Tokens are sums of two spike trains (values 0, 1, 2) and are kept as uint8 when that is exact,
a quarter of float32's memory. The cache holds at most `max_bytes`; the least recently used key
goes first, and a stem larger than the whole budget is used once and not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from engine.energy import EnergyMeter
from engine.space import Arch
from engine.spikformer import SpikformerBody, stem_key

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextmanager
def cumulative_statistics(bns: list[nn.modules.batchnorm._BatchNorm]) -> Iterator[None]:
    """Reset the running statistics of `bns` and let the forwards inside re-estimate them as a
    plain mean over batches (momentum None); the momenta come back afterwards."""
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    try:
        yield
    finally:
        for bn, m in zip(bns, momenta, strict=True):
            bn.momentum = m


def _compact(tokens: torch.Tensor) -> torch.Tensor:
    """uint8 if that holds the tokens exactly (same strides), else the tokens themselves."""
    small = tokens.to(torch.uint8)
    return small if torch.equal(small.to(tokens.dtype), tokens) else tokens


@dataclass
class Stem:
    """What the stem of one key produced on the evaluator's batches."""

    statistics: dict[str, torch.Tensor]  # the SPS's BN buffers after recalibration
    recalib_tokens: list[torch.Tensor]  # (T, B, N, D) per recalibration batch
    val_tokens: list[torch.Tensor]  # (T, B, N, D) per validation batch
    meter: EnergyMeter  # counts of the SPS layers (and the samples) on the validation batches

    @property
    def nbytes(self) -> int:
        tensors = [*self.statistics.values(), *self.recalib_tokens, *self.val_tokens]
        return sum(t.numel() * t.element_size() for t in tensors)

    def load_statistics(self, subnet: SpikformerBody) -> None:
        """Give `subnet`'s SPS the recalibrated BN statistics of this stem."""
        subnet.sps.load_state_dict(self.statistics, strict=False)

    @staticmethod
    def tokens(stored: torch.Tensor) -> torch.Tensor:
        return stored.to(torch.float32)


@torch.no_grad()
def build_stem(subnet: SpikformerBody, arch: Arch, recalib: Batches, val: Batches) -> Stem:
    """Run `subnet`'s stem over the batches: recalibrate its BN on `recalib` (train mode, none
    if empty), then produce tokens in eval mode under an energy meter. `subnet` is a freshly
    extracted subnet of `arch`; its SPS statistics are left recalibrated."""
    device = next(subnet.parameters()).device
    sps = subnet.sps
    recalib_tokens = []
    if recalib:
        sps.train()
        with cumulative_statistics(batch_norms(sps)):
            for x, _ in recalib:
                recalib_tokens.append(_compact(subnet.embed(x.to(device), arch)))
    sps.eval()
    statistics = {
        f"{name}.{b}": buffer.clone()
        for name, bn in sps.named_modules()
        if isinstance(bn, nn.modules.batchnorm._BatchNorm)
        for b, buffer in bn.named_buffers(recurse=False)
    }
    val_tokens = []
    with EnergyMeter(subnet) as meter:
        for x, _ in val:
            meter.count_input(x)
            val_tokens.append(_compact(subnet.embed(x.to(device), arch)))
    return Stem(statistics, recalib_tokens, val_tokens, meter)


class StemCache:
    """Stems by `stem_key`, built on first use, at most `max_bytes` kept (least recent out)."""

    def __init__(self, recalib: Batches, val: Batches, *, max_bytes: int = 1 << 30) -> None:
        self.recalib, self.val, self.max_bytes = recalib, val, max_bytes
        self._stems: OrderedDict[tuple, Stem] = OrderedDict()
        self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._stems.values())

    def get(self, subnet: SpikformerBody, arch: Arch) -> Stem:
        """The stem of `arch`'s key; on a miss it is built with `subnet` (freshly extracted)."""
        key = stem_key(arch)
        if key in self._stems:
            self.hits += 1
            self._stems.move_to_end(key)
            return self._stems[key]
        self.misses += 1
        stem = build_stem(subnet, arch, self.recalib, self.val)
        size = stem.nbytes
        if size <= self.max_bytes:
            while self._stems and self.nbytes + size > self.max_bytes:
                self._stems.popitem(last=False)
            self._stems[key] = stem
        return stem
