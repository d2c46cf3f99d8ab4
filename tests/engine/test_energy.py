"""Energy (Eq. 2-5): hand-computed SOPs on a toy model and a cross-check with spikingjelly."""

from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based.op_counter import SynOpCounter
from spikingjelly.activation_based.op_counter.base import DispatchCounterMode
from torch import nn

from engine.elastic import ElasticConv2d, ElasticLinear
from engine.energy import E_AC_PJ, E_MAC_PJ, EnergyMeter, measure
from engine.profiles import DEFAULT_PROFILE, PROFILES, EnergyProfileError, get_profile
from engine.space import SearchSpace
from engine.spikformer import SSAProduct
from engine.supernet import Supernet


class Toy(nn.Module):
    """First conv (analog input, MACs), then a linear and an SSA-like product on spikes."""

    def __init__(self) -> None:
        super().__init__()
        self.sps = nn.Module()
        self.sps.proj_conv = nn.ModuleList([ElasticConv2d(1, 2, 1, bias=False)])
        self.fc = ElasticLinear(4, 3, bias=False)
        self.ssa = SSAProduct()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sps.proj_conv[0](x)  # x: (B, 1, 2, 2) analog image
        spikes = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 1]])  # (B=2, 4) binary, 3 spikes
        y = self.fc(spikes)  # (2, 3)
        q = torch.tensor([[[1.0], [0.0]], [[0.0], [0.0]]])  # (B=2, N=2, d=1), 1 of 4 fires
        k = torch.ones(2, 2, 1)
        v = torch.tensor([[[1.0], [0.0]], [[1.0], [1.0]]])  # 3 of 4 fire
        self.ssa(q, k, v)
        return y


def test_hand_computed_sops_and_energy() -> None:
    report = measure(Toy(), torch.rand(2, 1, 2, 2))
    # first conv: 1x1 kernel, 1 -> 2 channels on 2x2 pixels = 8 MACs per sample (T = 1)
    assert report.macs == 8
    # fc: executed MACs = 2 rows x 4 x 3 = 24, fr = 3/8 -> SOPs = 9 for the batch = 4.5 per sample
    assert report.layer_sops["fc"] == pytest.approx(4.5)
    # q @ k^T and attn @ v: B x N x N x d = 2 x 2 x 2 x 1 = 8 MACs each (4 per sample)
    # fr(q) = 1/4 -> 2 SOPs = 1 per sample; fr(v) = 3/4 -> 6 SOPs = 3 per sample
    assert report.layer_sops["qk"] == pytest.approx(1.0)
    assert report.layer_sops["attn_v"] == pytest.approx(3.0)
    assert report.sops == pytest.approx(8.5)
    expected_pj = E_MAC_PJ * 8 + E_AC_PJ * 8.5
    assert report.energy_uj == pytest.approx(expected_pj * 1e-6)
    assert report.ann_energy_uj == pytest.approx(E_MAC_PJ * (8 + 12 + 4 + 4) * 1e-6)
    assert report.input_rates["fc"] == pytest.approx(3 / 8)


