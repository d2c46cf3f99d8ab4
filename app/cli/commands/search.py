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
        normalized = event.get("hypervolume_normalized")
        print(
            f"generation {event['generation']}/{event['generations']} "
            f"hypervolume {event['hypervolume']:.4g}"
            + ("" if normalized is None else f" normalized hypervolume {normalized:.4f}"),
            file=sys.stderr,
        )

    device = str(pick_device(args.device))
    return pipeline.run_search(store, args.run, spec, device=device, progress=progress)
