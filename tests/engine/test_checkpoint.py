"""Standalone subnet files: round trip, corrupt and foreign files, BN recalibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import data
from engine.checkpoint import load_subnet, save_subnet
from engine.errors import CheckpointError
from engine.evaluate import recalibrate_bn
from engine.space import SearchSpace
from engine.supernet import Supernet


def _subnet(seed: int = 0):
    torch.manual_seed(seed)
    space = SearchSpace.preset("digits-tiny")
    net = Supernet(space, in_channels=1, num_classes=10, image_size=16)
    arch = space.sample(np.random.default_rng(seed))
    sub = net.extract(arch)
    recalibrate_bn(sub, data.fixed_batches("digits", "train", n_batches=2, batch_size=64, seed=0))
    return sub.eval()


def test_saved_subnet_loads_without_a_supernet_and_gives_the_same_outputs(tmp_path):
    sub = _subnet()
    path = save_subnet(tmp_path / "s.safetensors", sub, dataset="digits")
    loaded, meta = load_subnet(path)
    x = data.fixed_batches("digits", "val", n_batches=1, batch_size=32, seed=1)[0][0]
    with torch.no_grad():
        assert torch.equal(sub(x), loaded(x))
    assert meta["arch"] == sub.arch.to_dict() and meta["arch_id"] == sub.arch.id


def test_recalibration_changes_bn_statistics():
    sub = _subnet()
    assert not torch.allclose(
        sub.sps.proj_bn[0].running_var, torch.ones_like(sub.sps.proj_bn[0].running_var)
    )


@pytest.mark.parametrize("payload", [b"", b"garbage" * 10, b"\x08\x00\x00\x00\x00\x00\x00\x00{}"])
def test_corrupt_files_are_a_clear_error(tmp_path, payload):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError) as err:
        load_subnet(path)
    assert "\n" not in str(err.value)


def test_missing_file_and_mismatched_weights(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_subnet(tmp_path / "none.safetensors")
    sub = _subnet()
    path = save_subnet(tmp_path / "s.safetensors", sub, dataset="digits")
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    tensors.pop("head.weight")
    save_file(tensors, str(path), meta)
    with pytest.raises(CheckpointError, match="does not match"):
        load_subnet(path)
