"""The work of a run, composed from `engine/` (models, search) and `storage/` (records, paths).

Both the command line (in one process) and the Celery tasks (in many) call these functions, so a
run behaves the same wherever it executes. Every function validates its inputs before it writes
anything, so bad input changes no stored data.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine import data
from engine.errors import AutoSpikformerError
from engine.results import EvalResult
from engine.sampling import DEFAULT_SAMPLING
from engine.search import EvolutionConfig, RandomConfig, make_search, resume_search
from engine.search.base import GenerationSummary, Search
from engine.space import Arch, SearchSpace
from engine.spikformer import ModelShape, count_params
from engine.train import TrainConfig, latest_checkpoint, recipe, train
from storage import paths
from storage.base import Store
from storage.duckdb_store import DuckDBStore
from storage.errors import DuplicateRun, UnknownRun
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    GenerationRecord,
    RunRecord,
    SearchRecord,
)

Progress = Callable[[dict[str, Any]], None]


def open_store() -> Store:
    return DuckDBStore(paths.store_path())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---- inputs -------------------------------------------------------------------------------------
def load_arch_file(path: str | Path) -> Arch:
    p = Path(path)
    if not p.is_file():
        raise AutoSpikformerError(f"arch file not found: {p}")
    try:
        return Arch.from_dict(json.loads(p.read_text()))
    except json.JSONDecodeError as e:
        raise AutoSpikformerError(f"arch file {p.name}: malformed JSON ({e.msg})") from None


@dataclass(frozen=True)
class RunSpec:
    """What `train`/`launch` were asked for. Checked entirely by `validate()` before any write."""

    name: str
    dataset: str
    space: str  # preset name or YAML path
    epochs: int
    seed: int = 0
    batch_size: int | None = None  # None: the dataset's recipe (engine.train.RECIPES)
    lr: float | None = None
    sampling: str = DEFAULT_SAMPLING
    arch_file: str | None = None
    owner: str = ""

    def validate(self) -> TrainConfig:
        paths.validate_name(self.name, "run")
        spec = data.dataset_spec(self.dataset)
        space = SearchSpace.resolve(self.space)
        arch = load_arch_file(self.arch_file) if self.arch_file else None
        data.check_space_time_steps(spec, [arch.time_steps] if arch else space.time_steps)
        data.load_split(self.dataset, "train")  # a missing dataset fails here, before any write
        return TrainConfig(
            dataset=self.dataset,
            space=space.to_dict(),
            epochs=self.epochs,
            seed=self.seed,
            batch_size=self.batch_size or recipe(self.dataset)["batch_size"],
            lr=self.lr or recipe(self.dataset)["lr"],
            sampling=self.sampling,
            arch=arch.to_dict() if arch else None,
        )


def ensure_run(
    store: Store, spec: RunSpec, config: TrainConfig, state: str = "queued"
) -> RunRecord:
    """Create the run's record, or check that an existing run has the same settings (resume)."""
    try:
        run = store.get_run(spec.name)
    except UnknownRun:
        try:
            return store.create_run(
                RunRecord(
                    name=spec.name,
                    owner=spec.owner,
                    dataset=spec.dataset,
                    space=config.space,
                    settings={"train": asdict(config)},
                    state=state,
                )
            )
        except DuplicateRun:  # created a moment ago, e.g. by another rank of the same torchrun
            run = store.get_run(spec.name)
    stored = TrainConfig(**run.settings["train"])
    if stored.schedule_key() != config.schedule_key():
        raise AutoSpikformerError(f"run {spec.name!r} exists with other settings; pick a new name")
    if stored.epochs != config.epochs:
        settings = {**run.settings, "train": asdict(config)}
        store.update_run(spec.name, settings=settings)
    return run


def train_config(store: Store, run: str) -> TrainConfig:
    return TrainConfig(**store.get_run(run).settings["train"])


