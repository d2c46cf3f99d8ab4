"""What defines a training run, without torch: `TrainConfig` (stored in every checkpoint) and
the per-dataset recipes for what a caller leaves unset. `engine.train` trains by them; the
search, the recorder and the app read them without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine import limits
from engine.errors import AutoSpikformerError
from engine.sampling import DEFAULT_SAMPLING, SAMPLING
from engine.space import Arch, SearchSpace

# Per-dataset defaults for what the CLI leaves unset. CIFAR: Spikformer's recipe (batch 128,
# lr 5e-4); DVS: Spikformer's CIFAR10-DVS recipe (batch 16, lr 1e-3); digits and mnist-5k: small
# batches and a higher lr so that a CPU supernet converges in tens of epochs (BENCHMARKS.md).
RECIPES: dict[str, dict[str, float | int]] = {
    "digits": {"lr": 5e-3, "batch_size": 32},
    "mnist-5k": {"lr": 5e-3, "batch_size": 32},
    "cifar10": {"lr": 5e-4, "batch_size": 128},
    "cifar100": {"lr": 5e-4, "batch_size": 128},
    "cifar10-dvs": {"lr": 1e-3, "batch_size": 16},
    "dvs128-gesture": {"lr": 1e-3, "batch_size": 16},
}


def recipe(dataset: str) -> dict[str, float | int]:
    return RECIPES.get(dataset, {"lr": 5e-4, "batch_size": 64})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; stored in every checkpoint.

    Defaults follow Spikformer's CIFAR recipe (AdamW, lr 5e-4, wd 0.06, cosine, warmup, label
    smoothing 0.1) except the epoch count, which the caller sets.
    """

    dataset: str
    space: dict[str, list]
    epochs: int
    seed: int = 0
    batch_size: int = 64
    lr: float = 5e-4
    min_lr: float = 1e-5
    weight_decay: float = 0.06
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    sampling: str = DEFAULT_SAMPLING
    augment: bool = True
    arch: dict | None = None  # set: train this one arch standalone (no weight sharing)
    recalib_batches: int = 4
    keep_checkpoints: int = 3

    def __post_init__(self) -> None:
        limits.check_training(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed
        )
        if self.sampling not in SAMPLING:
            raise AutoSpikformerError(f"sampling must be one of {SAMPLING}, got {self.sampling!r}")

    @property
    def search_space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.space)

    @property
    def standalone_arch(self) -> Arch | None:
        return None if self.arch is None else Arch.from_dict(self.arch)

    def schedule_key(self) -> dict[str, Any]:
        """Fields that must not change when a run resumes (epochs may grow)."""
        d = asdict(self)
        d.pop("epochs")
        d.pop("keep_checkpoints")
        return d
