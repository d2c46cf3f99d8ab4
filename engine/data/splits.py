"""Fixed stratified splits and the files shipped inside installed packages, without torch.

`engine.data.base` builds the torch datasets on them; the family modules use them to read and
split their files, and the torch-free dataset checks (`engine.data.registry.check_dataset`)
use them through the families that need no torch to read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from engine.errors import DatasetError

# Seed of every fixed split. The splits never depend on the caller's `seed`.
SPLIT_SEED = 0


def shipped_file(dataset: str, module: str, package: str, *parts: str) -> Path:
    """A file that an installed package ships (`module`'s folder / `parts`), found without
    importing the package; `DatasetError` naming `dataset` and the pip `package` if missing."""
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise DatasetError(f"{dataset} ships in the {package} package: pip install {package}")
    return Path(next(iter(found.submodule_search_locations)), *parts)


def carve(labels: np.ndarray, n_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices 0..n-1 into (kept, carved) with `n_out` carved, stratified by label.

    A seeded permutation; within each class the samples get evenly spaced quantile ranks, and
    the `n_out` lowest ranks are carved, so each class gives its proportional share.
    """
    n = len(labels)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    permuted = np.asarray(labels)[perm]
    ranks = np.empty(n, dtype=np.float64)
    for c in np.unique(permuted):
        mask = permuted == c
        count = int(mask.sum())
        ranks[mask] = (np.arange(count) + 0.5) / count
    order = perm[np.argsort(ranks, kind="stable")]
    return np.sort(order[n_out:]), np.sort(order[:n_out])


def fraction(n: int, frac: float) -> int:
    """round(n * frac), at least 1 when there are at least 2 samples."""
    return max(1 if n >= 2 else 0, round(n * frac))


def three_way_split(labels: np.ndarray, val: float, test: float) -> dict[str, np.ndarray]:
    """Fixed stratified train/val/test indices: `test` then `val` (fractions of all samples)."""
    n = len(labels)
    rest, test_idx = carve(labels, fraction(n, test), SPLIT_SEED)
    keep, val_idx = carve(labels[rest], fraction(n, val), SPLIT_SEED + 1)
    return {"train": rest[keep], "val": rest[val_idx], "test": test_idx}
