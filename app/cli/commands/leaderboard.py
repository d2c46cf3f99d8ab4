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


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import candidate_table, format_time

    title = result.get("title") or "(untitled)"
    scope = f"search {result['search']}" if result.get("search") else f"run {result['run']}"
    by = f" by {result['author']}" if result.get("author") else ""
    lines = [
        f"leaderboard {result['id']}: {title}",
        f"the top {result.get('top')} of {scope} at alpha {result['alpha']:g}, energy under "
        f"{result['energy_profile']}, frozen {format_time(result.get('created_at'))}{by}",
    ]
    if result.get("notes"):
        lines.append(f"notes: {result['notes']}")
    lines.append(candidate_table(result.get("candidates") or []))
    return "\n".join(lines)
