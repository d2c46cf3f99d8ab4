"""A run's inputs: its spec (`RunSpec`), the arch file of a standalone run, creating the run's
record, and the training config stored with it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine import data, limits
from engine.errors import AutoSpikformerError
from engine.sampling import DEFAULT_SAMPLING
from engine.space import Arch, SearchSpace
from engine.train_config import TrainConfig, recipe
from storage import paths
from storage.base import Store
from storage.errors import DuplicateRun, UnknownRun
from storage.records import RunRecord

Progress = Callable[[dict[str, Any]], None]  # called with each training or search event


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---- inputs -------------------------------------------------------------------------------------
def load_arch_file(path: str | Path) -> Arch:
    p = Path(path)
    if not p.is_file():
        raise AutoSpikformerError(f"arch file not found: {p}")
    try:
        return Arch.from_dict(json.loads(p.read_text()))
    except json.JSONDecodeError as e:
        raise AutoSpikformerError(f"arch file {p.name}: malformed JSON ({e.msg})") from None


@dataclass(frozen=True)
class RunSpec:
    """What `train`/`launch` were asked for. Checked entirely by `validate()` before any write."""

    name: str
    dataset: str
    space: str  # preset name or YAML path
    epochs: int
    seed: int = 0
    batch_size: int | None = None  # None: the dataset's recipe (engine.train_config.RECIPES)
    lr: float | None = None
    sampling: str = DEFAULT_SAMPLING
    arch_file: str | None = None
    owner: str = ""

    def validate(self) -> TrainConfig:
        paths.validate_name(self.name, "run")
        limits.check_training(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed
        )
        spec = data.dataset_spec(self.dataset)
        space = SearchSpace.resolve(self.space)
        arch = load_arch_file(self.arch_file) if self.arch_file else None
        data.check_space_time_steps(spec, [arch.time_steps] if arch else space.time_steps)
        data.check_dataset(self.dataset)  # a missing or corrupt dataset fails before any write
        return TrainConfig(
            dataset=self.dataset,
            space=space.to_dict(),
            epochs=self.epochs,
            seed=self.seed,
            batch_size=self.batch_size or recipe(self.dataset)["batch_size"],
            lr=self.lr or recipe(self.dataset)["lr"],
            sampling=self.sampling,
            arch=arch.to_dict() if arch else None,
        )


def ensure_run(
    store: Store, spec: RunSpec, config: TrainConfig, state: str = "queued"
) -> RunRecord:
    """Create the run's record, or check that an existing run has the same settings (resume)."""
    try:
        run = store.get_run(spec.name)
    except UnknownRun:
        try:
            return store.create_run(
                RunRecord(
                    name=spec.name,
                    owner=spec.owner,
                    dataset=spec.dataset,
                    space=config.space,
                    settings={"train": asdict(config)},
                    state=state,
                )
            )
        except DuplicateRun:  # created a moment ago, e.g. by another rank of the same torchrun
            run = store.get_run(spec.name)
    stored = TrainConfig(**run.settings["train"])
    if stored.schedule_key() != config.schedule_key():
        raise AutoSpikformerError(f"run {spec.name!r} exists with other settings; pick a new name")
    if stored.epochs != config.epochs:
        settings = {**run.settings, "train": asdict(config)}
        store.update_run(spec.name, settings=settings)
    return run


def train_config(store: Store, run: str) -> TrainConfig:
    return TrainConfig(**store.get_run(run).settings["train"])
