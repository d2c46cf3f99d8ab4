"""Theoretical energy of a Spikformer subnet, the paper's Eq. 2-5, from a real forward pass.

Hooks record, for every layer, the firing rate of its input spike train and its FLOPs (MACs):

- Eq. 2: SOPs(l) = fr x T x FLOPs(l), where FLOPs(l) counts one time step of one sample. Summed
  over T and the batch this is `mean(input) x MACs actually executed`, which is what we compute.
  `fr` is the mean of the input tensor: for a binary spike train it is the firing rate; for the
  integer-valued residual stream of Spikformer (a sum of spike trains, values 0, 1, 2, ...) it is
  the mean spike count, so that each unit of input is one accumulate.
- Eq. 3: E = E_MAC x FLOPs(first conv) + E_AC x (sum of SOPs of all other convs, linears and the
  two SSA products), with E_MAC = 4.6 pJ and E_AC = 0.9 pJ (45 nm, Horowitz 2014).
  The first conv encodes the analog image; a static image is the same at every step, so its
  conv runs once per sample (FLOPs, not T x FLOPs). Event frames differ per step: T x FLOPs.
  The classifier head reads the (float) token mean, not spikes: it is counted as MACs too.
- SSA: `q @ k^T` counts SOPs with q's firing rate; `attn @ v` with v's (attn is an integer map).
- Eq. 4: the ANN with the same arch does every MAC at 4.6 pJ, once (no time steps). Its
  classifier head runs once per sample as in the SNN, so the head's MACs are not divided by T.
  Under another profile the ANN's MACs are re-priced at that profile's pJ/MAC (`ann_macs`), so
  SNN and ANN compare on the same hardware.
- Neuron updates: every LIF neuron is updated at every step, so a LIF layer costs its neurons x T
  updates per sample. Eq. 3 does not price them; other hardware profiles do.

The report keeps these operation counts (in total and per layer) next to the energy, and prices
them under a hardware profile (`engine.profiles`; the paper's constants are `45nm-fp32`, the
default). Energies are per sample, in microjoules. See docs/energy.md for where spikingjelly's
`SynOpCounter` agrees with this convention (linear layers with binary input) and where not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import torch
from spikingjelly.activation_based import neuron
from torch import nn

from engine.elastic import ElasticConv2d, ElasticLinear
from engine.profiles import DEFAULT_PROFILE, PROFILES, EnergyProfile, get_profile
from engine.spikformer import SPS, SSAProduct

E_MAC_PJ = PROFILES[DEFAULT_PROFILE].pj_per_mac  # 4.6 pJ, the paper's E_MAC
E_AC_PJ = PROFILES[DEFAULT_PROFILE].pj_per_sop  # 0.9 pJ, the paper's E_AC
PJ_PER_UJ = 1e6
FIRST_CONV = "sps.proj_conv.0"
HEAD = "head"


@dataclass(frozen=True)
class EnergyReport:
    """Per-sample figures of one measured forward pass (or several, aggregated).

    `energy_uj` and `layer_energy_uj` are priced under `profile` (Eq. 3 for `45nm-fp32`);
    the operation counts are profile-free, so `priced(other)` re-prices without a forward pass.
    """

    energy_uj: float  # Eq. 3 under `profile`
    ann_energy_uj: float  # Eq. 4 for the same arch, its MACs at `profile`'s pJ/MAC
    sops: float  # sum of Eq. 2 over spike-driven layers
    macs: float  # first conv (+ head) MACs, the ones paid at E_MAC
    firing_rates: dict[str, float]  # output firing rate of every LIF layer
    input_rates: dict[str, float]  # input rate (fr of Eq. 2) of every counted layer
    layer_sops: dict[str, float]
    layer_energy_uj: dict[str, float]
    samples: int
    time_steps: int
    extra: dict[str, float] = field(default_factory=dict)
    neuron_updates: float = 0.0  # LIF neurons x T
    layer_macs: dict[str, float] = field(default_factory=dict)
    layer_neuron_updates: dict[str, float] = field(default_factory=dict)
    profile: str = DEFAULT_PROFILE
    ann_macs: float = 0.0  # the ANN's MACs per sample (Eq. 4's count)

    @property
    def firing_rate(self) -> float:
        """Mean of the per-layer LIF firing rates."""
        rates = list(self.firing_rates.values())
        return sum(rates) / len(rates) if rates else 0.0

    @property
    def layer_ops(self) -> dict[str, dict[str, float]]:
        """Per-layer counts by kind: `{"macs": {...}, "sops": {...}, "neuron_updates": {...}}`."""
        return {
            "macs": dict(self.layer_macs),
            "sops": dict(self.layer_sops),
            "neuron_updates": dict(self.layer_neuron_updates),
        }

    def priced(self, profile: EnergyProfile | str) -> EnergyReport:
        """The same counts priced under another profile."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        return replace(
            self,
            energy_uj=p.energy_uj(self.macs, self.sops, self.neuron_updates),
            ann_energy_uj=p.energy_uj(self.ann_macs, 0.0, 0.0),
            layer_energy_uj=p.layer_energy_uj(self.layer_ops),
            profile=p.name,
        )


