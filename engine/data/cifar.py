"""``cifar10`` / ``cifar100``: the official python-pickle batches, never downloaded.

Read with a restricted unpickler (`RestrictedUnpickler`) under
``<data_root>/cifar-10-batches-py`` and ``<data_root>/cifar-100-python``. Validation is a fixed
10% of the training images (5,000 of 50,000), carved by a fixed seeded stratified permutation;
test is the official test set. Augmentation: random crop 32 with padding 4 and a horizontal
flip; the usual per-channel mean/std normalization. At 32x32 the SPS stem gives 8x8 = 64 tokens.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.data.base import DatasetSpec, LoadOptions, SplitDataset, maybe_flip, shift
from engine.data.registry import register_dataset
from engine.data.spec import dataset_spec
from engine.data.splits import SPLIT_SEED, carve
from engine.errors import DatasetError

SPECS = {name: dataset_spec(name) for name in ("cifar10", "cifar100")}
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
CIFAR_FILES = {
    "cifar10": (tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",)),
    "cifar100": (("train",), ("test",)),
}
CIFAR_LABEL_KEY = {"cifar10": b"labels", "cifar100": b"fine_labels"}
CIFAR_HINT = {
    "cifar10": "{data_batch_1..5,test_batch}; download CIFAR-10 (python version) from "
    "https://www.cs.toronto.edu/~kriz/cifar.html and unpack it there",
    "cifar100": "{train,test}; download CIFAR-100 (python version) from "
    "https://www.cs.toronto.edu/~kriz/cifar.html and unpack it there",
}
CIFAR_MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}

# (module, name) pairs a CIFAR pickle may reference: numpy's array reconstruction (numpy 1 and
# numpy 2 spellings, pickle protocols 2 to 5) and `_codecs.encode` (bytes in protocol 2).
PICKLE_ALLOWED = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds dicts, lists, bytes and numpy arrays.

    Any other global (a function, a class) raises `pickle.UnpicklingError`, so loading a file
    cannot run code.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        if module == "_codecs":
            import _codecs

            return _codecs.encode
        if module == "numpy":
            return getattr(np, name)
        submodule = module.rsplit(".", 1)[1]
        for prefix in ("numpy._core", "numpy.core"):
            with contextlib.suppress(ImportError, AttributeError):
                return getattr(importlib.import_module(f"{prefix}.{submodule}"), name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not available")


def load_pickle(path: Path) -> Any:
    """Unpickle a CIFAR batch file with `RestrictedUnpickler` (bytes keys, like the originals)."""
    with open(path, "rb") as fh:
        return RestrictedUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()


def _read_cifar_file(spec: DatasetSpec, path: Path) -> tuple[np.ndarray, np.ndarray]:
    name = spec.name
    try:
        batch = load_pickle(path)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{name}: cannot read {path}: {reason}") from None
    key = CIFAR_LABEL_KEY[name]
    if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
        raise DatasetError(
            f"{name}: {path} is not a CIFAR batch (expected keys b'data' and {key!r})"
        )
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(
            f"{name}: {path} has data {data.dtype}{list(data.shape)}, not uint8[N,3072]"
        )
    if labels.shape != (data.shape[0],) or (
        labels.size and not 0 <= labels.min() <= labels.max() < spec.num_classes
    ):
        raise DatasetError(
            f"{name}: {path} has labels that do not match its {data.shape[0]} images"
        )
    return data, labels


class CifarDataset(SplitDataset):
    """CIFAR images held in memory as uint8 [N, 3, 32, 32]."""

    def __init__(
        self,
        spec: DatasetSpec,
        split: str,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        seed: int,
        augment: bool,
    ) -> None:
        super().__init__(spec, split, seed=seed, augment=augment)
        self.images = images
        self.labels = labels
        mean, std = CIFAR_MEAN_STD[spec.name]
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].float() / 255.0, int(self.labels[index])

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return maybe_flip(shift(x, 4, gen), gen)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x, y = super().__getitem__(index)
        return (x - self.mean) / self.std, y


@register_dataset(*SPECS.values())
def load_cifar(spec: DatasetSpec, split: str, options: LoadOptions) -> CifarDataset:
    name = spec.name
    folder = options.root / CIFAR_FOLDERS[name]
    train_files, test_files = CIFAR_FILES[name]
    missing = [f for f in (*train_files, *test_files) if not (folder / f).is_file()]
    if missing:
        partial = len(missing) < len(train_files) + len(test_files)
        raise DatasetError(
            f"{name} not found: expected {folder.absolute()}/{CIFAR_HINT[name]}"
            + (f" (missing: {', '.join(missing)})" if partial else "")
        )
    files = test_files if split == "test" else train_files
    parts = [_read_cifar_file(spec, folder / f) for f in files]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if split != "test":
        keep, val = carve(labels, len(labels) // 10, SPLIT_SEED)
        chosen = keep if split == "train" else val
        data, labels = data[chosen], labels[chosen]
    images = torch.from_numpy(np.ascontiguousarray(data)).view(-1, 3, 32, 32)
    return CifarDataset(
        spec, split, images, torch.from_numpy(labels), seed=options.seed, augment=options.augment
    )
