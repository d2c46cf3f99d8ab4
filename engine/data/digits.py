"""``digits``: scikit-learn's 8x8 digits, shipped with scikit-learn (never downloaded).

Pixels 0..16 are scaled to [0, 1] and upsampled bilinearly to 16x16, so that Spikformer's SPS
stem (two 2x max-pools) yields a 4x4 grid of 16 tokens; then normalized with the train split's
mean and std. A fixed stratified split (70% train / 10% val / 20% test: 1,258 / 180 / 359
images) that never depends on the ``seed`` argument. Augmentation: a random shift of up to
1 pixel.
"""

from __future__ import annotations

import functools
import gzip
from typing import TYPE_CHECKING

import numpy as np

from engine.data.registry import register_check, register_dataset
from engine.data.spec import DatasetSpec, LoadOptions, dataset_spec
from engine.data.splits import shipped_file, three_way_split
from engine.errors import DatasetError

if TYPE_CHECKING:
    from engine.data.base import TensorSplit

SPEC = dataset_spec("digits")


def digits_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed split: indices of each split into scikit-learn's 1,797 digits."""
    return three_way_split(labels, val=0.1, test=0.2)


@functools.cache
def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images float [1797, 8, 8] in 0..16, labels int64 [1797]): the CSV scikit-learn ships,
    read as `sklearn.datasets.load_digits` reads it, without importing scikit-learn (which
    adds seconds to every process that trains or evaluates on digits)."""
    path = shipped_file("digits", "sklearn", "scikit-learn", "datasets", "data", "digits.csv.gz")
    if not path.is_file():
        raise DatasetError(f"digits not found: expected {path}; reinstall scikit-learn")
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


@register_check(SPEC)
def check_digits(spec: DatasetSpec) -> None:
    read_digits()


@register_dataset(SPEC)
def load_digits(spec: DatasetSpec, split: str, options: LoadOptions) -> TensorSplit:
    import torch
    import torch.nn.functional as F

    from engine.data.base import TensorSplit

    pixels, labels = read_digits()
    images = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 16.0)
    size = spec.image_size
    images = F.interpolate(images[:, None], size=(size, size), mode="bilinear", align_corners=False)
    idx = digits_indices(labels)
    return TensorSplit.normalized(
        spec, split, images, torch.from_numpy(labels), idx, options, max_shift=1
    )
