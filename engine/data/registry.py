"""Dataset name -> loader registry and the one factory, `load_split`.

The specs live in `engine.data.spec.CATALOG`, with the family module that loads each dataset.
A family module registers its loader with `@register_dataset(spec, ...)` (as timm's
`register_model` does for models) when it is imported; `load_split` imports the family of the
dataset it is asked for, so only what is loaded pays for torch and the family's imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.data.spec import CATALOG, DatasetSpec, LoadOptions, check_split, data_root, dataset_spec

if TYPE_CHECKING:
    from engine.data.base import SplitDataset

Loader = Callable[[DatasetSpec, str, LoadOptions], "SplitDataset"]

_LOADERS: dict[str, Loader] = {}
Check = Callable[[DatasetSpec], None]
_CHECKS: dict[str, Check] = {}


def register_dataset(*specs: DatasetSpec) -> Callable[[Loader], Loader]:
    """Register `loader` for each spec (exactly the catalog's; a name is registered once)."""

    def wrap(loader: Loader) -> Loader:
        for spec in specs:
            if CATALOG.get(spec.name, (None,))[0] != spec:
                raise ValueError(f"dataset {spec.name!r} is not the catalog's (engine.data.spec)")
            if spec.name in _LOADERS:
                raise ValueError(f"dataset {spec.name!r} is registered twice")
            _LOADERS[spec.name] = loader
        return loader

    return wrap


def register_check(*specs: DatasetSpec) -> Callable[[Check], Check]:
    """Register a check that a dataset's files are there and read, without torch: a family whose
    module imports no torch may offer one (the shipped datasets), so a launch validates them
    without importing it (`check_dataset`)."""

    def wrap(check: Check) -> Check:
        for spec in specs:
            _CHECKS[spec.name] = check
        return check

    return wrap


def check_dataset(name: str) -> None:
    """`DatasetError` (one line) unless the dataset's files are there and read: its family's
    torch-free check where it has one, else loading its train split."""
    spec = dataset_spec(name)
    loader_of(name)  # imports the family (which registers its check, if any)
    if name in _CHECKS:
        _CHECKS[name](spec)
    else:
        load_split(name, "train")


def loader_of(name: str) -> Loader:
    """The loader of a known dataset, importing its family module the first time."""
    spec = dataset_spec(name)
    if name not in _LOADERS:
        importlib.import_module(f"engine.data.{CATALOG[name][1]}")
    return _LOADERS[spec.name]


def load_split(
    name: str,
    split: str,
    *,
    root: Path | None = None,
    seed: int = 0,
    augment: bool = False,
    time_steps: int | None = None,
) -> SplitDataset:
    """One split ("train", "val" or "test") of a dataset; items are (float32 tensor, int).

    `root` defaults to `data_root()` (unused by shipped datasets). `seed` seeds augmentation
    only; the splits are fixed. `augment` applies the dataset's training augmentation (whatever
    the split). `time_steps` integrates each event sample into T frames (all of the spec's
    frames when None); it is ignored for static images.
    """
    spec = dataset_spec(name)
    check_split(split)
    loader = loader_of(name)
    options = LoadOptions(
        root=data_root() if root is None else Path(root),
        seed=seed,
        augment=augment,
        time_steps=time_steps,
    )
    return loader(spec, split, options)
