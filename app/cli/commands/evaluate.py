"""`autospikformer evaluate`: accuracy and energy of a standalone subnet file."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "evaluate a standalone subnet checkpoint (no supernet needed)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="PATH.safetensors from `export`")
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.subnet_eval import evaluate_checkpoint
    from engine.train import pick_device

    return evaluate_checkpoint(args.checkpoint, args.dataset, args.split, pick_device(args.device))
