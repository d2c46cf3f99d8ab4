"""The `Store` contract for a run's history (epochs, events), archiving and deleting a run,
run against every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.base import Store
from storage.duckdb_store import DuckDBStore
from storage.errors import BadRecord, RunActive, UnknownRun
from storage.memory_store import MemoryStore
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
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
