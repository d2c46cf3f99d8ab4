"""`autospikformer share`: freeze a leaderboard into a snapshot later candidates never change.

`--json` prints `{"leaderboard": ID, "id": ID, "url": URL}`: the URL is absolute when the app's
address is known (`AUTOSPIKFORMER_APP_URL`, else what `up` recorded in the home folder's
`app.json`; see `app.common.address`), else the relative `/leaderboard?id=ID`.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_energy_profile, add_json, alpha, top

HELP = "freeze a run's leaderboard (top K at --alpha) into a shared snapshot; prints its id"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--search", default=None, help="one search id (default: the whole run)")
    p.add_argument("--alpha", type=alpha, required=True)
    p.add_argument("--top", type=top, required=True, help="how many candidates to keep")
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
    from app.common.address import link

    return {"leaderboard": board.id, "id": board.id, "url": link(f"/leaderboard?id={board.id}")}


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    scope = f"search {args.search}" if args.search else f"run {args.run}"
    url = result["url"]
    where = (
        f"open it at {url}"
        if "://" in url
        else f"open it in the app at {url} (set AUTOSPIKFORMER_APP_URL for a full link)"
    )
    return (
        f"shared leaderboard {result['id']}: the top {args.top} of {scope} at alpha "
        f"{args.alpha:g}, energy under {args.energy_profile}\n{where}\n"
        f"print it with: autospikformer leaderboard --id {result['id']}"
    )
