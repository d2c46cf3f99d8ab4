"""Typed records that the engine hands to search, storage and the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.profiles import DEFAULT_PROFILE, EnergyProfile, EnergyProfileError, get_profile
from engine.space import Arch


def silent_blocks(firing_rates: Mapping[str, float], depth: int) -> list[int]:
    """Blocks (counted from 1) whose spiking layers all have firing rate 0: no spike leaves them,
    so the residual stream bypasses them and their output does not depend on the input. Layers
    are keyed `blocks.<i>.<layer>` (block i from 0), as `engine.energy` names them; a block
    without recorded rates is not judged."""
    silent = []
    for block in range(depth):
        prefix = f"blocks.{block}."
        rates = [v for k, v in firing_rates.items() if k.startswith(prefix)]
        if rates and all(v == 0 for v in rates):
            silent.append(block + 1)
    return silent


def is_silent(firing_rates: Mapping[str, float], depth: int) -> bool:
    """A candidate is silent when at least one of its blocks is (`silent_blocks`)."""
    return bool(silent_blocks(firing_rates, depth))


@dataclass(frozen=True)
class EvalResult:
    """One subnet evaluated with weights inherited from the supernet.

    `accuracy` is top-1 in [0, 1] on the validation split; `energy_uj` is the energy in microjoules
    per sample under the hardware profile `energy_profile` (the paper's Eq. 3 for `45nm-fp32`);
    `sops` are synaptic operations per sample (Eq. 2 summed), `macs` the MACs of the layers that
    read non-spike input and `neuron_updates` the LIF neurons x T, per sample (None in results
    recorded before these counts were kept); `layer_ops` holds the same counts per layer;
    `firing_rate` is the mean firing rate over all spiking layers and `firing_rates` the rate of
    each layer, keyed by layer name. `silent` (derived, in `to_dict` too) says whether a block
    never fires (`silent_blocks`).
    """

    arch: Arch
    accuracy: float
    energy_uj: float
    params: int
    sops: float
    firing_rate: float
    firing_rates: dict[str, float] = field(default_factory=dict)
    layer_energy_uj: dict[str, float] = field(default_factory=dict)
    macs: float | None = None
    neuron_updates: float | None = None
    layer_ops: dict[str, dict[str, float]] = field(default_factory=dict)
    energy_profile: str = DEFAULT_PROFILE

    @property
    def id(self) -> str:
        return self.arch.id

    @property
    def silent_blocks(self) -> list[int]:
        """The blocks (from 1) that never fire: see `silent_blocks`."""
        return silent_blocks(self.firing_rates, self.arch.depth)

    @property
    def silent(self) -> bool:
        """A block has firing rate 0 (bypassed through the residual)."""
        return bool(self.silent_blocks)

    def priced(self, profile: EnergyProfile | str) -> EvalResult:
        """This result with `energy_uj` and `layer_energy_uj` under `profile` (no forward pass).

        A result without operation counts can only be read under the profile it was priced with.
        """
        p = get_profile(profile) if isinstance(profile, str) else profile
        if p.name == self.energy_profile and self.macs is None:
            return self
        if self.macs is None or self.neuron_updates is None:
            raise EnergyProfileError(
                f"candidate {self.id} has no operation counts; it can only be priced under "
                f"{self.energy_profile}, not {p.name}"
            )
        return replace(
            self,
            energy_uj=p.energy_uj(self.macs, self.sops, self.neuron_updates),
            layer_energy_uj=p.layer_energy_uj(self.layer_ops),
            energy_profile=p.name,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arch"] = self.arch.to_dict()
        d["id"] = self.id
        d["silent"] = self.silent
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        d = {k: v for k, v in d.items() if k not in ("id", "silent")}  # derived
        d["arch"] = Arch.from_dict(d["arch"])
        return cls(**d)
