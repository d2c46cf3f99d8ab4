"""A run's checkpoint files and their metadata, read without torch.

A checkpoint is a safetensors file whose metadata holds everything but the tensors as JSON
(`engine.checkpoint` writes and loads them). Reading the metadata, listing a run's checkpoints
and finding the newest one that reads cleanly need only the safetensors header, so the recorder
(resending a run's epoch history) and the search (finding the supernet) do it without torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from engine.errors import CheckpointError

FORMAT = "autospikformer/1"


def read_meta(path: Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint; `CheckpointError` if missing or not ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # The header is checked whole (as for loading); "numpy" keeps torch out of the process.
        with safe_open(str(path), framework="numpy") as f:
            raw = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"corrupt checkpoint {path.name}: {e}") from None
    if raw.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not an Auto-Spikformer checkpoint")
    try:
        return {k: json.loads(v) for k, v in raw.items() if k != "format"}
    except json.JSONDecodeError:
        raise CheckpointError(f"corrupt checkpoint {path.name}: bad metadata") from None


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's training checkpoints, oldest first."""
    return sorted((Path(run_dir) / "checkpoints").glob("epoch-*.safetensors"))


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint that reads cleanly (a torn or corrupt newest one is skipped)."""
    for path in reversed(checkpoints(run_dir)):
        try:
            read_meta(path)
            return path
        except CheckpointError:
            continue
    return None
