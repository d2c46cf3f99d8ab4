"""`autospikformer launch`: validate a run (training + search) and enqueue it for the workers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.commands.common import add_json, add_search_options, add_train_options

HELP = "enqueue a run (supernet training, then search) for the workers; prints the run name"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    add_search_options(p)
    p.add_argument("--owner", default="", help="who launched the run (shown in the app)")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    from app.cli.commands.search import search_spec
    from app.cli.commands.train import run_spec
    from tasks import api

    name = api.launch(run_spec(args), search_spec(args), owner=args.owner, device=args.device)
    if not args.json:
        print(name)  # alone on stdout, for scripts (CONTRACT); the rest is for people
        print(f"queued; follow it with: autospikformer status --run {name}", file=sys.stderr)
        return None
    return {"run": name}
