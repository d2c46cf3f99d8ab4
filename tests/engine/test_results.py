"""EvalResult: silent candidates (a block that never fires) from real measured firing rates."""

from __future__ import annotations

import json

import pytest
import torch

from engine.energy import measure
from engine.results import EvalResult, is_silent, silent_blocks
from engine.space import SearchSpace
from engine.supernet import Supernet

SPACE = SearchSpace.preset("digits-tiny")


def _firing_net() -> Supernet:
    torch.manual_seed(0)
    net = Supernet(SPACE, in_channels=1, num_classes=10, image_size=16)
    for m in net.modules():  # every BN's output in [0.5, 3]: most neurons fire
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.uniform_(m.bias, 0.5, 3.0)
    return net


def _silence_block(net: Supernet, block: int) -> None:
    for m in net.blocks[block].modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.constant_(m.bias, -1000.0)


def _result(net: torch.nn.Module, arch, *, supernet: bool) -> EvalResult:
    report = measure(net, torch.rand(2, 1, 16, 16), arch=arch if supernet else None)
    return EvalResult(
        arch=arch,
        accuracy=0.5,
        energy_uj=report.energy_uj,
        params=1,
        sops=report.sops,
        firing_rate=report.firing_rate,
        firing_rates=report.firing_rates,
    )


def test_a_firing_network_is_not_silent():
    arch = SPACE.largest()
    result = _result(_firing_net(), arch, supernet=True)
    assert any(k.startswith("blocks.1.") for k in result.firing_rates)
    assert result.silent_blocks == [] and result.silent is False


@pytest.mark.parametrize("block", [0, 1])
def test_a_block_that_never_fires_makes_the_candidate_silent(block):
    net = _firing_net()
    _silence_block(net, block)
    arch = SPACE.largest()
    assert arch.depth >= 2
    for result in (
        _result(net, arch, supernet=True),
        _result(net.extract(arch), arch, supernet=False),
    ):
        assert result.silent_blocks == [block + 1] and result.silent
        d = json.loads(json.dumps(result.to_dict()))
        assert d["silent"] is True
        assert EvalResult.from_dict(d) == result  # derived, not stored


def test_silent_blocks_judges_only_blocks_with_rates():
    rates = {
        "blocks.0.attn.qkv_lif": 0.0,
        "blocks.0.mlp.fc2_lif": 0.0,
        "blocks.1.attn.qkv_lif": 0.1,
    }
    assert silent_blocks(rates, depth=3) == [1]  # block 3 has no rates: not judged
    assert is_silent(rates, 3) and not is_silent({"sps.proj_lif.0": 0.0}, 2)
    assert silent_blocks({"blocks.10.x": 0.0, "blocks.1.x": 0.2}, depth=2) == []