# ---- stage 1: supernet training -----------------------------------------------------------------
def train_run(
    store: Store,
    run: str,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    max_epochs: int | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run's supernet; record state, progress and the checkpoint."""
    config = train_config(store, run)
    run_dir = paths.run_dir(run)

    def on_progress(event: dict[str, Any]) -> None:
        if event["event"] == "epoch":
            store.update_run(run, state="training", progress=event["epoch"] / config.epochs)
        if progress:
            progress(event)

    store.update_run(run, state="training")
    result = train(run_dir, config, device=device, progress=on_progress, max_epochs=max_epochs)
    store.add_artefact(
        ArtefactRecord(run=run, kind="supernet", path=paths.relative_to_home(result.checkpoint))
    )
    return {
        "run": run,
        "epochs": result.epochs,
        "checkpoint": str(result.checkpoint),
        "val_accuracy_largest": result.val_accuracy_largest,
        "val_accuracy_smallest": result.val_accuracy_smallest,
    }


def supernet_checkpoint(run: str) -> Path:
    path = latest_checkpoint(paths.run_dir(run, create=False))
    if path is None:
        raise AutoSpikformerError(f"run {run!r} has no supernet checkpoint yet; train it first")
    return path


# ---- stage 2: search ----------------------------------------------------------------------------
MAX_RECALIB_BATCHES = 1000


@dataclass(frozen=True)
class SearchSpec:
    strategy: str = "evolution"
    generations: int = 20
    population: int = 50
    parents: int = 20
    alpha: float = 0.5
    seed: int = 0
    energy_budget_uj: float | None = None
    param_limit: int | None = None
    eval_seed: int = 0  # picks the BN-recalibration batches; part of a candidate's evaluation
    # BN-recalibration batches per candidate (x the evaluation batch size of 128 images); part of
    # its evaluation. Searches recorded before this setting existed used 4, its default.
    recalib_batches: int = 4

    def config(self) -> EvolutionConfig | RandomConfig:
        n = self.recalib_batches
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RECALIB_BATCHES:
            raise AutoSpikformerError(
                f"recalib_batches must be a whole number from 1 to {MAX_RECALIB_BATCHES}, got {n!r}"
            )
        common = dict(
            population=self.population,
            generations=self.generations,
            alpha=self.alpha,
            seed=self.seed,
            param_limit=self.param_limit,
            energy_budget_uj=self.energy_budget_uj,
        )
        if self.strategy == "evolution":
            return EvolutionConfig(parents=min(self.parents, self.population), **common)
        if self.strategy == "random":
            return RandomConfig(**common)
        raise AutoSpikformerError(f"unknown strategy {self.strategy!r}; use evolution or random")


def _state_path(run: str, search_id: str) -> Path:
    return paths.resolve_inside(paths.run_dir(run), "searches", f"{search_id}.json")


def _save_state(run: str, search_id: str, search: Search) -> None:
    path = _state_path(run, search_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(search.state_dict()))
    tmp.replace(path)


def _param_counter(run: str, store: Store | None = None):
    """`arch -> parameter count` for the run's dataset."""
    return _dataset_param_counter(train_config(store or open_store(), run).dataset)


def create_search(store: Store, run: str, spec: SearchSpec) -> str:
    """Record a new search of `run` and save its initial state. Returns the search id."""
    config = spec.config()  # validates alpha, sizes, budgets
    store.get_run(run)
    supernet_checkpoint(run)
    space = SearchSpace.from_dict(train_config(store, run).space)
    search = make_search(
        spec.strategy, space, config, _no_evaluate, param_count=_param_counter(run, store)
    )
    search_id = f"{run}.{spec.strategy}.{len(store.list_searches(run)) + 1}"
    store.create_search(
        SearchRecord(id=search_id, run=run, strategy=spec.strategy, settings=asdict(spec))
    )
    _save_state(run, search_id, search)
    return search_id


def _no_evaluate(archs: list[Arch]) -> list[EvalResult]:
    raise RuntimeError("a search is stepped with an evaluator")


def load_search(store: Store, run: str, search_id: str, evaluate) -> tuple[Search, SearchSpec]:
    record = store.get_search(search_id)
    spec = SearchSpec(**record.settings)
    space = SearchSpace.from_dict(train_config(store, run).space)
    state = json.loads(_state_path(run, search_id).read_text())
    counter = _param_counter(run, store)
    search = resume_search(space, spec.config(), evaluate, state, param_count=counter)
    return search, spec


def _dataset_param_counter(dataset: str):
    spec = data.dataset_spec(dataset)
    shape = ModelShape(spec.in_channels, spec.num_classes, spec.image_size)
    return lambda arch: count_params(arch, shape)


def validate_search(spec: SearchSpec, config: TrainConfig) -> None:
    """Check a search of a run trained with `config` before the run exists: the settings, and that
    some arch of the space meets `param_limit`. Raises what `create_search` would raise."""
    space = SearchSpace.from_dict(config.space)
    counter = _dataset_param_counter(config.dataset)
    make_search(spec.strategy, space, spec.config(), _no_evaluate, param_count=counter)


def search_from_state(
    run: str, search_id: str, spec: SearchSpec, space: SearchSpace, evaluate, *, fresh: bool = False
) -> Search:
    """Search `search_id` of `run` resumed from its saved state, or at generation 0 when no state
    is saved yet (or `fresh`). Unlike `load_search`, settings come from the arguments, not the
    store, so a task can step a search whose record is not written yet."""
    path = _state_path(run, search_id)
    counter = _param_counter(run)
    if fresh or not path.exists():
        return make_search(spec.strategy, space, spec.config(), evaluate, param_count=counter)
    state = json.loads(path.read_text())
    return resume_search(space, spec.config(), evaluate, state, param_count=counter)


def search_state_path(run: str, search_id: str) -> Path:
    """Where the state of search `search_id` of `run` is saved."""
    return _state_path(run, search_id)


def make_evaluator(run: str, eval_seed: int, device: str, recalib_batches: int):
    """The injected `evaluate` for a run: inherited weights, BN recalibration, val split."""
    from engine.evaluate import SubnetEvaluator, load_supernet

    supernet, meta = load_supernet(supernet_checkpoint(run), device=device)
    return SubnetEvaluator(
        supernet, meta["config"]["dataset"], seed=eval_seed, recalib_batches=recalib_batches
    )


def record_generation(
    store: Store, run: str, search_id: str, strategy: str, summary: GenerationSummary
) -> None:
    worker = worker_name()
    store.add_candidates(
        CandidateRecord.from_eval(
            r.to_dict(),
            run=run,
            search=search_id,
            generation=summary.generation,
            strategy=strategy,
            worker=worker,
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
        )
    )


def search_step(store: Store, run: str, search_id: str, evaluate) -> GenerationSummary | None:
    """Advance the search one generation from its saved state; record and save. None when done."""
    search, spec = load_search(store, run, search_id, evaluate)
    if search.done:
        return None
    summary = search.step()
    record_generation(store, run, search_id, spec.strategy, summary)
    _save_state(run, search_id, search)
    state = "done" if search.done else "searching"
    store.update_search(search_id, state=state, generation=search.generation)
    return summary


def search_result(store: Store, run: str, search_id: str, alpha: float) -> dict[str, Any]:
    """The contract's search JSON: evaluated count, Pareto ids and the best candidate."""
    from engine.pareto import pareto_front

    ranked = store.rank(run, search=search_id, alpha=alpha)
    records = [r for r, _ in ranked]
    front = pareto_front([r.accuracy for r in records], [r.energy_uj for r in records])
    best = ranked[0][0].to_contract(ranked[0][1]) if ranked else None
    return {
        "run": run,
        "search": search_id,
        "evaluated": len(records),
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
                }
            )
    store.update_run(run, state="done", progress=1.0)
    return search_result(store, run, search_id, spec.alpha)


