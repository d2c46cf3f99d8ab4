"""Datasets: fixed train/val/test splits, seeded loaders and deterministic batches.

Five datasets are known (see `DATASETS`); each split item is `(x, y)` with `x` a float32 tensor
`[C, S, S]` (static images) or `[T, C, S, S]` (event frames) and `y` an int class index.

- ``digits``: scikit-learn's 8x8 digits, shipped with scikit-learn (never downloaded). Pixels
  0..16 are scaled to [0, 1] and upsampled bilinearly to 16x16, so that Spikformer's SPS stem
  (two 2x max-pools) yields a 4x4 grid of 16 tokens; then normalized with the train split's
  mean and std. A fixed stratified split (70% train / 10% val / 20% test) that never depends on
  the ``seed`` argument. Augmentation: a random shift of up to 1 pixel.
- ``cifar10`` / ``cifar100``: the official python-pickle batches, read with a restricted
  unpickler (`RestrictedUnpickler`) under ``<data_root>/cifar-10-batches-py`` and
  ``<data_root>/cifar-100-python``. Validation is a fixed 10% of the training images (5,000 of
  50,000), carved by a fixed seeded stratified permutation; test is the official test set.
  Augmentation: random crop 32 with padding 4 and a horizontal flip; the usual per-channel
  mean/std normalization.
- ``cifar10-dvs`` / ``dvs128-gesture``: spikingjelly's `CIFAR10DVS` / `DVS128Gesture` with
  ``data_type='frame'``, 16 frames ``split_by='number'`` and 2 polarity channels, under
  ``<data_root>/CIFAR10DVS`` and ``<data_root>/DVS128Gesture``. Either the extracted events
  (``events_np/...``, spikingjelly's own layout) or the official archives (``download/...``, the
  md5 checked here first) must be present: nothing is ever downloaded. Spikingjelly caches the
  integrated frames in ``frames_number_16_split_by_number/`` next to them (built once, under a
  file lock). The 128x128 frames are average-pooled to 64x64 and stay event counts (not
  normalized). CIFAR10-DVS has no official split: a fixed stratified 80/10/10 split by sample.
  DVS128 Gesture keeps its official train/test split and carves 10% of train for val.
  ``time_steps=T`` returns the first T of the 16 frames. Augmentation: a random shift of up to
  4 pixels (plus a horizontal flip for CIFAR10-DVS only: flipping a gesture changes its class).

Random augmentation is drawn from a `torch.Generator` owned by the dataset and seeded from
``seed`` (re-seeded per DataLoader worker from the worker's seed), never from the global RNG.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from engine.errors import DatasetError

DATASETS = ("digits", "cifar10", "cifar100", "cifar10-dvs", "dvs128-gesture")
SPLITS = ("train", "val", "test")

# Seed of every fixed split. The splits never depend on the caller's `seed`.
SPLIT_SEED = 0
DVS_FRAMES = 16
DVS_SENSOR_SIZE = 128

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

DVS_FOLDERS = {"cifar10-dvs": "CIFAR10DVS", "dvs128-gesture": "DVS128Gesture"}
CIFAR10DVS_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

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


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a dataset."""

    name: str
    in_channels: int
    num_classes: int
    image_size: int  # square side the model sees
    is_event: bool  # True for DVS: samples are [T, C, S, S] frames
    max_time_steps: int  # frames available per event sample (0 for static images)


_SPECS = {
    "digits": DatasetSpec("digits", 1, 10, 16, False, 0),
    "cifar10": DatasetSpec("cifar10", 3, 10, 32, False, 0),
    "cifar100": DatasetSpec("cifar100", 3, 100, 32, False, 0),
    "cifar10-dvs": DatasetSpec("cifar10-dvs", 2, 10, 64, True, DVS_FRAMES),
    "dvs128-gesture": DatasetSpec("dvs128-gesture", 2, 11, 64, True, DVS_FRAMES),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset; `DatasetError` for an unknown name."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise DatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}"
        ) from None


def data_root() -> Path:
    """The folder with the datasets that are not shipped: $AUTOSPIKFORMER_DATA or ./data."""
    value = os.environ.get("AUTOSPIKFORMER_DATA", "").strip()
    return Path(value).expanduser() if value else Path("data")


# --------------------------------------------------------------------------- splitting helpers


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


