"""`autospikformer leaderboard`: print a shared leaderboard snapshot, as it was frozen."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "print a shared leaderboard snapshot (see `autospikformer share`)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", required=True, help="the snapshot's id, as `share` printed it")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from storage.duckdb_store import open_store

    return open_store().get_leaderboard(args.id).to_contract()
