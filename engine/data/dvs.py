"""``cifar10-dvs`` / ``dvs128-gesture``: event cameras' 128x128 streams as frames.

Spikingjelly's `CIFAR10DVS` / `DVS128Gesture` with ``data_type='frame'``, 16 frames
``split_by='number'`` and 2 polarity channels, under ``<data_root>/CIFAR10DVS`` and
``<data_root>/DVS128Gesture``. Either the extracted events (``events_np/...``, spikingjelly's
own layout) or the official archives (``download/...``, the md5 checked here first) must be
present: nothing is ever downloaded. Spikingjelly caches the integrated frames in
``frames_number_16_split_by_number/`` next to them (built once, under a file lock).

Frames keep the sensor's 128x128 and stay event counts (not normalized), as Spikformer's DVS
model takes them; its SPS stem (four 2x max-pools) ends at an 8x8 grid of 64 tokens. A sample
is integrated into T frames from the whole sample, split by event count like spikingjelly's
``frames_number=T, split_by='number'``: the 16 equal-count frames are summed in consecutive
groups of 16/T. Every event lands in exactly one of the T frames; the frame boundaries are
spikingjelly's for T up to fewer than 16/T events (its N // T against 16/T x N // 16). T must
divide 16 (1, 2, 4, 8 or 16): other T would split a frame, so event spaces are restricted to
those (`check_space_time_steps`). CIFAR10-DVS has no official split: a
fixed stratified 80/10/10 split by sample. DVS128 Gesture keeps its official train/test split
(subjects 1-23 train, 24-29 test) and carves val from train by subject, not by sample: 10% of the
train subjects (2 of 23), chosen by a fixed seed, with every sample they recorded, so that no
subject is in both train and val and the validation accuracy the search ranks by measures
gestures of people the supernet never saw, as the test split does. The subject is the `userNN`
that starts spikingjelly's sample file names (`userNN_<lighting>_<k>.npz`). Augmentation: a random
shift of up to 4 pixels (plus a horizontal flip for CIFAR10-DVS only: flipping a gesture changes
its class).
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from engine.data.base import DatasetSpec, LoadOptions, SplitDataset, maybe_flip, merge_frames, shift
from engine.data.registry import register_dataset
from engine.data.spec import DVS_FRAMES, check_time_steps, dataset_spec
from engine.data.splits import SPLIT_SEED, carve, fraction, three_way_split
from engine.errors import DatasetError

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


@dataclass(frozen=True)
class DvsSource:
    """How one DVS dataset is laid out on disk and read through spikingjelly."""

    spec: DatasetSpec
    folder: str  # under the data root
    sj_class: str  # "module:Class" of spikingjelly's dataset
    official_test: bool  # spikingjelly keeps a train/test split (val is carved from train)
    classes: tuple[str, ...]  # the true label of each class folder name, by position
    expected: str  # the accepted layouts, with {folder} for the dataset's folder
    flip: bool  # horizontal flips keep the class
    val_by_subject: bool = False  # carve val from train by the subject of the file names


SOURCES = {
    "cifar10-dvs": DvsSource(
        spec=dataset_spec("cifar10-dvs"),
        folder="CIFAR10DVS",
        sj_class="spikingjelly.datasets.cifar10_dvs:CIFAR10DVS",
        official_test=False,
        classes=CIFAR10DVS_CLASSES,
        expected="{folder}/events_np/<class name>/*.npz or "
        "{folder}/download/{{airplane,automobile,...,truck}}.zip"
        "; download CIFAR10-DVS from figshare and put it there",
        flip=True,
    ),
    "dvs128-gesture": DvsSource(
        spec=dataset_spec("dvs128-gesture"),
        folder="DVS128Gesture",
        sj_class="spikingjelly.datasets.dvs128_gesture:DVS128Gesture",
        official_test=True,
        classes=tuple(str(i) for i in range(11)),
        expected="{folder}/events_np/{{train,test}}/<label 0..10>/*.npz or "
        "{folder}/download/{{DvsGesture.tar.gz,gesture_mapping.csv,LICENSE.txt,README.txt}}"
        "; download DVS128 Gesture from IBM and put it there",
        flip=False,
        val_by_subject=True,
    ),
}
SUBJECT = re.compile(r"^(user\d+)_")


class DvsDataset(SplitDataset):
    """A subset of a spikingjelly frame dataset, integrated into T frames of the whole sample."""

    def __init__(
        self,
        source: DvsSource,
        split: str,
        frames: Dataset,
        indices: np.ndarray,
        label_of_class: Sequence[int],
        time_steps: int,
        *,
        seed: int,
        augment: bool,
    ) -> None:
        super().__init__(source.spec, split, seed=seed, augment=augment)
        self.source = source
        self.frames = frames
        self.indices = np.asarray(indices, dtype=np.int64)
        self.label_of_class = tuple(label_of_class)
        self.time_steps = time_steps

    def __len__(self) -> int:
        return len(self.indices)

    def _item(self, index: int) -> tuple[torch.Tensor, int]:
        frames, cls = self.frames[int(self.indices[index])]
        x = torch.as_tensor(np.asarray(frames, dtype=np.float32))  # (16, 2, 128, 128)
        return merge_frames(x, self.time_steps, dim=0).contiguous(), self.label_of_class[cls]

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = shift(x, 4, gen)
        return maybe_flip(x, gen) if self.source.flip else x


def _has_npz(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in (".npz", ".npy") for p in folder.rglob("*"))


def _not_found(source: DvsSource, folder: Path, why: str = "not found: expected ") -> DatasetError:
    return DatasetError(
        f"{source.spec.name} {why}" + source.expected.format(folder=folder.absolute())
    )


def _check_files(source: DvsSource, folder: Path, sj_class: type) -> None:
    """Make sure spikingjelly will find its files without trying to download anything."""
    name = source.spec.name
    events = folder / "events_np"
    if events.is_dir():
        parts = [events / s for s in ("train", "test")] if source.official_test else [events]
        if not all(_has_npz(p) for p in parts):
            why = f"not found: {events.absolute()} holds no samples; expected "
            raise _not_found(source, folder, why)
        return
    download = folder / "download"
    resources = sj_class.resource_url_md5()
    if any(not (download / f).is_file() for f, _, _ in resources):
        raise _not_found(source, folder)
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


def _open_spikingjelly(source: DvsSource, folder: Path, train: bool) -> Any:
    """Build (or reuse) spikingjelly's frame dataset under `folder`."""
    module, cls_name = source.sj_class.split(":")
    sj_class = getattr(importlib.import_module(module), cls_name)
    kwargs: dict[str, Any] = {
        "data_type": "frame",
        "frames_number": DVS_FRAMES,
        "split_by": "number",
    }
    if source.official_test:
        kwargs["train"] = train
    name = source.spec.name
    frames_dir = folder / f"frames_number_{DVS_FRAMES}_split_by_number"
    marker = frames_dir.with_name(frames_dir.name + ".building")
    raw_marker = folder / "events_np.building"
    checked = not raw_marker.exists()  # otherwise someone is extracting: wait for the lock
    if checked:
        _check_files(source, folder, sj_class)  # before writing anything
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
            _check_files(source, folder, sj_class)
        try:
            return sj_class(str(folder), **kwargs)
        except DatasetError:
            raise
        except (OSError, RuntimeError, ValueError, NotImplementedError, EOFError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DatasetError(
                f"{name}: cannot prepare frames in {folder.absolute()}: {reason}"
            ) from None


def _class_labels(source: DvsSource, folders: Sequence[str]) -> list[int]:
    """Map spikingjelly's (alphabetical) class folders to the dataset's true labels."""
    for c in folders:
        if c not in source.classes:
            name = source.spec.name
            raise DatasetError(f"{name}: unexpected class folder {c!r} among the samples")
    return [source.classes.index(c) for c in folders]


def sample_subjects(name: str, paths: Sequence[str]) -> list[str]:
    """The subject (`userNN`) of each sample, from its file name; `DatasetError` naming the
    first file that does not start with one."""
    subjects = []
    for path in paths:
        match = SUBJECT.match(Path(path).name)
        if match is None:
            raise DatasetError(
                f"{name}: cannot tell the subject of sample {Path(path).name!r}; expected a "
                "file name userNN_<lighting>_<k>.npz, as spikingjelly writes them"
            )
        subjects.append(match.group(1))
    return subjects


def carve_subjects(
    subjects: Sequence[str], frac: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (kept, carved): `fraction` of the distinct subjects, drawn by a
    seeded permutation, are carved with all their samples."""
    distinct = sorted(set(subjects))
    if len(distinct) < 2:
        raise DatasetError(
            f"carving val by subject needs samples of at least 2 subjects, got {len(distinct)}"
        )
    order = np.random.default_rng(seed).permutation(len(distinct))
    carved = {distinct[i] for i in order[: fraction(len(distinct), frac)]}
    out = np.asarray([s in carved for s in subjects])
    return np.flatnonzero(~out), np.flatnonzero(out)


def _indices(source: DvsSource, labels: np.ndarray, split: str, paths: Sequence[str]) -> np.ndarray:
    if not source.official_test:
        return three_way_split(labels, val=0.1, test=0.1)[split]
    if split == "test":
        return np.arange(len(labels))
    if source.val_by_subject:
        subjects = sample_subjects(source.spec.name, paths)
        try:
            keep, val = carve_subjects(subjects, 0.1, SPLIT_SEED)
        except DatasetError as e:
            raise DatasetError(f"{source.spec.name}: {e}") from None
    else:
        keep, val = carve(labels, fraction(len(labels), 0.1), SPLIT_SEED)
    return keep if split == "train" else val


@register_dataset(*(s.spec for s in SOURCES.values()))
def load_dvs(spec: DatasetSpec, split: str, options: LoadOptions) -> DvsDataset:
    source = SOURCES[spec.name]
    steps = check_time_steps(spec, options.time_steps)
    folder = options.root / source.folder
    if not folder.is_dir():
        raise _not_found(source, folder)
    sj = _open_spikingjelly(source, folder, train=split != "test")
    label_of_class = _class_labels(source, sj.classes)
    labels = np.asarray([label_of_class[t] for t in sj.targets], dtype=np.int64)
    return DvsDataset(
        source,
        split,
        sj,
        _indices(source, labels, split, [path for path, _ in sj.samples]),
        label_of_class,
        steps,
        seed=options.seed,
        augment=options.augment,
    )
