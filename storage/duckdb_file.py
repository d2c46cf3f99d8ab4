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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from storage.duckdb_schema import MIGRATIONS, SCHEMA_VERSION
from storage.duckdb_sql import (
    RUN_COLUMNS,
    SEARCH_COLUMNS,
    fetch_rows,
    rollback,
    select_sql,
)
from storage.errors import (
    SchemaError,
    StoreBusy,
    StoreError,
    UnknownRun,
    UnknownSearch,
    one_line,
)
from storage.records import (
    RunRecord,
    SearchRecord,
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


class DuckDBFile:
    """One DuckDB file, held only for the length of a call (see the module docstring), with its
    schema brought up to date on construction and the run and search lookups every table needs.

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
                    rollback(con)
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
        rows = fetch_rows(
            con.execute(f"SELECT {select_sql(RUN_COLUMNS)} FROM runs WHERE name = $n", {"n": name})
        )
        if not rows:
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        return RunRecord.from_row(rows[0])

    @staticmethod
    def _get_search(
        con: duckdb.DuckDBPyConnection, search: str, run: str | None = None
    ) -> SearchRecord:
        rows = fetch_rows(
            con.execute(
                f"SELECT {select_sql(SEARCH_COLUMNS)} FROM searches WHERE id = $s", {"s": search}
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
