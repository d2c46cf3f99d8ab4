"""`autospikformer leaderboard`: print a shared leaderboard snapshot, as it was frozen; with
`--title` and/or `--notes`, first change its title and notes (never its rows) and mark it edited.
The command line is trusted as the snapshot's author (as it is for `delete`)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "print a shared leaderboard snapshot (see `autospikformer share`); edit its title or notes"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", required=True, help="the snapshot's id, as `share` printed it")
    p.add_argument("--title", default=None, help="a new one-line title (the rows never change)")
    p.add_argument("--notes", default=None, help="new notes shown with the snapshot")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from storage.duckdb_store import open_store

    store = open_store()
    if args.title is not None or args.notes is not None:
        return store.edit_leaderboard(args.id, title=args.title, notes=args.notes).to_contract()
    return store.get_leaderboard(args.id).to_contract()


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
    if result.get("edited_at") is not None:
        lines.append(f"title and notes edited {format_time(result['edited_at'])}")
    if result.get("notes"):
        lines.append(f"notes: {result['notes']}")
    lines.append(candidate_table(result.get("candidates") or []))
    return "\n".join(lines)
