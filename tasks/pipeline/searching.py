"""Stage 2: searches of a run: their hypervolume reference, creation, saved state, one step per
generation and the records each generation sends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from engine import data
from engine.files import atomic_write
from engine.pareto import FrontBox
from engine.profiles import DEFAULT_PROFILE, get_profile
from engine.results import EvalResult
from engine.search import (
    make_search,
    resume_search,
)
from engine.search.base import GenerationSummary, Search
from engine.search.reference import dataset_front_box, dataset_reference_energy_uj
from engine.shape import ModelShape, count_params
from engine.space import Arch, SearchSpace
from engine.train_config import TrainConfig
from storage import paths
from storage.base import Store
from storage.duckdb_store import open_store  # the one definition (the CLI calls pipeline's)
from storage.records import (
    CandidateRecord,
    GenerationRecord,
    RunRecord,
    SearchRecord,
)
from tasks.pipeline.prior import search_prior
from tasks.pipeline.runs import Progress, train_config, worker_name
from tasks.pipeline.search_spec import SearchSpec
from tasks.pipeline.training import supernet_checkpoint


def _state_path(run: str, search_id: str) -> Path:
    return paths.resolve_inside(paths.run_dir(run), "searches", f"{search_id}.json")


def _save_state(run: str, search_id: str, search: Search) -> None:
    atomic_write(_state_path(run, search_id), json.dumps(search.state_dict()))


def search_reference(dataset: str, space: SearchSpace, profile: str = DEFAULT_PROFILE) -> float:
    """The hypervolume reference energy (uJ) of every search of `space` on `dataset` under the
    energy `profile`: the analytic energy bound of the space's largest arch
    (`engine.search.reference`). No weights, no data and no forward pass, so any host that steps a
    search can compute it."""
    return dataset_reference_energy_uj(dataset, space, profile)


def with_box(spec: SearchSpec, dataset: str, space: SearchSpace) -> SearchSpec:
    """`spec` with its normalized hypervolume's box: its own, else the one of `space` on `dataset`
    under its energy profile (`engine.search.reference.dataset_front_box`)."""
    if spec.front_box is not None:
        return spec
    box = dataset_front_box(dataset, space, get_profile(spec.energy_profile))
    return replace(spec, front_box=box.to_dict())


def with_reference(
    spec: SearchSpec, run: str, search_id: str, dataset: str, space: SearchSpace
) -> SearchSpec:
    """`spec` with its hypervolume reference fixed: its own, else the one in the search's saved
    state (so a search keeps the reference it started with), else `search_reference`; and with
    its normalized hypervolume's box (`with_box`)."""
    spec = with_box(spec, dataset, space)
    if spec.reference_energy_uj is not None:
        return spec
    # Read-only: the app derives references of old searches and must create nothing.
    path = paths.resolve_inside(paths.run_dir(run, create=False), "searches", f"{search_id}.json")
    saved = None
    if path.exists():
        saved = json.loads(path.read_text()).get("config", {}).get("reference_energy_uj")
    if saved is None:
        saved = search_reference(dataset, space, spec.energy_profile)
    ref = float(saved)
    return replace(spec, reference_energy_uj=ref)


def reference_of(store: Store, search: SearchRecord) -> float:
    """The hypervolume reference energy of a recorded search: the one stored with it, or for a
    search recorded before references were stored, the one `with_reference` derives."""
    stored = search.settings.get("reference_energy_uj")
    if stored is not None:
        return float(stored)
    run = store.get_run(search.run)
    space = SearchSpace.from_dict(run.space)
    spec = with_reference(SearchSpec(**search.settings), run.name, search.id, run.dataset, space)
    assert spec.reference_energy_uj is not None
    return spec.reference_energy_uj


def front_box_of(store: Store, search: SearchRecord) -> FrontBox:
    """The normalized hypervolume's box of a recorded search, under its own energy profile: the
    one stored with it, or for a search recorded before boxes were stored, the one `with_box`
    derives."""
    stored = search.settings.get("front_box")
    if stored is None:
        run = store.get_run(search.run)
        spec = with_box(
            SearchSpec(**search.settings), run.dataset, SearchSpace.from_dict(run.space)
        )
        stored = spec.front_box
    return FrontBox(**stored)


def _param_counter(run: str, store: Store | None = None):
    """`arch -> parameter count` for the run's dataset."""
    return _dataset_param_counter(train_config(store or open_store(), run).dataset)


