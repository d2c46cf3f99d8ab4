"""`DuckDBStore`: the store contract on one DuckDB file (the default `home()/store.duckdb`).

Concurrency
-----------
DuckDB lets one process open a file for writing, or any number of processes open it read-only, but
not both at once: a process that opens a file another process holds gets a lock error. So:

* The file is held only for the length of one call. Each `DuckDBStore` keeps one in-memory DuckDB
  connection (cheap to reuse; creating a DuckDB instance costs ~30 ms, attaching a file ~1 ms);
  every method ATTACHes the file, does its work (a write in one transaction, committed or rolled
  back) and DETACHes it again, which checkpoints and releases the file lock.
* Reads attach the file `READ_ONLY`, so several readers (the app, the CLI) share it.
* Attaching retries on DuckDB's lock errors with bounded, jittered exponential backoff (5 ms
  doubling to 250 ms) for up to `busy_timeout_s` (5 s by default), then raises a one-line
  `StoreBusy`. Other I/O errors are retried twice, then raised as a one-line `StoreError`.
* Calls on one `DuckDBStore` are serialised by a lock, so it can be shared by threads; a store
  used after `fork()` opens a fresh connection in the child.

The intended deployment has a single writing process per store (the recorder) while readers come
and go; a reader then waits at most for one write transaction and never surfaces a lock error.

Schema
------
`MIGRATIONS[i]` (`storage.duckdb_schema`) upgrades a file from schema version `i` to `i + 1`
(each step a SQL statement, or a function of the open connection); the `schema_version` table
holds the current one. Opening a store applies the missing migrations in one transaction (only
when needed, so a reader of an up-to-date store never takes the write lock); a file newer than
this code raises `SchemaError`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from storage.base import (
    CANDIDATE_ARROW_TYPES,
    DEFAULT_ALPHA,
    Prices,
    Store,
    check_alpha,
    check_columns,
    check_top,
    given,
    require_record,
)
from storage.duckdb_apply import (
    BULK,
    OP_TYPES,
    apply_updates,
    check_links,
    first_per_key,
    insert_rows,
    records_of,
)
from storage.duckdb_schema import MIGRATIONS, SCHEMA_VERSION
from storage.errors import (
    BadArgument,
    BadRecord,
    DuplicateLeaderboard,
    DuplicateRun,
    DuplicateSearch,
    RunActive,
    SchemaError,
    StoreBusy,
    StoreError,
    UnknownCandidate,
    UnknownLeaderboard,
    UnknownRun,
    UnknownSearch,
    one_line,
)
from storage.ops import (
    AddCandidates,
    AddTestResults,
    Applied,
    CreateSearch,
    Op,
    UpdateRun,
    UpdateSearch,
)
from storage.paths import store_path
from storage.records import (
    ARTEFACT_KINDS,
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    LeaderboardRecord,
    RunRecord,
    SearchRecord,
    TestResultRecord,
    now,
)

_ALIAS = "store"
# DuckDB's messages when another process (or connection of this one) holds the file.
_BUSY_WORDS = ("lock", "already attached", "file handle conflict", "different configuration")
_FIRST_DELAY_S = 0.005
# Retries stay at most this far apart, so a waiting reader catches a writer's gap in time.
_MAX_DELAY_S = 0.04
_WAIT_MARK_S = 1.0  # a "readers waiting" mark older than this is stale (its reader gave up)
_OTHER_IO_TRIES = 3
_INHERITED: list[duckdb.DuckDBPyConnection] = []  # parents' connections after fork(), never used


def _columns(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


RUN_COLUMNS = _columns(RunRecord)
SEARCH_COLUMNS = _columns(SearchRecord)
CANDIDATE_COLUMNS = _columns(CandidateRecord)
GENERATION_COLUMNS = _columns(GenerationRecord)
ARTEFACT_COLUMNS = _columns(ArtefactRecord)
LEADERBOARD_COLUMNS = _columns(LeaderboardRecord)


def _select(columns: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{c}" for c in columns)


def _insert_sql(table: str, columns: tuple[str, ...], conflict: bool = False) -> str:
    marks = ", ".join(f"${c}" for c in columns)
    tail = " ON CONFLICT DO NOTHING RETURNING 1" if conflict else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Energy of a row under the profile $profile (see `CandidateRecord.priced_energy_uj`): the stored
# energy when it was priced under that profile, else the stored counts at its prices (NULL when
# they cannot price it).
_PRICED_ENERGY = """CASE
    WHEN energy_profile = $profile THEN energy_uj
    WHEN macs IS NULL OR (neuron_updates IS NULL AND $pj_update <> 0) THEN NULL
    ELSE (macs * $pj_mac + sops * $pj_sop + coalesce(neuron_updates, 0.0) * $pj_update) * 1e-6
