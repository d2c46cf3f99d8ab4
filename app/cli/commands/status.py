"""`autospikformer status`: a launched run's state and progress, from the store."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "show a run's state (queued|training|searching|done|failed|cancelled) and progress"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import api

    return api.status(args.run)