def create_search(store: Store, run: str, spec: SearchSpec) -> str:
    """Record a new search of `run` and save its initial state. Returns the search id."""
    spec.validate()  # the documented maxima, alpha, budgets
    store.get_run(run)
    supernet_checkpoint(run)
    train = train_config(store, run)
    space = SearchSpace.from_dict(train.space)
    search_id = next_search_id(store.get_run(run), store.list_searches(run), spec.strategy)
    ref = search_reference(train.dataset, space, spec.energy_profile)
    spec = with_box(replace(spec, reference_energy_uj=ref), train.dataset, space)
    search = make_search(
        spec.strategy, space, spec.config(), _no_evaluate, param_count=_param_counter(run, store)
    )
    store.create_search(
        SearchRecord(id=search_id, run=run, strategy=spec.strategy, settings=asdict(spec))
    )
    _save_state(run, search_id, search)
    return search_id


def launched_search_id(run: str, strategy: str) -> str:
    """The id of a launched run's own search (number 1 of its strategy)."""
    return paths.search_id(run, strategy, 1)


def next_search_id(run: RunRecord, searches: list[SearchRecord], strategy: str) -> str:
    """A new search's id: the next free number, never the id a launched run keeps for its own
    search (which the recorder may not have created yet)."""
    taken = {s.id for s in searches}
    if "launch" in run.settings:
        taken.add(launched_search_id(run.name, run.settings["search"]["strategy"]))
    number = len(searches) + 1
    while paths.search_id(run.name, strategy, number) in taken:
        number += 1
    return paths.search_id(run.name, strategy, number)


def _no_evaluate(archs: list[Arch]) -> list[EvalResult]:
    raise RuntimeError("a search is stepped with an evaluator")


def priced_evaluate(evaluate, energy_profile: str):
    """`evaluate` with every result's energy priced under the search's profile, so the search
    (F_AEB, the energy budget, the front) sees that hardware's microjoules. Evaluators and the
    result cache keep operation counts, so pricing needs no forward pass."""
    profile = get_profile(energy_profile)

    def evaluate_priced(archs: list[Arch]) -> list[EvalResult]:
        return [r.priced(profile) for r in evaluate(archs)]

    return evaluate_priced


def load_search(store: Store, run: str, search_id: str, evaluate) -> tuple[Search, SearchSpec]:
    record = store.get_search(search_id)
    train = train_config(store, run)
    space = SearchSpace.from_dict(train.space)
    spec = with_reference(SearchSpec(**record.settings), run, search_id, train.dataset, space)
    state = json.loads(_state_path(run, search_id).read_text())
    counter = _param_counter(run, store)
    evaluate = priced_evaluate(evaluate, spec.energy_profile)
    prior = search_prior(store, run, search_id, spec)
    search = resume_search(space, spec.config(), evaluate, state, param_count=counter, prior=prior)
    return search, spec


def _dataset_param_counter(dataset: str):
    spec = data.dataset_spec(dataset)
    shape = ModelShape(spec.in_channels, spec.num_classes, spec.image_size)
    return lambda arch: count_params(arch, shape)


def validate_search(spec: SearchSpec, config: TrainConfig) -> SearchSpec:
    """Check a search of a run trained with `config` before the run exists: the settings, and that
    some arch of the space meets `param_limit`. Raises what `create_search` would raise. Returns
    `spec` with its normalized hypervolume's box (`with_box`), as the launch stores it."""
    space = SearchSpace.from_dict(config.space)
    counter = _dataset_param_counter(config.dataset)
    spec.validate()  # the documented maxima, one-line errors before the box is priced
    spec = with_box(spec, config.dataset, space)
    make_search(spec.strategy, space, spec.config(), _no_evaluate, param_count=counter)
    return spec


def search_from_state(
    run: str,
    search_id: str,
    spec: SearchSpec,
    space: SearchSpace,
    evaluate,
    *,
    fresh: bool = False,
    dataset: str | None = None,
    prior: Sequence[EvalResult] = (),
) -> Search:
    """Search `search_id` of `run` resumed from its saved state, or at generation 0 when no state
    is saved yet (or `fresh`). Unlike `load_search`, settings come from the arguments, not the
    store, so a task can step a search whose record is not written yet; pass `spec` through
    `with_reference` first, so it carries the search's hypervolume reference. `dataset` (the
    run's) spares reading it from the store. `prior`: the candidates its predictor learns from
    besides its own (`tasks.pipeline.prior.search_prior`), the same at every call."""
    path = _state_path(run, search_id)
    counter = _dataset_param_counter(dataset) if dataset else _param_counter(run)
    evaluate = priced_evaluate(evaluate, spec.energy_profile)
    config = spec.config()
    if fresh or not path.exists():
        return make_search(spec.strategy, space, config, evaluate, param_count=counter, prior=prior)
    state = json.loads(path.read_text())
    return resume_search(space, config, evaluate, state, param_count=counter, prior=prior)


def search_state_path(run: str, search_id: str) -> Path:
    """Where the state of search `search_id` of `run` is saved."""
    return _state_path(run, search_id)