END"""


def _rank_sql(by_search: bool, limited: bool, priced: bool = False, feasible: bool = True) -> str:
    """F_AEB over the scope in one query (see `Store.rank`).

    The window min/max run over narrow numeric rows (row id, accuracy, energy): reading every id
    string would cost more than the rest together. With `top`, the cut is the top-th best fitness;
    only rows at or above it (the top plus any ties) get their ids joined back, the first `top`
    by (fitness, accuracy, energy, id) are kept, and only those get their other columns.
    """
    # Run scope: an architecture evaluated by several searches counts once (first stored record).
    where = "run = $run AND " + ("search = $search" if by_search else "first_in_run")
    if feasible:
        where += " AND feasible"
    energy = _PRICED_ENERGY if priced else "energy_uj"
    order = "fitness DESC, accuracy DESC, energy ASC"
    best = (
        """SELECT s.rid, s.fitness, s.accuracy, s.energy
           FROM scored AS s JOIN candidates AS c ON c.rowid = s.rid
           WHERE s.fitness >= (SELECT min(fitness)
                               FROM (SELECT fitness FROM scored ORDER BY fitness DESC LIMIT $top))
           ORDER BY s.fitness DESC, s.accuracy DESC, s.energy ASC, c.id ASC LIMIT $top"""
        if limited
        else "SELECT rid, fitness, accuracy, energy FROM scored"
    )
    return f"""
        WITH priced AS (
            SELECT rowid AS rid, accuracy, {energy} AS energy FROM candidates WHERE {where}
        ), bounds AS (
            SELECT rid, accuracy, energy,
                   min(accuracy) OVER () AS a_min, max(accuracy) OVER () AS a_max,
                   min(energy) OVER () AS e_min, max(energy) OVER () AS e_max
            FROM priced WHERE energy IS NOT NULL
        ), scored AS MATERIALIZED (
            SELECT rid, accuracy, energy,
                   $alpha * (1.0 - CASE WHEN e_max > e_min
                                        THEN (energy - e_min) / (e_max - e_min) ELSE 0.0 END)
                   + (1.0 - $alpha) * CASE WHEN a_max > a_min
                                           THEN (accuracy - a_min) / (a_max - a_min) ELSE 0.0 END
                   AS fitness
            FROM bounds
        ), best AS ({best})
        SELECT {_select(CANDIDATE_COLUMNS, "c.")}, best.fitness AS fitness
        FROM best JOIN candidates AS c ON c.rowid = best.rid
        ORDER BY {", ".join("best." + o for o in order.split(", "))}, c.id ASC
    """


def _profile_params(profile: Prices | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {
        "profile": str(profile.name),
        "pj_mac": float(profile.pj_per_mac),
        "pj_sop": float(profile.pj_per_sop),
        "pj_update": float(profile.pj_per_neuron_update),
    }


def _new_rows(
    batch: Iterable[CandidateRecord],
    stored: list[tuple[str, str, str]],
    rendered: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows for the records whose (search, id) is not stored yet, in batch order, each marked
    `first_in_run` when no earlier record of the same run has its id. `rendered`: rows already
    made (`to_row()`) by key, so a caller can make them before it takes the file."""
    stored_keys = {(search, id_) for search, id_, _ in stored}
    seen = {(run, id_) for _, id_, run in stored}
    rows = []
    for rec in batch:
        if rec.key in stored_keys:
            continue
        row = dict(rendered[rec.key]) if rendered is not None else rec.to_row()
        row["first_in_run"] = (rec.run, rec.id) not in seen
        seen.add((rec.run, rec.id))
        rows.append(row)
    return rows