def _carve(labels: np.ndarray, n_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
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


def _fraction(n: int, frac: float) -> int:
    """round(n * frac), at least 1 when there are at least 2 samples."""
    return max(1 if n >= 2 else 0, round(n * frac))


# --------------------------------------------------------------------------- base dataset


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


def _shift(x: torch.Tensor, pad: int, gen: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Translate the last two dims by up to `pad` pixels, filling with `fill`."""
    size_h, size_w = x.shape[-2:]
    padded = F.pad(x, (pad, pad, pad, pad), value=fill)
    dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    return padded[..., dy : dy + size_h, dx : dx + size_w].contiguous()


def _maybe_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip the last dim with probability 1/2."""
    if torch.rand((), generator=gen).item() < 0.5:
        return x.flip(-1)
    return x


# --------------------------------------------------------------------------- digits


class DigitsDataset(SplitDataset):
    """scikit-learn digits, upsampled to 16x16 and normalized, held in memory."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, fill: float, split: str, **kw: Any
    ) -> None:
        super().__init__(_SPECS["digits"], split, **kw)
        self.images = images
        self.labels = labels
        self.fill = fill

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].clone(), int(self.labels[index])

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return _shift(x, 1, gen, fill=self.fill)


def _digits_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    n = len(labels)
    rest, test = _carve(labels, _fraction(n, 0.2), SPLIT_SEED)
    keep, val = _carve(labels[rest], _fraction(n, 0.1), SPLIT_SEED + 1)
    return {"train": rest[keep], "val": rest[val], "test": test}


def _load_digits(split: str, *, seed: int, augment: bool) -> DigitsDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0)
    size = _SPECS["digits"].image_size
    images = F.interpolate(images[:, None], size=(size, size), mode="bilinear", align_corners=False)
    idx = _digits_indices(labels)
    train = images[torch.from_numpy(idx["train"])]
    mean, std = float(train.mean()), float(train.std())
    chosen = torch.from_numpy(idx[split])
    normalized = ((images[chosen] - mean) / std).contiguous()
    return DigitsDataset(
        normalized,
        torch.from_numpy(labels)[chosen],
        (0.0 - mean) / std,
        split,
        seed=seed,
        augment=augment,
    )


# --------------------------------------------------------------------------- CIFAR


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


def _read_cifar_file(name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
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
    num_classes = _SPECS[name].num_classes
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(
            f"{name}: {path} has data {data.dtype}{list(data.shape)}, not uint8[N,3072]"
        )
    if labels.shape != (data.shape[0],) or (
        labels.size and not 0 <= labels.min() <= labels.max() < num_classes
    ):
        raise DatasetError(
            f"{name}: {path} has labels that do not match its {data.shape[0]} images"
        )
    return data, labels


class CifarDataset(SplitDataset):
    """CIFAR images held in memory as uint8 [N, 3, 32, 32]."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, name: str, split: str, **kw: Any
    ) -> None:
        super().__init__(_SPECS[name], split, **kw)
        self.images = images
        self.labels = labels
        mean, std = CIFAR_MEAN_STD[name]
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].float() / 255.0, int(self.labels[index])

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return _maybe_flip(_shift(x, 4, gen), gen)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x, y = super().__getitem__(index)
        return (x - self.mean) / self.std, y


