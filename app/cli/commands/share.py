"""`autospikformer share`: freeze a leaderboard into a snapshot later candidates never change."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_energy_profile, add_json, alpha, positive_int

HELP = "freeze a run's leaderboard (top K at --alpha) into a shared snapshot; prints its id"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--search", default=None, help="one search id (default: the whole run)")
    p.add_argument("--alpha", type=alpha, required=True)
    p.add_argument("--top", type=positive_int, required=True, help="how many candidates to keep")
    add_energy_profile(p, "to price energies under")
    p.add_argument("--title", default="", help="a one-line title")
    p.add_argument("--notes", default="", help="free text shown with the snapshot")
    p.add_argument("--author", default="", help="who shares it (shown in the app)")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.profiles import get_profile
    from storage.duckdb_store import open_store

    store = open_store()
    board = store.share(
        args.run,
        args.search,
        alpha=args.alpha,
        top=args.top,
        profile=get_profile(args.energy_profile),
        title=args.title,
        notes=args.notes,
        author=args.author,
        silent_last=True,  # as `candidates` ranks by default
    )
    return {"leaderboard": board.id, "url": f"/leaderboard?id={board.id}"}
