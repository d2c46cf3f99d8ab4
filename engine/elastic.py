"""Elastic layers for weight entanglement (AutoFormer's `LinearSuper` & co.).

Each layer owns the weights of its largest choice. Called with smaller active sizes it uses the
leading slice `weight[:out, :in]` (and `[:c]` for BN), so every subnet shares the leading part of
the largest weights. Called with no sizes it is the plain layer, which is how an extracted,
standalone subnet uses the same classes with exactly sized weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Below these sizes the BLAS matmul of `F.linear` wins on CPU (bench/cpu_layout.py).
CONV_MIN_ROWS = 2048
CONV_MIN_MACS = 150_000_000


def conv_pays(rows: int, d_in: int, d_out: int) -> bool:
    """Whether `token_linear` takes the 1x1 conv path on CPU for `rows` tokens of d_in -> d_out."""
    return rows >= CONV_MIN_ROWS and rows * d_in * d_out >= CONV_MIN_MACS


def token_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear` over the last dim of tokens `x` (..., N, in), run the fastest way per device.

    Large products on CPU run as a 1x1 convolution of the tokens seen as a channels-last image
    (M, in, N, 1): a free view that oneDNN convolves directly, quicker forward+backward than the
    BLAS matmul behind `F.linear` on this project's CPUs (bench/cpu_layout.py; figures in
    BENCHMARKS.md). Small ones, inputs with fewer than 2 dims and other devices use `F.linear`.
    Same sums, so results agree to float rounding.
    """
    rows = x.numel() // x.shape[-1] if x.dim() >= 2 else 0
    if x.device.type != "cpu" or not conv_pays(rows, weight.shape[1], weight.shape[0]):
        return F.linear(x, weight, bias)
    lead, n, d_in = x.shape[:-2], x.shape[-2], x.shape[-1]
    image = x.reshape(-1, n, 1, d_in).permute(0, 3, 1, 2)  # (M, in, N, 1), channels-last view
    y = F.conv2d(image, weight[:, :, None, None], bias)
    return y.permute(0, 2, 3, 1).reshape(*lead, n, weight.shape[0])


class ElasticLinear(nn.Linear):
    """`nn.Linear` whose forward may use the leading `[:out, :in]` slice of its weight."""

    def forward(
        self, x: torch.Tensor, in_features: int | None = None, out_features: int | None = None
    ) -> torch.Tensor:
        i = in_features or self.in_features
        o = out_features or self.out_features
        w, bias = self.weight, self.bias
        if (o, i) != (self.out_features, self.in_features):  # full width: no slice to backprop
            w, bias = w[:o, :i], None if bias is None else bias[:o]
        return token_linear(x, w, bias)


class ElasticConv2d(nn.Conv2d):
    """`nn.Conv2d` whose forward may use the leading `[:out, :in]` channels of its weight."""

    def forward(
        self, x: torch.Tensor, in_channels: int | None = None, out_channels: int | None = None
    ) -> torch.Tensor:
        i = in_channels or self.in_channels
        o = out_channels or self.out_channels
        w, bias = self.weight, self.bias
        if (o, i) != (self.out_channels, self.in_channels):
            w, bias = w[:o, :i], None if bias is None else bias[:o]
        return F.conv2d(x, w, bias, self.stride, self.padding)


class ElasticBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over dim 1 whose forward may use the leading `[:c]` features.

    Running statistics of the active slice are updated in place in the shared buffers (a leading
    slice of a 1-D buffer is a view), exactly as a plain BatchNorm of that width would.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor, num_features: int | None = None) -> torch.Tensor:
        c = num_features or self.num_features
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average, as nn.BatchNorm does
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or not self.track_running_stats
        tensors = (self.running_mean, self.running_var, self.weight, self.bias)
        if c != self.num_features:  # leading slices (views; running stats update in place)
            tensors = tuple(None if t is None else t[:c] for t in tensors)
        return F.batch_norm(x, *tensors, use_batch_stats, factor, self.eps)


class StackedLinear(ElasticLinear):
    """Linear whose outputs are `stacked` equal blocks (q, k and v of SSA in one matmul).

    Weight entanglement applies inside each block: a width-`o` subnet uses rows `[:o]` of every
    block. At full width no copy is made, so a standalone subnet runs one plain matmul.
    """

    def __init__(self, in_features: int, block_features: int, stacked: int) -> None:
        super().__init__(in_features, block_features * stacked, bias=False)
        self.stacked = stacked

    def forward(
        self, x: torch.Tensor, in_features: int | None = None, block_features: int | None = None
    ) -> torch.Tensor:
        g, full, n_in = self.stacked, self.out_features // self.stacked, self.in_features
        i, o = in_features or n_in, block_features or full
        w = self.weight
        if (i, o) != (n_in, full):
            w = w.view(g, full, n_in)[:, :o, :i].reshape(g * o, i)
        return token_linear(x, w, None)


class StackedBatchNorm(ElasticBatchNorm):
    """BN over `stacked` equal blocks of features, sliced to the leading `c` of each block."""

    def __init__(self, block_features: int, stacked: int) -> None:
        super().__init__(block_features * stacked)
        self.stacked = stacked

    def forward(self, x: torch.Tensor, block_features: int | None = None) -> torch.Tensor:
        g, full = self.stacked, self.num_features // self.stacked
        c = block_features or full
        if c == full:
            return super().forward(x)

        def pick(t: torch.Tensor) -> torch.Tensor:  # (g * full,) -> (g * c,), a copy
            return t.view(g, full)[:, :c].reshape(-1)

        factor = 0.0 if self.momentum is None else self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        mean, var = pick(self.running_mean), pick(self.running_var)
        out = F.batch_norm(
            x, mean, var, pick(self.weight), pick(self.bias), self.training, factor, self.eps
        )
        if self.training:  # write the updated statistics back into the shared buffers
            with torch.no_grad():
                self.running_mean.view(g, full)[:, :c].copy_(mean.view(g, c))
                self.running_var.view(g, full)[:, :c].copy_(var.view(g, c))
        return out


def copy_leading_slices(source: nn.Module, target: nn.Module) -> None:
    """Copy into every tensor of `target` the leading slice of the same-named tensor of `source`.

    This is weight entanglement read backwards: the standalone subnet's tensor of shape
    (o, i, k, k) receives `source[:o, :i, :k, :k]`; a stacked layer's tensor receives the
    leading slice of each of its blocks.
    """
    modules = dict(source.named_modules())
    with torch.no_grad():
        for mod_name, module in target.named_modules():
            if mod_name not in modules:
                raise KeyError(f"supernet has no module {mod_name!r}")
            src_module = modules[mod_name]
            g = getattr(module, "stacked", 1)
            own = {
                **dict(module.named_parameters(recurse=False)),
                **dict(module.named_buffers(recurse=False)),
            }
            src = {
                **dict(src_module.named_parameters(recurse=False)),
                **dict(src_module.named_buffers(recurse=False)),
            }
            for name, tensor in own.items():
                s = src[name]
                if tensor.dim() == 0:
                    tensor.copy_(s)
                elif g > 1:  # slice inside each stacked block
                    blocks = s.view(g, s.shape[0] // g, *s.shape[1:])
                    shape = (g, tensor.shape[0] // g, *tensor.shape[1:])
                    tensor.copy_(blocks[tuple(slice(0, n) for n in shape)].reshape(tensor.shape))
                else:
                    tensor.copy_(s[tuple(slice(0, n) for n in tensor.shape)])
