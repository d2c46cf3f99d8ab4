"""`autospikformer report`: a run's figures (HTML, PNG) and Pareto table (CSV, HTML) as files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.commands.common import add_json, alpha

HELP = (
    "write a run's figures (energy vs accuracy with Pareto fronts, hypervolume per generation) "
    "as HTML and PNG, and its Pareto candidates as CSV and HTML, into --out"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True, help="folder to write into (created if missing)")
    p.add_argument("--alpha", type=alpha, default=0.5, help="F_AEB weight for the table's ranks")
    add_json(p)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.common.report import write_report
    from storage.duckdb_store import open_store

    store = open_store()
    return write_report(store, args.run, Path(args.out), alpha=args.alpha).to_dict()


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    files = "\n".join(f"  {path}" for path in result.get("files", []))
    return (
        f"wrote the report of run {result['run']} ({result['candidates']} candidates, "
        f"{result['pareto']} on the Pareto front) into {result['out']}:\n{files}"
    )