def _load_cifar(name: str, split: str, root: Path, *, seed: int, augment: bool) -> CifarDataset:
    folder = root / CIFAR_FOLDERS[name]
    train_files, test_files = CIFAR_FILES[name]
    missing = [f for f in (*train_files, *test_files) if not (folder / f).is_file()]
    if missing:
        partial = len(missing) < len(train_files) + len(test_files)
        raise DatasetError(
            f"{name} not found: expected {folder.absolute()}/{CIFAR_HINT[name]}"
            + (f" (missing: {', '.join(missing)})" if partial else "")
        )
    files = test_files if split == "test" else train_files
    parts = [_read_cifar_file(name, folder / f) for f in files]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if split != "test":
        keep, val = _carve(labels, len(labels) // 10, SPLIT_SEED)
        chosen = keep if split == "train" else val
        data, labels = data[chosen], labels[chosen]
    images = torch.from_numpy(np.ascontiguousarray(data)).view(-1, 3, 32, 32)
    return CifarDataset(images, torch.from_numpy(labels), name, split, seed=seed, augment=augment)


# --------------------------------------------------------------------------- DVS


class DvsDataset(SplitDataset):
    """A subset of a spikingjelly frame dataset, pooled to the spec's size, first T frames."""

    def __init__(
        self,
        frames: Dataset,
        indices: np.ndarray,
        label_of_class: Sequence[int],
        time_steps: int,
        name: str,
        split: str,
        **kw: Any,
    ) -> None:
        super().__init__(_SPECS[name], split, **kw)
        self.frames = frames
        self.indices = np.asarray(indices, dtype=np.int64)
        self.label_of_class = tuple(label_of_class)
        self.time_steps = time_steps

    def __len__(self) -> int:
        return len(self.indices)

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        frames, cls = self.frames[int(self.indices[index])]
        x = torch.as_tensor(np.asarray(frames[: self.time_steps], dtype=np.float32))
        size = self.spec.image_size
        if tuple(x.shape[-2:]) != (size, size):
            x = F.adaptive_avg_pool2d(x, (size, size))
        return x.contiguous(), self.label_of_class[cls]

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = _shift(x, 4, gen)
        return _maybe_flip(x, gen) if self.spec.name == "cifar10-dvs" else x


def _dvs_expected(name: str, folder: Path) -> str:
    if name == "dvs128-gesture":
        return (
            f"{folder}/events_np/{{train,test}}/<label 0..10>/*.npz or "
            f"{folder}/download/{{DvsGesture.tar.gz,gesture_mapping.csv,LICENSE.txt,README.txt}}"
            "; download DVS128 Gesture from IBM and put it there"
        )
    return (
        f"{folder}/events_np/<class name>/*.npz or "
        f"{folder}/download/{{airplane,automobile,...,truck}}.zip"
        "; download CIFAR10-DVS from figshare and put it there"
    )


def _has_npz(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in (".npz", ".npy") for p in folder.rglob("*"))


def _check_dvs_files(name: str, folder: Path, sj_class: type) -> None:
    """Make sure spikingjelly will find its files without trying to download anything."""
    shown = folder.absolute()
    events = folder / "events_np"
    if events.is_dir():
        if name == "dvs128-gesture":
            ok = all(_has_npz(events / s) for s in ("train", "test"))
        else:
            ok = _has_npz(events)
        if not ok:
            raise DatasetError(
                f"{name} not found: {events.absolute()} holds no samples; expected "
                + _dvs_expected(name, shown)
            )
        return
    download = folder / "download"
    resources = sj_class.resource_url_md5()
    missing = [f for f, _, _ in resources if not (download / f).is_file()]
    if missing:
        raise DatasetError(f"{name} not found: expected " + _dvs_expected(name, shown))
    from torchvision.datasets.utils import check_integrity

    corrupt = [f for f, _, md5 in resources if not check_integrity(str(download / f), md5)]
    if corrupt:
        raise DatasetError(
            f"{name}: {download.absolute()} has corrupt or truncated files "
            f"(md5 mismatch: {', '.join(corrupt)}); replace them and retry"
        )


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """An exclusive inter-process lock while spikingjelly extracts or integrates frames."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        fh = open(folder / ".autospikformer-build.lock", "a")
    except OSError as exc:
        raise DatasetError(
            f"cannot write the frames cache in {folder.absolute()}: {exc.strerror}"
        ) from None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _open_spikingjelly(name: str, folder: Path, train: bool | None) -> Any:
    """Build (or reuse) spikingjelly's frame dataset for `name` under `folder`."""
    if name == "dvs128-gesture":
        from spikingjelly.datasets.dvs128_gesture import DVS128Gesture as sj_class
    else:
        from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS as sj_class

    kwargs: dict[str, Any] = {
        "data_type": "frame",
        "frames_number": DVS_FRAMES,
        "split_by": "number",
    }
    if name == "dvs128-gesture":
        kwargs["train"] = train
    frames_dir = folder / f"frames_number_{DVS_FRAMES}_split_by_number"
    marker = frames_dir.with_name(frames_dir.name + ".building")
    raw_marker = folder / "events_np.building"
    checked = not raw_marker.exists()  # otherwise someone is extracting: wait for the lock
    if checked:
        _check_dvs_files(name, folder, sj_class)  # before writing anything
    ready = frames_dir.is_dir() and not marker.exists() and checked
    lock = contextlib.nullcontext() if ready else _build_lock(folder)
    with lock:
        for stale in (raw_marker, marker):
            if stale.exists():
                raise DatasetError(
                    f"{name}: {stale.absolute()} marks an interrupted preprocessing; remove it "
                    f"and {stale.with_suffix('').absolute()}, then retry"
                )
        if not checked:
            _check_dvs_files(name, folder, sj_class)
        try:
            return sj_class(str(folder), **kwargs)
        except DatasetError:
            raise
        except (OSError, RuntimeError, ValueError, NotImplementedError, EOFError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DatasetError(
                f"{name}: cannot prepare frames in {folder.absolute()}: {reason}"
            ) from None


def _class_labels(name: str, classes: Sequence[str]) -> list[int]:
    """Map spikingjelly's (alphabetical) class folders to the dataset's true labels."""
    labels = []
    for c in classes:
        if name == "dvs128-gesture":
            ok = c.isdigit() and 0 <= int(c) < 11
            label = int(c) if ok else -1
        else:
            ok = c in CIFAR10DVS_CLASSES
            label = CIFAR10DVS_CLASSES.index(c) if ok else -1
        if not ok:
            raise DatasetError(f"{name}: unexpected class folder {c!r} among the samples")
        labels.append(label)
    return labels


def _load_dvs(
    name: str, split: str, root: Path, *, seed: int, augment: bool, time_steps: int | None
) -> DvsDataset:
    spec = _SPECS[name]
    steps = spec.max_time_steps if time_steps is None else time_steps
    if (
        isinstance(steps, bool)
        or not isinstance(steps, int)
        or not 1 <= steps <= spec.max_time_steps
    ):
        raise DatasetError(
            f"{name}: time_steps must be an integer in 1..{spec.max_time_steps}, got {time_steps!r}"
        )
    folder = root / DVS_FOLDERS[name]
    if not folder.is_dir():
        raise DatasetError(f"{name} not found: expected " + _dvs_expected(name, folder.absolute()))
    if name == "dvs128-gesture":
        sj = _open_spikingjelly(name, folder, train=split != "test")
        label_of_class = _class_labels(name, sj.classes)
        labels = np.asarray([label_of_class[t] for t in sj.targets], dtype=np.int64)
        if split == "test":
            indices = np.arange(len(labels))
        else:
            keep, val = _carve(labels, _fraction(len(labels), 0.1), SPLIT_SEED)
            indices = keep if split == "train" else val
    else:
        sj = _open_spikingjelly(name, folder, train=None)
        label_of_class = _class_labels(name, sj.classes)
        labels = np.asarray([label_of_class[t] for t in sj.targets], dtype=np.int64)
        n = len(labels)
        rest, test = _carve(labels, _fraction(n, 0.1), SPLIT_SEED)
        keep, val = _carve(labels[rest], _fraction(n, 0.1), SPLIT_SEED + 1)
        indices = {"train": rest[keep], "val": rest[val], "test": test}[split]
    return DvsDataset(sj, indices, label_of_class, steps, name, split, seed=seed, augment=augment)


# --------------------------------------------------------------------------- public API


def load_split(
    name: str,
    split: str,
    *,
    root: Path | None = None,
    seed: int = 0,
    augment: bool = False,
    time_steps: int | None = None,
) -> Dataset:
    """One split ("train", "val" or "test") of a dataset; items are (float32 tensor, int).

    `root` defaults to `data_root()` (unused for digits). `seed` seeds augmentation only; the
    splits are fixed. `augment` applies the dataset's training augmentation (whatever the split).
    `time_steps` keeps the first T frames of event samples (all of them when None); it is
    ignored for static images.
    """
    spec = dataset_spec(name)
    _check_split(split)
    if name == "digits":
        return _load_digits(split, seed=seed, augment=augment)
    root = data_root() if root is None else Path(root)
    if name in CIFAR_FOLDERS:
        return _load_cifar(name, split, root, seed=seed, augment=augment)
    assert spec.is_event
    return _load_dvs(name, split, root, seed=seed, augment=augment, time_steps=time_steps)


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


__all__ = [
    "DATASETS",
    "SPLITS",
    "DatasetSpec",
    "RestrictedUnpickler",
    "SplitDataset",
    "data_root",
    "dataset_spec",
    "fixed_batches",
    "load_pickle",
    "load_split",
    "make_loader",
]