class EnergyMeter:
    """Context manager that hooks a model and accumulates Eq. 2-3 over every forward inside it.

    Use it around the very forward passes that measure accuracy, so energy comes from the same
    batches at no extra cost.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._handles: list = []
        self.reset()

    def reset(self) -> None:
        self.samples = 0
        self.time_steps = 0
        self._event_input = False
        self._spike_sum: dict[str, float] = defaultdict(float)
        self._spike_numel: dict[str, int] = defaultdict(int)
        self._in_sum: dict[str, float] = defaultdict(float)
        self._in_numel: dict[str, int] = defaultdict(int)
        self._macs: dict[str, float] = defaultdict(float)
        self._sops: dict[str, float] = defaultdict(float)

    def count_input(self, x: torch.Tensor) -> None:
        """Count the samples of model input `x` (images or events), as the model's pre-hook
        does; for a forward run in parts (`engine.stems`) instead of through `model(x)`."""
        self.samples += x.shape[0]
        self._event_input = x.dim() == 5

    def add(self, other: EnergyMeter) -> None:
        """Add every count `other` recorded on the same model (e.g. its stem's layers)."""
        self.samples += other.samples
        self.time_steps = other.time_steps or self.time_steps
        self._event_input = self._event_input or other._event_input
        for mine, theirs in (
            (self._spike_sum, other._spike_sum),
            (self._spike_numel, other._spike_numel),
            (self._in_sum, other._in_sum),
            (self._in_numel, other._in_numel),
            (self._macs, other._macs),
            (self._sops, other._sops),
        ):
            for name, value in theirs.items():
                mine[name] += value

    # ---- hooks --------------------------------------------------------------------------
    def _on_model(self, _m: nn.Module, args: tuple) -> None:
        self.count_input(args[0])

    def _on_sps(self, _m: nn.Module, args: tuple) -> None:
        self.time_steps = args[0].shape[0]

    def _on_lif(self, name: str):
        def hook(_m: nn.Module, _args: tuple, out: torch.Tensor) -> None:
            self._spike_sum[name] += float(out.detach().sum())
            self._spike_numel[name] += out.numel()

        return hook

    def _count(self, name: str, spikes: torch.Tensor, macs: float) -> None:
        """Eq. 2 summed over T and the batch: mean(input) x executed MACs."""
        s = spikes.detach()
        total = float(s.sum())
        self._in_sum[name] += total
        self._in_numel[name] += s.numel()
        self._macs[name] += macs
        self._sops[name] += total / s.numel() * macs

    def _on_layer(self, name: str):
        def hook(m: nn.Module, args: tuple, out: torch.Tensor) -> None:
            x = args[0]
            linear = isinstance(m, nn.Linear)
            fan_in = x.shape[-1] if linear else x.shape[1]
            k = m.kernel_size[0] * m.kernel_size[1] if isinstance(m, nn.Conv2d) else 1
            self._count(name, x, out.numel() * fan_in * k)

        return hook

    def _on_ssa(self, name: str):
        parent = name.rpartition(".")[0]
        prefix = f"{parent}." if parent else ""

        def hook(_m: nn.Module, args: tuple, _out: torch.Tensor) -> None:
            q, _k, v = args  # (..., N, d_head) each
            macs = q.numel() * q.shape[-2]  # N x N x d_head per head, for each product
            self._count(f"{prefix}qk", q, macs)  # q @ k^T at q's rate
            self._count(f"{prefix}attn_v", v, macs)  # attn @ v at v's rate

        return hook

    def __enter__(self) -> EnergyMeter:
        h = self._handles
        h.append(self.model.register_forward_pre_hook(self._on_model))
        for name, m in self.model.named_modules():
            if isinstance(m, SPS):
                h.append(m.register_forward_pre_hook(self._on_sps))
            elif isinstance(m, neuron.BaseNode):
                h.append(m.register_forward_hook(self._on_lif(name)))
            elif isinstance(m, SSAProduct):
                h.append(m.register_forward_hook(self._on_ssa(name)))
            elif isinstance(m, (ElasticLinear, ElasticConv2d)):
                h.append(m.register_forward_hook(self._on_layer(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # ---- result -------------------------------------------------------------------------
    def report(self, profile: EnergyProfile | str = DEFAULT_PROFILE) -> EnergyReport:
        """Per-sample counts of everything seen so far, priced under `profile`."""
        if not self.samples:
            raise RuntimeError("EnergyMeter saw no forward pass")
        n, t = self.samples, max(self.time_steps, 1)
        layer_macs: dict[str, float] = {}
        layer_sops: dict[str, float] = {}
        for name, executed in self._macs.items():
            if name == FIRST_CONV:
                layer_macs[name] = executed / n / (1 if self._event_input else t)
            elif name == HEAD:
                layer_macs[name] = executed / n
            else:
                layer_sops[name] = self._sops[name] / n
        layer_updates = {k: self._spike_numel[k] / n for k in self._spike_numel}
        # Eq. 4: every layer once (no time steps); the head already runs once per sample.
        per_step = sum(v for k, v in self._macs.items() if k != HEAD) / n / t
        ann_macs = per_step + self._macs.get(HEAD, 0.0) / n
        counts = EnergyReport(
            energy_uj=0.0,
            ann_energy_uj=0.0,  # priced below
            sops=sum(layer_sops.values()),
            macs=sum(layer_macs.values()),
            firing_rates={k: self._spike_sum[k] / self._spike_numel[k] for k in self._spike_sum},
            input_rates={k: self._in_sum[k] / self._in_numel[k] for k in self._in_sum},
            layer_sops=layer_sops,
            layer_energy_uj={},
            samples=n,
            time_steps=t,
            neuron_updates=sum(layer_updates.values()),
            layer_macs=layer_macs,
            layer_neuron_updates=layer_updates,
            ann_macs=ann_macs,
        )
        return counts.priced(profile)


@torch.no_grad()
def measure(
    model: nn.Module,
    x: torch.Tensor,
    *,
    arch=None,
    profile: EnergyProfile | str = DEFAULT_PROFILE,
) -> EnergyReport:
    """Energy of `model` (a standalone subnet, or the supernet with `arch`) on the batch `x`,
    priced under `profile`.

    The model runs in eval mode; its previous mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        with EnergyMeter(model) as meter:
            model(x) if arch is None else model(x, arch)
        return meter.report(profile)
    finally:
        model.train(was_training)
