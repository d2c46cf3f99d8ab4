"""Single-writer recording: workers describe store writes as JSON ops; the recorder applies them.

DuckDB lets one process write a file at a time. Workers therefore never write the store: they read
it (short read-only connections) and send every write as an op list to the `record` task on the
`cpu` queue, which one recorder process (concurrency 1) applies in order. `WriteBehindStore` is the
`Store` a task hands to `tasks.pipeline` functions: reads go to the file, writes become ops.

Every op is idempotent, so a redelivered or resent op list changes nothing:

* `add_candidates`, `add_generation`, `add_artefact`, `add_epochs`, `add_events`:
  insert-or-ignore on their key.
* `create_search`: an existing search is left as is.
* `update_run`: applied in one write transaction that re-reads the run; a terminal state (done,
  failed, cancelled) is final, and neither the state (queued -> training -> searching) nor the
  progress ever goes back. So a late op from a task that was running when the run was cancelled
  cannot revive it, and a redelivered op cannot undo a later one.
* `update_search`: same rules (terminal state final, generation never goes back).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from storage.base import DEFAULT_ALPHA, Store
from storage.duckdb_store import DuckDBStore
from storage.errors import BadArgument, DuplicateSearch, UnknownRun, one_line
from storage.records import (
    RUN_STATES,
    SEARCH_STATES,
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    RunRecord,
    SearchRecord,
    now,
)

Op = dict[str, Any]
Send = Callable[[list[Op]], None]
TERMINAL = ("done", "failed", "cancelled")
ORDER = {"queued": 0, "training": 1, "searching": 2}  # then any terminal state
MESSAGE_LIMIT = 300


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# ---- the recorder side --------------------------------------------------------------------------
def update_run(
    store: DuckDBStore,
    run: str,
    *,
    state: str | None = None,
    progress: float | None = None,
    message: str | None = None,
) -> bool:
    """Set a run's state/progress/message in one transaction, unless the run is already in a
    terminal state. State and progress only move forward. True if the run changed. `UnknownRun`."""
    if state is not None and state not in RUN_STATES:
        raise BadArgument(f"run state must be one of {'|'.join(RUN_STATES)}, got {state!r}")
    if progress is not None and (not math.isfinite(progress) or not 0.0 <= progress <= 1.0):
        raise BadArgument(f"progress must be in [0, 1], got {progress}")
    if message is not None:
        message = one_line(message, MESSAGE_LIMIT)
    with store.connect(write=True) as con:
        row = con.execute("SELECT state, progress FROM runs WHERE name = $n", {"n": run}).fetchone()
        if row is None:
            raise UnknownRun(f"unknown run {one_line(repr(run), 80)}")
        current_state, current_progress = row
        if current_state in TERMINAL:
            return False
        changes = _given(message=message)
        if state is not None and ORDER.get(state, 3) >= ORDER[current_state]:
            changes["state"] = state
        if progress is not None and progress > current_progress:
            changes["progress"] = float(progress)
        if not changes:
            return False
        changes["updated_at"] = now()
        sets = ", ".join(f"{c} = ${c}" for c in changes)
        con.execute(f"UPDATE runs SET {sets} WHERE name = $name", {"name": run, **changes})
    return True


def _update_search(
    store: Store, search: str, *, state: str | None = None, generation: int | None = None
) -> None:
    if state is not None and state not in SEARCH_STATES:
        raise BadArgument(f"search state must be one of {'|'.join(SEARCH_STATES)}, got {state!r}")
    current = store.get_search(search)
    if current.state in TERMINAL:
        return
    changes = _given(state=state)
    if generation is not None and generation > current.generation:
        changes["generation"] = generation
    if changes:
        store.update_search(search, **changes)


def apply_ops(store: DuckDBStore, ops: Iterable[Op]) -> dict[str, int]:
    """Apply `ops` in order (see the module docstring). Returns counts of what changed."""
    counts = {
        "candidates": 0,
        "generations": 0,
        "artefacts": 0,
        "epochs": 0,
        "events": 0,
        "updates": 0,
    }
    for op in ops:
        kind = op.get("op")
        if kind == "add_candidates":
            records = [CandidateRecord.from_dict(d) for d in op["records"]]
            counts["candidates"] += store.add_candidates(records)
        elif kind == "add_generation":
            counts["generations"] += store.add_generation(GenerationRecord.from_dict(op["record"]))
        elif kind == "add_artefact":
            counts["artefacts"] += store.add_artefact(ArtefactRecord.from_dict(op["record"]))
        elif kind == "add_epochs":
            counts["epochs"] += store.add_epochs(EpochRecord.from_dict(d) for d in op["records"])
        elif kind == "add_events":
            counts["events"] += store.add_events(EventRecord.from_dict(d) for d in op["records"])
        elif kind == "create_search":
            try:
                store.create_search(SearchRecord.from_dict(op["record"]))
            except DuplicateSearch:
                pass
        elif kind == "update_search":
            _update_search(
                store, op["search"], state=op.get("state"), generation=op.get("generation")
            )
            counts["updates"] += 1
        elif kind == "update_run":
            counts["updates"] += update_run(
                store,
                op["run"],
                state=op.get("state"),
                progress=op.get("progress"),
                message=op.get("message"),
            )
        else:
            raise BadArgument(f"unknown record op {one_line(repr(kind), 60)}")
    return counts


# ---- the worker side ----------------------------------------------------------------------------
class WriteBehindStore(Store):
    """A `Store` whose reads go to `reader` and whose writes are sent as ops through `send`.

    Writes return what will be written (the recorder applies them later): `update_*` the record
    with the changes, `add_*` how many records were sent. Inside `batch()` ops are collected and
    sent as one list when the block ends (nothing is sent if it raises).

    Args:
        reader: the store file, read with short read-only connections.
        send: delivers an op list to the recorder (e.g. a `record` task on the cpu queue).
        progress: maps a progress value a pipeline function reports to the run's overall progress
            (e.g. training's share of the whole run).
    """

    def __init__(
        self,
        reader: Store,
        send: Send,
        *,
        progress: Callable[[float], float] | None = None,
    ) -> None:
        self.reader = reader
        self._send = send
        self._progress = progress
        self._pending: list[Op] | None = None

    def send(self, *ops: Op) -> None:
        if self._pending is not None:
            self._pending.extend(ops)
        elif ops:
            self._send(list(ops))

    @contextmanager
    def batch(self) -> Iterator[WriteBehindStore]:
        outer = self._pending is not None
        if not outer:
            self._pending = []
        try:
            yield self
        except BaseException:
            if not outer:
                self._pending = None
            raise
        if not outer:
            ops, self._pending = self._pending, None
            if ops:
                self._send(ops)

    # ---- writes ------------------------------------------------------------------------------
    def create_run(self, record: RunRecord) -> RunRecord:
        raise TypeError("runs are created by `launch`, before any task runs")

    def update_run(
        self,
        name: str,
        *,
        state: str | None = None,
        progress: float | None = None,
        message: str | None = None,
        settings: dict[str, Any] | None = None,
        archived: bool | None = None,
    ) -> RunRecord:
        if settings is not None or archived is not None:
            raise TypeError("a task never changes a run's settings or archives it")
        if progress is not None and self._progress is not None:
            progress = min(1.0, max(0.0, self._progress(progress)))
        changes = _given(state=state, progress=progress, message=message)
        self.send({"op": "update_run", "run": name, **changes})
        return replace(self.reader.get_run(name), **changes)

    def delete_run(self, name: str) -> None:
        raise TypeError("runs are deleted from the head host (`autospikformer delete`)")

    def create_search(self, record: SearchRecord) -> SearchRecord:
        self.send({"op": "create_search", "record": record.to_dict()})
        return record

    def update_search(
        self,
        search: str,
        *,
        state: str | None = None,
        generation: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> SearchRecord:
        if settings is not None:
            raise TypeError("a task never changes a search's settings")
        changes = _given(state=state, generation=generation)
        self.send({"op": "update_search", "search": search, **changes})
        # `UnknownSearch` here means the recorder has not applied the search's creation yet.
        return replace(self.reader.get_search(search), **changes)

    def add_candidates(self, records: Iterable[CandidateRecord]) -> int:
        batch = [r.to_dict() for r in records]
        if batch:
            self.send({"op": "add_candidates", "records": batch})
        return len(batch)

    def add_generation(self, record: GenerationRecord) -> bool:
        self.send({"op": "add_generation", "record": record.to_dict()})
        return True

    def add_artefact(self, record: ArtefactRecord) -> bool:
        self.send({"op": "add_artefact", "record": record.to_dict()})
        return True

    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        batch = [r.to_dict() for r in records]
        if batch:
            self.send({"op": "add_epochs", "records": batch})
        return len(batch)

    def add_events(self, records: Iterable[EventRecord]) -> int:
        batch = [r.to_dict() for r in records]
        if batch:
            self.send({"op": "add_events", "records": batch})
        return len(batch)

    # ---- reads -------------------------------------------------------------------------------
    def get_run(self, name: str) -> RunRecord:
        return self.reader.get_run(name)

    def list_runs(self) -> list[RunRecord]:
        return self.reader.list_runs()

    def get_search(self, search: str) -> SearchRecord:
        return self.reader.get_search(search)

    def list_searches(self, run: str) -> list[SearchRecord]:
        return self.reader.list_searches(run)

    def candidates(self, run: str, search: str | None = None) -> list[CandidateRecord]:
        return self.reader.candidates(run, search)

    def count_candidates(self, run: str, search: str | None = None) -> int:
        return self.reader.count_candidates(run, search)

    def get_candidate(self, run: str, id: str, search: str | None = None) -> CandidateRecord:
        return self.reader.get_candidate(run, id, search)

    def rank(
        self,
        run: str,
        search: str | None = None,
        alpha: float = DEFAULT_ALPHA,
        top: int | None = None,
    ) -> list[tuple[CandidateRecord, float]]:
        return self.reader.rank(run, search, alpha, top)

    def generations(self, search: str) -> list[GenerationRecord]:
        return self.reader.generations(search)

    def artefacts(self, run: str, kind: str | None = None) -> list[ArtefactRecord]:
        return self.reader.artefacts(run, kind)

    def epochs(self, run: str) -> list[EpochRecord]:
        return self.reader.epochs(run)

    def events(self, run: str) -> list[EventRecord]:
        return self.reader.events(run)
