"""What every dataset family shares: the spec, fixed stratified splits and the split dataset.

Each split item is `(x, y)` with `x` a float32 tensor `[C, S, S]` (static images) or
`[T, C, S, S]` (event frames) and `y` an int class index. Splits are fixed: they never depend
on the caller's `seed`, which only seeds augmentation. Random augmentation is drawn from a
`torch.Generator` owned by the dataset and seeded from `seed` (re-seeded per DataLoader worker
from the worker's seed), never from the global RNG.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from engine.data.spec import DatasetSpec, LoadOptions


class SplitDataset(Dataset):
    """A dataset split with optional seeded augmentation.

    Subclasses implement `__len__`, `_item(i) -> (x, y)` and `_augment(x, gen)`. The augment
    generator is seeded from `seed`; inside a DataLoader worker it is re-seeded from
    (`seed`, the worker's seed), which the loader derives from its own seeded generator, so runs
    with workers are reproducible too and workers do not repeat each other.
    """

    def __init__(self, spec: DatasetSpec, split: str, *, seed: int, augment: bool) -> None:
        self.spec = spec
        self.split = split
        self.seed = int(seed)
        self.augment = augment
        self._gen: torch.Generator | None = None
        self._gen_key: int | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        raise NotImplementedError

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return x

    def _generator(self) -> torch.Generator:
        info = torch.utils.data.get_worker_info()
        key = None if info is None else int(info.seed)
        if self._gen is None or key != self._gen_key:
            entropy = [self.seed & 0xFFFFFFFFFFFFFFFF] + ([] if key is None else [key])
            state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
            self._gen = torch.Generator().manual_seed(int(state))
            self._gen_key = key
        return self._gen

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        x, y = self._item(index % len(self))
        if self.augment:
            x = self._augment(x, self._generator())
        return x, y


class TensorSplit(SplitDataset):
    """Normalized images held in memory, augmented by a small random shift."""

    def __init__(
        self,
        spec: DatasetSpec,
        split: str,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        fill: float,
        max_shift: int,
        seed: int,
        augment: bool,
    ) -> None:
        super().__init__(spec, split, seed=seed, augment=augment)
        self.images = images
        self.labels = labels
        self.fill = fill
        self.max_shift = max_shift

    @classmethod
    def normalized(
        cls,
        spec: DatasetSpec,
        split: str,
        images: torch.Tensor,
        labels: torch.Tensor,
        indices: dict[str, np.ndarray],
        options: LoadOptions,
        *,
        max_shift: int,
    ) -> TensorSplit:
        """`split` of `images` (in [0, 1]) and `labels` picked by `indices[split]`, normalized with
        the train split's mean and std (an empty pixel becomes the shift's fill value)."""
        train = images[torch.from_numpy(indices["train"])]
        mean, std = float(train.mean()), float(train.std())
        chosen = torch.from_numpy(indices[split])
        return cls(
            spec,
            split,
            ((images[chosen] - mean) / std).contiguous(),
            labels[chosen],
            fill=(0.0 - mean) / std,
            max_shift=max_shift,
            seed=options.seed,
            augment=options.augment,
        )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].clone(), int(self.labels[index])

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return shift(x, self.max_shift, gen, fill=self.fill)


def shift(x: torch.Tensor, pad: int, gen: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Translate the last two dims by up to `pad` pixels, filling with `fill`."""
    size_h, size_w = x.shape[-2:]
    padded = F.pad(x, (pad, pad, pad, pad), value=fill)
    dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    return padded[..., dy : dy + size_h, dx : dx + size_w].contiguous()


def maybe_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip the last dim with probability 1/2."""
    if torch.rand((), generator=gen).item() < 0.5:
        return x.flip(-1)
    return x


def merge_frames(x: torch.Tensor, time_steps: int, dim: int) -> torch.Tensor:
    """Integrate equal-count event frames along `dim` into `time_steps` frames.

    Consecutive groups of n / T frames are summed, so the T frames cover every event of the
    sample, with equal counts when the n frames have them (spikingjelly's ``split_by='number'``).
    T must divide the frame count n.
    """
    n = x.shape[dim]
    if time_steps == n:
        return x
    if time_steps < 1 or n % time_steps:
        raise ValueError(f"T={time_steps} must divide the {n} event frames of a sample")
    shape = (*x.shape[:dim], time_steps, n // time_steps, *x.shape[dim + 1 :])
    return x.reshape(shape).sum(dim + 1)
