"""`autospikformer search`: evolutionary, NSGA-II or random search with inherited weights."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.commands.common import add_json, add_search_options, non_negative_int

HELP = "search a trained run's supernet and record every evaluated candidate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    add_search_options(p)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_json(p)


def search_spec(args: argparse.Namespace):
    from tasks.pipeline import SearchSpec

    return SearchSpec(
        strategy=args.strategy,
        generations=args.generations,
        population=args.population,
        parents=args.parents,
        alpha=args.alpha,
        seed=args.seed,
        energy_budget_uj=args.energy_budget_uj,
        param_limit=args.param_limit,
        recalib_batches=args.recalib_batches,
        anchors=args.anchors,
        energy_profile=args.energy_profile,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.train import pick_device
    from tasks import pipeline

    spec = search_spec(args)
    spec.config()
    store = pipeline.open_store()

    def progress(event: dict[str, Any]) -> None:
        print(
            f"generation {event['generation']}/{event['generations']} "
            f"hypervolume {event['hypervolume']:.4g}",
            file=sys.stderr,
        )

    device = str(pick_device(args.device))
    return pipeline.run_search(store, args.run, spec, device=device, progress=progress)


def human(result: dict[str, Any], args: argparse.Namespace) -> str:
    from app.cli.output import candidate_sentence, short_id

    front = result["pareto"]
    lines = [
        f"search {result['search']} of run {result['run']}: {result['evaluated']} candidates "
        f"evaluated, {len(front)} feasible on the Pareto front"
        + (f" ({', '.join(short_id(i) for i in front)})" if front else ""),
        f"best: {candidate_sentence(result['best'])}"
        if result["best"]
        else "best: none (no candidate meets the search's constraints)",
        f"list them with: autospikformer candidates --run {result['run']} "
        f"--search {result['search']}",
    ]
    return "\n".join(lines)
