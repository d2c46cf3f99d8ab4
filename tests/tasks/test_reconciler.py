"""The reconciler alone: a `MemoryStore`, a list for a queue, results written into the cache.

No broker and no worker: what `advance` enqueues, records and saves, step by step.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from engine.results import EvalResult
from engine.space import Arch
from storage.memory_store import MemoryStore
from storage.records import RunRecord
from tasks.pipeline import SearchSpec, launched_search_id, next_search_id
from tasks.plumbing.coordination import Step
from tasks.plumbing.result_cache import ResultCache
from tasks.reconciler import Reconciler
from tests.tasks.conftest import SPACE

RUN = "rec"
SPEC = SearchSpec(generations=2, population=4, parents=2, seed=3)


class ListQueue:
    """Steps in the order they were enqueued; a step in flight is not enqueued twice."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.flags: set[tuple[str, str]] = set()
        self.ended: set[str] = set()  # runs Redis already knows ended

    def enqueue(self, step: Step) -> bool:
        if any(s.name == step.name for s in self.steps):
            return False
        self.steps.append(step)
        return True

    def stopped(self, run: str) -> bool:
        return run in self.ended

    def once(self, run: str, what: str) -> bool:
        new = (run, what) not in self.flags
        self.flags.add((run, what))
        return new

    def take(self, prefix: str) -> list[Step]:
        taken = [s for s in self.steps if s.name.startswith(prefix)]
        self.steps = [s for s in self.steps if not s.name.startswith(prefix)]
        return taken


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(tmp_path))
    store = MemoryStore()
    store.create_run(
        RunRecord(
            name=RUN,
            dataset="digits",
            space=yaml.safe_load(SPACE),
            settings={
                "train": {"epochs": 2},
                "search": asdict(SPEC),
                "launch": {"device": "cpu"},
            },
        )
    )
    queue = ListQueue()
    trained = {RUN: 0}
    reconciler = Reconciler(
        store, queue, store.apply, trained_epochs=trained.__getitem__, slice_size=2, worker="t"
    )
    return store, queue, trained, reconciler


def _evaluate(steps: list[Step], search_id: str) -> int:
    """Do what the workers would: a result for every arch of the slices, into the cache."""
    cache = ResultCache(RUN, search_id)
    n = 0
    for step in steps:
        for d in step.args[4]:
            arch = Arch.from_dict(d)
            accuracy = 0.5 + (int(arch.id[:4], 16) % 400) / 1000
            cache.put(EvalResult(arch, accuracy, 1.0 + arch.embed_dim / 16, 100, 1e3, 0.1))
            n += 1
    return n


def test_a_run_from_training_to_done(setup) -> None:
    store, queue, trained, reconciler = setup
    assert reconciler.advance(RUN) == {"run": RUN, "phase": "training", "epoch": 1}
    reconciler.advance(RUN)  # asked again: the step in flight is not enqueued twice
    (step,) = queue.take("train:")
    assert step.name == "train:1" and step.args[:2] == (RUN, 1)
    assert step.args[2]["settings"]["search"]["population"] == 4  # the run travels with it

    trained[RUN] = 2
    search_id = launched_search_id(RUN, "evolution")
    out = reconciler.advance(RUN)
    assert out["generation"] == 0 and out["queued"] == 2  # 4 archs in slices of 2
    assert store.get_search(search_id).state == "searching"
    assert reconciler.advance(RUN)["queued"] == 0  # the slices in flight are not sent twice
    slices = queue.take("eval:")
    assert [s.name for s in slices] == [f"eval:{search_id}:0:0", f"eval:{search_id}:0:1"]

    _evaluate(slices, search_id)
    out = reconciler.advance(RUN)
    assert out["generation"] == 1  # generation 0 stepped and recorded; generation 1 fanned out
    assert store.count_candidates(RUN) == 4
    assert [g.generation for g in store.generations(search_id)] == [0]
    _evaluate(queue.take("eval:"), search_id)
    assert reconciler.advance(RUN) == {"run": RUN, "done": True}
    run = store.get_run(RUN)
    assert (run.state, run.progress) == ("done", 1.0)
    assert store.get_search(search_id).state == "done"
    stages = [e.id for e in store.events(RUN)]
    assert {"stage:training-finished", "stage:search-started", "stage:search-finished"} <= set(
        stages
    )
    # Done: a late advance (a redelivered message) changes nothing.
    before = store.count_candidates(RUN)
    assert reconciler.advance(RUN) == {"run": RUN, "skipped": "done"}
    assert store.count_candidates(RUN) == before and queue.steps == []


