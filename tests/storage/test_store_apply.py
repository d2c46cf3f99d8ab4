"""`Store.apply`: typed op batches, all or none, idempotent, on every backend; the wire format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.base import Store
from storage.duckdb_store import DuckDBStore
from storage.errors import BadArgument, BadRecord, UnknownCandidate, UnknownRun, UnknownSearch
from storage.memory_store import MemoryStore
from storage.ops import (
    AddArtefact,
    AddCandidates,
    AddEvents,
    AddGeneration,
    AddTestResults,
    CreateSearch,
    OpCode,
    UpdateRun,
    UpdateSearch,
    decode,
    encode,
)
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    EventRecord,
    GenerationRecord,
    RunRecord,
    SearchRecord,
    TestResultRecord,
)


@pytest.fixture(params=("memory", "duckdb"))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = MemoryStore() if request.param == "memory" else DuckDBStore(tmp_path / "s.duckdb")
    backend.create_run(RunRecord(name="r", dataset="digits", state="training"))
    yield backend
    backend.close()


def cand(i: int, search: str = "r.s") -> CandidateRecord:
    return CandidateRecord("r", search, f"c{i:03d}", {"k": i}, accuracy=0.5, energy_uj=1.0 + i)


def generation_ops(g: int, n: int = 3) -> list:
    return [
        CreateSearch(SearchRecord(id="r.s", run="r", strategy="evolution")),
        AddCandidates(tuple(cand(g * n + k) for k in range(n))),
        AddGeneration(GenerationRecord("r.s", g, hypervolume=0.1, evaluated=(g + 1) * n)),
        UpdateSearch("r.s", state="searching", generation=g + 1),
        UpdateRun("r", state="searching", progress=0.5 + g / 10),
    ]


def test_a_batch_creates_inserts_and_updates(store: Store) -> None:
    applied = store.apply(generation_ops(0))
    assert (applied.candidates, applied.generations) == (3, 1)
    assert applied.runs == {"r": "searching"}
    assert store.count_candidates("r", "r.s") == 3
    assert store.get_search("r.s").generation == 1
    run = store.get_run("r")
    assert (run.state, run.progress) == ("searching", 0.5)


def test_a_batch_sent_twice_changes_nothing_the_second_time(store: Store) -> None:
    ops = generation_ops(0) + generation_ops(1)
    first = store.apply(ops)
    again = store.apply(ops)
    assert first.candidates == 6 and again.candidates == 0 and again.generations == 0
    assert store.count_candidates("r") == 6
    assert store.get_search("r.s").generation == 2


def test_a_bad_op_stores_none_of_the_batch(store: Store) -> None:
    ops = generation_ops(0) + [AddCandidates((cand(9, search="nope"),))]
    with pytest.raises(UnknownSearch):
        store.apply(ops)
    assert store.list_searches("r") == []
    assert store.get_run("r").state == "training"
    with pytest.raises(UnknownRun):
        store.apply([AddEvents((EventRecord("ghost", "e1", "info", "hello"),))])


def test_terminal_states_are_final_and_progress_only_grows(store: Store) -> None:
    store.apply([UpdateRun("r", state="searching", progress=0.6)])
    store.apply([UpdateRun("r", state="training", progress=0.4)])  # an older, redelivered op
    assert (store.get_run("r").state, store.get_run("r").progress) == ("searching", 0.6)
    applied = store.apply([UpdateRun("r", state="cancelled", message="stop")])
    assert applied.runs == {"r": "cancelled"}
    late = store.apply([UpdateRun("r", state="searching", progress=0.9)])  # a late task's update
    assert late.runs == {"r": "cancelled"} and late.updates == 0
    run = store.get_run("r")
    assert (run.state, run.progress, run.message) == ("cancelled", 0.6, "stop")


def test_test_results_need_the_candidate_and_are_kept_once(store: Store) -> None:
    store.apply(generation_ops(0))
    result = TestResultRecord(
        run="r",
        candidate_id="c000",
        search="r.s",
        accuracy=0.8,
        energy_uj=2.0,
        samples=360,
        artefact="runs/r/exports/c000.safetensors",
    )
    assert store.apply([AddTestResults((result,))]).test_results == 1
    again = TestResultRecord(**{**result.to_dict(), "accuracy": 0.1})
    assert store.apply([AddTestResults((again,))]).test_results == 0
    assert [t.accuracy for t in store.test_results("r", "c000")] == [0.8]
    ghost = TestResultRecord(**{**result.to_dict(), "candidate_id": "c999"})
    with pytest.raises(UnknownCandidate):
        store.apply([AddTestResults((ghost,))])
    with pytest.raises(UnknownCandidate):
        store.apply([AddArtefact(ArtefactRecord("r", "subnet", "x.safetensors", "c999"))])
    assert store.test_results("r", "c999") == []


def test_wire_round_trip_and_malformed_ops() -> None:
    ops = generation_ops(0)
    wire = encode(ops)
    assert [w["op"] for w in wire][:2] == [OpCode.CREATE_SEARCH, "add_candidates"]
    assert decode(wire) == ops
    with pytest.raises(BadArgument, match="unknown record op"):
        decode([{"op": "drop_table"}])
    with pytest.raises(BadRecord):
        decode([{"op": "update_run", "run": "r", "colour": "red"}])
    with pytest.raises(BadArgument):
        decode([{"op": "update_run", "run": "r", "progress": 1.5}])
    with pytest.raises(BadRecord):
        decode({"op": "update_run"})


def test_a_waiting_reader_asks_the_writer_for_a_gap(tmp_path: Path) -> None:
    """A reader that finds the file held leaves a mark; the writer sees it between transactions
    (`readers_waiting`), gives way, and the mark is gone once the reader got in."""
    import subprocess
    import sys
    import time

    store = DuckDBStore(tmp_path / "s.duckdb")
    store.create_run(RunRecord(name="r", dataset="digits"))
    reader = (
        "import sys; from storage.duckdb_store import DuckDBStore; "
        "print(DuckDBStore(sys.argv[1]).get_run('r').name)"
    )
    with store.connect(write=True):
        proc = subprocess.Popen(
            [sys.executable, "-c", reader, str(store.path)], stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while not store.readers_waiting() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.readers_waiting()
    store.give_way(5.0)  # returns once the reader got in
    assert proc.wait(30) == 0 and proc.stdout.read().strip() == "r"
    assert not store.readers_waiting()


def test_bulk_load_checks_columns_and_searches(tmp_path: Path) -> None:
    import pyarrow as pa

    store = DuckDBStore(tmp_path / "s.duckdb")
    store.create_run(RunRecord(name="r", dataset="digits"))
    store.create_search(SearchRecord(id="r.s", run="r", strategy="evolution"))
    rows = [{**cand(i).to_row(), "first_in_run": True} for i in range(3)]
    table = pa.Table.from_pylist(rows)
    assert store.load_candidates(table) == 3 and store.load_candidates(table) == 0
    assert store.count_candidates("r") == 3
    with pytest.raises(BadArgument):
        store.load_candidates(table.drop_columns(["first_in_run"]))
    with pytest.raises(BadArgument):
        store.load_candidates(table.append_column("colour", pa.array(["red"] * 3)))
    ghost = pa.Table.from_pylist([{**rows[0], "id": "c999", "search": "nope"}])
    with pytest.raises(UnknownSearch):
        store.load_candidates(ghost)
    assert store.count_candidates("r") == 3


def test_a_batch_keeps_silent_flags_and_normalized_hypervolumes(store: Store) -> None:
    """Through `apply` (what the recorder writes), as through the direct methods."""
    silent = CandidateRecord(
        "r", "r.s", "quiet", {"k": 9}, accuracy=0.9, energy_uj=0.5, silent=True
    )
    store.apply(
        [
            CreateSearch(SearchRecord(id="r.s", run="r", strategy="random")),
            AddCandidates((cand(1), silent)),
            AddGeneration(GenerationRecord("r.s", 0, hypervolume=0.1, evaluated=2)),
            AddGeneration(GenerationRecord("r.s", 1, hypervolume=0.2, hypervolume_normalized=0.25)),
        ]
    )
    assert {c.id: c.silent for c in store.candidates("r")} == {"c001": False, "quiet": True}
    assert [g.hypervolume_normalized for g in store.generations("r.s")] == [None, 0.25]
    decoded = decode(encode([AddCandidates((silent,))]))
    assert decoded[0].records[0].silent is True  # the wire format carries it
