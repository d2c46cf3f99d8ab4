"""Hardware energy profiles: what one MAC, one synaptic operation and one neuron update cost.

A subnet's forward pass is measured once as operation counts (`engine.energy`): MACs of the layers
that read non-spike input (the first conv and the classifier head), SOPs of every spike-driven
layer, and LIF neuron updates (neurons x T). Energy under any profile is then the linear function

    E (uJ) = (MACs x pJ/MAC + SOPs x pJ/SOP + neuron updates x pJ/update) x 1e-6

so candidates are re-priced for other hardware without another forward pass. `45nm-fp32` is the
paper's Eq. 3 (and the default, so every figure priced before profiles existed is unchanged).

This module is plain Python (no torch), so the command line can list profiles cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.errors import AutoSpikformerError

PJ_TO_UJ = 1e-6
OP_KINDS: tuple[str, ...] = ("macs", "sops", "neuron_updates")
HOROWITZ = (
    'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, '
    "Fig. 1.1.9 (45 nm, 0.9 V)"
)
LOIHI = (
    'M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning", '
    "IEEE Micro 38(1):82-99, 2018, Table 2 (pre-silicon estimates at 0.75 V)"
)


class EnergyProfileError(AutoSpikformerError):
    """An unknown profile name, or a result that cannot be priced under a profile."""


@dataclass(frozen=True)
class EnergyProfile:
    """Energy per operation of one hardware target, in picojoules, and where it comes from."""

    name: str
    pj_per_mac: float
    pj_per_sop: float
    pj_per_neuron_update: float
    source: str

    def energy_uj(self, macs: float, sops: float, neuron_updates: float) -> float:
        """Energy in microjoules of the given operation counts (the contract's formula)."""
        return (
            macs * self.pj_per_mac
            + sops * self.pj_per_sop
            + neuron_updates * self.pj_per_neuron_update
        ) * PJ_TO_UJ

    def layer_energy_uj(self, layer_ops: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """Per-layer energy from per-layer counts (`{"macs": {layer: n}, "sops": ..., ...}`).

        A layer appears when it has counts of a kind this profile prices (LIF layers only when
        neuron updates cost something), so `45nm-fp32` gives the paper's per-layer breakdown.
        """
        prices = dict(zip(OP_KINDS, self.prices(), strict=True))
        out: dict[str, float] = {}
        for kind in OP_KINDS:
            if kind == "neuron_updates" and not prices[kind]:
                continue
            for layer, count in layer_ops.get(kind, {}).items():
                out[layer] = out.get(layer, 0.0) + count * prices[kind] * PJ_TO_UJ
        return out

    def prices(self) -> tuple[float, float, float]:
        """(pJ/MAC, pJ/SOP, pJ/neuron update)."""
        return (self.pj_per_mac, self.pj_per_sop, self.pj_per_neuron_update)

    def to_dict(self) -> dict[str, Any]:
        """The contract's profile object (`autospikformer profiles --json`)."""
        return asdict(self)


DEFAULT_PROFILE = "45nm-fp32"
PROFILES: dict[str, EnergyProfile] = {
    p.name: p
    for p in (
        EnergyProfile(
            "45nm-fp32",
            4.6,
            0.9,
            0.0,
            f"the paper's Eq. 3 constants (via Rathi and Roy 2021): {HOROWITZ}: 32-bit float "
            "multiply 3.7 pJ + add 0.9 pJ per MAC, add 0.9 pJ per SOP; neuron updates are not "
            "priced, as in the paper",
        ),
        EnergyProfile(
            "45nm-fp16",
            1.5,
            0.4,
            0.0,
            f"{HOROWITZ}: 16-bit float multiply 1.1 pJ + add 0.4 pJ per MAC, add 0.4 pJ per SOP; "
            "neuron updates not priced",
        ),
        EnergyProfile(
            "45nm-int8",
            0.23,
            0.03,
            0.0,
            f"{HOROWITZ}: 8-bit integer multiply 0.2 pJ + add 0.03 pJ per MAC, add 0.03 pJ per "
            "SOP; neuron updates not priced",
        ),
        EnergyProfile(
            "loihi-2018",
            4.6,
            23.6,
            81.0,
            f"{LOIHI}: 23.6 pJ per synaptic spike op (the table's minimum) and 81 pJ per active "
            "neuron update (52 pJ inactive); routing (1.7 pJ within a tile, 3.0-4.0 pJ per hop) "
            "is not counted. Loihi has no MAC unit: the first conv and the head are priced as "
            "45 nm fp32 MACs on a conventional host (Horowitz 2014)",
        ),
    )
}


def get_profile(name: str) -> EnergyProfile:
    """The registered profile `name`; a one-line `EnergyProfileError` naming the choices."""
    if not isinstance(name, str) or name not in PROFILES:
        shown = repr(name)[:60]
        raise EnergyProfileError(
            f"unknown energy profile {shown}; choose from {', '.join(PROFILES)}"
        )
    return PROFILES[name]
