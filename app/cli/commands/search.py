"""`autospikformer search`: evolutionary, NSGA-II or random search with inherited weights.

`--resume SEARCH_ID --generations N` continues a finished or cancelled search for N more
generations from its saved state, with its own settings, under the same id: in this process for a
search made by `search`; on the workers for a launched run's search (this command then waits for
them and prints the same result).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from app.cli.commands.common import add_json, add_search_options, predictor, require, setting

HELP = "search a trained run's supernet and record every evaluated candidate"
POLL_S = 1.0


class _Default:
    """An option's default, marked so `--resume` can tell it from a value the user gave. Prints
    as the default itself, so `--help` reads the same."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)

    __repr__ = __str__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run", default=None, help="the trained run to search (required unless --resume)"
    )
    before = len(p._actions)
    add_search_options(p)
    p.add_argument("--seed", type=setting("seed"), default=0)
    settings = p._actions[before:]  # what a resumed search keeps from its record
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.add_argument(
        "--resume",
        metavar="SEARCH_ID",
        default=None,
        help="continue this finished or cancelled search for --generations N more generations, "
        "from its saved state and with its own settings, under the same id (a launched run's "
        "search continues on the workers, and this waits for them)",
    )
    add_json(p)
    for action in settings:
        action.default = _Default(action.default)
    p.set_defaults(
        search_settings={a.dest: "/".join(a.option_strings) for a in settings if a.option_strings}
    )


def _given(args: argparse.Namespace) -> list[str]:
    """The search settings given on the command line, by option name; the others get their
    defaults back."""
    given = []
    for dest, flag in getattr(args, "search_settings", {}).items():
        value = getattr(args, dest)
        if isinstance(value, _Default):
            setattr(args, dest, value.value)
        else:
            given.append(flag)
    return given


def search_spec(args: argparse.Namespace):
    from tasks.pipeline import SearchSpec

    return SearchSpec(
        strategy=args.strategy,
        generations=args.generations,
        population=args.population,
        parents=min(SearchSpec.parents, args.population) if args.parents is None else args.parents,
        alpha=args.alpha,
        seed=args.seed,
        energy_budget_uj=args.energy_budget_uj,
        param_limit=args.param_limit,
        recalib_batches=args.recalib_batches,
        anchors=args.anchors,
        energy_profile=args.energy_profile,
        predictor=predictor(args.strategy, args.predictor),
    )


def _progress(event: dict[str, Any]) -> None:
    normalized = event.get("hypervolume_normalized")
    tau = event.get("predictor_tau")
    print(
        f"generation {event['generation']}/{event['generations']} "
        f"hypervolume {event['hypervolume']:.4g}"
        + ("" if normalized is None else f", normalized hypervolume {normalized:.4f}")
        + ("" if tau is None else f", predictor tau {tau:.3f}"),
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.train import pick_device
    from tasks import pipeline

    given = _given(args)
    if args.resume is not None:
        return resume(args, given)
    require(args.run is not None, "--run is required (or --resume SEARCH_ID)")
    spec = search_spec(args)
    spec.validate()
    store = pipeline.open_store()
    device = str(pick_device(args.device))
    return pipeline.run_search(store, args.run, spec, device=device, progress=_progress)


def resume(args: argparse.Namespace, given: list[str]) -> dict[str, Any]:
    """`--resume SEARCH_ID --generations N`: N more generations of a finished or cancelled
    search."""
    from storage import paths
    from tasks import pipeline

    fixed = [flag for flag in given if flag != "--generations"]
    require(
        not fixed,
        f"--resume continues a search with its own settings: drop {', '.join(fixed)}",
    )
    require("--generations" in given, "--resume needs --generations N: how many more to run")
    if args.run is not None:
        paths.validate_name(args.run, "run")
    store = pipeline.open_store()
    ext = pipeline.check_extension(store, args.resume, args.generations, run=args.run)
    if ext.launched:
        return _extend_on_workers(store, ext, args.generations)
    from engine.train import pick_device

    device = str(pick_device(args.device))
    return pipeline.extend_search(
        store, args.resume, args.generations, run=args.run, device=device, progress=_progress
    )


def _extend_on_workers(store, ext, generations: int) -> dict[str, Any]:
    """Enqueue the extension of a launched run's search and wait until the workers end it."""
    from storage.records import ACTIVE_RUN_STATES
    from tasks import api, pipeline

    run, search_id = ext.run.name, ext.search.id
    api.extend(run, search_id, generations)
    print(
        f"search {search_id} continues on the workers ({ext.current} -> {ext.target} "
        "generations); Ctrl-C stops waiting, not the search",
        file=sys.stderr,
    )
    shown = ext.current
    while True:
        search, record = store.get_search(search_id), store.get_run(run)
        if search.generation > shown:
            shown = search.generation
            history = store.generations(search_id)
            hv = history[-1].hypervolume if history else 0.0
            _progress({"generation": shown, "generations": ext.target, "hypervolume": hv})
        if record.state not in ACTIVE_RUN_STATES:
            break
        time.sleep(POLL_S)
    require(record.state == "done", f"run {run} is {record.state}: {record.message}".rstrip(": "))
    spec = pipeline.SearchSpec(**store.get_search(search_id).settings)
    return pipeline.search_result(store, run, search_id, spec.alpha, spec.energy_profile)


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
