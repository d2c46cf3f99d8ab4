"""Datasets: fixed train/val/test splits, seeded loaders and deterministic batches.

One module per dataset family registers its datasets (`engine.data.registry`); `load_split` is
the one factory. Families, in registration order: `digits` (engine/data/digits.py), `mnist-5k`
(mnist.py), `cifar10` and `cifar100` (cifar.py), `cifar10-dvs` and `dvs128-gesture` (dvs.py).
Each family module's docstring says what its files are, how they are split and augmented.
"""

from __future__ import annotations

# Importing a family registers its datasets; the import order is the order of `DATASETS`:
# the shipped datasets first.
from engine.data import digits, mnist  # noqa: F401

# isort: split
from engine.data import cifar, dvs  # noqa: F401
from engine.data.base import SPLITS, DatasetSpec, SplitDataset, data_root
from engine.data.cifar import RestrictedUnpickler, load_pickle
from engine.data.dvs import check_space_time_steps, valid_time_steps
from engine.data.loaders import derive_seed, fixed_batches, make_loader, seeded_generator
from engine.data.registry import dataset_names, dataset_spec, load_split, register_dataset

DATASETS = dataset_names()

__all__ = [
    "DATASETS",
    "SPLITS",
    "DatasetSpec",
    "RestrictedUnpickler",
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
