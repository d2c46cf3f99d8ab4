"""The recorder's ops on a real DuckDB file: idempotent, terminal states final, progress forward;
`OpWriter` turns a task's writes into one op list."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.duckdb_store import DuckDBStore
from storage.errors import BadArgument, UnknownRun
from storage.ops import decode, encode
from storage.records import CandidateRecord, GenerationRecord, RunRecord, SearchRecord
from tasks.plumbing.recording import OpWriter, apply_ops, update_run


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "store.duckdb")
    s.create_run(RunRecord(name="r", dataset="digits", state="training"))
    return s


def _ops(store: DuckDBStore) -> list[dict]:
    """What a task sends for one generation, captured through the op writer, as JSON."""
    sent: list[list] = []
    writer = OpWriter(store.get_run("r"), sent.append)
    with writer.batch():
        writer.create_search(SearchRecord(id="r.s", run="r", strategy="evolution"))
        writer.add_candidates(
            CandidateRecord("r", "r.s", f"c{k}", {"k": k}, accuracy=0.5, energy_uj=1.0 + k)
            for k in range(3)
        )
        writer.add_generation(GenerationRecord("r.s", 0, hypervolume=0.1, evaluated=3))
        assert writer.update_run("r", state="searching", progress=0.5).state == "searching"
    assert len(sent) == 1  # one batch, one message
    return encode(sent[0])


def test_ops_are_idempotent(store: DuckDBStore) -> None:
    ops = _ops(store)
    assert store.count_candidates("r") == 0  # nothing is written until the recorder applies it
    first = apply_ops(store, ops)
    again = apply_ops(store, ops)
    assert first["candidates"] == 3 and first["generations"] == 1
    assert again["candidates"] == 0 and again["generations"] == 0
    assert store.count_candidates("r") == 3
    assert store.get_run("r").state == "searching"


def test_terminal_states_are_final_and_progress_only_grows(store: DuckDBStore) -> None:
    assert update_run(store, "r", state="searching", progress=0.6)
    assert not update_run(store, "r", state="training")  # a redelivered, older op
    assert not update_run(store, "r", progress=0.4)
    assert store.get_run("r").progress == 0.6
    assert update_run(store, "r", state="cancelled", message="stop")
    assert not update_run(store, "r", state="searching", progress=0.9)  # a late task's update
    run = store.get_run("r")
    assert (run.state, run.progress, run.message) == ("cancelled", 0.6, "stop")


def test_bad_updates_are_rejected(store: DuckDBStore) -> None:
    with pytest.raises(BadArgument):
        update_run(store, "r", state="running")
    with pytest.raises(BadArgument):
        update_run(store, "r", progress=1.5)
    with pytest.raises(UnknownRun):
        update_run(store, "nope", state="done")
    with pytest.raises(BadArgument):
        apply_ops(store, [{"op": "drop_table"}])


def test_a_writer_is_not_a_store_and_writes_only_its_run(store: DuckDBStore) -> None:
    from storage.base import Store

    writer = OpWriter(store.get_run("r"), lambda ops: None)
    assert not isinstance(writer, Store)
    with pytest.raises(UnknownRun):
        writer.get_run("other")
    with pytest.raises(BadArgument):
        writer.update_run("r", settings={"x": 1})
    assert decode(encode([])) == []
