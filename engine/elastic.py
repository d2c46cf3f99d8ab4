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


class ElasticLinear(nn.Linear):
    """`nn.Linear` whose forward may use the leading `[:out, :in]` slice of its weight."""

    def forward(
        self, x: torch.Tensor, in_features: int | None = None, out_features: int | None = None
    ) -> torch.Tensor:
        i = in_features or self.in_features
        o = out_features or self.out_features
        bias = None if self.bias is None else self.bias[:o]
        return F.linear(x, self.weight[:o, :i], bias)


class ElasticConv2d(nn.Conv2d):
    """`nn.Conv2d` whose forward may use the leading `[:out, :in]` channels of its weight."""

    def forward(
        self, x: torch.Tensor, in_channels: int | None = None, out_channels: int | None = None
    ) -> torch.Tensor:
        i = in_channels or self.in_channels
        o = out_channels or self.out_channels
        bias = None if self.bias is None else self.bias[:o]
        return F.conv2d(x, self.weight[:o, :i], bias, self.stride, self.padding)


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
        return F.batch_norm(
            x,
            self.running_mean[:c] if self.running_mean is not None else None,
            self.running_var[:c] if self.running_var is not None else None,
            self.weight[:c] if self.affine else None,
            self.bias[:c] if self.affine else None,
            use_batch_stats,
            factor,
            self.eps,
        )


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
        return F.linear(x, w)


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
