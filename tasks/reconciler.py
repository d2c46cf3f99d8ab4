"""The reconciler: from what a launched run has done, the next steps to enqueue.

`Reconciler.advance(run)` reads the run from the store and what is on disk (checkpoints in the
artefact folder, the search state, the result cache), and:

* while epochs are missing, enqueues `train:<next epoch>`;
* then steps the search as far as cached results allow: a generation whose archs all have a
  cached result is stepped, recorded (one op list) and its state saved; one with missing results
  is fanned out as `eval:<search>:<g>:<i>` slices of `slice_size` archs, and advance returns
  without saving, so the next advance proposes the same archs (the search is deterministic from
  its state);
* once the search is done, replays it from generation 0 on the cached results and sends all its
  records again with the `done` mark, once (a no-op unless records were lost).

Its collaborators are passed in, so it is tested with a `MemoryStore` and a list for a queue:
`store` (reads), `queue` (`enqueue(step)` once per step in flight, `once(run, what)`,
`stopped(run)`: ended according to Redis, which can be ahead of the store), `send` (writes, as op
lists) and `trained_epochs(run)`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from engine.space import SearchSpace
from storage.base import Store
from storage.errors import UnknownRun, UnknownSearch
from storage.ops import AddEvents, CreateSearch, Op, UpdateRun, UpdateSearch
from storage.records import ACTIVE_RUN_STATES, EventRecord, RunRecord, SearchRecord
from tasks import pipeline
from tasks.plumbing.coordination import Step
from tasks.plumbing.recording import OpWriter
from tasks.plumbing.result_cache import MissingResults, ResultCache

# How long one `advance` may step generations whose results are all cached before it hands the
# recorder back (returning `"more": True`; the task kicks the run again, behind other runs'
# advances). One generation is bounded by the limits (engine.limits: population <= 5,000) and by
# the search's fill (never more draws than the space holds archs, times the retries).
ADVANCE_BUDGET_S = 1.0
TRAIN_TASK = "tasks.train_epoch"
SLICE_TASK = "tasks.evaluate_slice"


class StepQueue(Protocol):
    def enqueue(self, step: Step) -> bool: ...

    def once(self, run: str, what: str) -> bool: ...

    def stopped(self, run: str) -> bool: ...


def run_message(record: RunRecord) -> dict[str, Any]:
    """What a gpu task needs of its run, carried in its message (gpu workers have no store)."""
    return {
        "name": record.name,
        "owner": record.owner,
        "dataset": record.dataset,
        "space": record.space,
        "settings": record.settings,
    }


def train_step(record: RunRecord, epoch: int) -> Step:
    return Step(
        record.name, f"train:{epoch}", TRAIN_TASK, (record.name, epoch, run_message(record))
    )


def slice_step(
    record: RunRecord, search_id: str, generation: int, index: int, archs: list[dict]
) -> Step:
    return Step(
        record.name,
        f"eval:{search_id}:{generation}:{index}",
        SLICE_TASK,
        (record.name, search_id, generation, index, archs, run_message(record)),
    )


def units(record: RunRecord) -> tuple[int, int]:
    """(epochs, generations): progress counts each epoch and each generation as one unit."""
    return record.settings["train"]["epochs"], record.settings["search"]["generations"]


def info(run: str, what: str, message: str, worker: str = "") -> AddEvents:
    """A stage event (`info`), stored once whatever how often it is sent."""
    return AddEvents((EventRecord(run, f"stage:{what}", "info", message, worker),))


class Reconciler:
    """See the module docstring.

    Args:
        store: where runs and searches are read.
        queue: enqueues steps (once each while in flight) and answers once-flags.
        send: delivers op lists to the recorder.
        trained_epochs: epochs in a run's newest readable checkpoint.
        slice_size: archs per evaluation slice.
        worker: this process's name, on the events it records.
        budget_s: seconds of cached generations one `advance` steps at most (it always steps
            one when it can).
    """

    def __init__(
        self,
        store: Store,
        queue: StepQueue,
        send: Callable[[list[Op]], Any],
        *,
        trained_epochs: Callable[[str], int],
        slice_size: int,
        worker: str = "",
        budget_s: float = ADVANCE_BUDGET_S,
    ) -> None:
        self.budget_s = budget_s
        self.store = store
        self.queue = queue
        self.send = send
        self.trained_epochs = trained_epochs
        self.slice_size = slice_size
        self.worker = worker

    def advance(self, run: str) -> dict[str, Any]:
        """Enqueue the run's next step, or step its search as far as cached results allow."""
        try:
            record = self.store.get_run(run)
        except UnknownRun:
            return {"run": run, "skipped": "unknown"}
        if "launch" not in record.settings:
            return {"run": run, "skipped": "not launched"}
        spec = pipeline.SearchSpec(**record.settings["search"])
        search_id = pipeline.launched_search_id(run, spec.strategy)
        if record.state not in ACTIVE_RUN_STATES:
            if record.state == "cancelled":
                self._cancel_search(search_id)
            return {"run": run, "skipped": record.state}
        if self.queue.stopped(run):  # failed or cancelled, not yet in the store
            return {"run": run, "skipped": "stopping"}
        epochs, _ = units(record)
        done = self.trained_epochs(run)
        if done < epochs:
            self.queue.enqueue(train_step(record, done + 1))
            return {"run": run, "phase": "training", "epoch": done + 1}
        return self._advance_search(record, spec, search_id)

    def _cancel_search(self, search_id: str) -> None:
        try:
            self.store.get_search(search_id)
        except UnknownSearch:
            return
        self.send([UpdateSearch(search_id, state="cancelled")])

    def _advance_search(
        self, record: RunRecord, spec: pipeline.SearchSpec, search_id: str
    ) -> dict[str, Any]:
        run = record.name
        space = SearchSpace.from_dict(record.space)
        # The hypervolume reference, fixed at the search's start and stored with its record.
        spec = pipeline.with_reference(spec, run, search_id, record.dataset, space)
        cache = ResultCache(run, search_id)
        search_record = SearchRecord(
            id=search_id, run=run, strategy=spec.strategy, settings=asdict(spec), state="searching"
        )
        # The predictor's prior, fixed by the search's creation (its record's time once stored).
        prior = pipeline.search_prior(
            self.store, run, search_id, spec, created_at=search_record.created_at
        )
        search = pipeline.search_from_state(
            run, search_id, spec, space, cache.evaluate, dataset=record.dataset, prior=prior
        )
        epochs, generations = units(record)
        total = epochs + generations
        if search.generation == 0:
            self.send(
                [
                    info(run, "training-finished", f"training finished ({epochs} epochs)"),
                    CreateSearch(search_record),
                    info(
                        run,
                        "search-started",
                        f"search {search_id} started ({spec.strategy}, {generations} "
                        f"generations of {spec.population} candidates)",
                        self.worker,
                    ),
                    UpdateRun(run, state="searching", progress=epochs / total),
                ]
            )
        writer = OpWriter(record, self.send)
        started, first = time.monotonic(), search.generation
        while not search.done:
            if self.store.get_run(run).state not in ACTIVE_RUN_STATES:  # cancelled meanwhile
                return {"run": run, "skipped": "inactive"}
            if search.generation > first and time.monotonic() - started > self.budget_s:
                return {"run": run, "generation": search.generation, "more": True}
            generation = search.generation
            try:
                summary = search.step()
            except MissingResults as missing:
                queued = self._fan_out(record, search_id, generation, missing)
                return {
                    "run": run,
                    "generation": generation,
                    "missing": len(missing.missing),
                    "queued": queued,
                }
            with writer.batch():
                writer.create_search(search_record)  # each batch stands alone if resent first
                pipeline.record_generation(
                    writer, run, search_id, spec.strategy, summary, spec=spec
                )
                writer.send(
                    UpdateSearch(search_id, generation=search.generation),
                    UpdateRun(
                        run, "searching", progress=min(1.0, (epochs + search.generation) / total)
                    ),
                )
            pipeline.save_search_state(run, search_id, search)
        if self.queue.once(run, "finished"):
            self._finish(record, spec, space, search_record, cache, prior)
        return {"run": run, "done": True}

    def _fan_out(
        self, record: RunRecord, search_id: str, generation: int, missing: MissingResults
    ) -> int:
        """Enqueue the slices of this generation that hold a missing arch (once each)."""
        size = self.slice_size
        enqueued = 0
        for index in range(math.ceil(len(missing.archs) / size)):
            chunk = missing.archs[index * size : (index + 1) * size]
            if any(a.id in missing.missing for a in chunk):
                step = slice_step(
                    record, search_id, generation, index, [a.to_dict() for a in chunk]
                )
                enqueued += self.queue.enqueue(step)
        return enqueued

    def _finish(self, record, spec, space, search_record, cache, prior) -> None:
        """Record every generation once more from the cached results, and every epoch from the
        checkpoint's history (no-ops unless some records were lost, e.g. with a Redis restart),
        and mark the search and the run done, in one op list. The replay takes the prior the
        search ran with, so it proposes what the search did."""
        run, search_id = record.name, search_record.id
        replay = pipeline.search_from_state(
            run,
            search_id,
            spec,
            space,
            cache.evaluate,
            fresh=True,
            dataset=record.dataset,
            prior=prior,
        )
        writer = OpWriter(record, self.send)
        with writer.batch():
            writer.add_epochs(pipeline.checkpoint_history(run, self.worker)[0])
            writer.create_search(search_record)
            while not replay.done:
                summary = replay.step()
                pipeline.record_generation(
                    writer, run, search_id, spec.strategy, summary, spec=spec
                )
            writer.send(
                UpdateSearch(search_id, state="done", generation=replay.generation),
                UpdateRun(run, "done", progress=1.0, message=""),
                info(run, "search-finished", f"search {search_id} finished", self.worker),
            )
