"""Seeded DataLoaders and deterministic batches over any registered dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from engine.data.registry import load_split
from engine.errors import DatasetError


def derive_seed(*entropy: int) -> int:
    """A 63-bit seed mixed from integers (e.g. seed, epoch, rank) by numpy's SeedSequence."""
    words = [int(e) & 0xFFFFFFFFFFFFFFFF for e in entropy]
    state = np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0]
    return int(state) >> 1


def seeded_generator(*entropy: int) -> torch.Generator:
    """A torch.Generator seeded with `derive_seed(*entropy)`."""
    return torch.Generator().manual_seed(derive_seed(*entropy))


def make_loader(
    name: str,
    split: str,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = False,
    augment: bool = False,
    root: Path | None = None,
    drop_last: bool = False,
    time_steps: int | None = None,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader over `load_split(...)` whose order and augmentation depend only on `seed`.

    Batches are `(x [B, ...], y int64 [B])`. Shuffling uses a `torch.Generator` seeded from
    `seed`, so two loaders built alike yield the same batches epoch after epoch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DatasetError(f"batch_size must be a positive integer, got {batch_size!r}")
    dataset = load_split(name, split, root=root, seed=seed, augment=augment, time_steps=time_steps)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF),
    )


def fixed_batches(
    name: str,
    split: str,
    *,
    n_batches: int,
    batch_size: int,
    seed: int,
    root: Path | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`n_batches` batches of `batch_size` samples, a pure function of the arguments.

    Samples are drawn without replacement from a permutation seeded by `seed` (cycling through
    further permutations when the split is smaller than `n_batches * batch_size`); never
    augmented. Used for BN recalibration and energy measurement.
    """
    for label, value in (("n_batches", n_batches), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DatasetError(f"{label} must be a positive integer, got {value!r}")
    dataset = load_split(name, split, root=root, seed=seed, augment=False)
    n = len(dataset)
    if n == 0:
        raise DatasetError(f"{name}: the {split} split is empty")
    rng = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)
    needed = n_batches * batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(-(-needed // n))])[:needed]
    batches = []
    for b in range(n_batches):
        items = [dataset[int(i)] for i in order[b * batch_size : (b + 1) * batch_size]]
        xs = torch.stack([x for x, _ in items])
        ys = torch.tensor([y for _, y in items], dtype=torch.int64)
        batches.append((xs, ys))
    return batches
