"""``digits``: scikit-learn's 8x8 digits, shipped with scikit-learn (never downloaded).

Pixels 0..16 are scaled to [0, 1] and upsampled bilinearly to 16x16, so that Spikformer's SPS
stem (two 2x max-pools) yields a 4x4 grid of 16 tokens; then normalized with the train split's
mean and std. A fixed stratified split (70% train / 10% val / 20% test: 1,258 / 180 / 359
images) that never depends on the ``seed`` argument. Augmentation: a random shift of up to
1 pixel.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.base import DatasetSpec, LoadOptions, TensorSplit, three_way_split
from engine.data.registry import register_dataset

SPEC = DatasetSpec("digits", 1, 10, 16, False, 0)


def digits_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed split: indices of each split into scikit-learn's 1,797 digits."""
    return three_way_split(labels, val=0.1, test=0.2)


@register_dataset(SPEC)
def load_digits(spec: DatasetSpec, split: str, options: LoadOptions) -> TensorSplit:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0)
    size = spec.image_size
    images = F.interpolate(images[:, None], size=(size, size), mode="bilinear", align_corners=False)
    idx = digits_indices(labels)
    return TensorSplit.normalized(
        spec, split, images, torch.from_numpy(labels), idx, options, max_shift=1
    )
