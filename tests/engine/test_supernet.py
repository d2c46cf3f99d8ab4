"""Supernet: weight entanglement, extraction equality, state reset, backward, param counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.shape import ModelShape, count_params
from engine.space import SearchSpace
from engine.supernet import Supernet

SHAPES = {
    "digits-tiny": (1, 10, 16),
    "cifar-small": (3, 10, 16),  # 16 px keeps it fast; equality is about the weights
    "cifar-large": (3, 100, 16),
    "cifar-snn": (3, 10, 16),
    "mnist-small": (1, 10, 28),
    "mnist-snn": (1, 10, 28),
}


def _trained_like(net: Supernet, seed: int) -> Supernet:
    """Give BN non-trivial statistics so extraction copies something that matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net.eval()


@pytest.mark.parametrize("preset", list(SHAPES))
def test_extracted_subnet_equals_supernet(preset: str) -> None:
    torch.manual_seed(0)
    c, k, s = SHAPES[preset]
    space = SearchSpace.preset(preset)
    net = _trained_like(Supernet(space, in_channels=c, num_classes=k, image_size=s), 0)
    rng = np.random.default_rng(0)
    x = torch.randn(2, c, s, s) * 2
    worst = 0.0
    with torch.no_grad():
        for _ in range(20):
            arch = space.sample(rng)
            sub = net.extract(arch).eval()
            worst = max(worst, float((net(x, arch) - sub(x)).abs().max()))
            assert sum(p.numel() for p in sub.parameters()) == count_params(arch, net.shape)
    assert worst <= 1e-5


def test_no_state_leaks_between_calls() -> None:
    space = SearchSpace.preset("digits-tiny")
    net = _trained_like(Supernet(space, in_channels=1, num_classes=10, image_size=16), 1)
    rng = np.random.default_rng(1)
    a, b = space.sample(rng), space.sample(rng)
    x = torch.randn(4, 1, 16, 16) * 3
    with torch.no_grad():
        first = net(x, a)
        net(x, b)  # different thresholds, taus, T and widths in between
        assert torch.equal(net(x, a), first)
        assert torch.equal(net(x, a), first)  # membrane potentials are reset every call


def test_backward_reaches_only_the_active_slices() -> None:
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16).train()
    arch = space.smallest()
    x = torch.randn(8, 1, 16, 16) * 3
    loss = torch.nn.functional.cross_entropy(net(x, arch), torch.arange(8) % 10)
    loss.backward()
    w = net.blocks[0].mlp.fc1_linear.weight
    assert w.grad is not None and torch.isfinite(w.grad).all()
    hidden, d = arch.mlp_hidden(0), arch.embed_dim
    assert w.grad[:hidden, :d].abs().sum() > 0
    assert w.grad[hidden:].abs().sum() == 0 and w.grad[:, d:].abs().sum() == 0
    unused = net.blocks[arch.depth].mlp.fc1_linear.weight  # blocks beyond depth are skipped
    assert unused.grad is None


