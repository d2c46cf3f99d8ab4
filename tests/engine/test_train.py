"""Training: exact resume, checkpoint retention, corrupt checkpoints, standalone training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.checkpoint import load_tensors
from engine.errors import AutoSpikformerError
from engine.space import SearchSpace
from engine.train import TrainConfig, checkpoints, latest_checkpoint, train


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
        ({"batch_size": 0}, "batch size"),
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
