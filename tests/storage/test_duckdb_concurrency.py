"""DuckDBStore across processes (one writer, readers meanwhile) and schema upgrades."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from storage.duckdb_schema import MIGRATIONS, SCHEMA_VERSION
from storage.duckdb_store import DuckDBStore
from storage.errors import SchemaError, StoreBusy, StoreError
from storage.records import ArtefactRecord, CandidateRecord, RunRecord, SearchRecord

REPO = Path(__file__).resolve().parents[2]
BATCHES, BATCH_SIZE = 40, 25

# Runs in a second process: writes BATCHES batches, resending every 4th one.
WRITER = """
import json, sys, time
from storage.duckdb_store import DuckDBStore
from storage.records import CandidateRecord, GenerationRecord

path, batches, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = DuckDBStore(path)
new = 0
for b in range(batches):
    batch = [
        CandidateRecord("r1", "s1", f"b{b:03d}c{k:03d}", {"b": b, "k": k},
                        accuracy=(k + 1) / (size + 1), energy_uj=float(b * size + k + 1),
                        generation=b)
        for k in range(size)
    ]
    new += store.add_candidates(batch)
    if b % 4 == 3:
        new += store.add_candidates(batch)  # a resent batch adds nothing
    store.update_run("r1", state="searching", progress=(b + 1) / batches)
    store.add_generation(GenerationRecord("s1", b, hypervolume=b / batches, evaluated=new))
    time.sleep(0.03)
print(json.dumps({"new": new}))
"""

# Holds the file with a plain DuckDB connection for argv[3] seconds, or until stdin closes.
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
time.sleep(float(sys.argv[3])) if len(sys.argv) > 3 else sys.stdin.read()
con.close()
"""


def python(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO, text=True, stdout=subprocess.PIPE, **kw
    )


@contextmanager
def held(path: Path, mode: str) -> Iterator[None]:
    """Another process holds `path` open ('ro' or 'rw') inside the block."""
    proc = python(HOLDER, str(path), mode, stdin=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    store = DuckDBStore(path)
    store.create_run(RunRecord("r1", dataset="digits"))
    store.create_search(SearchRecord("s1", "r1", "evolution"))
    store.close()
    return path


def test_reads_meanwhile_a_writer_process_never_fail(store_path: Path) -> None:
    writer = python(WRITER, str(store_path), str(BATCHES), str(BATCH_SIZE))
    reader = DuckDBStore(store_path)
    counts, reads = [], 0
    while writer.poll() is None:
        counts.append(reader.count_candidates("r1"))
        reader.rank("r1", alpha=0.5, top=5)
        reader.get_run("r1")
        reads += 1
        time.sleep(0.03)
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert reads >= 10, "the writer finished before the reader could overlap it"
    assert counts == sorted(counts), "a reader saw the count go down"
    total = BATCHES * BATCH_SIZE
    assert json.loads(out.strip().splitlines()[-1]) == {"new": total}
    ids = [c.id for c in reader.candidates("r1")]
    assert len(ids) == total == len(set(ids))
    assert reader.get_run("r1").progress == 1.0
    assert len(reader.generations("s1")) == BATCHES


def test_reader_opens_an_up_to_date_store_without_the_write_lock(store_path: Path) -> None:
    with held(store_path, "ro"):
        store = DuckDBStore(store_path, busy_timeout_s=0.2)
        assert store.get_run("r1").name == "r1"


def test_store_held_too_long_raises_one_line_store_busy(store_path: Path) -> None:
    store = DuckDBStore(store_path, busy_timeout_s=0.3)
    with held(store_path, "rw"):
        start = time.monotonic()
        with pytest.raises(StoreBusy) as err:
            store.get_run("r1")
        assert 0.3 <= time.monotonic() - start < 3.0
    assert "\n" not in str(err.value) and "locked" in str(err.value)
    assert store.get_run("r1").name == "r1"  # usable again once the holder is gone


def test_write_waits_for_a_brief_holder(store_path: Path) -> None:
    store = DuckDBStore(store_path, busy_timeout_s=5.0)
    holder = python(HOLDER, str(store_path), "rw", "0.5")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    start = time.monotonic()
    store.update_run("r1", progress=0.5)  # retries until the holder lets go
    waited = time.monotonic() - start
    assert holder.wait(timeout=30) == 0
    assert store.get_run("r1").progress == 0.5
    assert 0.2 < waited < 5.0


def _count_in_child(store: DuckDBStore, out: multiprocessing.Queue) -> None:
    out.put(store.count_candidates("r1"))


def test_store_works_in_a_forked_child(store_path: Path) -> None:
    store = DuckDBStore(store_path)
    store.add_candidates([CandidateRecord("r1", "s1", "a", {"d": 1}, 0.5, 1.0)])
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_count_in_child, args=(store, out))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0 and out.get(timeout=5) == 1
    assert store.count_candidates("r1") == 1


