"""The hypervolume reference: the analytic energy bound against energies measured by EnergyMeter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import energy
from engine.energy import measure
from engine.pareto import hypervolume, normalized_hypervolume
from engine.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from engine.search import reference
from engine.search.reference import (
    dataset_front_box,
    dataset_reference_energy_uj,
    energy_bound_uj,
    front_box,
    space_floor_energy_uj,
    space_reference_energy_uj,
)
from engine.shape import ModelShape
from engine.space import SearchSpace
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


# ---- the floor and the normalized hypervolume's box --------------------------------------------
def _silence(net: torch.nn.Module) -> None:
    """Every BatchNorm outputs -1000, so no LIF after one ever fires (nor the attention LIF, fed
    by all-zero q, k and v): every spike-driven layer reads zeros."""
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.constant_(m.bias, -1000.0)


@pytest.mark.parametrize("shape, event", [(DIGITS, False), (EVENTS, True)])
def test_a_silent_network_measures_exactly_its_floor_and_no_less_than_the_spaces(shape, event):
    torch.manual_seed(0)
    net = Supernet(
        SPACE,
        in_channels=shape.in_channels,
        num_classes=shape.num_classes,
        image_size=shape.image_size,
    )
    _silence(net)
    rng = np.random.default_rng(0)
    for arch in [SPACE.smallest(), SPACE.largest(), SPACE.sample(rng), SPACE.sample(rng)]:
        size = shape.image_size
        x = torch.rand(2, *((arch.time_steps,) if event else ()), shape.in_channels, size, size)
        measured = measure(net, x, arch=arch)
        assert max(measured.firing_rates.values()) == 0.0 and measured.sops == 0.0
        floor = reference.ops_floor(arch, shape, event_input=event)
        counts = {k: getattr(measured, k) for k in ("macs", "sops", "neuron_updates")}
        assert counts == pytest.approx(floor, rel=1e-9)
        for name in PROFILES:
            priced = measured.priced(name).energy_uj
            low = space_floor_energy_uj(SPACE, shape, event_input=event, profile=name)
            assert priced >= low * (1 - 1e-12)
            if arch == SPACE.smallest():
                assert priced == pytest.approx(low, rel=1e-9)


def test_firing_networks_measure_more_than_the_floor():
    torch.manual_seed(1)
    net = Supernet(SPACE, in_channels=1, num_classes=10, image_size=16)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.uniform_(m.bias, 0.0, 4.0)
    rng = np.random.default_rng(1)
    for _ in range(4):
        arch = SPACE.sample(rng)
        measured = measure(net, torch.rand(4, 1, 16, 16), arch=arch)
        for name in PROFILES:
            low = space_floor_energy_uj(SPACE, DIGITS, profile=name)
            assert measured.priced(name).energy_uj > low


@pytest.mark.parametrize("preset", ["digits-tiny", "cifar-small", "cifar-large", "cifar-snn"])
def test_no_arch_of_the_space_has_a_lower_floor(preset):
    space = SearchSpace.preset(preset)
    shape = DIGITS if preset == "digits-tiny" else ModelShape(3, 10, 32)
    rng = np.random.default_rng(2)
    for name in PROFILES:
        prices = get_profile(name)
        low = space_floor_energy_uj(space, shape, profile=name)
        floors = [
            prices.energy_uj(**reference.ops_floor(space.sample(rng), shape)) for _ in range(100)
        ]
        assert min(floors) >= low
        assert low < space_reference_energy_uj(space, shape, profile=name)


def test_loihi_floor_prices_every_neuron_update():
    arch = SPACE.smallest()
    floor = reference.ops_floor(arch, DIGITS)
    fp32 = space_floor_energy_uj(SPACE, DIGITS)
    loihi = space_floor_energy_uj(SPACE, DIGITS, profile="loihi-2018")
    assert floor["neuron_updates"] > 0
    assert loihi - fp32 == pytest.approx(floor["neuron_updates"] * 81.0 * 1e-6)


def test_the_box_follows_the_profile():
    """The unit mix of issue 24: a box (or reference) computed under one profile must not meet
    energies priced under another. Computed per profile, the normalized hypervolume of the same
    candidates is the same under fp32 and int8; mixing the two is not."""
    fp32 = front_box(SPACE, DIGITS, profile="45nm-fp32")
    int8 = front_box(SPACE, DIGITS, profile="45nm-int8")
    assert fp32.chance == int8.chance == 0.1
    assert int8.energy_high_uj < fp32.energy_high_uj / 10
    assert int8.energy_low_uj < fp32.energy_low_uj / 10
    # Candidates from real operation counts (a firing network), priced under each profile.
    torch.manual_seed(1)
    net = Supernet(SPACE, in_channels=1, num_classes=10, image_size=16)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.uniform_(m.bias, 0.0, 4.0)
    rng = np.random.default_rng(4)
    reports = [measure(net, torch.rand(2, 1, 16, 16), arch=SPACE.sample(rng)) for _ in range(6)]
    acc = rng.uniform(0.3, 0.95, len(reports))
    e_fp32 = [r.priced("45nm-fp32").energy_uj for r in reports]
    e_int8 = [r.priced("45nm-int8").energy_uj for r in reports]
    hv_fp32 = normalized_hypervolume(acc, e_fp32, fp32)
    hv_int8 = normalized_hypervolume(acc, e_int8, int8)
    assert 0 < hv_fp32 < 1 and 0 < hv_int8 < 1
    assert abs(hv_fp32 - hv_int8) < 0.1  # the same shape of front in each box
    # The bug: fp32 energies against the int8 box all sit beyond its energy bound.
    assert normalized_hypervolume(acc, e_fp32, int8) == 0.0
    assert hypervolume(acc, e_fp32, int8.energy_high_uj, 0.0) < hypervolume(
        acc, e_fp32, fp32.energy_high_uj, 0.0
    )


def test_dataset_front_box_uses_the_datasets_shape():
    box = dataset_front_box("digits", SPACE, "45nm-int8")
    assert box == front_box(SPACE, DIGITS, profile="45nm-int8")
    assert dataset_reference_energy_uj("digits", SPACE) == space_reference_energy_uj(SPACE, DIGITS)
    gesture = dataset_front_box("dvs128-gesture", SearchSpace.preset("cifar-snn"))
    assert gesture.chance == pytest.approx(1 / 11)
