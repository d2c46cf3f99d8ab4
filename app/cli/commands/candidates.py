"""`autospikformer candidates`: re-rank stored candidates at any alpha and on any hardware profile
(no re-evaluation)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_energy_profile, add_json, alpha, top

HELP = "list a run's candidates ranked by F_AEB at --alpha, best first"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--search", default=None, help="one search id (default: the whole run)")
    p.add_argument("--alpha", type=alpha, default=0.5)
    p.add_argument("--top", type=top, default=None)
    add_energy_profile(p, "to price energies under")
    p.add_argument(
        "--include-infeasible",
        action="store_true",
        help="also rank candidates over their search's energy budget or parameter limit "
        '(marked "feasible": false); by default only feasible ones are ranked',
    )
    p.add_argument(
        "--include-silent",
        action="store_true",
        help='rank silent candidates (a block with firing rate 0, marked "silent": true) in '
        "F_AEB order too; by default they come after all the others",
    )
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.profiles import get_profile
    from storage.duckdb_store import open_store

    store = open_store()  # reading the store needs neither torch nor the task queue
    store.get_run(args.run)
    if args.search is not None:
        search = store.get_search(args.search)
        if search.run != args.run:
            raise ValueError(f"search {args.search!r} does not belong to run {args.run!r}")
    ranked = store.rank(
        args.run,
        search=args.search,
        alpha=args.alpha,
        top=args.top,
        profile=get_profile(args.energy_profile),
        include_infeasible=args.include_infeasible,
        silent_last=not args.include_silent,
    )
    return {"candidates": [record.to_contract(fitness) for record, fitness in ranked]}


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import candidate_table

    listed = result["candidates"]
    scope = f"search {args.search}" if args.search else f"run {args.run}"
    which = "candidates" if args.include_infeasible else "feasible candidates"
    heading = (
        f"{len(listed)} {which} of {scope}, best F_AEB first (alpha {args.alpha:g}, "
        f"energy under {args.energy_profile}):"
    )
    return f"{heading}\n{candidate_table(listed)}"
