"""Datasets: fixed train/val/test splits, seeded loaders and deterministic batches.

`engine.data.spec` holds every dataset's spec (`CATALOG`) and the checks on them, without torch;
`load_split` is the one factory of images. It imports a dataset's family module (which registers
its loader, `engine.data.registry`) only when that dataset is loaded. Families, in catalog
order: `digits` (engine/data/digits.py), `mnist-5k` (mnist.py), `cifar10` and `cifar100`
(cifar.py), `cifar10-dvs` and `dvs128-gesture` (dvs.py). Each family module's docstring says what
its files are, how they are split and augmented.

Importing this package does not import torch: the names that need it (`SplitDataset`,
`make_loader`, `fixed_batches`, `seeded_generator`, CIFAR's unpickler) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.data.registry import check_dataset, load_split, register_dataset
from engine.data.spec import (
    SPLITS,
    DatasetSpec,
    check_space_time_steps,
    data_root,
    dataset_names,
    dataset_spec,
    valid_time_steps,
)

if TYPE_CHECKING:
    from engine.data.base import SplitDataset
    from engine.data.cifar import RestrictedUnpickler, load_pickle
    from engine.data.loaders import derive_seed, fixed_batches, make_loader, seeded_generator

DATASETS = dataset_names()

# Name -> the module that defines it (imports torch): loaded when first asked for.
_LAZY = {
    "SplitDataset": "engine.data.base",
    "RestrictedUnpickler": "engine.data.cifar",
    "load_pickle": "engine.data.cifar",
    "derive_seed": "engine.data.loaders",
    "fixed_batches": "engine.data.loaders",
    "make_loader": "engine.data.loaders",
    "seeded_generator": "engine.data.loaders",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'engine.data' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "SPLITS",
    "DatasetSpec",
    "RestrictedUnpickler",
    "check_dataset",
    "check_space_time_steps",
    "SplitDataset",
    "data_root",
    "dataset_names",
    "derive_seed",
    "dataset_spec",
    "fixed_batches",
    "load_pickle",
    "load_split",
    "make_loader",
    "register_dataset",
    "seeded_generator",
    "valid_time_steps",
]