class DuckDBStore(Store):
    """The store on a DuckDB file at `path` (created, or upgraded, on construction).

    Args:
        path: the database file; its folder is created if missing.
        busy_timeout_s: how long opening the file keeps retrying while another process holds it.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path).absolute()
        self.busy_timeout_s = float(busy_timeout_s)
        self._jitter = random.Random()
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pid = os.getpid()
        self._attached = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare()

    # ---- connections ------------------------------------------------------------------------
    def _engine(self) -> duckdb.DuckDBPyConnection:
        """This process's in-memory connection (the file is attached to it per call)."""
        if self._con is not None and self._pid != os.getpid():
            # After fork() the parent's connection is not ours to use, nor to close (that could
            # wait on locks of threads that do not exist here): keep it alive, unused.
            _INHERITED.append(self._con)
            self._con = None
        if self._con is None:
            self._con = duckdb.connect(":memory:")
            self._pid = os.getpid()
        return self._con

    def _attach(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        """Attach the file as `store`, retrying while it is locked (see the module docstring)."""
        quoted = str(self.path).replace("'", "''")
        sql = f"ATTACH '{quoted}' AS {_ALIAS}" + (" (READ_ONLY)" if read_only else "")
        deadline = time.monotonic() + self.busy_timeout_s
        delay = _FIRST_DELAY_S
        other_failures = 0
        waiting = False  # a reader left the "readers waiting" mark
        while True:
            try:
                con.execute(sql)
                if waiting:
                    self._unmark()
                return
            except duckdb.Error as err:
                text = str(err)
                if not any(word in text.lower() for word in _BUSY_WORDS):
                    other_failures += 1
                    if other_failures >= _OTHER_IO_TRIES or not isinstance(err, duckdb.IOException):
                        raise StoreError(
                            f"cannot open store {self.path}: {one_line(text, 200)}"
                        ) from None
                remaining = deadline - time.monotonic()
                if read_only:  # ask a cooperating writer for a gap (`readers_waiting`)
                    waiting = True
                    try:
                        self._wait_mark.touch()
                    except OSError:
                        pass  # a folder this reader may not write: it just waits its turn
                if remaining <= 0:
                    if waiting:
                        self._unmark()
                    raise StoreBusy(
                        f"store {self.path} stayed locked by another process for "
                        f"{self.busy_timeout_s:g} s; try again"
                    ) from None
            time.sleep(min(delay * self._jitter.uniform(0.5, 1.0), remaining))
            delay = min(delay * 2, _MAX_DELAY_S)

    @property
    def _wait_mark(self) -> Path:
        return self.path.with_name(self.path.name + ".readers-waiting")

    def _unmark(self) -> None:
        try:
            self._wait_mark.unlink(missing_ok=True)
        except OSError:
            pass

    def readers_waiting(self) -> bool:
        """True while a reader is retrying to open the file (it leaves a mark next to it, fresh
        for `_WAIT_MARK_S`). A writer holding the file across many calls (the recorder) checks
        this between transactions and leaves the file free until the reader got in."""
        try:
            return time.time() - self._wait_mark.stat().st_mtime < _WAIT_MARK_S
        except OSError:
            return False

    def give_way(self, max_s: float) -> None:
        """Wait (at most `max_s`) while readers are waiting for the file, so they get in."""
        deadline = time.monotonic() + max_s
        while self.readers_waiting() and time.monotonic() < deadline:
            time.sleep(0.002)

    def _detach(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("USE memory")
            con.execute(f"DETACH {_ALIAS}")
        except duckdb.Error:
            # Never leave the file attached (and locked): drop the whole connection instead.
            self._con = None
            con.close()
            raise

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The store file attached for one block: read-only, or read-write inside one transaction
        that commits when the block ends and rolls back if it raises. Low level, for bulk tools
        and benchmarks that know the schema; everything else should use the `Store` methods."""
        with self._lock:
            if self._attached:
                raise RuntimeError("DuckDBStore.connect() blocks cannot be nested")
            con = self._engine()
            self._attach(con, read_only=not write)
            self._attached = True
            try:
                con.execute(f"USE {_ALIAS}")
                if not write:
                    yield con
                    return
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    _rollback(con)
                    raise
                con.execute("COMMIT")
            finally:
                self._attached = False
                self._detach(con)

    def close(self) -> None:
        """Close the in-memory connection (the file is never left attached between calls)."""
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None

    # ---- schema ------------------------------------------------------------------------------
    def _version(self, con: duckdb.DuckDBPyConnection) -> int:
        tables = {
            row[0]
            for row in con.execute(
                f"SELECT table_name FROM information_schema.tables WHERE table_catalog = '{_ALIAS}'"
            ).fetchall()
        }
        if "schema_version" not in tables:
            if tables:
                raise SchemaError(
                    f"{self.path} is not an Auto-Spikformer store (no schema_version)"
                )
            return 0
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _prepare(self) -> None:
        """Create or upgrade the schema; take the write lock only when something must change."""
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.connect() as con:
                version = self._version(con)
            if version == SCHEMA_VERSION:
                return
            self._check_not_newer(version)
        with self.connect(write=True) as con:
            version = self._version(con)
            self._check_not_newer(version)
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    if callable(statement):
                        statement(con)
                    else:
                        con.execute(statement)
                con.execute("UPDATE schema_version SET version = $v", {"v": step + 1})

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"store {self.path} has schema v{version}, newer than this code (v{SCHEMA_VERSION})"
            )

    def schema_version(self) -> int:
        """The schema version of the file."""
        with self.connect() as con:
            return self._version(con)

    # ---- lookups (inside an open connection) -------------------------------------------------
    @staticmethod
    def _get_run(con: duckdb.DuckDBPyConnection, name: str) -> RunRecord:
        rows = _rows(
            con.execute(f"SELECT {_select(RUN_COLUMNS)} FROM runs WHERE name = $n", {"n": name})
        )
        if not rows:
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        return RunRecord.from_row(rows[0])

    @staticmethod
    def _get_search(
        con: duckdb.DuckDBPyConnection, search: str, run: str | None = None
    ) -> SearchRecord:
        rows = _rows(
            con.execute(
                f"SELECT {_select(SEARCH_COLUMNS)} FROM searches WHERE id = $s", {"s": search}
            )
        )
        if not rows or (run is not None and rows[0]["run"] != run):
            where = "" if run is None else f" in run {run!r}"
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}{where}")
        return SearchRecord.from_row(rows[0])

    def _check_scope(self, con: duckdb.DuckDBPyConnection, run: str, search: str | None) -> None:
        if not isinstance(run, str):
            raise UnknownRun(f"unknown run {one_line(repr(run), 80)}")
        # fetchall: a result left half-read would block a following `con.sql` on this connection.
        exists = con.execute("SELECT 1 FROM runs WHERE name = $n", {"n": run}).fetchall()
        if not exists:
            raise UnknownRun(f"unknown run {one_line(repr(run), 80)}")
        if search is not None:
            if not isinstance(search, str):
                raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
            self._get_search(con, search, run)

    # ---- runs --------------------------------------------------------------------------------
    def create_run(self, record: RunRecord) -> RunRecord:
        require_record(record, RunRecord, "run")
        with self.connect(write=True) as con:
            if con.execute("SELECT 1 FROM runs WHERE name = $n", {"n": record.name}).fetchone():
                raise DuplicateRun(f"run {record.name!r} already exists")
            con.execute(_insert_sql("runs", RUN_COLUMNS), record.to_row())
        return record

    def get_run(self, name: str) -> RunRecord:
        if not isinstance(name, str):
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        with self.connect() as con:
            return self._get_run(con, name)

    def list_runs(self) -> list[RunRecord]:
        sql = f"SELECT {_select(RUN_COLUMNS)} FROM runs ORDER BY created_at, name"
        with self.connect() as con:
            return [RunRecord.from_row(r) for r in _rows(con.execute(sql))]

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
        changes = given(
            state=state, progress=progress, message=message, settings=settings, archived=archived
        )
        if not changes:
            return self.get_run(name)
        if not isinstance(name, str):
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        with self.connect(write=True) as con:
            new = replace(self._get_run(con, name), **changes, updated_at=now())
            row = new.to_row()
            cols = (*changes, "updated_at")
            sets = ", ".join(f"{c} = ${c}" for c in cols)
            con.execute(
                f"UPDATE runs SET {sets} WHERE name = $name",
                {"name": name, **{c: row[c] for c in cols}},
            )
        return new

    def delete_run(self, name: str) -> None:
        if not isinstance(name, str):
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        with self.connect(write=True) as con:
            run = self._get_run(con, name)
            if run.active:
                raise RunActive(f"run {name!r} is {run.state}; cancel it before deleting it")
            con.execute(
                "DELETE FROM generations WHERE search IN (SELECT id FROM searches WHERE run = $r)",
                {"r": name},
            )
            for table in (
                "candidates",
                "searches",
                "artefacts",
                "epochs",
                "events",
                "test_results",
            ):
                con.execute(f"DELETE FROM {table} WHERE run = $r", {"r": name})
            con.execute("DELETE FROM runs WHERE name = $r", {"r": name})

    # ---- searches ----------------------------------------------------------------------------
    def create_search(self, record: SearchRecord) -> SearchRecord:
        require_record(record, SearchRecord, "search")
        with self.connect(write=True) as con:
            self._check_scope(con, record.run, None)
            if con.execute("SELECT 1 FROM searches WHERE id = $s", {"s": record.id}).fetchone():
                raise DuplicateSearch(f"search {record.id!r} already exists")
            con.execute(_insert_sql("searches", SEARCH_COLUMNS), record.to_row())
        return record

    def get_search(self, search: str) -> SearchRecord:
        if not isinstance(search, str):
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
        with self.connect() as con:
            return self._get_search(con, search)

    def list_searches(self, run: str) -> list[SearchRecord]:
        sql = (
            f"SELECT {_select(SEARCH_COLUMNS)} FROM searches WHERE run = $r ORDER BY created_at, id"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            return [SearchRecord.from_row(r) for r in _rows(con.execute(sql, {"r": run}))]

    def update_search(
        self,
        search: str,
        *,
        state: str | None = None,
        generation: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> SearchRecord:
        changes = given(state=state, generation=generation, settings=settings)
        if not changes:
            return self.get_search(search)
        if not isinstance(search, str):
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
        with self.connect(write=True) as con:
            new = replace(self._get_search(con, search), **changes, updated_at=now())
            row = new.to_row()
            cols = (*changes, "updated_at")
            sets = ", ".join(f"{c} = ${c}" for c in cols)
            con.execute(
                f"UPDATE searches SET {sets} WHERE id = $id",
                {"id": search, **{c: row[c] for c in cols}},
            )
        return new

    # ---- candidates --------------------------------------------------------------------------
    def add_candidates(self, records: Iterable[CandidateRecord]) -> int:
        batch: dict[tuple[str, str], CandidateRecord] = {}
        for rec in records:
            require_record(rec, CandidateRecord, "candidate")
            batch.setdefault(rec.key, rec)
        if not batch:
            return 0
        with self.connect(write=True) as con:
            return self._insert_candidates(con, batch)

    @staticmethod
    def _insert_candidates(
        con: duckdb.DuckDBPyConnection,
        batch: dict[tuple[str, str], CandidateRecord],
        rendered: dict[tuple[str, str], dict[str, Any]] | None = None,
    ) -> int:
        """Insert-or-ignore `batch` (one record per key) in one bulk insert; checks first."""
        owners = dict(
            con.execute(
                "SELECT id, run FROM searches WHERE id IN (SELECT unnest($ids))",
                {"ids": sorted({rec.search for rec in batch.values()})},
            ).fetchall()
        )
        for rec in batch.values():
            if rec.search not in owners:
                raise UnknownSearch(f"unknown search {rec.search!r}")
            if owners[rec.search] != rec.run:
                raise BadRecord(
                    f"candidate {rec.id!r} says run {rec.run!r} but search {rec.search!r} "
                    f"belongs to run {owners[rec.search]!r}"
                )
        stored = con.execute(
            "SELECT search, id, run FROM candidates WHERE id IN (SELECT unnest($ids))",
            {"ids": sorted({rec.id for rec in batch.values()})},
        ).fetchall()
        new = _new_rows(batch.values(), stored, rendered)
        if not new:
            return 0
        table = pa.table({c: [row[c] for row in new] for c in _STORED}, schema=_ARROW)
        cols = ", ".join(_STORED)
        con.register("incoming_candidates", table)
        try:
            inserted = con.execute(
                f"INSERT INTO candidates ({cols}) SELECT {cols} FROM incoming_candidates "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ).fetchall()
        finally:
            con.unregister("incoming_candidates")
        return len(inserted)

    def candidates(
        self, run: str, search: str | None = None, *, one_per_id: bool = False
    ) -> list[CandidateRecord]:
        where = "run = $run" + (" AND search = $search" if search is not None else "")
        where += " AND first_in_run" if one_per_id and search is None else ""
        sql = (
            f"SELECT {_select(CANDIDATE_COLUMNS)} FROM candidates WHERE {where} "
            "ORDER BY search, generation, id"
        )
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = _rows(con.execute(sql, _params(run=run, search=search)))
        return [CandidateRecord.from_row(r) for r in rows]

    def count_candidates(self, run: str, search: str | None = None) -> int:
        where = "run = $run" + ("" if search is None else " AND search = $search")
        with self.connect() as con:
            self._check_scope(con, run, search)
            row = con.execute(
                f"SELECT count(*) FROM candidates WHERE {where}", _params(run=run, search=search)
            ).fetchone()
        return int(row[0]) if row else 0

    def get_candidate(self, run: str, id: str, search: str | None = None) -> CandidateRecord:
        where = "run = $run AND id = $id" + ("" if search is None else " AND search = $search")
        sql = (
            f"SELECT {_select(CANDIDATE_COLUMNS)} FROM candidates WHERE {where} "
            "ORDER BY first_in_run DESC, search LIMIT 1"
        )
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = _rows(con.execute(sql, _params(run=run, search=search, id=str(id))))
        if not rows:
            where_text = f"run {run!r}" if search is None else f"search {search!r}"
            raise UnknownCandidate(f"unknown candidate {one_line(repr(id), 80)} in {where_text}")
        return CandidateRecord.from_row(rows[0])

    def candidate_table(
        self,
        run: str,
        search: str | None = None,
        *,
        columns: Sequence[str],
        profile: Prices | None = None,
        include_infeasible: bool = False,
    ) -> pa.Table:
        columns = check_columns(columns)
        where = "run = $run AND " + ("search = $search" if search is not None else "first_in_run")
        if not include_infeasible:
            where += " AND feasible"
        energy = _PRICED_ENERGY if profile is not None else "energy_uj"
        select = ", ".join(f"({energy}) AS energy_uj" if c == "energy_uj" else c for c in columns)
        priced = f"({energy}) IS NOT NULL"
        sql = f"SELECT {select} FROM candidates WHERE {where} AND {priced} ORDER BY id"
        params = {**_params(run=run, search=search), **_profile_params(profile)}
        with self.connect() as con:
            self._check_scope(con, run, search)
            con.execute("SELECT 1").fetchall()  # a relation needs no unfinished result open
            table = con.sql(sql, params=params).to_arrow_table()
        return table.cast(pa.schema([(c, CANDIDATE_ARROW_TYPES[c]) for c in columns]))

    def rank(
        self,
        run: str,
        search: str | None = None,
        alpha: float = DEFAULT_ALPHA,
        top: int | None = None,
        *,
        profile: Prices | None = None,
        include_infeasible: bool = False,
    ) -> list[tuple[CandidateRecord, float]]:
        alpha = check_alpha(alpha)
        top = check_top(top)
        sql = _rank_sql(
            by_search=search is not None,
            limited=top is not None,
            priced=profile is not None,
            feasible=not include_infeasible,
        )
        params = _params(run=run, search=search, alpha=alpha, top=top)
        params.update(_profile_params(profile))
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = _rows(con.execute(sql, params))
        out = []
        for row in rows:
            fitness = float(row.pop("fitness"))
            record = CandidateRecord.from_row(row)
            priced = record if profile is None else record.priced(profile)
            if priced is not None:  # always: the query kept only rows it could price
                out.append((priced, fitness))
        return out

    # ---- generations -------------------------------------------------------------------------
    def add_generation(self, record: GenerationRecord) -> bool:
        require_record(record, GenerationRecord, "generation")
        with self.connect(write=True) as con:
            if (
                not isinstance(record.search, str)
                or not con.execute(
                    "SELECT 1 FROM searches WHERE id = $s", {"s": record.search}
                ).fetchone()
            ):
                raise UnknownSearch(f"unknown search {record.search!r}")
            sql = _insert_sql("generations", GENERATION_COLUMNS, conflict=True)
            return bool(con.execute(sql, record.to_row()).fetchall())

    def generations(self, search: str) -> list[GenerationRecord]:
        if not isinstance(search, str):
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
        sql = (
            f"SELECT {_select(GENERATION_COLUMNS)} FROM generations WHERE search = $s "
            "ORDER BY generation"
        )
        with self.connect() as con:
            self._get_search(con, search)
            return [GenerationRecord.from_row(r) for r in _rows(con.execute(sql, {"s": search}))]

    # ---- artefacts ---------------------------------------------------------------------------
    def add_artefact(self, record: ArtefactRecord) -> bool:
        require_record(record, ArtefactRecord, "artefact")
        with self.connect(write=True) as con:
            self._check_scope(con, record.run, None)
            if (
                record.candidate_id is not None
                and not con.execute(
                    "SELECT 1 FROM candidates WHERE run = $r AND id = $i LIMIT 1",
                    {"r": record.run, "i": record.candidate_id},
                ).fetchone()
            ):
                raise UnknownCandidate(
                    f"unknown candidate {record.candidate_id!r} in run {record.run!r}"
                )
            sql = _insert_sql("artefacts", ARTEFACT_COLUMNS, conflict=True)
            return bool(con.execute(sql, record.to_row()).fetchall())

    def artefacts(self, run: str, kind: str | None = None) -> list[ArtefactRecord]:
        if kind is not None and kind not in ARTEFACT_KINDS:
            raise BadArgument(f"kind must be one of {'|'.join(ARTEFACT_KINDS)}, got {kind!r}")
        where = "run = $run" + ("" if kind is None else " AND kind = $kind")
        sql = (
            f"SELECT {_select(ARTEFACT_COLUMNS)} FROM artefacts WHERE {where} "
            "ORDER BY created_at, path"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            rows = _rows(con.execute(sql, _params(run=run, kind=kind)))
        return [ArtefactRecord.from_row(r) for r in rows]

    # ---- run history -------------------------------------------------------------------------
    def _add_history(self, records: Iterable, cls: type, what: str, table: str) -> int:
        batch: dict[Any, Any] = {}
        for rec in records:
            require_record(rec, cls, what)
            batch.setdefault(rec.key, rec)
        if not batch:
            return 0
        sql = _insert_sql(table, _columns(cls), conflict=True)
        added = 0
        with self.connect(write=True) as con:
            for run in sorted({rec.run for rec in batch.values()}):
                self._check_scope(con, run, None)
            for rec in batch.values():
                added += len(con.execute(sql, rec.to_row()).fetchall())
        return added

    def _history(self, run: str, cls: type, table: str, order: str) -> list:
        sql = f"SELECT {_select(_columns(cls))} FROM {table} WHERE run = $run ORDER BY {order}"
        with self.connect() as con:
            self._check_scope(con, run, None)
            return [cls.from_row(r) for r in _rows(con.execute(sql, {"run": run}))]

    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        return self._add_history(records, EpochRecord, "epoch", "epochs")

    def epochs(self, run: str) -> list[EpochRecord]:
        return self._history(run, EpochRecord, "epochs", "epoch")

    def add_events(self, records: Iterable[EventRecord]) -> int:
        return self._add_history(records, EventRecord, "event", "events")

    def events(self, run: str) -> list[EventRecord]:
        return self._history(run, EventRecord, "events", "created_at, id")

    # ---- held-out test results ---------------------------------------------------------------
    def add_test_results(self, records: Iterable[TestResultRecord]) -> int:
        batch: dict[Any, TestResultRecord] = {}
        for rec in records:
            require_record(rec, TestResultRecord, "test result")
            batch.setdefault(rec.key, rec)
        if not batch:
            return 0
        with self.connect(write=True) as con:
            return self._insert_test_results(con, list(batch.values()))

    def test_results(self, run: str, candidate_id: str | None = None) -> list[TestResultRecord]:
        where = "run = $run" + ("" if candidate_id is None else " AND candidate_id = $c")
        sql = (
            f"SELECT {_select(_columns(TestResultRecord))} FROM test_results WHERE {where} "
            "ORDER BY created_at, candidate_id"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            rows = _rows(con.execute(sql, _params(run=run, c=candidate_id)))
        return [TestResultRecord.from_row(r) for r in rows]

    def _insert_test_results(
        self, con: duckdb.DuckDBPyConnection, records: list[TestResultRecord]
    ) -> int:
        check_links(con, AddTestResults, records)
        rows = [r.to_row() for r in records]
        return insert_rows(con, "test_results", _columns(TestResultRecord), rows)

    # ---- bulk load (benchmarks, imports) -------------------------------------------------------
    def load_candidates(self, table: pa.Table) -> int:
        """Insert-or-ignore candidate rows given as an Arrow table of stored columns (record
        fields plus `first_in_run`; those left out take their defaults), without building a
        record per row: for loading trusted rows in bulk (a benchmark's million candidates).
        Checks that every row's search exists and belongs to its run. Returns how many were
        new. `BadArgument` for an unknown or missing key column."""
        names = [c for c in _STORED if c in table.column_names]
        unknown = sorted(set(table.column_names) - set(_STORED))
        missing = sorted({"run", "search", "id", "first_in_run"} - set(names))
        if unknown or missing:
            raise BadArgument(f"bad candidate columns: unknown {unknown}, missing {missing}")
        table = table.select(names).cast(pa.schema([(c, _ARROW.field(c).type) for c in names]))
        cols = ", ".join(names)
        with self.connect(write=True) as con:
            con.register("incoming_bulk", table)
            try:
                bad = con.execute(
                    "SELECT DISTINCT i.search FROM incoming_bulk AS i LEFT JOIN searches AS s "
                    "ON s.id = i.search WHERE s.id IS NULL OR s.run <> i.run LIMIT 1"
                ).fetchall()
                if bad:
                    raise UnknownSearch(f"unknown search {bad[0][0]!r} (or not of the row's run)")
                return len(
                    con.execute(
                        f"INSERT INTO candidates ({cols}) SELECT {cols} FROM incoming_bulk "
                        "ON CONFLICT DO NOTHING RETURNING 1"
                    ).fetchall()
                )
            finally:
                con.unregister("incoming_bulk")

    # ---- batches of writes (the recorder) ----------------------------------------------------
    def apply(self, ops: Sequence[Op]) -> Applied:
        """Apply `ops` in ONE write transaction (all or none): searches created first, every
        op's candidates as one bulk insert, then generations, artefacts, epochs, events and test
        results in bulk, then the updates (see `storage.ops` for their rules), folded in order
        into one UPDATE per run and search. Rows are made before the file is taken, so it is
        held for the SQL alone."""
        applied = Applied()
        if not ops:
            return applied
        by_type: dict[type, list[Op]] = {}
        for op in ops:
            by_type.setdefault(type(op), []).append(op)
        unknown = set(by_type) - OP_TYPES
        if unknown:
            raise BadArgument(f"not a store op: {sorted(t.__name__ for t in unknown)}")
        creates: dict[str, SearchRecord] = {}
        for op in by_type.get(CreateSearch, ()):
            creates.setdefault(op.record.id, op.record)
        candidates: dict[tuple[str, str], CandidateRecord] = {}
        for op in by_type.get(AddCandidates, ()):
            for rec in op.records:
                candidates.setdefault(rec.key, rec)
        rendered = {key: rec.to_row() for key, rec in candidates.items()}
        bulk = [
            (kind, table, first_per_key(r for op in by_type.get(kind, ()) for r in records_of(op)))
            for kind, table in BULK
        ]
        rows = {table: [r.to_row() for r in records] for _, table, records in bulk}
        updates = [op for op in ops if isinstance(op, (UpdateRun, UpdateSearch))]
        with self.connect(write=True) as con:
            for record in creates.values():
                self._check_scope(con, record.run, None)
                found = con.execute("SELECT 1 FROM searches WHERE id = $s", {"s": record.id})
                if not found.fetchall():
                    con.execute(_insert_sql("searches", SEARCH_COLUMNS), record.to_row())
            if candidates:
                applied.candidates = self._insert_candidates(con, candidates, rendered)
            for kind, table, records in bulk:
                if records:
                    check_links(con, kind, records)
                    count = insert_rows(con, table, _columns(type(records[0])), rows[table])
                    setattr(applied, table, count)
            applied.updates, applied.runs = apply_updates(con, updates)
        return applied

    # ---- shared leaderboards -----------------------------------------------------------------
    def create_leaderboard(self, record: LeaderboardRecord) -> LeaderboardRecord:
        require_record(record, LeaderboardRecord, "leaderboard")
        with self.connect(write=True) as con:
            self._check_scope(con, record.run, record.search)
            taken = con.execute("SELECT 1 FROM leaderboards WHERE id = $i", {"i": record.id})
            if taken.fetchone():
                raise DuplicateLeaderboard(f"leaderboard {record.id!r} already exists")
            con.execute(_insert_sql("leaderboards", LEADERBOARD_COLUMNS), record.to_row())
        return record

    def get_leaderboard(self, id: str) -> LeaderboardRecord:
        if not isinstance(id, str):
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        sql = f"SELECT {_select(LEADERBOARD_COLUMNS)} FROM leaderboards WHERE id = $i"
        with self.connect() as con:
            rows = _rows(con.execute(sql, {"i": id}))
        if not rows:
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        return LeaderboardRecord.from_row(rows[0])

    def list_leaderboards(self, run: str | None = None) -> list[LeaderboardRecord]:
        where = "" if run is None else "WHERE run = $run"
        sql = (
            f"SELECT {_select(LEADERBOARD_COLUMNS)} FROM leaderboards {where} "
            "ORDER BY created_at DESC, id"
        )
        with self.connect() as con:
            rows = _rows(con.execute(sql, _params(run=run)))
        return [LeaderboardRecord.from_row(r) for r in rows]

    def delete_leaderboard(self, id: str) -> None:
        if not isinstance(id, str):
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        with self.connect(write=True) as con:
            gone = con.execute("DELETE FROM leaderboards WHERE id = $i RETURNING 1", {"i": id})
            if not gone.fetchall():
                raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")


_ARROW_TYPES = {**CANDIDATE_ARROW_TYPES, "first_in_run": pa.bool_()}
# A KeyError here means CandidateRecord gained a field this table does not know.
_STORED = (*CANDIDATE_COLUMNS, "first_in_run")
_ARROW = pa.schema([(c, _ARROW_TYPES[c]) for c in _STORED])


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, keeping the error that got us here rather than a failed rollback's."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the optional ones left as None (they are not in the SQL)."""
    return {k: v for k, v in values.items() if v is not None}


def open_store(path: str | Path | None = None) -> DuckDBStore:
    """The project's store: `DuckDBStore(path)`, by default `home()/store.duckdb`."""
    return DuckDBStore(store_path() if path is None else path)
