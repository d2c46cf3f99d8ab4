"""`DuckDBStore`: the store contract on one DuckDB file (the default `home()/store.duckdb`).

It is composed by concern: the file and its connections (`storage.duckdb_file`, where the
concurrency rules are), runs and searches (`duckdb_runs`), candidates and ranking
(`duckdb_candidates`), history (`duckdb_history`), leaderboards (`duckdb_leaderboards`); this module
adds the recorder's batches of writes (`apply`) and `open_store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storage.base import Store
from storage.duckdb_apply import (
    BULK,
    OP_TYPES,
    apply_updates,
    check_links,
    first_per_key,
    insert_rows,
    records_of,
)
from storage.duckdb_candidates import CandidateTables
from storage.duckdb_history import HistoryTables
from storage.duckdb_leaderboards import LeaderboardTables
from storage.duckdb_runs import RunTables
from storage.duckdb_sql import (
    SEARCH_COLUMNS,
    columns_of,
    insert_sql,
)
from storage.errors import BadArgument
from storage.ops import (
    AddCandidates,
    Applied,
    CreateSearch,
    Op,
    UpdateRun,
    UpdateSearch,
)
from storage.paths import store_path
from storage.records import (
    CandidateRecord,
    SearchRecord,
)


class DuckDBStore(RunTables, CandidateTables, HistoryTables, LeaderboardTables, Store):
    """The store on a DuckDB file at `path` (created, or upgraded, on construction).

    Args:
        path: the database file; its folder is created if missing.
        busy_timeout_s: how long opening the file keeps retrying while another process holds it.
    """

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
                    con.execute(insert_sql("searches", SEARCH_COLUMNS), record.to_row())
            if candidates:
                applied.candidates = self._insert_candidates(con, candidates, rendered)
            for kind, table, records in bulk:
                if records:
                    check_links(con, kind, records)
                    count = insert_rows(con, table, columns_of(type(records[0])), rows[table])
                    setattr(applied, table, count)
            applied.updates, applied.runs = apply_updates(con, updates)
        return applied


def open_store(path: str | Path | None = None) -> DuckDBStore:
    """The project's store: `DuckDBStore(path)`, by default `home()/store.duckdb`."""
    return DuckDBStore(store_path() if path is None else path)