# ---- export -------------------------------------------------------------------------------------
def export_candidate(
    store: Store, run: str, candidate_id: str, out: str | Path, *, device: str = "cpu"
) -> dict[str, Any]:
    """Write candidate `candidate_id` of `run` as a standalone subnet with recalibrated BN.

    The recalibration uses the same seeded batches as the search's evaluation, so the file
    reproduces the candidate's recorded accuracy.
    """
    from engine.checkpoint import save_subnet

    out = Path(out)
    if out.suffix != ".safetensors":
        raise AutoSpikformerError(f"--out must end in .safetensors, got {out.name}")
    record = store.get_candidate(run, candidate_id)
    search = store.get_search(record.search)
    spec = SearchSpec(**search.settings)
    evaluator = make_evaluator(run, spec.eval_seed, device, spec.recalib_batches)
    result, subnet = evaluator.evaluate_one(Arch.from_dict(record.arch))
    save_subnet(
        out,
        subnet,
        dataset=evaluator.dataset,
        extra={
            "run": run,
            "candidate": candidate_id,
            "val_accuracy": result.accuracy,
            "energy_uj": result.energy_uj,
            "recalibrated": True,
        },
    )
    if paths.home().resolve() in out.resolve().parents:
        store.add_artefact(
            ArtefactRecord(
                run=run, kind="subnet", path=paths.relative_to_home(out), candidate_id=candidate_id
            )
        )
    return {
        "run": run,
        "candidate": candidate_id,
        "checkpoint": str(out),
        "accuracy": result.accuracy,
        "energy_uj": result.energy_uj,
    }
