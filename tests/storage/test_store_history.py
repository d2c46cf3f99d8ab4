"""The `Store` contract for a run's history (epochs, events, progress points), when a run ended,
archiving and deleting a run, run against every backend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.base import Store
from storage.duckdb_store import DuckDBStore
from storage.errors import BadArgument, BadRecord, RunActive, UnknownRun
from storage.memory_store import MemoryStore
from storage.ops import AddProgress, UpdateRun, decode, encode
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    ProgressRecord,
    RunRecord,
    SearchRecord,
)


@pytest.fixture(params=("memory", "duckdb"))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend: Store = (
        MemoryStore() if request.param == "memory" else DuckDBStore(tmp_path / "store.duckdb")
    )
    yield backend
    backend.close()


def _run(store: Store, name: str, state: str = "done") -> None:
    store.create_run(RunRecord(name, dataset="digits", state=state, created_at=1.0))
    store.create_search(SearchRecord(f"{name}.s", name, "evolution", created_at=2.0))
    cand = CandidateRecord(name, f"{name}.s", "aa", {"depth": 2}, 0.9, 1.0)
    store.add_candidates([cand])
    store.add_generation(GenerationRecord(f"{name}.s", 0, hypervolume=1.0, evaluated=1))
    store.add_artefact(ArtefactRecord(name, "subnet", f"runs/{name}/exports/aa.st", "aa"))
    store.add_epochs([EpochRecord(name, 1, loss=2.0, seconds=1.0)])
    store.add_events([EventRecord(name, "e1", "info", "training started")])


def test_epochs_round_trip_in_order_and_are_idempotent(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    e2 = EpochRecord("r1", 2, loss=1.5, val_accuracy_largest=0.8, seconds=3.0, worker="w")
    e1 = EpochRecord("r1", 1, loss=2.0, val_accuracy_largest=0.5, val_accuracy_smallest=0.4)
    assert store.add_epochs([e2, e1]) == 2
    assert store.epochs("r1") == [e1, e2]
    # A resent epoch changes nothing: the first write wins.
    assert store.add_epochs([EpochRecord("r1", 1, loss=9.0)]) == 0
    assert store.epochs("r1")[0].loss == 2.0


def test_events_round_trip_oldest_first_and_are_idempotent(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    late = EventRecord("r1", "b", "worker_lost", "worker w1 died", worker="w1", created_at=20.0)
    early = EventRecord("r1", "a", "info", "training started", created_at=10.0)
    assert store.add_events([late, early, late]) == 2
    assert store.events("r1") == [early, late]
    assert store.add_events([EventRecord("r1", "a", "error", "other")]) == 0
    assert store.events("r1")[0].kind == "info"


def test_history_of_unknown_run_raises_and_stores_nothing(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    with pytest.raises(UnknownRun):
        store.add_epochs([EpochRecord("r1", 1, loss=1.0), EpochRecord("nope", 1, loss=1.0)])
    with pytest.raises(UnknownRun):
        store.add_events(
            [EventRecord("r1", "a", "info", "x"), EventRecord("nope", "a", "info", "y")]
        )
    assert store.epochs("r1") == [] and store.events("r1") == []
    with pytest.raises(UnknownRun):
        store.epochs("nope")
    with pytest.raises(UnknownRun):
        store.events("nope")


def test_history_rejects_non_records(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    with pytest.raises(BadRecord):
        store.add_epochs([{"run": "r1", "epoch": 1, "loss": 1.0}])  # type: ignore[list-item]
    with pytest.raises(BadRecord):
        store.add_events(["not an event"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "build",
    [
        lambda: EpochRecord("r1", 0, loss=1.0),
        lambda: EpochRecord("r1", 1, loss=float("nan")),
        lambda: EpochRecord("r1", 1, loss=1.0, val_accuracy_largest=1.5),
        lambda: EpochRecord("r1", 1, loss=1.0, seconds=-1.0),
        lambda: EventRecord("r1", "", "info", "x"),
        lambda: EventRecord("r1", "a", "gossip", "x"),
    ],
)
def test_bad_history_records_fail_when_built(build) -> None:
    with pytest.raises(BadRecord):
        build()


def test_event_message_is_one_line() -> None:
    assert EventRecord("r1", "a", "error", "boom\n  at line 3").message == "boom at line 3"


def test_archive_sets_and_clears_the_flag(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    assert store.get_run("r1").archived is False
    assert store.update_run("r1", archived=True).archived is True
    assert store.get_run("r1").archived is True
    assert [r.name for r in store.list_runs()] == ["r1"]  # listing filters nothing
    assert store.update_run("r1", archived=False).archived is False
    with pytest.raises(BadRecord):
        store.update_run("r1", archived="yes")  # type: ignore[arg-type]
    assert store.get_run("r1").archived is False


def test_delete_run_removes_everything_of_it_and_nothing_else(store: Store) -> None:
    _run(store, "gone")
    _run(store, "kept")
    store.delete_run("gone")
    with pytest.raises(UnknownRun):
        store.get_run("gone")
    assert [r.name for r in store.list_runs()] == ["kept"]
    assert len(store.candidates("kept")) == 1
    assert len(store.generations("kept.s")) == 1
    assert len(store.artefacts("kept")) == 1
    assert len(store.epochs("kept")) == 1 and len(store.events("kept")) == 1
    # The name is free again, with an empty history.
    store.create_run(RunRecord("gone"))
    assert store.epochs("gone") == [] and store.candidates("gone") == []
    assert store.list_searches("gone") == [] and store.artefacts("gone") == []


@pytest.mark.parametrize("state", ["queued", "training", "searching"])
def test_delete_refuses_an_active_run_and_changes_nothing(store: Store, state: str) -> None:
    _run(store, "busy", state=state)
    with pytest.raises(RunActive, match="cancel it"):
        store.delete_run("busy")
    assert store.get_run("busy").state == state
    assert len(store.candidates("busy")) == 1 and len(store.epochs("busy")) == 1


def test_delete_unknown_run_raises(store: Store) -> None:
    with pytest.raises(UnknownRun):
        store.delete_run("nope")


# ---- progress points and the time a run ended ---------------------------------------------------
def _step(run: str, epoch: int, done: int, t: float, **kw) -> ProgressRecord:
    return ProgressRecord(run, "training", epoch, done, 94, seconds=t - 100.0, created_at=t, **kw)


def _slice(run: str, generation: int, part: int, done: int, t: float) -> ProgressRecord:
    return ProgressRecord(run, "search", generation, done, 2, 1.0, search="s", part=part,
                          created_at=t)  # fmt: skip


def test_progress_round_trips_oldest_first_filtered_and_idempotent(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    a = _step("r1", 1, 1, 101.0, loss=2.3, worker="w1")
    b = _step("r1", 1, 37, 103.0, loss=2.1, worker="w1")
    c = _step("r1", 2, 1, 120.0, loss=1.9)
    s = _slice("r1", 0, 1, 1, 130.0)
    assert store.add_progress([c, s, b, a, b]) == 4
    assert store.progress("r1") == [a, b, c, s]
    assert store.progress("r1", "training") == [a, b, c]
    assert store.progress("r1", "training", 1) == [a, b]
    assert store.progress("r1", "search", 0) == [s]
    assert store.progress("r1", unit=2) == [c]
    # A resent point changes nothing: the first write wins.
    assert store.add_progress([_step("r1", 1, 37, 150.0, loss=9.0)]) == 0
    assert store.progress("r1", "training", 1)[1].loss == 2.1


def test_progress_ops_apply_idempotently(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    ops = decode(encode([AddProgress((_step("r1", 1, 5, 101.0, loss=1.0),))]))
    assert store.apply(ops).progress == 1
    assert store.apply(ops).progress == 0
    assert [p.done for p in store.progress("r1")] == [5]


def test_progress_of_unknown_run_or_bad_filter_raises_and_stores_nothing(store: Store) -> None:
    store.create_run(RunRecord("r1"))
    with pytest.raises(UnknownRun):
        store.add_progress([_step("r1", 1, 1, 101.0), _step("nope", 1, 1, 101.0)])
    with pytest.raises(UnknownRun):
        store.apply([AddProgress((_step("r1", 1, 1, 101.0), _step("nope", 1, 1, 101.0)))])
    assert store.progress("r1") == []
    with pytest.raises(UnknownRun):
        store.progress("nope")
    with pytest.raises(BadArgument, match="stage"):
        store.progress("r1", "validation")
    with pytest.raises(BadArgument, match="unit"):
        store.progress("r1", unit=-1)
    with pytest.raises(BadRecord):
        store.add_progress([{"run": "r1"}])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "build",
    [
        lambda: ProgressRecord("r1", "training", 0, 1, 10, 1.0),  # epochs count from 1
        lambda: ProgressRecord("r1", "training", 1, 11, 10, 1.0),  # done > total
        lambda: ProgressRecord("r1", "training", 1, 1, 0, 1.0),
        lambda: ProgressRecord("r1", "training", 1, 1, 10, -1.0),
        lambda: ProgressRecord("r1", "training", 1, 1, 10, 1.0, loss=float("nan")),
        lambda: ProgressRecord("r1", "training", 1, 1, 10, 1.0, search="s"),
        lambda: ProgressRecord("r1", "search", 0, 1, 2, 1.0),  # no search named
        lambda: ProgressRecord("r1", "search", 0, 1, 2, 1.0, search="s", loss=1.0),
        lambda: ProgressRecord("r1", "validation", 1, 1, 2, 1.0),
    ],
)
def test_bad_progress_records_fail_when_built(build) -> None:
    with pytest.raises(BadRecord):
        build()


@pytest.mark.parametrize("end", ["done", "failed", "cancelled"])
def test_a_run_ends_once_and_archiving_never_moves_its_end(store: Store, end: str) -> None:
    store.create_run(RunRecord("r1"))
    assert store.update_run("r1", state="training").finished_at is None
    before = time.time()
    ended = store.update_run("r1", state=end).finished_at
    assert ended is not None and before <= ended <= time.time()
    time.sleep(0.01)
    archived = store.update_run("r1", archived=True)
    assert archived.finished_at == ended and archived.updated_at > ended
    assert store.update_run("r1", settings={"note": "x"}).finished_at == ended
    assert store.update_run("r1", state="failed").finished_at == ended  # still ended: kept
    assert store.get_run("r1").finished_at == ended
    assert store.update_run("r1", state="queued").finished_at is None  # active again


def test_apply_sets_the_end_once(store: Store) -> None:
    store.create_run(RunRecord("r1", state="searching"))
    store.apply([UpdateRun("r1", progress=0.5)])
    assert store.get_run("r1").finished_at is None
    store.apply([UpdateRun("r1", "done", progress=1.0), UpdateRun("r1", "failed")])
    ended = store.get_run("r1").finished_at
    assert ended is not None and store.get_run("r1").state == "done"
    time.sleep(0.01)
    store.apply([UpdateRun("r1", "cancelled", message="late")])  # terminal is final
    assert store.get_run("r1").finished_at == ended


def test_delete_run_removes_its_progress(store: Store) -> None:
    _run(store, "gone")
    _run(store, "kept")
    store.add_progress([_step("gone", 1, 1, 101.0), _step("kept", 1, 1, 101.0)])
    store.delete_run("gone")
    assert len(store.progress("kept")) == 1
    store.create_run(RunRecord("gone"))
    assert store.progress("gone") == []
