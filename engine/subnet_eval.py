"""Evaluate a standalone subnet file, the way a user checks an exported candidate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engine import data
from engine.checkpoint import load_subnet
from engine.errors import CheckpointError
from engine.evaluate import evaluate_model


def evaluate_checkpoint(
    path: str | Path, dataset: str, split: str = "val", device: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Contract JSON of `evaluate`: accuracy, energy (uJ), params and mean firing rate."""
    spec = data.dataset_spec(dataset)
    if split not in ("val", "test"):
        raise CheckpointError(f"split must be val or test, got {split!r}")
    model, meta = load_subnet(Path(path), device=device)
    shape = model.shape
    if (shape.in_channels, shape.num_classes, shape.image_size) != (
        spec.in_channels,
        spec.num_classes,
        spec.image_size,
    ):
        raise CheckpointError(
            f"{Path(path).name} was built for {meta.get('dataset')!r}, not for {dataset!r}"
        )
    batches = list(data.make_loader(dataset, split, batch_size=256))
    accuracy, report = evaluate_model(model, batches)
    return {
        "accuracy": accuracy,
        "energy_uj": report.energy_uj,
        "params": sum(p.numel() for p in model.parameters()),
        "firing_rate": report.firing_rate,
        "arch": model.arch.to_dict(),
        "ann_energy_uj": report.ann_energy_uj,
        "sops": report.sops,
    }
