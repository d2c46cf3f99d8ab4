"""`autospikformer train`: train a supernet over a space, or one arch standalone (--arch)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from app.cli.commands.common import add_json, add_train_options

HELP = "train a supernet (--space) or one architecture standalone (--arch); resumes a run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    add_json(p)


def run_spec(args: argparse.Namespace):
    from tasks.pipeline import RunSpec

    return RunSpec(
        name=args.run,
        dataset=args.dataset,
        space=args.space or "digits-tiny",
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        sampling=args.sampling,
        arch_file=args.arch,
    )


def progress_bar(quiet: bool):
    """A tqdm bar over training steps on stderr (the JSON line stays alone on stdout)."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="step", file=sys.stderr, disable=quiet, dynamic_ncols=True)

    def update(event: dict[str, Any]) -> None:
        if event["event"] == "step":
            bar.total = event["steps"]
            bar.n = event["step"]
            bar.set_postfix(epoch=event["epoch"] + 1, loss=f"{event['loss']:.3f}", refresh=False)
            bar.refresh()
        elif event["event"] == "epoch" and event["epoch"] == event["epochs"]:
            bar.close()

    return update


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import pipeline

    spec = run_spec(args)
    config = spec.validate()
    store = pipeline.open_store()
    pipeline.ensure_run(store, spec, config, state="training")
    try:
        result = pipeline.train_run(
            store, spec.name, device=args.device, progress=progress_bar(not sys.stderr.isatty())
        )
    except BaseException as e:
        store.update_run(spec.name, state="failed", message=str(e)[:300] or type(e).__name__)
        raise
    if int(os.environ.get("RANK", "0")) != 0:
        return None  # under torchrun, rank 0 records and reports
    store.update_run(spec.name, state="done", progress=1.0)
    return result


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import format_percent

    largest, smallest = result["val_accuracy_largest"], result["val_accuracy_smallest"]
    accuracy = (
        f"validation accuracy {format_percent(largest)}"
        if largest == smallest
        else f"validation accuracy {format_percent(largest)} (largest arch), "
        f"{format_percent(smallest)} (smallest arch)"
    )
    return (
        f"trained run {result['run']} to epoch {result['epochs']}: {accuracy}\n"
        f"checkpoint: {result['checkpoint']}"
    )
