"""Checkpoints as safetensors: tensors in the file, everything else as JSON in its metadata.

Nothing is ever loaded with pickle. Two kinds:
- a supernet training checkpoint (`kind=supernet` or `standalone`): model and optimizer tensors,
  the training config, epoch and step;
- a standalone subnet (`kind=subnet`): the weights of one arch with the BN statistics
  recalibrated for it, the arch and the model shape; it loads without any supernet.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.checkpoint_files import FORMAT, read_meta
from engine.errors import CheckpointError
from engine.files import atomic_write
from engine.shape import ModelShape
from engine.space import Arch
from engine.spikformer import Spikformer


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write never leaves a half file under the final name. A write
    that fails on the file system (a full disk, an unwritable folder) raises `OSError` naming
    `path`, as any other write does."""
    flat = {"format": FORMAT, **{k: json.dumps(v) for k, v in meta.items()}}
    host = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}

    def write(tmp: Path) -> None:
        try:
            save_file(host, str(tmp), flat)
        except SafetensorError as err:
            code = re.search(r"\(os error (\d+)\)", str(err))
            if code is None:
                raise CheckpointError(f"cannot write {Path(path).name}: {err}") from None
            number = int(code.group(1))
            raise OSError(number, os.strerror(number), str(path)) from None

    atomic_write(path, write)


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    meta = read_meta(path)
    try:
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"corrupt checkpoint {Path(path).name}: {e}") from None


def save_subnet(path: Path, subnet: Spikformer, *, dataset: str, extra: dict | None = None) -> Path:
    """Save a standalone subnet with its arch and model shape in the file's metadata."""
    shape = subnet.shape
    meta = {
        "kind": "subnet",
        "arch": subnet.arch.to_dict(),
        "arch_id": subnet.arch.id,
        "shape": {
            "in_channels": shape.in_channels,
            "num_classes": shape.num_classes,
            "image_size": shape.image_size,
        },
        "dataset": dataset,
        **(extra or {}),
    }
    save_tensors(Path(path), subnet.state_dict(), meta)
    return Path(path)


def load_subnet(path: Path, device: str | torch.device = "cpu") -> tuple[Spikformer, dict]:
    """Load a standalone subnet file; no supernet is involved."""
    tensors, meta = load_tensors(Path(path))
    if meta.get("kind") != "subnet":
        raise CheckpointError(
            f"{Path(path).name} is a {meta.get('kind')!r} checkpoint, not a subnet"
        )
    try:
        arch = Arch.from_dict(meta["arch"])
        model = Spikformer(arch, ModelShape(**meta["shape"]))
        model.load_state_dict(tensors, strict=True)
    except (KeyError, TypeError, RuntimeError, ValueError) as e:
        msg = str(e).splitlines()[0]
        raise CheckpointError(
            f"checkpoint {Path(path).name} does not match its arch: {msg}"
        ) from None
    return model.to(device).eval(), meta