def test_event_input_is_integrated_into_t_frames_of_the_whole_sample() -> None:
    space = SearchSpace.preset("digits-tiny")
    net = _trained_like(Supernet(space, in_channels=1, num_classes=10, image_size=16), 2)
    x = torch.rand(2, 4, 1, 16, 16) * 3  # 4 equal-count frames
    with torch.no_grad():
        for t in (1, 2, 4):
            arch = dataclasses.replace(space.smallest(), time_steps=t)
            sequence = net.to_sequence(x, t)  # (T, B, C, S, S)
            assert sequence.shape == (t, 2, 1, 16, 16)
            assert torch.allclose(sequence.sum(0), x.sum(1))  # every frame's events are seen
            merged = x.reshape(2, t, 4 // t, 1, 16, 16).sum(2)  # already integrated into T
            assert torch.equal(net(x, arch), net(merged, arch))
        later = x.clone()
        later[:, 3] += 1.0  # the last frame matters even at T = 1
        assert not torch.equal(net.to_sequence(x, 1), net.to_sequence(later, 1))
        arch = space.smallest()
        with pytest.raises(ValueError, match="must divide the 4 event frames"):
            net(x, dataclasses.replace(arch, time_steps=3))


def test_dvs_grid_is_spikformers_64_tokens() -> None:
    """128x128 DVS frames end at Spikformer's 8x8 = 64 tokens after SPS's four max-pools."""
    shape = ModelShape(2, 11, 128)
    assert (shape.n_pools, shape.num_tokens) == (4, 64)
    space = SearchSpace.from_dict({**SearchSpace.preset("digits-tiny").to_dict(), "depth": [1]})
    arch = space.smallest()
    net = Supernet(space, in_channels=2, num_classes=11, image_size=128).eval()
    x = torch.rand(1, 16, 2, 128, 128)
    with torch.no_grad():
        tokens = net.sps(net.to_sequence(x, arch.time_steps), arch.embed_dim)
        assert tokens.shape == (arch.time_steps, 1, 64, arch.embed_dim)
        assert net(x, arch).shape == (1, 11)
    assert (ModelShape(1, 10, 28).num_tokens, ModelShape(3, 10, 32).num_tokens) == (49, 64)


def test_param_count_matches_spikingjelly_spikformer_cifar10() -> None:
    """Extracted 4-384 subnet vs spikingjelly's reference `spikformer_cifar10()` (9,310,906).

    They agree exactly: like spikingjelly, the q/k/v/proj and MLP projections have no bias (each
    is followed by BN, which makes a bias redundant), all convs are bias-free, and the head has
    one. ZK-Zhou's original code uses nn.Linear with bias (+13,824 parameters for 4-384).
    """
    from spikingjelly.activation_based.model.spikformer import spikformer_cifar10

    ref = sum(p.numel() for p in spikformer_cifar10().parameters())
    space = SearchSpace.preset("cifar-snn")
    net = Supernet(space, in_channels=3, num_classes=10, image_size=32)
    sub = net.extract(space.largest())
    assert sum(p.numel() for p in sub.parameters()) == ref == 9_310_906
    assert count_params(space.largest(), ModelShape(3, 10, 32)) == ref


def test_alternate_choice_sets_snn_parameters() -> None:
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16).eval()
    arch = space.sample(np.random.default_rng(5))
    with torch.no_grad():
        net(torch.randn(1, 1, 16, 16), arch)
    for i in range(arch.depth):
        block = net.blocks[i]
        assert block.mlp.fc1_lif.v_threshold == arch.thresholds[i]
        assert block.attn.qkv_lif.tau == arch.taus[i]
        assert block.attn.attn_lif.v_threshold == 0.5  # Spikformer's attention threshold


def test_stacked_bn_equals_separate_bns_at_a_smaller_width() -> None:
    from engine.elastic import ElasticBatchNorm, StackedBatchNorm

    torch.manual_seed(0)
    separate = [ElasticBatchNorm(8) for _ in range(3)]
    stacked = StackedBatchNorm(8, stacked=3)
    with torch.no_grad():
        for i, bn in enumerate(separate):
            bn.weight.uniform_(0.5, 1.5)
            stacked.weight[8 * i : 8 * (i + 1)].copy_(bn.weight)
    x = torch.randn(32, 18) * 2 + 1
    want = torch.cat([bn(x[:, 6 * i : 6 * (i + 1)], 6) for i, bn in enumerate(separate)], 1)
    assert torch.allclose(want, stacked(x, 6), atol=1e-6)
    for i, bn in enumerate(separate):
        assert torch.allclose(bn.running_mean, stacked.running_mean[8 * i : 8 * (i + 1)])
        assert torch.allclose(bn.running_var, stacked.running_var[8 * i : 8 * (i + 1)])


def test_ssa_product_orders_agree_exactly_on_spikes() -> None:
    from engine.spikformer import SSA_SCALE, SSAProduct

    g = torch.Generator().manual_seed(0)
    for n, dh in ((64, 8), (4, 32)):  # both branches
        q, k, v = ((torch.rand(3, 2, n, dh, generator=g) < 0.3).float() for _ in range(3))
        paper = (q @ k.transpose(-2, -1) * SSA_SCALE) @ v
        assert torch.equal(SSAProduct()(q, k, v), paper)


@pytest.mark.parametrize(("threshold", "tau"), [(1.0, 2.0), (0.6, 1.25), (1.4, 10.0)])
def test_lif_is_eq1_with_the_threshold_scaled_by_tau(threshold: float, tau: float) -> None:
    """docs/model.md: spikingjelly's decay_input LIF at (threshold, tau) is the paper's Eq. 1,
    u[t] = (1 - 1/tau) u[t-1] (1 - y[t-1]) + I[t], firing at tau x threshold."""
    from spikingjelly.activation_based import functional

    from engine.spikformer import lif

    x = torch.rand(8, 1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3
    node = lif(threshold, tau)
    spikes = node(x)
    functional.reset_net(node)
    u, y, expected = torch.zeros(1000, dtype=torch.float64), torch.zeros(1000), []
    for t in range(8):
        u = (1 - 1 / tau) * u * (1 - y) + x[t]
        y = (u >= tau * threshold).to(torch.float64)
        expected.append(y)
    assert torch.equal(spikes, torch.stack(expected))
    assert 0 < float(spikes.mean()) < 1
