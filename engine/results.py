"""Typed records that the engine hands to search, storage and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.space import Arch


@dataclass(frozen=True)
class EvalResult:
    """One subnet evaluated with weights inherited from the supernet.

    `accuracy` is top-1 in [0, 1] on the validation split; `energy_uj` is the paper's Eq. 3 in
    microjoules per sample; `sops` are synaptic operations per sample (Eq. 2 summed);
    `firing_rate` is the mean firing rate over all spiking layers and `firing_rates` the rate of
    each layer, keyed by layer name.
    """

    arch: Arch
    accuracy: float
    energy_uj: float
    params: int
    sops: float
    firing_rate: float
    firing_rates: dict[str, float] = field(default_factory=dict)
    layer_energy_uj: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.arch.id

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arch"] = self.arch.to_dict()
        d["id"] = self.id
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        d = {k: v for k, v in d.items() if k != "id"}
        d["arch"] = Arch.from_dict(d["arch"])
        return cls(**d)