# ---- schema --------------------------------------------------------------------------------------
V1_SQL = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    """CREATE TABLE runs (name VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL, space VARCHAR NOT NULL, settings VARCHAR NOT NULL,
        state VARCHAR NOT NULL, progress DOUBLE NOT NULL, message VARCHAR NOT NULL,
        created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL)""",
    """CREATE TABLE searches (id VARCHAR PRIMARY KEY, run VARCHAR NOT NULL,
        strategy VARCHAR NOT NULL, settings VARCHAR NOT NULL, state VARCHAR NOT NULL,
        generation INTEGER NOT NULL, created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL)""",
    """CREATE TABLE candidates (search VARCHAR NOT NULL, id VARCHAR NOT NULL,
        run VARCHAR NOT NULL, arch VARCHAR NOT NULL, accuracy DOUBLE NOT NULL,
        energy_uj DOUBLE NOT NULL, params BIGINT NOT NULL, sops DOUBLE NOT NULL,
        firing_rate DOUBLE NOT NULL, firing_rates VARCHAR NOT NULL, generation INTEGER NOT NULL,
        strategy VARCHAR NOT NULL, created_at DOUBLE NOT NULL, PRIMARY KEY (search, id))""",
    """CREATE TABLE generations (search VARCHAR NOT NULL, generation INTEGER NOT NULL,
        hypervolume DOUBLE NOT NULL, best_id VARCHAR, best_fitness DOUBLE,
        evaluated INTEGER NOT NULL, created_at DOUBLE NOT NULL,
        PRIMARY KEY (search, generation))""",
    """INSERT INTO runs VALUES ('old', 'ana', 'digits', '{}', '{"epochs":2}', 'done', 1.0, '',
        1.0, 2.0)""",
    "INSERT INTO searches VALUES ('s1', 'old', 'evolution', '{}', 'done', 3, 3.0, 4.0)",
    "INSERT INTO searches VALUES ('s2', 'old', 'random', '{}', 'done', 1, 5.0, 6.0)",
    """INSERT INTO candidates VALUES
        ('s1', 'aa', 'old', '{"depth":2}', 0.9, 10.0, 100, 1.0, 0.1, '{"l0":0.1}', 0, 'evolution', 7.0),
        ('s2', 'aa', 'old', '{"depth":2}', 0.8, 11.0, 100, 1.0, 0.1, '{}', 0, 'random', 8.0),
        ('s2', 'bb', 'old', '{"depth":3}', 0.5, 5.0, 200, 1.0, 0.2, '{}', 0, 'random', 9.0)""",  # noqa: E501
]


def make_v1(path: Path) -> None:
    con = duckdb.connect(str(path))
    for statement in V1_SQL:
        con.execute(statement)
    con.close()


def test_v1_store_is_upgraded_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1(path)
    store = DuckDBStore(path)
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    old = store.get_candidate("old", "aa", "s1")
    assert (old.layer_energy_uj, old.worker, old.firing_rates) == ({}, "", {"l0": 0.1})
    assert store.get_run("old").settings == {"epochs": 2}
    # v3: old runs are not archived and have an empty history.
    assert store.get_run("old").archived is False
    assert store.epochs("old") == [] and store.events("old") == []
    # The backfilled first-record flag: "aa" counts once in run scope, as its s1 record.
    assert store.get_candidate("old", "aa").search == "s1"
    assert sorted((c.id, c.search) for c, _ in store.rank("old")) == [("aa", "s1"), ("bb", "s2")]
    # New in v2: artefacts, and candidates with the new fields.
    assert store.add_artefact(ArtefactRecord("old", "subnet", "runs/old/exports/aa.st", "aa"))
    new = CandidateRecord("old", "s1", "cc", {"depth": 4}, 0.7, 3.0, layer_energy_uj={"l0": 3.0})
    assert store.add_candidates([new]) == 1
    assert store.get_candidate("old", "cc") == new


def test_upgrade_happens_once(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1(path)
    DuckDBStore(path).close()
    assert DuckDBStore(path).count_candidates("old") == 3


def test_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    assert DuckDBStore(tmp_path / "sub" / "new.duckdb").schema_version() == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE schema_version SET version = 99")
    con.close()
    with pytest.raises(SchemaError, match="v99"):
        DuckDBStore(path)


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    with pytest.raises(SchemaError, match="not an Auto-Spikformer store"):
        DuckDBStore(path)


def test_garbage_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(StoreError) as err:
        DuckDBStore(path, busy_timeout_s=0.2)
    assert "\n" not in str(err.value)


def test_connect_blocks_do_not_nest(store_path: Path) -> None:
    store = DuckDBStore(store_path)
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        with pytest.raises(RuntimeError, match="nested"):
            store.get_run("r1")
    assert store.get_run("r1").name == "r1"


def test_failed_write_block_rolls_back(store_path: Path) -> None:
    store = DuckDBStore(store_path)
    with pytest.raises(ZeroDivisionError):
        with store.connect(write=True) as con:
            con.execute("UPDATE runs SET progress = 0.7")
            1 / 0  # noqa: B018
    assert store.get_run("r1").progress == 0.0
