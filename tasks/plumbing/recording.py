"""Single-writer recording: tasks describe store writes as typed ops; the recorder applies them.

DuckDB lets one process write a file at a time, and gpu workers on other hosts have no store at
all. So no task writes the store: it hands its writes, as an op list (`storage.ops`), to a `Send`
function (on a worker, `tasks.plumbing.recorder.send`: onto the recorder's op log in Redis), and the
recorder applies them with `Store.apply`. `OpWriter` is what a task passes to the
`tasks.pipeline` functions in place of a store: it turns their write calls into ops and answers
the one read they make, the run's record, from the task's message. It is not a `Store`: it
cannot list, rank or read back what it wrote.

Every op is idempotent (see `storage.ops`), so a redelivered or resent op list changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from storage.base import Store
from storage.errors import BadArgument, UnknownRun, one_line
from storage.ops import (
    TERMINAL,
    AddArtefact,
    AddCandidates,
    AddEpochs,
    AddEvents,
    AddGeneration,
    AddProgress,
    AddTestResults,
    CreateSearch,
    Op,
    UpdateRun,
    UpdateSearch,
    decode,
)
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    ProgressRecord,
    RunRecord,
    SearchRecord,
    TestResultRecord,
)

Send = Callable[[list[Op]], Any]

__all__ = ["TERMINAL", "OpWriter", "Send", "apply_ops", "update_run"]


def update_run(
    store: Store,
    run: str,
    *,
    state: str | None = None,
    progress: float | None = None,
    message: str | None = None,
) -> bool:
    """Apply one forward-only run update (see `storage.ops.UpdateRun`) directly to `store`.
    True if the run changed. `UnknownRun`; `BadArgument` for a bad state or progress."""
    return bool(store.apply([UpdateRun(run, state, progress, message)]).updates)


def apply_ops(store: Store, wire: Sequence[Any]) -> dict[str, int]:
    """Decode an op list from its JSON form and apply it in one batch; counts of what changed."""
    return store.apply(decode(wire)).counts()


class OpWriter:
    """The writes of one task, as op lists sent through `send`.

    Args:
        run: the run's record as the task's message carries it (settings, space, dataset);
            `get_run` answers with it, updated by this writer's own `update_run` calls.
        send: delivers an op list to the recorder.
        progress: maps a progress value a pipeline function reports to the run's overall progress
            (e.g. training's share of the whole run).

    Inside `batch()` ops are collected and sent as one list when the block ends (nothing is sent
    if it raises). Writes return what will be written: `update_*` the record with the changes,
    `add_*` how many records were sent.
    """

    def __init__(
        self,
        run: RunRecord,
        send: Send,
        *,
        progress: Callable[[float], float] | None = None,
    ) -> None:
        self.run = run
        self._send = send
        self._progress = progress
        self._pending: list[Op] | None = None

    def send(self, *ops: Op) -> None:
        if self._pending is not None:
            self._pending.extend(ops)
        elif ops:
            self._send(list(ops))

    @contextmanager
    def batch(self) -> Iterator[OpWriter]:
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

    # ---- the one read ------------------------------------------------------------------------
    def get_run(self, name: str) -> RunRecord:
        if name != self.run.name:
            raise UnknownRun(f"this task writes run {self.run.name!r}, not {one_line(name, 80)!r}")
        return self.run

    # ---- writes ------------------------------------------------------------------------------
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
            raise BadArgument("a task never changes a run's settings or archives it")
        if progress is not None and self._progress is not None:
            progress = min(1.0, max(0.0, self._progress(progress)))
        op = UpdateRun(name, state, progress, message)
        self.send(op)
        changes = {k: v for k, v in op.payload().items() if k != "run"}
        if name == self.run.name:
            self.run = replace(self.run, **changes)
        return self.get_run(name)

    def create_search(self, record: SearchRecord) -> SearchRecord:
        self.send(CreateSearch(record))
        return record

    def update_search(
        self,
        search: str,
        *,
        state: str | None = None,
        generation: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if settings is not None:
            raise BadArgument("a task never changes a search's settings")
        self.send(UpdateSearch(search, state, generation))

    def add_candidates(self, records: Iterable[CandidateRecord]) -> int:
        return self._many(AddCandidates, records)

    def add_generation(self, record: GenerationRecord) -> bool:
        self.send(AddGeneration(record))
        return True

    def add_artefact(self, record: ArtefactRecord) -> bool:
        self.send(AddArtefact(record))
        return True

    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        return self._many(AddEpochs, records)

    def add_events(self, records: Iterable[EventRecord]) -> int:
        return self._many(AddEvents, records)

    def add_test_results(self, records: Iterable[TestResultRecord]) -> int:
        return self._many(AddTestResults, records)

    def add_progress(self, records: Iterable[ProgressRecord]) -> int:
        return self._many(AddProgress, records)

    def _many(self, kind: type, records: Iterable[Any]) -> int:
        batch = tuple(records)
        if batch:
            self.send(kind(batch))
        return len(batch)
