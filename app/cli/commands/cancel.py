"""`autospikformer cancel`: stop a launched run at its next task boundary, keeping its records."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "cancel a run: its tasks stop at the next boundary; what was recorded stays"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import api

    return api.cancel(args.run)