def save_search_state(run: str, search_id: str, search: Search) -> None:
    """Save a stepped search's state atomically, never over a later generation's (a slower
    duplicate of a task may finish after a faster one)."""
    path = _state_path(run, search_id)
    try:
        saved = int(json.loads(path.read_text())["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        saved = -1
    if saved < search.generation:
        atomic_write(path, json.dumps(search.state_dict()))


def make_evaluator(run: str, eval_seed: int, device: str, recalib_batches: int):
    """The injected `evaluate` for a run: inherited weights, BN recalibration, val split."""
    from engine.evaluate import SubnetEvaluator, load_supernet

    supernet, meta = load_supernet(supernet_checkpoint(run), device=device)
    return SubnetEvaluator(
        supernet, meta["config"]["dataset"], seed=eval_seed, recalib_batches=recalib_batches
    )


def violation_of(result: EvalResult, infeasible: bool, spec: SearchSpec | None) -> str:
    """The constraints of `spec` that `result` breaks, as `CandidateRecord.violation` names them
    ("" for a feasible one). Without `spec`, an infeasible result is over the energy budget, the
    only constraint the engine checks after evaluation."""
    if not infeasible:
        return ""
    if spec is None:
        return "energy_budget"
    broken = []
    if spec.energy_budget_uj is not None and result.energy_uj > spec.energy_budget_uj:
        broken.append("energy_budget")
    if spec.param_limit is not None and result.params > spec.param_limit:
        broken.append("param_limit")
    return ",".join(broken) or "invalid"


def record_generation(
    store: Store,
    run: str,
    search_id: str,
    strategy: str,
    summary: GenerationSummary,
    *,
    spec: SearchSpec | None = None,
) -> None:
    """Record a generation's candidates (each marked feasible or not: `summary.infeasible`,
    with the constraint it breaks under `spec`) and its summary."""
    worker = worker_name()
    infeasible = set(summary.infeasible)
    store.add_candidates(
        CandidateRecord.from_eval(
            r.to_dict(),
            run=run,
            search=search_id,
            generation=summary.generation,
            strategy=strategy,
            worker=worker,
            violation=violation_of(r, r.id in infeasible, spec),
        )
        for r in summary.evaluated
    )
    store.add_generation(
        GenerationRecord(
            search=search_id,
            generation=summary.generation,
            hypervolume=summary.hypervolume,
            best_id=summary.best.id if summary.best else None,  # None: nothing feasible yet
            best_fitness=summary.best_fitness,
            evaluated=summary.total_evaluated,
            hypervolume_normalized=summary.hypervolume_normalized,
            predictor_tau=summary.predictor_tau,
        )
    )


def search_step(store: Store, run: str, search_id: str, evaluate) -> GenerationSummary | None:
    """Advance the search one generation from its saved state; record and save. None when done."""
    search, spec = load_search(store, run, search_id, evaluate)
    if search.done:
        return None
    summary = search.step()
    record_generation(store, run, search_id, spec.strategy, summary, spec=spec)
    _save_state(run, search_id, search)
    state = "done" if search.done else "searching"
    store.update_search(search_id, state=state, generation=search.generation)
    return summary


def search_result(
    store: Store, run: str, search_id: str, alpha: float, energy_profile: str = DEFAULT_PROFILE
) -> dict[str, Any]:
    """The contract's search JSON: evaluated count (infeasible candidates included), and the Pareto
    ids and best candidate among the feasible ones, energies under `energy_profile`. The best is
    ranked as `candidates` ranks by default: silent candidates last, so it is on the front of
    the candidates that are not silent (a silent one may dominate it)."""
    from engine.pareto import pareto_front

    profile = get_profile(energy_profile)
    ranked = store.rank(run, search=search_id, alpha=alpha, profile=profile, silent_last=True)
    records = [r for r, _ in ranked]
    front = pareto_front([r.accuracy for r in records], [r.energy_uj for r in records])
    best = ranked[0][0].to_contract(ranked[0][1]) if ranked else None
    return {
        "run": run,
        "search": search_id,
        "evaluated": store.count_candidates(run, search_id),
        "pareto": [records[i].id for i in front],
        "best": best,
    }


def run_search(
    store: Store,
    run: str,
    spec: SearchSpec,
    *,
    device: str = "cpu",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Create and run a whole search in this process, recording every generation."""
    search_id = create_search(store, run, spec)
    evaluate = make_evaluator(run, spec.eval_seed, device, spec.recalib_batches)
    store.update_run(run, state="searching")
    while (summary := search_step(store, run, search_id, evaluate)) is not None:
        if progress:
            progress(
                {
                    "event": "generation",
                    "generation": summary.generation + 1,
                    "generations": spec.generations,
                    "hypervolume": summary.hypervolume,
                    "hypervolume_normalized": summary.hypervolume_normalized,
                    "predictor_tau": summary.predictor_tau,
                }
            )
    store.update_run(run, state="done", progress=1.0)
    return search_result(store, run, search_id, spec.alpha, spec.energy_profile)
