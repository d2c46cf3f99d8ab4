"""Spikformer (Zhou et al. 2022), written once for both the supernet and standalone subnets.

Every module is built with its *largest* widths and runs with the *active* widths of an `Arch`
passed to `forward`. The supernet builds them at the search space's maximum; an extracted subnet
builds them at exactly the arch's widths, so the same forward code runs in both and their outputs
agree. Tensor shapes in comments use T (time steps), B (batch), N (tokens), D (embed dim).

Token grids (`ModelShape.num_tokens`): images up to 32 px pass two SPS max-pools (CIFAR 32x32 ->
8x8 = 64 tokens, mnist-5k 28x28 -> 49, digits 16x16 -> 16); DVS frames keep the sensor's
128x128 and pass four, ending at Spikformer's 8x8 = 64 tokens. Event samples are integrated into
T frames of the whole sample (`SpikformerBody.to_sequence`). docs/model.md has the details and
the two places where this model departs from the paper (the LIF's charge, the SPS widths).
"""

from __future__ import annotations

import dataclasses

import torch
from spikingjelly.activation_based import functional
from torch import nn

from engine.data.base import merge_frames
from engine.elastic import (
    ElasticBatchNorm,
    ElasticConv2d,
    ElasticLinear,
    StackedBatchNorm,
    StackedLinear,
)
from engine.lif import LIF
from engine.shape import ModelShape
from engine.space import Arch

SSA_SCALE = 0.125  # Spikformer's fixed attention scale
ATTN_THRESHOLD = 0.5  # Spikformer's threshold of the LIF after attn @ v
SPS_THRESHOLD, SPS_TAU = 1.0, 2.0  # SPS neurons keep Spikformer's defaults
# On CPU, SPS runs channels-last from this embed dim up: quicker at CIFAR widths, slower at
# digits-tiny's small ones (bench/cpu_layout.py; figures in BENCHMARKS.md). GPUs keep NCHW.
CHANNELS_LAST_MIN_DIM = 128


def lif(v_threshold: float = 1.0, tau: float = 2.0) -> LIF:
    """Spikformer's LIF: multi-step, detach_reset, hard reset to 0.

    spikingjelly's default `decay_input=True` charges H = V + (X - V) / tau, which is the paper's
    Eq. 1 with the threshold scaled by tau (docs/model.md), as in Spikformer's and the authors'
    code. `engine.lif.LIF` is spikingjelly's `LIFNode` with a cheaper inference forward on CPU.
    """
    return LIF(tau=float(tau), v_threshold=float(v_threshold), detach_reset=True, step_mode="m")


def set_lif(node: LIF, v_threshold: float, tau: float) -> None:
    """Alternate choice (DSPS): apply a sampled threshold and decay to a neuron."""
    node.v_threshold = float(v_threshold)
    node.tau = float(tau)


class SSAProduct(nn.Module):
    """Spikformer's attention product (q k^T * 0.125) v, in whichever order is cheaper.

    q, k and v are binary spike trains, so every product is a sum of integers and both orders,
    (q k^T) v and q (k^T v), give bit-identical float32 results; q (k^T v) costs N/d_head times
    less when tokens outnumber head channels. Energy hooks charge the paper's two products
    (`q @ k^T` at q's firing rate, `attn @ v` at v's) whatever order runs.
    """

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        n, dh = q.shape[-2:]  # q, k, v: (..., N, d_head)
        if n > dh:
            return q @ (k.transpose(-2, -1) @ v) * SSA_SCALE
        return (q @ k.transpose(-2, -1)) @ v * SSA_SCALE


def _bn_tokens(bn: ElasticBatchNorm, x: torch.Tensor, d: int) -> torch.Tensor:
    """BatchNorm1d over the channel dim of token features `x` (..., N, d)."""
    shape = x.shape
    return bn(x.reshape(-1, d), d).reshape(shape)


