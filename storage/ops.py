"""Store writes as typed operations: what workers send the recorder, and what `Store.apply` takes.

Modelled on optuna's journal storage: every write is an operation with a code (`OpCode`) and a
payload, so a writer on another host can describe a write without touching the store, and the
single writer (the recorder) applies a batch of them in one transaction. On the wire an op is a
JSON object `{"op": CODE, ...payload}`; `encode`/`decode` convert, and `decode` rejects anything
malformed with a one-line `BadRecord`/`BadArgument` before a store sees it.

Every operation is idempotent, so a redelivered or resent batch changes nothing:

* `AddCandidates`, `AddGeneration`, `AddArtefact`, `AddEpochs`, `AddEvents`, `AddTestResults`,
  `AddProgress`: insert-or-ignore on their key (the first write wins).
* `CreateSearch`: an existing search is left as it is.
* `UpdateRun`: a terminal state (done, failed, cancelled) is final; neither the state
  (queued -> training -> searching) nor the progress ever goes back (`run_changes`). So a late op
  from a task that was running when the run was cancelled cannot revive it. The state's first
  terminal value also sets the run's `finished_at` (`finished_at`), which nothing changes later.
* `UpdateSearch`: the same rules (terminal state final, generation never goes back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage.errors import BadArgument, BadRecord, one_line
from storage.records import (
    RUN_STATES,
    SEARCH_STATES,
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    ProgressRecord,
    SearchRecord,
    TestResultRecord,
)

TERMINAL: tuple[str, ...] = ("done", "failed", "cancelled")
ORDER = {"queued": 0, "training": 1, "searching": 2}  # then any terminal state
MESSAGE_LIMIT = 300


class OpCode(StrEnum):
    """The kinds of write (the `op` field on the wire)."""

    CREATE_SEARCH = "create_search"
    UPDATE_SEARCH = "update_search"
    UPDATE_RUN = "update_run"
    ADD_CANDIDATES = "add_candidates"
    ADD_GENERATION = "add_generation"
    ADD_ARTEFACT = "add_artefact"
    ADD_EPOCHS = "add_epochs"
    ADD_EVENTS = "add_events"
    ADD_TEST_RESULTS = "add_test_results"
    ADD_PROGRESS = "add_progress"


def _records(cls: type, items: Iterable[Any], what: str) -> tuple:
    out = []
    for item in items:
        if not isinstance(item, cls):
            raise BadRecord(f"{what} must be {cls.__name__}s, got {type(item).__name__}")
        out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class CreateSearch:
    record: SearchRecord
    code = OpCode.CREATE_SEARCH

    def payload(self) -> dict[str, Any]:
        return {"record": self.record.to_dict()}


@dataclass(frozen=True)
class UpdateSearch:
    search: str
    state: str | None = None
    generation: int | None = None
    code = OpCode.UPDATE_SEARCH

    def __post_init__(self) -> None:
        if not isinstance(self.search, str):
            raise BadRecord(f"update_search.search must be a string, got {self.search!r}")
        if self.state is not None and self.state not in SEARCH_STATES:
            raise BadArgument(
                f"search state must be one of {'|'.join(SEARCH_STATES)}, got {self.state!r}"
            )
        if self.generation is not None and (
            isinstance(self.generation, bool)
            or not isinstance(self.generation, int)
            or self.generation < 0
        ):
            raise BadArgument(f"generation must be a whole number >= 0, got {self.generation!r}")

    def payload(self) -> dict[str, Any]:
        return _given(search=self.search, state=self.state, generation=self.generation)


@dataclass(frozen=True)
class UpdateRun:
    run: str
    state: str | None = None
    progress: float | None = None
    message: str | None = None
    code = OpCode.UPDATE_RUN

    def __post_init__(self) -> None:
        if not isinstance(self.run, str):
            raise BadRecord(f"update_run.run must be a string, got {self.run!r}")
        if self.state is not None and self.state not in RUN_STATES:
            raise BadArgument(
                f"run state must be one of {'|'.join(RUN_STATES)}, got {self.state!r}"
            )
        if self.progress is not None:
            p = self.progress
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p):
                raise BadArgument(f"progress must be in [0, 1], got {p!r}")
            if not 0.0 <= p <= 1.0:
                raise BadArgument(f"progress must be in [0, 1], got {p}")
            object.__setattr__(self, "progress", float(p))
        if self.message is not None:
            if not isinstance(self.message, str):
                raise BadRecord(f"update_run.message must be a string, got {self.message!r}")
            object.__setattr__(self, "message", one_line(self.message, MESSAGE_LIMIT))

    def payload(self) -> dict[str, Any]:
        return _given(run=self.run, state=self.state, progress=self.progress, message=self.message)


@dataclass(frozen=True)
class AddCandidates:
    records: tuple[CandidateRecord, ...] = field(default_factory=tuple)
    code = OpCode.ADD_CANDIDATES

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", _records(CandidateRecord, self.records, "candidates"))

    def payload(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class AddGeneration:
    record: GenerationRecord
    code = OpCode.ADD_GENERATION

    def payload(self) -> dict[str, Any]:
        return {"record": self.record.to_dict()}


@dataclass(frozen=True)
class AddArtefact:
    record: ArtefactRecord
    code = OpCode.ADD_ARTEFACT

    def payload(self) -> dict[str, Any]:
        return {"record": self.record.to_dict()}


@dataclass(frozen=True)
class AddEpochs:
    records: tuple[EpochRecord, ...] = field(default_factory=tuple)
    code = OpCode.ADD_EPOCHS

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", _records(EpochRecord, self.records, "epochs"))

    def payload(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class AddEvents:
    records: tuple[EventRecord, ...] = field(default_factory=tuple)
    code = OpCode.ADD_EVENTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", _records(EventRecord, self.records, "events"))

    def payload(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class AddTestResults:
    records: tuple[TestResultRecord, ...] = field(default_factory=tuple)
    code = OpCode.ADD_TEST_RESULTS

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "records", _records(TestResultRecord, self.records, "test results")
        )

    def payload(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class AddProgress:
    records: tuple[ProgressRecord, ...] = field(default_factory=tuple)
    code = OpCode.ADD_PROGRESS

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", _records(ProgressRecord, self.records, "progress"))

    def payload(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records]}


Op = (
    CreateSearch
    | UpdateSearch
    | UpdateRun
    | AddCandidates
    | AddGeneration
    | AddArtefact
    | AddEpochs
    | AddEvents
    | AddTestResults
    | AddProgress
)


@dataclass
class Applied:
    """What `Store.apply` changed: counts per kind, and the state of every run an `UpdateRun`
    named, after the batch (for mirrors of run state elsewhere, e.g. Redis)."""

    candidates: int = 0
    generations: int = 0
    artefacts: int = 0
    epochs: int = 0
    events: int = 0
    test_results: int = 0
    progress: int = 0
    updates: int = 0
    runs: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if k != "runs"}


# ---- the rules of the updates -------------------------------------------------------------------
def run_changes(state: str, progress: float, op: UpdateRun) -> dict[str, Any]:
    """The fields `op` changes on a run now in `state` with `progress` (empty: nothing)."""
    if state in TERMINAL:
        return {}
    changes = _given(message=op.message)
    if op.state is not None and ORDER.get(op.state, 3) >= ORDER[state]:
        changes["state"] = op.state
    if op.progress is not None and op.progress > progress:
        changes["progress"] = op.progress
    return changes


def finished_at(old_state: str, new_state: str, current: float | None, t: float) -> float | None:
    """A run's `finished_at` after its state goes from `old_state` to `new_state` at time `t`: set
    when the state first becomes terminal, kept while it stays terminal, cleared if it becomes
    active again."""
    if new_state not in TERMINAL:
        return None
    if old_state in TERMINAL and current is not None:
        return current
    return t


def search_changes(state: str, generation: int, op: UpdateSearch) -> dict[str, Any]:
    """The fields `op` changes on a search now in `state` at `generation` (empty: nothing)."""
    if state in TERMINAL:
        return {}
    changes = _given(state=op.state)
    if op.generation is not None and op.generation > generation:
        changes["generation"] = op.generation
    return changes


# ---- the wire -----------------------------------------------------------------------------------
_SINGLE = {
    OpCode.CREATE_SEARCH: (CreateSearch, SearchRecord),
    OpCode.ADD_GENERATION: (AddGeneration, GenerationRecord),
    OpCode.ADD_ARTEFACT: (AddArtefact, ArtefactRecord),
}
_MANY = {
    OpCode.ADD_CANDIDATES: (AddCandidates, CandidateRecord),
    OpCode.ADD_EPOCHS: (AddEpochs, EpochRecord),
    OpCode.ADD_EVENTS: (AddEvents, EventRecord),
    OpCode.ADD_TEST_RESULTS: (AddTestResults, TestResultRecord),
    OpCode.ADD_PROGRESS: (AddProgress, ProgressRecord),
}


def encode(ops: Iterable[Op]) -> list[dict[str, Any]]:
    """Ops as plain JSON objects `{"op": CODE, ...}`."""
    return [{"op": op.code.value, **op.payload()} for op in ops]


def decode_one(wire: Any) -> Op:
    """One op from its JSON object; `BadRecord`/`BadArgument` (one line) if malformed."""
    if not isinstance(wire, Mapping):
        raise BadRecord(f"an op must be a JSON object, got {type(wire).__name__}")
    try:
        code = OpCode(wire.get("op"))
    except ValueError:
        raise BadArgument(f"unknown record op {one_line(repr(wire.get('op')), 60)}") from None
    body = {k: v for k, v in wire.items() if k != "op"}
    try:
        if code in _SINGLE:
            cls, record = _SINGLE[code]
            _only(code, body, {"record"})
            return cls(record.from_dict(body["record"]))
        if code in _MANY:
            cls, record = _MANY[code]
            _only(code, body, {"records"})
            if not isinstance(body["records"], list):
                raise BadRecord(f"{code}: records must be a list")
            return cls(tuple(record.from_dict(d) for d in body["records"]))
        if code is OpCode.UPDATE_RUN:
            _only(code, body, {"run", "state", "progress", "message"}, required={"run"})
            return UpdateRun(**body)
        _only(code, body, {"search", "state", "generation"}, required={"search"})
        return UpdateSearch(**body)
    except KeyError as err:
        raise BadRecord(f"{code}: missing {err}") from None


def decode(wire: Sequence[Any]) -> list[Op]:
    """An op list from JSON; rejects the whole list if any op is malformed."""
    if not isinstance(wire, (list, tuple)):
        raise BadRecord(f"an op list must be a JSON array, got {type(wire).__name__}")
    return [decode_one(w) for w in wire]


def runs_of(ops: Iterable[Op]) -> set[str]:
    """The runs an op list writes to."""
    out: set[str] = set()
    for op in ops:
        if isinstance(op, UpdateRun):
            out.add(op.run)
        elif isinstance(op, (CreateSearch, AddGeneration, AddArtefact)):
            out.add(getattr(op.record, "run", "") or "")
        elif isinstance(op, (AddCandidates, AddEpochs, AddEvents, AddTestResults, AddProgress)):
            out.update(r.run for r in op.records)
    out.discard("")
    return out


def _only(code: OpCode, body: Mapping[str, Any], allowed: set[str], required=None) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRecord(f"{code}: unknown field(s) {', '.join(map(str, unknown))}")
    missing = sorted((required if required is not None else allowed) - set(body))
    if missing:
        raise BadRecord(f"{code}: missing {', '.join(missing)}")


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
