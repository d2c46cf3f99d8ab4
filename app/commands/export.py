"""`autospikformer export`: write a candidate as a standalone subnet (safetensors)."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import add_json

HELP = "export a candidate as a standalone subnet checkpoint (recalibrated BN, arch in metadata)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--candidate", required=True, help="candidate id")
    p.add_argument("--out", required=True, help="PATH.safetensors")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import pipeline

    return pipeline.export_candidate(pipeline.open_store(), args.run, args.candidate, args.out)
