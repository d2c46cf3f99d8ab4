"""The hypervolume reference: the analytic energy bound against energies measured by EnergyMeter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import energy
from engine.energy import measure
from engine.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from engine.search import reference
from engine.search.reference import energy_bound_uj, space_reference_energy_uj
from engine.space import SearchSpace
from engine.spikformer import ModelShape
from engine.supernet import Supernet

DIGITS = ModelShape(in_channels=1, num_classes=10, image_size=16)
EVENTS = ModelShape(in_channels=2, num_classes=11, image_size=64)  # 4 pools: the DVS layout
SPACE = SearchSpace.preset("digits-tiny")


def _saturate(net: torch.nn.Module) -> None:
    """Every BatchNorm outputs 1000 whatever its input, so every LIF after one fires at every step
    (and the attention LIF, fed by all-ones q, k and v, too): inputs reach their largest values."""
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.constant_(m.bias, 1000.0)


def test_the_default_profile_is_the_papers_constants():
    default = get_profile(DEFAULT_PROFILE)
    assert (default.pj_per_mac, default.pj_per_sop) == (energy.E_MAC_PJ, energy.E_AC_PJ)
    assert default.pj_per_neuron_update == 0.0


@pytest.mark.parametrize("shape, event", [(DIGITS, False), (EVENTS, True)])
def test_a_saturated_network_measures_exactly_the_bound(shape, event):
    torch.manual_seed(0)
    net = Supernet(
        SPACE,
        in_channels=shape.in_channels,
        num_classes=shape.num_classes,
        image_size=shape.image_size,
    )
    _saturate(net)
    rng = np.random.default_rng(0)
    for arch in [SPACE.largest(), SPACE.smallest(), SPACE.sample(rng), SPACE.sample(rng)]:
        size = shape.image_size
        if event:
            x = torch.rand(2, arch.time_steps, shape.in_channels, size, size)
        else:
            x = torch.rand(2, shape.in_channels, size, size)
        measured = measure(net, x, arch=arch)
        assert max(measured.firing_rates.values()) == min(measured.firing_rates.values()) == 1.0
        bound = reference.ops_bound(arch, shape, event_input=event)
        counts = {k: getattr(measured, k) for k in ("macs", "sops", "neuron_updates")}
        assert counts == pytest.approx(bound, rel=1e-9)
        for name in PROFILES:  # so the bound is exact under every profile
            priced = measured.priced(name).energy_uj
            assert priced == pytest.approx(
                energy_bound_uj(arch, shape, event_input=event, profile=name), rel=1e-9
            )


def test_ordinary_networks_measure_less_than_the_bound():
    torch.manual_seed(1)
    net = Supernet(SPACE, in_channels=1, num_classes=10, image_size=16)
    for m in net.modules():  # some neurons fire, some do not
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.uniform_(m.bias, 0.0, 4.0)
    rng = np.random.default_rng(1)
    for _ in range(4):
        arch = SPACE.sample(rng)
        measured = measure(net, torch.rand(4, 1, 16, 16), arch=arch)
        assert 0 < measured.firing_rate < 1
        assert 0 < measured.sops and measured.energy_uj < energy_bound_uj(arch, DIGITS)


@pytest.mark.parametrize("preset", ["digits-tiny", "cifar-small", "cifar-large", "cifar-snn"])
def test_no_arch_of_the_space_has_a_larger_bound_than_the_reference(preset):
    space = SearchSpace.preset(preset)
    shape = DIGITS if preset == "digits-tiny" else ModelShape(3, 10, 32)
    ref = space_reference_energy_uj(space, shape)
    rng = np.random.default_rng(2)
    bounds = [energy_bound_uj(space.sample(rng), shape) for _ in range(300)]
    assert max(bounds) <= ref
    assert ref == energy_bound_uj(space.largest(), shape)


def test_events_pay_the_first_conv_every_step():
    arch = SPACE.largest()
    static = energy_bound_uj(arch, EVENTS, event_input=False)
    events = energy_bound_uj(arch, EVENTS, event_input=True)
    first_conv = 64 * 64 * 2 * (arch.embed_dim // 8) * 9 * energy.E_MAC_PJ / 1e6
    assert events - static == pytest.approx(first_conv * (arch.time_steps - 1))
