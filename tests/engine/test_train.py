"""Training: exact resume, checkpoint retention, corrupt checkpoints, standalone training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoint import load_tensors
from engine.errors import AutoSpikformerError
from engine.space import SearchSpace
from engine.train import TrainConfig, checkpoints, latest_checkpoint, step_archs, train


def _config(space_file: Path, **kw) -> TrainConfig:
    base = dict(
        dataset="digits",
        space=SearchSpace.from_file(space_file).to_dict(),
        epochs=2,
        lr=5e-3,
        batch_size=128,
        keep_checkpoints=2,
        recalib_batches=1,
    )
    return TrainConfig(**{**base, **kw})


def _weights(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = load_tensors(path)
    return {k: v for k, v in tensors.items() if k.startswith(("model.", "optim."))}


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_space_file):
    config = _config(tiny_space_file)
    straight = train(tmp_path / "a", config, device="cpu")
    train(tmp_path / "b", config, device="cpu", max_epochs=1)  # interrupted after epoch 1
    assert [p.name for p in checkpoints(tmp_path / "b")] == ["epoch-0001.safetensors"]
    resumed = train(tmp_path / "b", config, device="cpu")
    a, b = _weights(straight.checkpoint), _weights(resumed.checkpoint)
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert resumed.val_accuracy_largest == straight.val_accuracy_largest


def test_keeps_the_last_n_checkpoints_and_skips_a_corrupt_one(tmp_path, tiny_space_file):
    config = _config(tiny_space_file, epochs=3, sampling="uniform")
    train(tmp_path, config, device="cpu")
    names = [p.name for p in checkpoints(tmp_path)]
    assert names == ["epoch-0002.safetensors", "epoch-0003.safetensors"]
    newest = checkpoints(tmp_path)[-1]
    newest.write_bytes(b"not a safetensors file")  # e.g. a torn write
    assert latest_checkpoint(tmp_path).name == "epoch-0002.safetensors"


def test_resume_refuses_other_settings(tmp_path, tiny_space_file):
    train(tmp_path, _config(tiny_space_file, epochs=1, sampling="uniform"), device="cpu")
    with pytest.raises(AutoSpikformerError, match="other settings"):
        train(
            tmp_path, _config(tiny_space_file, epochs=1, sampling="uniform", seed=3), device="cpu"
        )


def test_standalone_training_of_one_arch(tmp_path, tiny_space_file):
    arch = SearchSpace.from_file(tiny_space_file).smallest()
    result = train(tmp_path, _config(tiny_space_file, epochs=1, arch=arch.to_dict()), device="cpu")
    _, meta = load_tensors(result.checkpoint)
    assert meta["kind"] == "standalone"
    assert result.val_accuracy_largest == result.val_accuracy_smallest
    assert 0.0 <= result.val_accuracy_largest <= 1.0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"sampling": "greedy"}, "sampling"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 5001}, "epochs must be a whole number from 1 to 5000"),
        ({"lr": float("nan")}, "lr must be a number > 0"),
    ],
)
def test_bad_training_settings(tiny_space_file, kw, match):
    with pytest.raises(AutoSpikformerError, match=match):
        _config(tiny_space_file, **kw)


def test_cuda_requested_without_a_gpu(tmp_path, tiny_space_file):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(AutoSpikformerError, match="CUDA"):
        train(tmp_path, _config(tiny_space_file, epochs=1), device="cuda")


HISTORY_KEYS = {"epoch", "loss", "seconds", "val_accuracy_largest", "val_accuracy_smallest"}


def test_history_and_epoch_events_carry_loss_accuracies_and_time(tmp_path, tiny_space_file):
    events: list[dict] = []
    config = _config(tiny_space_file)
    result = train(tmp_path, config, device="cpu", progress=events.append)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [r["epoch"] for r in result.history] == [e["epoch"] for e in epochs] == [1, 2]
    for record, event in zip(result.history, epochs, strict=True):
        assert set(record) == HISTORY_KEYS
        assert {k: event[k] for k in HISTORY_KEYS} == record
        assert record["seconds"] > 0 and record["loss"] > 0
        assert (
            0 <= record["val_accuracy_smallest"] <= 1 and 0 <= record["val_accuracy_largest"] <= 1
        )
    # Every batch sends a "step" event: its place in the epoch, its mean loss over the archs it
    # trained and the time since the epoch's first batch began; the epoch's loss is their mean.
    for epoch, record in enumerate(result.history):
        steps = [e for e in events if e["event"] == "step" and e["epoch"] == epoch]
        assert [e["batch"] for e in steps] == list(range(1, len(steps) + 1))
        assert {e["batches"] for e in steps} == {len(steps)} and len(steps) > 1
        seconds = [e["seconds"] for e in steps]
        assert seconds == sorted(seconds) and 0 < seconds[-1] <= record["seconds"]
        assert np.mean([e["loss"] for e in steps]) == pytest.approx(record["loss"])
    # the summary is the last epoch's measurement, as a fresh evaluation of the checkpoint gives
    last = result.history[-1]
    assert (result.val_accuracy_largest, result.val_accuracy_smallest) == (
        last["val_accuracy_largest"],
        last["val_accuracy_smallest"],
    )
    again = train(tmp_path, config, device="cpu")  # nothing left to train: measured anew
    assert again.val_accuracy_largest == last["val_accuracy_largest"]
    assert again.val_accuracy_smallest == last["val_accuracy_smallest"]
    _, meta = load_tensors(result.checkpoint)
    assert meta["history"] == result.history


def test_standalone_history_reports_the_arch_twice(tmp_path, tiny_space_file):
    arch = SearchSpace.from_file(tiny_space_file).largest()
    config = _config(tiny_space_file, epochs=1, arch=arch.to_dict())
    (record,) = train(tmp_path, config, device="cpu").history
    assert set(record) == HISTORY_KEYS
    assert record["val_accuracy_largest"] == record["val_accuracy_smallest"]


def test_checkpoint_from_before_the_epoch_history_fields_resumes(tmp_path, tiny_space_file):
    from engine.checkpoint import save_tensors

    config = _config(tiny_space_file)
    train(tmp_path, config, device="cpu", max_epochs=1)
    (path,) = checkpoints(tmp_path)
    tensors, meta = load_tensors(path)
    meta["history"] = [{"epoch": 1, "loss": meta["history"][0]["loss"]}]  # the old record
    save_tensors(path, tensors, meta)
    result = train(tmp_path, config, device="cpu")
    assert result.history[0] == meta["history"][0]
    assert set(result.history[1]) == HISTORY_KEYS


def test_ddp_ranks_draw_their_own_augmentation_from_a_shared_order(tiny_space_file):
    """Each rank's loader: its half of one permutation, its own augmentation stream."""
    from engine.train import _train_loader

    config = _config(tiny_space_file, batch_size=16)

    def first_batches(rank: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        loader = _train_loader(config, epoch, rank, 2)
        indices = list(iter(loader.sampler))
        x, y = next(iter(loader))
        return x, y, indices

    x0, y0, idx0 = first_batches(0)
    x1, _, idx1 = first_batches(1)
    assert set(idx0).isdisjoint(idx1) and len(idx0) == len(idx1)  # one order, split
    again, _, idx_again = first_batches(0)
    assert torch.equal(x0, again) and idx0 == idx_again  # reproducible: resume sees the same
    # the same images through both ranks' datasets: different augmentations
    ds0, ds1 = _train_loader(config, 0, 0, 2).dataset, _train_loader(config, 0, 1, 2).dataset
    same = sum(torch.equal(ds0[i][0], ds1[i][0]) for i in range(40))
    assert same < 20  # a 1-pixel shift in 9 positions repeats by chance ~1 in 9
    assert not torch.equal(first_batches(0, epoch=1)[0], x0)  # a new stream every epoch


@pytest.mark.parametrize(
    ("sampling", "share"), [("sandwich", (1 / 9, 4 / 9)), ("sandwich-dsps", (1 / 3, 1 / 3))]
)
def test_sandwich_dsps_draws_the_snn_genes_of_its_extremes(tiny_space_file, sampling, share):
    """Sandwich trains T's two ends in two of every step's three archs; sandwich-dsps keeps the
    extremes of the transformer genes and draws T like a uniform arch, so every T gets a third."""
    space = SearchSpace.preset("mnist-snn")
    config = _config(tiny_space_file, space=space.to_dict(), sampling=sampling)
    rng = np.random.default_rng(0)
    steps = [step_archs(config, space, rng) for _ in range(900)]
    big, small = space.largest(), space.smallest()
    for big_i, small_i, _ in steps:
        assert (big_i.depth, big_i.mlp_ratios, big_i.num_heads) == (
            big.depth, big.mlp_ratios, big.num_heads,
        )  # fmt: skip
        assert (small_i.depth, small_i.mlp_ratios) == (small.depth, small.mlp_ratios)
    archs = [a for step in steps for a in step]
    middle, low = (sum(a.time_steps == t for a in archs) / len(archs) for t in (2, 1))
    assert middle == pytest.approx(share[0], abs=0.03) and low == pytest.approx(share[1], abs=0.03)
