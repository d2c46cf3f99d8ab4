"""Stage 1: supernet training, one epoch at a time from the last checkpoint, with each epoch
recorded as it ends and its batches as they go (throttled progress points, `tasks.progress`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.checkpoint_files import latest_checkpoint, read_meta
from engine.errors import AutoSpikformerError
from storage import paths
from storage.base import Store
from storage.records import (
    ArtefactRecord,
    EpochRecord,
)
from tasks.pipeline.runs import Progress, train_config, worker_name
from tasks.progress import TrainingProgress


# ---- stage 1: supernet training -----------------------------------------------------------------
def train_run(
    store: Store,
    run: str,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    max_epochs: int | None = None,
    before_save: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run's supernet; record state, progress and the checkpoint.
    `before_save` runs before each checkpoint write and raises to stop (`engine.train.train`)."""
    from engine.train import train  # torch: only where training runs

    config = train_config(store, run)
    run_dir = paths.run_dir(run, create=False)  # the first checkpoint write creates it
    worker = worker_name()
    last = [time.monotonic()]  # when the previous epoch ended (or training began)
    steps = TrainingProgress(run, worker, lambda point: store.add_progress([point]))

    def on_progress(event: dict[str, Any]) -> None:
        steps(event)
        if event["event"] == "epoch":
            ended = time.monotonic()
            store.add_epochs([epoch_record(run, event, ended - last[0], worker)])
            last[0] = ended
            store.update_run(run, state="training", progress=event["epoch"] / config.epochs)
        if progress:
            progress(event)

    store.update_run(run, state="training")
    result = train(
        run_dir,
        config,
        device=device,
        progress=on_progress,
        max_epochs=max_epochs,
        before_save=before_save,
    )
    store.add_artefact(
        ArtefactRecord(
            run=run, kind="supernet", path=paths.relative_to_artefacts(result.checkpoint)
        )
    )
    return {
        "run": run,
        "epochs": result.epochs,
        "checkpoint": str(result.checkpoint),
        "val_accuracy_largest": result.val_accuracy_largest,
        "val_accuracy_smallest": result.val_accuracy_smallest,
    }


def epoch_record(run: str, event: dict[str, Any], measured_s: float, worker: str) -> EpochRecord:
    """The history record of an "epoch" progress event. The validation accuracies are recorded
    when the event carries them; `seconds` is the event's own, else the time measured here since
    the previous epoch ended (for the first epoch of a call, since training began, which also
    counts building the model)."""
    accuracies = {
        key: float(event[key])
        for key in ("val_accuracy_largest", "val_accuracy_smallest")
        if event.get(key) is not None
    }
    return EpochRecord(
        run=run,
        epoch=int(event["epoch"]),
        loss=float(event["loss"]),
        seconds=max(0.0, float(event.get("seconds") or measured_s)),
        worker=worker,
        **accuracies,
    )


def checkpoint_history(run: str, worker: str = "") -> tuple[list[EpochRecord], Path | None]:
    """The epoch records kept in the run's newest checkpoint (its whole training history so far)
    and that checkpoint; `([], None)` before the first. What was recorded as each epoch ended,
    for sending again when those records may have been lost; `worker` is who sends them."""
    path = latest_checkpoint(paths.run_dir(run, create=False))
    if path is None:
        return [], None
    history = read_meta(path).get("history", [])
    return [epoch_record(run, event, 0.0, worker) for event in history], path


def supernet_checkpoint(run: str) -> Path:
    path = latest_checkpoint(paths.run_dir(run, create=False))
    if path is None:
        raise AutoSpikformerError(f"run {run!r} has no supernet checkpoint yet; train it first")
    return path
