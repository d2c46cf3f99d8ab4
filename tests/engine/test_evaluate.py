"""SubnetEvaluator with shared stems: the same results, to the bit, as a full forward."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.evaluate import SubnetEvaluator, evaluate_model, recalibrate_bn, to_result
from engine.shape import count_params
from engine.space import SearchSpace
from engine.spikformer import stem_key
from engine.supernet import Supernet


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    torch.manual_seed(0)
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    with torch.no_grad():  # weights large enough that every layer fires
        for p in net.parameters():
            if p.dim() > 1:
                p.normal_(0, 1.0 / p[0].numel() ** 0.5)
    return net.eval()


def _evaluator(net: Supernet, **kw) -> SubnetEvaluator:
    return SubnetEvaluator(net, "digits", recalib_batches=2, batch_size=64, val_batches=2, **kw)


def _full_forward(ev: SubnetEvaluator, arch):
    """The evaluation as it was before stems: recalibrate, then measure the whole subnet."""
    subnet = ev.supernet.extract(arch)
    recalibrate_bn(subnet, ev.recalib)
    accuracy, report = evaluate_model(subnet, ev.val)
    params = count_params(arch, ev.supernet.shape)
    return to_result(arch, accuracy, report.priced(ev.profile), params), subnet


def _archs(net: Supernet, n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [net.space.sample(rng) for _ in range(n)]


def test_results_and_statistics_equal_a_full_forward_bit_for_bit(supernet: Supernet) -> None:
    ev = _evaluator(supernet)
    archs = _archs(supernet, 10)
    shared = archs[0]
    archs.append(dataclasses.replace(shared, thresholds=tuple(1.8 for _ in shared.thresholds)))
    for arch in archs:
        got, subnet = ev.evaluate_one(arch)
        want, reference = _full_forward(ev, arch)
        assert got.to_dict() == want.to_dict()
        state, ref_state = subnet.state_dict(), reference.state_dict()
        assert state.keys() == ref_state.keys()
        assert all(torch.equal(state[k], ref_state[k]) for k in state)
    assert ev.stems.hits >= 1 and ev.stems.misses == len({stem_key(a) for a in archs})
    assert 0 < got.firing_rate < 1 and got.sops > 0


def test_results_do_not_depend_on_order_or_on_the_cache(supernet: Supernet) -> None:
    archs = _archs(supernet, 6, seed=1)
    forward = [r.to_dict() for r in _evaluator(supernet)(archs)]
    backward = [r.to_dict() for r in _evaluator(supernet)(archs[::-1])][::-1]
    uncached = _evaluator(supernet, stem_cache_bytes=0)
    assert forward == backward == [r.to_dict() for r in uncached(archs)]
    assert uncached.stems.hits == 0 and uncached.stems.nbytes == 0


def test_without_recalibration_the_supernet_statistics_are_used(supernet: Supernet) -> None:
    ev = SubnetEvaluator(supernet, "digits", recalib_batches=0, batch_size=64, val_batches=1)
    arch = _archs(supernet, 1, seed=2)[0]
    got, _ = ev.evaluate_one(arch)
    subnet = supernet.extract(arch)
    accuracy, report = evaluate_model(subnet, ev.val)
    assert got.accuracy == accuracy and got.energy_uj == report.energy_uj


def test_the_cache_keeps_at_most_its_budget_least_recent_out(supernet: Supernet) -> None:
    space = supernet.space
    small, large = space.smallest(), space.largest()
    ev = _evaluator(supernet)
    ev.evaluate_one(small)
    one = ev.stems.nbytes
    assert one > 0
    budget = _evaluator(supernet, stem_cache_bytes=one)
    budget.evaluate_one(small)
    assert budget.stems.nbytes == one
    budget.evaluate_one(large)  # larger than the budget: used once, not kept; small stays
    assert budget.stems.nbytes == one
    budget.evaluate_one(small)
    assert budget.stems.hits == 1


def test_stored_tokens_are_uint8(supernet: Supernet) -> None:
    ev = _evaluator(supernet)
    arch = _archs(supernet, 1, seed=3)[0]
    ev.evaluate_one(arch)
    stem = ev.stems.get(supernet.extract(arch), arch)
    assert all(t.dtype == torch.uint8 for t in stem.val_tokens + stem.recalib_tokens)
    assert int(max(int(t.max()) for t in stem.val_tokens)) <= 2


def test_stem_key_ignores_block_genes_only() -> None:
    space = SearchSpace.preset("digits-tiny")
    arch = space.largest()
    blocks = dataclasses.replace(
        arch, thresholds=tuple(0.6 for _ in arch.thresholds), taus=tuple(10.0 for _ in arch.taus)
    )
    shallow = dataclasses.replace(
        arch,
        depth=1,
        mlp_ratios=arch.mlp_ratios[:1],
        num_heads=arch.num_heads[:1],
        thresholds=arch.thresholds[:1],
        taus=arch.taus[:1],
    )
    assert stem_key(blocks) == stem_key(arch) == stem_key(shallow)
    assert stem_key(dataclasses.replace(arch, time_steps=1)) != stem_key(arch)
    assert stem_key(dataclasses.replace(arch, embed_dim=32, num_heads=(2, 2))) != stem_key(arch)


@pytest.mark.parametrize(("preset", "image_size"), [("digits-tiny", 16), ("mnist-small", 28)])
def test_inference_forward_equals_the_autograd_forward(preset: str, image_size: int) -> None:
    """Without gradients the LIF (engine/lif.py) and the SPS max-pool (channels-last) take
    quicker paths; logits and every spike agree bit for bit with the autograd forward."""
    torch.manual_seed(1)
    space = SearchSpace.preset(preset)
    net = Supernet(space, in_channels=1, num_classes=10, image_size=image_size).train()
    with torch.no_grad():  # train mode: BN normalizes by the batch, so every layer fires
        for p in net.parameters():
            if p.dim() > 1:
                p.normal_(0, 1.0 / p[0].numel() ** 0.5)
    x = torch.randn(8, 1, image_size, image_size)
    for arch in _archs(net, 4, seed=4):
        with torch.no_grad():
            fast = net(x, arch)
            fast_tokens = net.embed(x, arch)
        slow = net(x, arch).detach()
        slow_tokens = net.embed(x, arch).detach()
        assert torch.equal(fast, slow) and torch.equal(fast_tokens, slow_tokens)
        assert 0 < float(slow_tokens.mean()) < 2
