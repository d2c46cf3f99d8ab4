"""The CPU layout paths of the engine compute what the plain layers compute.

`token_linear` runs large token projections as a 1x1 oneDNN convolution on CPU, and SPS keeps
wide feature maps channels-last; both must agree with `F.linear` / NCHW in values and gradients,
the supernet must still equal its extracted subnet where those paths run, and the extracted
4-384 subnet loaded with spikingjelly's `spikformer_cifar10` weights must give its logits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import engine.elastic as elastic
import engine.spikformer as spikformer
from engine.space import SearchSpace
from engine.supernet import Supernet


def _grads(fn, *tensors: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*leaves)
    out.backward(torch.linspace(-1, 1, out.numel()).reshape(out.shape))
    return out.detach(), [t.grad for t in leaves]


@pytest.mark.parametrize("shape", [(2, 3, 40, 24), (96, 24), (5, 1, 24)])
@pytest.mark.parametrize("bias", [True, False])
def test_token_linear_conv_path_equals_f_linear(monkeypatch, shape, bias) -> None:
    monkeypatch.setattr(elastic, "CONV_MIN_ROWS", 0)  # force the 1x1 conv path
    monkeypatch.setattr(elastic, "CONV_MIN_MACS", 0)
    calls = []
    real_conv = F.conv2d
    monkeypatch.setattr(F, "conv2d", lambda *a, **k: calls.append(1) or real_conv(*a, **k))
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(shape, generator=g) < 0.3).float()
    w = torch.randn(16, shape[-1], generator=g)
    b = torch.randn(16, generator=g) if bias else None
    args = (x, w) if b is None else (x, w, b)
    got, got_grads = _grads(lambda x, w, b=None: elastic.token_linear(x, w, b), *args)
    want, want_grads = _grads(lambda *t: F.linear(*t), *args)
    assert calls, "the conv path did not run"
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for a, e in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_token_linear_keeps_f_linear_below_the_thresholds(monkeypatch) -> None:
    calls = []
    real_conv = F.conv2d
    monkeypatch.setattr(F, "conv2d", lambda *a, **k: calls.append(1) or real_conv(*a, **k))
    x, w = torch.rand(2, 16, 32), torch.randn(64, 32)  # 32 rows: far below CONV_MIN_ROWS
    assert torch.equal(elastic.token_linear(x, w, None), F.linear(x, w))
    assert not calls


def test_sps_channels_last_equals_nchw(monkeypatch) -> None:
    torch.manual_seed(0)
    space = SearchSpace.preset("cifar-small")
    net = Supernet(space, in_channels=3, num_classes=10, image_size=16).train()
    arch = space.sample(np.random.default_rng(3))
    x = torch.randn(3, 3, 16, 16)

    def run(min_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        monkeypatch.setattr(spikformer, "CHANNELS_LAST_MIN_DIM", min_dim)
        net.zero_grad()
        out = net(x, arch)
        out.square().sum().backward()
        return out.detach(), net.sps.proj_conv[2].weight.grad.clone()

    cl_out, cl_grad = run(0)
    nchw_out, nchw_grad = run(10**9)
    torch.testing.assert_close(cl_out, nchw_out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(cl_grad, nchw_grad, rtol=1e-3, atol=1e-5)


def test_extraction_equality_where_the_conv_path_runs(monkeypatch) -> None:
    """cifar-snn at 32 px, batch 8, T=4: 2,048 token rows, so projections run as 1x1 convs."""
    pointwise = []
    real_conv = F.conv2d

    def conv2d(x, w, *args, **kwargs):
        pointwise.append(w.shape[-2:] == (1, 1))
        return real_conv(x, w, *args, **kwargs)

    monkeypatch.setattr(F, "conv2d", conv2d)
    torch.manual_seed(0)
    space = SearchSpace.preset("cifar-snn")
    net = Supernet(space, in_channels=3, num_classes=10, image_size=32).eval()
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        for arch in (space.largest(), space.sample(np.random.default_rng(0))):
            sub = net.extract(arch).eval()
            assert float((net(x, arch) - sub(x)).abs().max()) <= 1e-5
    assert any(pointwise), "no projection ran as a 1x1 conv"


def _copy_spikingjelly_weights(ref: torch.nn.Module, ours: torch.nn.Module) -> None:
    """Load spikingjelly's `spikformer_cifar10` tensors into our Spikformer of the same arch."""
    names = {
        "patch_embed.positional_encoding.conv_bn.block.0": "sps.rpe_conv",
        "patch_embed.positional_encoding.conv_bn.block.1": "sps.rpe_bn",
        "head": "head",
    }
    for s in range(4):
        names[f"patch_embed.stages.{s}.conv_bn.block.0"] = f"sps.proj_conv.{s}"
        names[f"patch_embed.stages.{s}.conv_bn.block.1"] = f"sps.proj_bn.{s}"
    for b in range(len(ours.blocks)):
        for theirs, mine in (
            ("attn.qkv_conv_bn.0", "attn.qkv_linear"),
            ("attn.qkv_conv_bn.1", "attn.qkv_bn"),
            ("attn.proj_conv_bn.0", "attn.proj_linear"),
            ("attn.proj_conv_bn.1", "attn.proj_bn"),
            ("mlp.fc1.0", "mlp.fc1_linear"),
            ("mlp.fc1.1", "mlp.fc1_bn"),
            ("mlp.fc2.0", "mlp.fc2_linear"),
            ("mlp.fc2.1", "mlp.fc2_bn"),
        ):
            names[f"blocks.{b}.{theirs}"] = f"blocks.{b}.{mine}"
    theirs, mine = ref.state_dict(), ours.state_dict()
    with torch.no_grad():
        for key, tensor in theirs.items():
            module, _, leaf = key.rpartition(".")
            target = mine[f"{names[module]}.{leaf}"]
            target.copy_(tensor.reshape(target.shape))  # Conv1d (o, i, 1) -> Linear (o, i)


@pytest.mark.parametrize("forced", [False, True])
def test_extracted_4_384_computes_spikingjelly_spikformer_cifar10(monkeypatch, forced) -> None:
    """Same weights in, same logits out: our Spikformer is spikingjelly's (T=4, thresholds 1,
    tau 2), with and without the CPU layout paths (forced on at this small batch)."""
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.model.spikformer import spikformer_cifar10

    from engine.shape import ModelShape
    from engine.space import Arch
    from engine.spikformer import Spikformer

    if forced:
        monkeypatch.setattr(elastic, "CONV_MIN_ROWS", 0)
        monkeypatch.setattr(elastic, "CONV_MIN_MACS", 0)
        monkeypatch.setattr(spikformer, "CHANNELS_LAST_MIN_DIM", 0)
    torch.manual_seed(0)
    ref = spikformer_cifar10(T=4)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # weights that make neurons fire, non-trivial BN
        for m in ref.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 2 / fan_in**0.5)
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    arch = Arch(384, 4, (4.0,) * 4, (12,) * 4, 4, (1.0,) * 4, (2.0,) * 4)
    ours = Spikformer(arch, ModelShape(3, 10, 32))
    _copy_spikingjelly_weights(ref, ours)
    ref, ours = ref.double().eval(), ours.double().eval()
    x = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64) * 2
    with torch.no_grad():
        want = ref(x).mean(0)  # spikingjelly's head runs per step: (T, B, K)
        functional.reset_net(ref)
        got = ours(x)
    assert want.std() > 1e-2  # the logits are not trivially constant
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
