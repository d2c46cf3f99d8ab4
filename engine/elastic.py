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


def copy_leading_slices(source: nn.Module, target: nn.Module) -> None:
    """Copy into every tensor of `target` the leading slice of the same-named tensor of `source`.

    This is weight entanglement read backwards: the standalone subnet's tensor of shape
    (o, i, k, k) receives `source[:o, :i, :k, :k]`.
    """
    src = source.state_dict()
    with torch.no_grad():
        for name, tensor in target.state_dict().items():
            if name not in src:
                raise KeyError(f"supernet has no tensor {name!r}")
            s = src[name]
            if tensor.dim() == 0:
                tensor.copy_(s)
                continue
            tensor.copy_(s[tuple(slice(0, n) for n in tensor.shape)])


def batch_norm_group(bns: list[ElasticBatchNorm], x: torch.Tensor, c: int) -> torch.Tensor:
    """BN of `len(bns)` layers side by side on `x` (M, len(bns) * c), in one kernel call.

    Same result as applying `bns[i]` to the i-th block of `c` channels (q, k and v of SSA share
    one matmul and one BN call this way); running statistics are written back to each layer.
    """
    first = bns[0]
    training = first.training or not first.track_running_stats
    factor = 0.0 if first.momentum is None else first.momentum
    stats = first.track_running_stats
    if first.training and stats:
        for bn in bns:
            bn.num_batches_tracked.add_(1)
        if first.momentum is None:
            factor = 1.0 / float(first.num_batches_tracked)
    mean = torch.cat([bn.running_mean[:c] for bn in bns]) if stats else None
    var = torch.cat([bn.running_var[:c] for bn in bns]) if stats else None
    out = F.batch_norm(
        x,
        mean,
        var,
        torch.cat([bn.weight[:c] for bn in bns]),
        torch.cat([bn.bias[:c] for bn in bns]),
        training,
        factor,
        first.eps,
    )
    if first.training and stats:
        with torch.no_grad():
            for i, bn in enumerate(bns):
                bn.running_mean[:c].copy_(mean[i * c : (i + 1) * c])
                bn.running_var[:c].copy_(var[i * c : (i + 1) * c])
    return out