class SPS(nn.Module):
    """Spiking Patch Splitting: 4 conv-BN-LIF stages (max-pool on the last `n_pools`) + RPE.

    The max-pool sits between BN and LIF (spikingjelly 2.0's Spikformer); ZK-Zhou's original
    code pools after the LIF. Both feed binary spikes to the next conv; pooling first runs the
    LIF on 4x fewer neurons.

    On CPU, from `CHANNELS_LAST_MIN_DIM` up, feature maps are kept channels-last (NHWC strides,
    NCHW shape): oneDNN convolves them without reordering, BN, pooling and the LIF keep the
    layout, and the (T, B, N, D) tokens at the end are a free view instead of a transposing copy.
    """

    def __init__(self, in_channels: int, embed_dim: int, n_pools: int) -> None:
        super().__init__()
        widths = [embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim]
        ins = [in_channels, *widths[:-1]]
        self.proj_conv = nn.ModuleList(
            ElasticConv2d(i, o, 3, 1, 1, bias=False) for i, o in zip(ins, widths, strict=True)
        )
        self.proj_bn = nn.ModuleList(ElasticBatchNorm(o) for o in widths)
        self.proj_lif = nn.ModuleList(lif(SPS_THRESHOLD, SPS_TAU) for _ in widths)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.n_pools = n_pools
        self.rpe_conv = ElasticConv2d(embed_dim, embed_dim, 3, 1, 1, bias=False)
        self.rpe_bn = ElasticBatchNorm(embed_dim)
        self.rpe_lif = lif(SPS_THRESHOLD, SPS_TAU)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor, d: int) -> torch.Tensor:
        T, B = x.shape[:2]  # x: (T, B, C, H, W)
        wide = x.device.type == "cpu" and d >= CHANNELS_LAST_MIN_DIM
        x = x.flatten(0, 1).contiguous(
            memory_format=torch.channels_last if wide else torch.contiguous_format
        )
        c_in = self.in_channels
        for s, c_out in enumerate((d // 8, d // 4, d // 2, d)):
            x = self.proj_bn[s](self.proj_conv[s](x, c_in, c_out), c_out)
            if s >= 4 - self.n_pools:  # pool before the LIF, as spikingjelly's Spikformer does
                x = self._pool(x)
            x = self.proj_lif[s](x.reshape(T, B, *x.shape[1:])).flatten(0, 1)
            c_in = c_out
        x_feat = x  # (TB, D, H', W')
        x = self.rpe_bn(self.rpe_conv(x, d, d), d)
        x = self.rpe_lif(x.reshape(T, B, *x.shape[1:])).flatten(0, 1)
        x = x + x_feat  # (TB, D, H', W')
        return x.permute(0, 2, 3, 1).reshape(T, B, -1, d)  # (T, B, N, D), a view if channels-last

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        """The max-pool; in inference on CPU through a channels-last copy when x is NCHW.

        CPU max-pooling is several times quicker channels-last (bench/eval_speed.py), even with
        the two copies, and a maximum is the same whatever the layout. Training keeps the plain
        call: where a window holds equal values, the layout may route the gradient elsewhere.
        """
        if (
            torch.is_grad_enabled()
            or x.device.type != "cpu"
            or x.is_contiguous(memory_format=torch.channels_last)
        ):
            return self.pool(x)
        return self.pool(x.contiguous(memory_format=torch.channels_last)).contiguous()


class SSA(nn.Module):
    """Spiking Self-Attention: q, k, v = LIF(BN(Linear(x))); attn = q k^T * 0.125; LIF(attn v)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        # q, k and v projections stacked in one weight (rows [q; k; v]) and one BN, as
        # spikingjelly's Spikformer does: same parameters as three Linear+BN pairs.
        self.qkv_linear = StackedLinear(dim, dim, stacked=3)
        self.qkv_bn = StackedBatchNorm(dim, stacked=3)
        self.proj_linear = ElasticLinear(dim, dim, bias=False)
        self.proj_bn = ElasticBatchNorm(dim)
        self.qkv_lif = lif()  # q, k and v neurons share a block's threshold and tau
        self.proj_lif = lif()
        self.attn_lif = lif(ATTN_THRESHOLD)
        self.ssa = SSAProduct()

    def set_neurons(self, threshold: float, tau: float) -> None:
        for node in (self.qkv_lif, self.proj_lif):
            set_lif(node, threshold, tau)
        set_lif(self.attn_lif, ATTN_THRESHOLD, tau)

    def _qkv(self, x: torch.Tensor, d: int) -> torch.Tensor:
        """LIF(BN(Linear(x))) for q, k and v at once: one matmul, one BN call, one LIF."""
        y = self.qkv_linear(x, d, d)  # (T, B, N, 3D)
        y = self.qkv_bn(y.reshape(-1, 3 * d), d)
        return self.qkv_lif(y.reshape(*x.shape[:-1], 3 * d))

    def forward(self, x: torch.Tensor, d: int, heads: int) -> torch.Tensor:
        T, B, N, _ = x.shape  # (T, B, N, D)
        qkv = self._qkv(x, d).reshape(T, B, N, 3, heads, d // heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5)  # each (T, B, heads, N, D/heads)
        x = self.ssa(q, k, v).transpose(2, 3).reshape(T, B, N, d)  # (q k^T * 0.125) v
        x = self.attn_lif(x)
        return self.proj_lif(_bn_tokens(self.proj_bn, self.proj_linear(x, d, d), d))


class MLP(nn.Module):
    """Two Linear-BN-LIF layers."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1_linear = ElasticLinear(dim, hidden, bias=False)
        self.fc1_bn = ElasticBatchNorm(hidden)
        self.fc1_lif = lif()
        self.fc2_linear = ElasticLinear(hidden, dim, bias=False)
        self.fc2_bn = ElasticBatchNorm(dim)
        self.fc2_lif = lif()

    def set_neurons(self, threshold: float, tau: float) -> None:
        set_lif(self.fc1_lif, threshold, tau)
        set_lif(self.fc2_lif, threshold, tau)

    def forward(self, x: torch.Tensor, d: int, hidden: int) -> torch.Tensor:
        x = self.fc1_lif(_bn_tokens(self.fc1_bn, self.fc1_linear(x, d, hidden), hidden))
        return self.fc2_lif(_bn_tokens(self.fc2_bn, self.fc2_linear(x, hidden, d), d))


class Block(nn.Module):
    """x = x + SSA(x); x = x + MLP(x)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.attn = SSA(dim)
        self.mlp = MLP(dim, hidden)

    def forward(self, x: torch.Tensor, arch: Arch, i: int) -> torch.Tensor:
        d = arch.embed_dim
        self.attn.set_neurons(arch.thresholds[i], arch.taus[i])
        self.mlp.set_neurons(arch.thresholds[i], arch.taus[i])
        x = x + self.attn(x, d, arch.num_heads[i])
        return x + self.mlp(x, d, arch.mlp_hidden(i))


class SpikformerBody(nn.Module):
    """Spikformer built at the widths of `capacity`; runs any arch that fits inside it."""

    def __init__(self, shape: ModelShape, embed_dim: int, hiddens: list[int]) -> None:
        super().__init__()
        self.shape = shape
        self.sps = SPS(shape.in_channels, embed_dim, shape.n_pools)
        self.blocks = nn.ModuleList(Block(embed_dim, h) for h in hiddens)
        self.head = ElasticLinear(embed_dim, shape.num_classes)
        self.apply(_init_weights)

    def to_sequence(self, x: torch.Tensor, time_steps: int) -> torch.Tensor:
        """(B, C, S, S) images repeat T times; (B, T', C, S, S) events become T frames.

        Event frames are integrated into T frames of the whole sample: consecutive groups of
        T'/T equal-count frames are summed (`engine.data.base.merge_frames`), so T must divide
        T'. Keeping only the first T frames instead would hide the rest of the sample's events.
        """
        if x.dim() == 4:
            return x.unsqueeze(0).expand(time_steps, *x.shape).contiguous()
        if x.dim() == 5:
            return merge_frames(x, time_steps, dim=1).transpose(0, 1).contiguous()
        raise ValueError(f"expected (B, C, S, S) or (B, T, C, S, S) input, got {tuple(x.shape)}")

    def forward_arch(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        return self.forward_tokens(self.embed(x, arch), arch)

    def embed(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        """SPS tokens (T, B, N, D) of images or events; they depend on `stem_key(arch)` only."""
        functional.reset_net(self.sps)  # no membrane state survives from an earlier call
        return self.sps(self.to_sequence(x, arch.time_steps), arch.embed_dim)

    def forward_tokens(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        """Logits (B, K) of the blocks and head of `arch` on SPS tokens `x` (T, B, N, D)."""
        functional.reset_net(self.blocks)
        for i in range(arch.depth):
            x = self.blocks[i](x, arch, i)
        x = x.mean(2).mean(0)  # (B, D): mean over tokens, then over time
        return self.head(x, arch.embed_dim, self.shape.num_classes)


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.modules.batchnorm._BatchNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


class Spikformer(SpikformerBody):
    """A standalone subnet: plain Spikformer with exactly the widths of `arch`."""

    def __init__(self, arch: Arch, shape: ModelShape) -> None:
        super().__init__(shape, arch.embed_dim, [arch.mlp_hidden(i) for i in range(arch.depth)])
        self.arch = arch
        for i, block in enumerate(self.blocks):
            block.attn.set_neurons(arch.thresholds[i], arch.taus[i])
            block.mlp.set_neurons(arch.thresholds[i], arch.taus[i])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_arch(x, self.arch)


# Genes that reach only the encoder blocks: the SPS stem's output does not depend on them.
BLOCK_GENES = frozenset({"depth", "mlp_ratios", "num_heads", "thresholds", "taus"})


def stem_key(arch: Arch) -> tuple:
    """What the SPS tokens of `arch` depend on besides the weights and the input: every gene
    but the block genes (today embed_dim and time_steps; a gene added later counts too).

    Archs with the same key share the stem's weights (leading slices), neurons and tokens, so
    an evaluator may compute the stem once per key (`engine.stems`).
    """
    return tuple(
        (f.name, getattr(arch, f.name))
        for f in dataclasses.fields(arch)
        if f.name not in BLOCK_GENES
    )
