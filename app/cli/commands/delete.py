"""`autospikformer delete`: remove a run's records and files (an active run is refused)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "delete a run: its records and its files; an active run is refused (cancel it first)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks import api

    return api.delete(args.run)


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    removed = result.get("removed") or []
    lines = [f"deleted run {result['run']}: its records and {len(removed)} file(s) or folder(s)"]
    lines += [f"  {path}" for path in removed]
    return "\n".join(lines)