def test_a_cancelled_run_enqueues_nothing_and_cancels_its_search(setup) -> None:
    store, queue, trained, reconciler = setup
    trained[RUN] = 2
    reconciler.advance(RUN)
    queue.take("eval:")
    store.update_run(RUN, state="cancelled")
    assert reconciler.advance(RUN) == {"run": RUN, "skipped": "cancelled"}
    assert queue.steps == []
    assert store.get_search(launched_search_id(RUN, "evolution")).state == "cancelled"


def test_a_cli_search_never_takes_the_launched_searchs_id(setup) -> None:
    """`search` on a run whose launched search is not created yet used to get `RUN.evolution.1`,
    the launched search's id, and the reconciler then resumed the CLI search's state."""
    store, _, _, _ = setup
    run = store.get_run(RUN)
    assert store.list_searches(RUN) == []  # the launched search is not recorded yet
    assert next_search_id(run, [], "evolution") == f"{RUN}.evolution.2"
    assert next_search_id(run, [], "random") == f"{RUN}.random.1"
    plain = RunRecord(name="plain", dataset="digits")  # trained and searched from the CLI
    assert next_search_id(plain, [], "evolution") == "plain.evolution.1"


def test_a_run_that_ended_in_redis_first_enqueues_nothing(setup) -> None:
    """A step failed (or the run was cancelled) and the store does not know it yet: the next
    advance must not enqueue the step again."""
    _, queue, _, reconciler = setup
    queue.ended.add(RUN)
    assert reconciler.advance(RUN) == {"run": RUN, "skipped": "stopping"}
    assert queue.steps == []


def test_unknown_and_unlaunched_runs_are_skipped(setup) -> None:
    store, queue, _, reconciler = setup
    assert reconciler.advance("ghost") == {"run": "ghost", "skipped": "unknown"}
    store.create_run(RunRecord(name="cli", dataset="digits"))
    assert reconciler.advance("cli") == {"run": "cli", "skipped": "not launched"}
    assert queue.steps == []


def test_an_advance_steps_cached_generations_within_its_budget(setup) -> None:
    """An advance steps at most `budget_s` of generations whose results are all cached (at least
    one), then returns `more`, so a run with many cached generations (a replay after its state
    was lost) never holds the recorder's one process; the next advance carries on."""
    from tasks.pipeline import search_state_path

    store, queue, trained, reconciler = setup
    trained[RUN] = 2
    search_id = launched_search_id(RUN, "evolution")
    while reconciler.advance(RUN) != {"run": RUN, "done": True}:  # every result into the cache
        _evaluate(queue.take("eval:"), search_id)
    recorded = store.count_candidates(RUN)

    search_state_path(RUN, search_id).unlink()  # lost: the search starts again from the cache
    store.update_run(RUN, state="searching")
    queue.flags.clear()
    hasty = Reconciler(
        store, queue, store.apply, trained_epochs=trained.__getitem__, slice_size=2, budget_s=0.0
    )
    assert hasty.advance(RUN) == {"run": RUN, "generation": 1, "more": True}
    assert queue.steps == []  # nothing to evaluate: all cached
    assert hasty.advance(RUN) == {"run": RUN, "done": True}
    assert store.count_candidates(RUN) == recorded  # the same candidates, recorded once
