"""`autospikformer cancel`: stop a launched run at its next task boundary, keeping its records.

A run that has already ended (done, failed or cancelled) is left as it is: the command says so
and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.commands.common import add_json

HELP = "cancel a run: its tasks stop at the next boundary; what was recorded stays"
ENDED = ("done", "failed", "cancelled")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    from storage import paths
    from storage.duckdb_store import open_store
    from tasks import api

    paths.validate_name(args.run, "run")
    before = open_store().get_run(args.run).state
    if before in ENDED and not args.json:
        print(f"run {args.run} is already {before}")
        return None
    return api.cancel(args.run)


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    if result["state"] != "cancelled":  # it ended while we asked
        return f"run {result['run']} is already {result['state']}"
    return (
        f"cancelled run {result['run']}: its tasks stop at their next boundary; what was "
        "recorded stays"
    )