def test_silent_network_costs_only_the_first_conv() -> None:
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    arch = space.largest()
    report = measure(net.extract(arch), torch.zeros(3, 1, 16, 16))
    first_conv_macs = 16 * 16 * (arch.embed_dim // 8) * 1 * 9
    head_macs = arch.embed_dim * 10
    assert report.macs == first_conv_macs + head_macs
    assert report.sops == 0 and report.firing_rate == 0
    assert report.energy_uj == pytest.approx(E_MAC_PJ * (first_conv_macs + head_macs) * 1e-6)


def test_more_time_steps_cost_more_energy() -> None:
    torch.manual_seed(0)
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    for m in net.modules():  # small running variances make the untrained network fire
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_var.fill_(1e-3)
    x = torch.randn(8, 1, 16, 16) * 3
    base = space.largest()
    short = base.__class__(**{**base.__dict__, "time_steps": 1})
    with torch.no_grad():
        e = {a.time_steps: measure(net, x, arch=a) for a in (short, base)}
    assert e[4].sops > e[1].sops > 0
    assert e[4].time_steps == 4 and e[1].time_steps == 1
    assert set(e[4].firing_rates) >= {"sps.rpe_lif", "blocks.0.mlp.fc1_lif"}


def test_agrees_with_spikingjelly_synop_counter_on_binary_input_layers() -> None:
    """Where the input is a binary spike train of a linear layer, both count spikes x fan-out.

    They differ elsewhere by convention: the SSA products (we charge the paper's q @ k^T and
    attn @ v; spikingjelly counts the k^T v and q (k^T v) that actually run), convs
    (spikingjelly drops the kernel taps that fall in the zero padding; Eq. 2 counts
    fr x FLOPs) and integer-valued inputs such as the residual stream feeding q/k/v and fc1
    (spikingjelly counts them as non-spike, 0 SynOps). See docs/energy.md.
    """
    torch.manual_seed(0)
    space = SearchSpace.preset("digits-tiny")
    sub = Supernet(space, in_channels=1, num_classes=10, image_size=16).extract(space.largest())
    sub.train()  # batch statistics make the untrained network fire
    counter = SynOpCounter()
    with torch.no_grad(), EnergyMeter(sub) as meter, DispatchCounterMode([counter], strict=False):
        sub(torch.randn(4, 1, 16, 16) * 3)
    report = meter.report()
    counts = counter.get_counts()
    checked = 0
    for name, sops in report.layer_sops.items():
        if name.endswith(("fc2_linear", "proj_linear")):
            ours = sops * report.samples
            theirs = sum(counts.get(f"Spikformer.{name}", {}).values())
            assert ours == pytest.approx(theirs, abs=1e-6), name
            checked += ours > 0
    assert checked >= 2


# ---- operation counts and hardware profiles ------------------------------------------------------
def _firing_subnet(time_steps: int = 2):
    """A digits-tiny subnet at `time_steps` whose untrained neurons fire (small BN variances)."""
    torch.manual_seed(0)
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    base = space.largest()
    arch = base.__class__(**{**base.__dict__, "time_steps": time_steps})
    sub = net.extract(arch)
    for m in sub.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_var.fill_(1e-3)
    return sub, arch


def test_neuron_updates_are_lif_neurons_times_t() -> None:
    sub, arch = _firing_subnet(time_steps=3)
    report = measure(sub, torch.randn(2, 1, 16, 16) * 3)
    d, t, n_tok = arch.embed_dim, arch.time_steps, 4 * 4  # 16 px, two max-pools -> 4 x 4 tokens
    sps = (d // 8) * 16 * 16 + (d // 4) * 16 * 16 + (d // 2) * 8 * 8 + d * n_tok + d * n_tok
    blocks = sum(
        (3 * d + d + d + arch.mlp_hidden(i) + d) * n_tok for i in range(arch.depth)
    )  # q/k/v, attn, proj, fc1, fc2
    assert report.neuron_updates == (sps + blocks) * t
    assert sum(report.layer_neuron_updates.values()) == report.neuron_updates
    assert set(report.layer_neuron_updates) == set(report.firing_rates)


def test_ann_energy_counts_the_head_once_per_sample() -> None:
    sub, arch = _firing_subnet(time_steps=4)
    report = measure(sub, torch.randn(2, 1, 16, 16) * 3)
    head = arch.embed_dim * 10  # runs once per sample, whatever T
    assert report.layer_macs["head"] == head
    with EnergyMeter(sub) as meter, torch.no_grad():
        sub.eval()
        sub(torch.randn(2, 1, 16, 16) * 3)
    body = sum(v for k, v in meter._macs.items() if k != "head") / 2 / 4
    assert report.ann_energy_uj == pytest.approx(E_MAC_PJ * (body + head) * 1e-6, rel=1e-12)


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_ann_reference_energy_is_priced_under_the_profile(name: str) -> None:
    """Eq. 4's ANN does the same MACs on the same hardware: at the profile's pJ/MAC."""
    sub, _ = _firing_subnet(time_steps=2)
    x = torch.randn(2, 1, 16, 16) * 3
    default = measure(sub, x)
    priced = measure(sub, x, profile=name)
    assert priced.ann_macs == default.ann_macs > 0
    expected = default.ann_macs * get_profile(name).pj_per_mac * 1e-6
    assert priced.ann_energy_uj == pytest.approx(expected, rel=1e-12)
    assert default.priced(name).ann_energy_uj == pytest.approx(expected, rel=1e-12)
    if name == "45nm-int8":
        assert priced.ann_energy_uj < default.ann_energy_uj / 10


@pytest.mark.parametrize("name", list(PROFILES))
def test_energy_is_ops_dot_profile_exactly(name: str) -> None:
    sub, _ = _firing_subnet()
    x = torch.randn(3, 1, 16, 16) * 3
    report = measure(sub, x, profile=name)
    p = PROFILES[name]
    assert report.profile == name and report.sops > 0 and report.neuron_updates > 0
    expected = (
        report.macs * p.pj_per_mac
        + report.sops * p.pj_per_sop
        + report.neuron_updates * p.pj_per_neuron_update
    ) * 1e-6
    assert report.energy_uj == expected
    assert sum(report.layer_energy_uj.values()) == pytest.approx(expected, rel=1e-9)
    # Re-pricing the default report gives the same figures without another forward pass.
    again = measure(sub, x).priced(name)
    assert again.energy_uj == report.energy_uj
    assert again.layer_energy_uj == pytest.approx(report.layer_energy_uj)


def test_default_profile_is_the_papers_eq3() -> None:
    sub, _ = _firing_subnet()
    report = measure(sub, torch.randn(3, 1, 16, 16) * 3)
    assert report.profile == DEFAULT_PROFILE == "45nm-fp32"
    eq3 = (E_MAC_PJ * report.macs + E_AC_PJ * report.sops) * 1e-6
    assert report.energy_uj == pytest.approx(eq3)
    assert (E_MAC_PJ, E_AC_PJ) == (4.6, 0.9)
    assert not any("lif" in k for k in report.layer_energy_uj)  # neuron updates are free here
    loihi = report.priced("loihi-2018")
    assert any("lif" in k for k in loihi.layer_energy_uj)


def test_profiles_rank_differently_where_their_constants_differ() -> None:
    """The largest arch at T=4 with a silent input (MACs and neuron updates, no SOPs) against the
    smallest at T=1 that fires (few neuron updates, many SOPs): the first is cheaper at 45 nm,
    where neuron updates are free, the second on Loihi, where each update costs 81 pJ."""
    torch.manual_seed(0)
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    quiet = measure(net.extract(space.largest()), torch.zeros(2, 1, 16, 16))
    small = net.extract(space.smallest())
    for m in small.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_var.fill_(1e-3)
    busy = measure(small, torch.randn(2, 1, 16, 16))
    assert quiet.sops == 0 < busy.sops and quiet.neuron_updates > busy.neuron_updates

    def cheaper(name: str) -> str:
        q, b = quiet.priced(name).energy_uj, busy.priced(name).energy_uj
        return "quiet" if q < b else "busy"

    assert [cheaper(n) for n in ("45nm-fp32", "45nm-fp16", "45nm-int8")] == ["quiet"] * 3
    assert cheaper("loihi-2018") == "busy"


def test_unknown_profile_is_a_one_line_error() -> None:
    with pytest.raises(EnergyProfileError, match="unknown energy profile 'tpu'.*45nm-fp32") as err:
        get_profile("tpu")
    assert "\n" not in str(err.value)


def test_every_profile_is_cited() -> None:
    for p in PROFILES.values():
        assert p.pj_per_mac > 0 and p.pj_per_sop > 0 and p.pj_per_neuron_update >= 0
        assert ("Horowitz" in p.source) or ("Davies" in p.source)
        assert set(p.to_dict()) == {
            "name",
            "pj_per_mac",
            "pj_per_sop",
            "pj_per_neuron_update",
            "source",
        }


def test_an_eval_result_without_counts_prices_only_under_its_own_profile() -> None:
    from engine.results import EvalResult

    arch = SearchSpace.preset("digits-tiny").smallest()
    old = EvalResult(arch=arch, accuracy=0.5, energy_uj=1.25, params=10, sops=1e5, firing_rate=0.1)
    assert old.priced("45nm-fp32") is old
    with pytest.raises(EnergyProfileError, match="no operation counts") as err:
        old.priced("45nm-int8")
    assert "\n" not in str(err.value)
    new = EvalResult(
        arch=arch,
        accuracy=0.5,
        energy_uj=0.0,
        params=10,
        sops=1e5,
        firing_rate=0.1,
        macs=2e4,
        neuron_updates=3e4,
        layer_ops={"macs": {"head": 2e4}, "sops": {"fc": 1e5}, "neuron_updates": {"lif": 3e4}},
    )
    loihi = new.priced("loihi-2018")
    assert loihi.energy_uj == (2e4 * 4.6 + 1e5 * 23.6 + 3e4 * 81.0) * 1e-6
    assert loihi.energy_profile == "loihi-2018"
    assert set(loihi.layer_energy_uj) == {"head", "fc", "lif"}
    assert EvalResult.from_dict(loihi.to_dict()) == loihi
