"""What a dataset is, without its images: the specs of every dataset and the checks on them.

`CATALOG` names each dataset with its spec and the family module that loads it
(`engine.data.<family>`). Looking a spec up, listing the datasets and checking T against an
event dataset's frames need neither torch nor the family modules, so the search, the recorder
and the app's forms use them without importing torch; `engine.data.load_split` imports a
family only when its images are asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DatasetError

SPLITS = ("train", "val", "test")

DVS_FRAMES = 16  # frames per event sample (spikingjelly's frames_number)
DVS_SENSOR_SIZE = 128


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a dataset."""

    name: str
    in_channels: int
    num_classes: int
    image_size: int  # square side the model sees
    is_event: bool  # True for DVS: samples are [T, C, S, S] frames
    max_time_steps: int  # frames available per event sample (0 for static images)


@dataclass(frozen=True)
class LoadOptions:
    """How a family loader is asked for a split (see `engine.data.load_split`)."""

    root: Path
    seed: int = 0
    augment: bool = False
    time_steps: int | None = None


def _dvs(name: str, num_classes: int) -> DatasetSpec:
    return DatasetSpec(name, 2, num_classes, DVS_SENSOR_SIZE, True, DVS_FRAMES)


# Every dataset, in the order the app and CLI list them (the shipped ones first), with the
# family module under engine.data that loads it.
CATALOG: dict[str, tuple[DatasetSpec, str]] = {
    "digits": (DatasetSpec("digits", 1, 10, 16, False, 0), "digits"),
    "mnist-5k": (DatasetSpec("mnist-5k", 1, 10, 28, False, 0), "mnist"),
    "cifar10": (DatasetSpec("cifar10", 3, 10, 32, False, 0), "cifar"),
    "cifar100": (DatasetSpec("cifar100", 3, 100, 32, False, 0), "cifar"),
    "cifar10-dvs": (_dvs("cifar10-dvs", 10), "dvs"),
    "dvs128-gesture": (_dvs("dvs128-gesture", 11), "dvs"),
}


def dataset_names() -> tuple[str, ...]:
    """Every known dataset, in catalog order."""
    return tuple(CATALOG)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset; `DatasetError` for an unknown name."""
    try:
        return CATALOG[name][0]
    except (KeyError, TypeError):
        raise DatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(CATALOG)}"
        ) from None


def data_root() -> Path:
    """The folder with the datasets that are not shipped: $AUTOSPIKFORMER_DATA or ./data."""
    value = os.environ.get("AUTOSPIKFORMER_DATA", "").strip()
    return Path(value).expanduser() if value else Path("data")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


def valid_time_steps(spec: DatasetSpec) -> tuple[int, ...]:
    """The T an event dataset can be integrated into: the divisors of its frame count."""
    return tuple(t for t in range(1, spec.max_time_steps + 1) if spec.max_time_steps % t == 0)


def check_time_steps(spec: DatasetSpec, time_steps: int | None) -> int:
    """T itself (the spec's frame count for None); `DatasetError` unless T divides it."""
    steps = spec.max_time_steps if time_steps is None else time_steps
    allowed = valid_time_steps(spec)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps not in allowed:
        raise DatasetError(
            f"{spec.name}: time_steps must divide its {spec.max_time_steps} frames "
            f"({', '.join(map(str, allowed))}), got {time_steps!r}"
        )
    return steps


def check_space_time_steps(spec: DatasetSpec, time_steps: Iterable[int]) -> None:
    """`DatasetError` naming the T an event dataset cannot be integrated into (static: all fine)."""
    if not spec.is_event:
        return
    allowed = valid_time_steps(spec)
    bad = sorted({t for t in time_steps if t not in allowed})
    if bad:
        raise DatasetError(
            f"{spec.name}: T={', '.join(map(str, bad))} does not divide its {spec.max_time_steps} "
            f"frames; event datasets take T in {', '.join(map(str, allowed))}"
        )
