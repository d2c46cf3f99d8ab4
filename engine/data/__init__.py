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
from engine.lazy import lazy_attributes

DATASETS = dataset_names()

# The names that need torch, by the module that defines them: imported when first asked for.
_LAZY = {
    "engine.data.base": ("SplitDataset",),
    "engine.data.cifar": ("RestrictedUnpickler", "load_pickle"),
    "engine.data.loaders": ("derive_seed", "fixed_batches", "make_loader", "seeded_generator"),
}
__getattr__ = lazy_attributes(__name__, _LAZY, globals())

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
