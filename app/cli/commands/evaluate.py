"""`autospikformer evaluate`: accuracy and energy of a standalone subnet file."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.arguments import DatasetOption
from app.cli.commands.common import add_json

HELP = "evaluate a standalone subnet checkpoint (no supernet needed)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="PATH.safetensors from `export`")
    p.add_argument("--dataset", required=True, action=DatasetOption)
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.subnet_eval import evaluate_checkpoint
    from engine.train import pick_device

    return evaluate_checkpoint(args.checkpoint, args.dataset, args.split, pick_device(args.device))


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import (
        describe_arch,
        format_energy,
        format_ops,
        format_percent,
        key_values,
    )

    pairs = [
        (f"accuracy ({args.split})", format_percent(result.get("accuracy"))),
        ("energy", format_energy(result.get("energy_uj"))),
    ]
    if result.get("ann_energy_uj") is not None:
        pairs.append(("energy as an ANN", format_energy(result["ann_energy_uj"])))
    if result.get("sops") is not None:
        pairs.append(("synaptic operations", format_ops(result["sops"], "SOPs")))
    pairs += [
        ("parameters", format_ops(result.get("params"))),
        ("firing rate", format_percent(result.get("firing_rate"), 2)),
        ("arch", describe_arch(result.get("arch"))),
    ]
    return f"{args.checkpoint} on {args.dataset}:\n{key_values(pairs, '  ')}"
