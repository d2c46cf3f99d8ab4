"""Extend a finished or cancelled search by N more generations, from its saved state, under the
same search id.

A search's state (`searching.search_state_path`) holds everything after its last generation,
its random generator included, and a strategy's proposals depend on the target number of
generations only through `Search.done`; so raising the target by N and stepping on gives the
generations a search with that target from the start would have had.

Two ways to run the new generations:
* `extend_search`, in this process (the command line), for a search made by `search`;
* `tasks.api.extend`, on the workers, for the search of a launched run: the reconciler's `advance`
  steps it, as it stepped the first generations (`is_launched_search`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.errors import AutoSpikformerError
from storage.base import Store
from storage.ops import AddEvents
from storage.records import ACTIVE_RUN_STATES, EventRecord, RunRecord, SearchRecord
from tasks.pipeline.runs import Progress
from tasks.pipeline.search_spec import SearchSpec
from tasks.pipeline.searching import (
    launched_search_id,
    make_evaluator,
    search_result,
    search_state_path,
    search_step,
)

EXTENDABLE = ("done", "cancelled")


@dataclass(frozen=True)
class Extension:
    """A checked request: `search` of `run` goes from `current` to `target` generations."""

    run: RunRecord
    search: SearchRecord
    current: int
    target: int

    @property
    def launched(self) -> bool:
        return is_launched_search(self.run, self.search.id)


def is_launched_search(run: RunRecord, search_id: str) -> bool:
    """True for a launched run's own search, the one the workers' reconciler steps."""
    if "launch" not in run.settings:
        return False
    return search_id == launched_search_id(run.name, run.settings["search"]["strategy"])


def saved_generation(run: str, search_id: str) -> int | None:
    """Generations done according to the search's saved state; None if it cannot be read."""
    try:
        return int(json.loads(search_state_path(run, search_id).read_text())["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_extension(
    store: Store, search_id: str, generations: int, *, run: str | None = None
) -> Extension:
    """Check a request to run `generations` more generations of `search_id`; change nothing.

    Raises a one-line `ValueError` for an unknown search (or one of another run than `run`), a
    search still running or that failed, `generations` below 1, a target beyond the documented
    maxima (`engine.limits`), or a missing saved state.
    """
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise AutoSpikformerError(f"generations must be a whole number >= 1, got {generations!r}")
    search = store.get_search(search_id)
    if run is not None and search.run != run:
        raise AutoSpikformerError(f"search {search_id!r} does not belong to run {run!r}")
    record = store.get_run(search.run)
    if search.state not in EXTENDABLE:
        if record.state in ACTIVE_RUN_STATES:
            raise AutoSpikformerError(
                f"search {search_id} is still running (run {record.name} is {record.state}); "
                f"wait for it to end, or cancel it first"
            )
        raise AutoSpikformerError(
            f"search {search_id} did not finish (run {record.name} {record.state}); only a "
            "finished or cancelled search can be extended"
        )
    if is_launched_search(record, search_id) and record.state in ACTIVE_RUN_STATES:
        raise AutoSpikformerError(
            f"search {search_id} is still running (run {record.name} is {record.state})"
        )
    current = saved_generation(record.name, search_id)
    if current is None:
        raise AutoSpikformerError(
            f"search {search_id} has no readable saved state "
            f"({search_state_path(record.name, search_id)}); it cannot be extended"
        )
    target = current + generations
    try:  # the documented maxima (engine.limits), as for a new search of that length
        SearchSpec(**{**search.settings, "generations": target}).validate()
    except ValueError as err:
        raise AutoSpikformerError(
            f"{generations} more generations would make search {search_id} {target} generations "
            f"long: {err}"
        ) from None
    return Extension(record, search, current, target)


def reopen(store: Store, ext: Extension) -> None:
    """Record the new target: the search's settings (and a launched run's search settings) say
    `target` generations, and the search and its run are `searching` again."""
    settings = {**ext.search.settings, "generations": ext.target}
    store.update_search(ext.search.id, state="searching", settings=settings)
    run_settings = None
    progress = None
    if ext.launched:
        run_settings = {
            **ext.run.settings,
            "search": {**ext.run.settings["search"], "generations": ext.target},
        }
        epochs = int(ext.run.settings["train"]["epochs"])
        progress = (epochs + ext.current) / (epochs + ext.target)
    store.update_run(
        ext.run.name, state="searching", progress=progress, message="", settings=run_settings
    )
    store.apply(
        [
            AddEvents(
                (
                    EventRecord(
                        ext.run.name,
                        f"extend:{ext.search.id}:{ext.target}",
                        "info",
                        f"search {ext.search.id} extended from {ext.current} to {ext.target} "
                        "generations",
                    ),
                )
            )
        ]
    )


def restore(store: Store, ext: Extension) -> None:
    """Undo `reopen` (the request could not be enqueued): the records as they were."""
    store.update_search(ext.search.id, state=ext.search.state, settings=ext.search.settings)
    store.update_run(
        ext.run.name,
        state=ext.run.state,
        progress=ext.run.progress,
        message=ext.run.message,
        settings=ext.run.settings,
    )


def extend_search(
    store: Store,
    search_id: str,
    generations: int,
    *,
    run: str | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run `generations` more generations of a search made by `search`, in this process,
    recording each under the same search id. Returns the search's contract JSON. An interrupted
    extension leaves the search and run `cancelled`, to be resumed again."""
    ext = check_extension(store, search_id, generations, run=run)
    if ext.launched:
        raise AutoSpikformerError(
            f"search {search_id} belongs to launched run {ext.run.name}: the workers extend it "
            "(tasks.api.extend)"
        )
    name = ext.run.name
    spec = SearchSpec(**{**ext.search.settings, "generations": ext.target})
    spec.config()  # the stored settings still make a search
    reopen(store, ext)
    try:
        evaluate = make_evaluator(name, spec.eval_seed, device, spec.recalib_batches)
        while (summary := search_step(store, name, search_id, evaluate)) is not None:
            if progress:
                progress(
                    {
                        "event": "generation",
                        "generation": summary.generation + 1,
                        "generations": ext.target,
                        "hypervolume": summary.hypervolume,
                        "hypervolume_normalized": summary.hypervolume_normalized,
                        "predictor_tau": summary.predictor_tau,
                    }
                )
    except BaseException as err:
        reached = saved_generation(name, search_id) or ext.current
        store.update_search(search_id, state="cancelled")
        store.update_run(
            name,
            state="cancelled",
            message=f"extension of search {search_id} stopped after generation {reached} of "
            f"{ext.target}: {str(err)[:200] or type(err).__name__}",
        )
        raise
    store.update_run(name, state="done", progress=1.0)
    return search_result(store, name, search_id, spec.alpha, spec.energy_profile)


__all__ = [
    "EXTENDABLE",
    "Extension",
    "check_extension",
    "extend_search",
    "is_launched_search",
    "reopen",
    "saved_generation",
    "restore",
]
