"""How `DuckDBStore.apply` writes a batch of store ops inside its one transaction: bulk
inserts of the record kinds, their links checked first, and the run and search updates folded
into one UPDATE per row (`storage.ops` has the rules)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import pyarrow as pa

from storage.errors import UnknownCandidate, UnknownRun, UnknownSearch, one_line
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
    run_changes,
    search_changes,
)
from storage.records import now

# Bulk-inserted record kinds in `apply`, in order (links first), and their tables, each named as
# its `Applied` counter.
BULK = (
    (AddGeneration, "generations"),
    (AddArtefact, "artefacts"),
    (AddEpochs, "epochs"),
    (AddEvents, "events"),
    (AddTestResults, "test_results"),
    (AddProgress, "progress"),
)


def records_of(op: Op) -> tuple:
    return getattr(op, "records", None) or (op.record,)  # type: ignore[union-attr]


def check_links(con: duckdb.DuckDBPyConnection, kind: type, records: list[Any]) -> None:
    """The records' run (or search) exists, and so does the candidate an artefact or a test
    result names; else `UnknownRun`/`UnknownSearch`/`UnknownCandidate`."""
    if kind is AddGeneration:
        _require_searches(con, {r.search for r in records})
        return
    _require_runs(con, {r.run for r in records})
    if kind is AddArtefact:
        _require_candidates(
            con, {(r.run, r.candidate_id) for r in records if r.candidate_id is not None}
        )
    if kind is AddTestResults:
        _require_candidates(con, {(r.run, r.candidate_id) for r in records})


def apply_updates(
    con: duckdb.DuckDBPyConnection, updates: list[UpdateRun | UpdateSearch]
) -> tuple[int, dict[str, str]]:
    """Fold the updates, in order, over the current rows (`storage.ops` rules) and write one
    UPDATE per run and search that changed. Returns (updates that changed something, the state
    of every run named)."""
    runs = _current(
        con, "runs", "name", "progress", {o.run for o in updates if isinstance(o, UpdateRun)}
    )
    searches = _current(
        con,
        "searches",
        "id",
        "generation",
        {o.search for o in updates if isinstance(o, UpdateSearch)},
    )
    changed: dict[tuple[str, str], dict[str, Any]] = {}
    count = 0
    for op in updates:
        if isinstance(op, UpdateRun):
            if op.run not in runs:
                raise UnknownRun(f"unknown run {one_line(repr(op.run), 80)}")
            state, progress = runs[op.run]
            changes = run_changes(state, progress, op)
            if changes.get("state") in TERMINAL:  # from an active state: `run_changes`
                changes["finished_at"] = now()
            runs[op.run] = (changes.get("state", state), changes.get("progress", progress))
            count += bool(changes)
            key = ("runs", op.run)
        else:
            if op.search not in searches:
                raise UnknownSearch(f"unknown search {one_line(repr(op.search), 80)}")
            state, generation = searches[op.search]
            changes = search_changes(state, generation, op)
            searches[op.search] = (
                changes.get("state", state),
                changes.get("generation", generation),
            )
            count += 1
            key = ("searches", op.search)
        if changes:
            changed.setdefault(key, {}).update(changes)
    for (table, name), changes in changed.items():
        _update(con, table, "name" if table == "runs" else "id", name, changes)
    return count, {name: state for name, (state, _) in runs.items()}


def _current(
    con: duckdb.DuckDBPyConnection, table: str, key: str, second: str, names: set[str]
) -> dict[str, tuple[str, Any]]:
    if not names:
        return {}
    rows = con.execute(
        f"SELECT {key}, state, {second} FROM {table} WHERE {key} IN (SELECT unnest($k))",
        {"k": sorted(names)},
    ).fetchall()
    return {name: (state, value) for name, state, value in rows}


OP_TYPES = {
    CreateSearch,
    UpdateSearch,
    UpdateRun,
    AddCandidates,
    AddGeneration,
    AddArtefact,
    AddEpochs,
    AddEvents,
    AddTestResults,
    AddProgress,
}


def first_per_key(records: Iterable[Any]) -> list[Any]:
    first: dict[Any, Any] = {}
    for rec in records:
        first.setdefault(rec.key, rec)
    return list(first.values())


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> int:
    """Insert-or-ignore `rows` (`to_row()`s) into `table` as one Arrow batch; how many were new."""
    arrow = pa.table({c: [row[c] for row in rows] for c in columns})
    cols = ", ".join(columns)
    name = f"incoming_{table}"
    con.register(name, arrow)
    try:
        return len(
            con.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name} "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ).fetchall()
        )
    finally:
        con.unregister(name)


def _missing(con: duckdb.DuckDBPyConnection, sql: str, keys: set) -> list:
    if not keys:
        return []
    found = {row[0] for row in con.execute(sql, {"k": sorted(keys)}).fetchall()}
    return sorted(keys - found)


def _require_runs(con: duckdb.DuckDBPyConnection, runs: set[str]) -> None:
    missing = _missing(con, "SELECT name FROM runs WHERE name IN (SELECT unnest($k))", runs)
    if missing:
        raise UnknownRun(f"unknown run {one_line(repr(missing[0]), 80)}")


def _require_searches(con: duckdb.DuckDBPyConnection, searches: set[str]) -> None:
    missing = _missing(con, "SELECT id FROM searches WHERE id IN (SELECT unnest($k))", searches)
    if missing:
        raise UnknownSearch(f"unknown search {one_line(repr(missing[0]), 80)}")


def _require_candidates(con: duckdb.DuckDBPyConnection, keys: set[tuple[str, str]]) -> None:
    """`UnknownCandidate` unless every (run, candidate id) has a stored candidate."""
    if not keys:
        return
    wanted = {f"{run}/{cid}" for run, cid in keys}
    missing = _missing(
        con,
        "SELECT DISTINCT run || '/' || id FROM candidates "
        "WHERE run || '/' || id IN (SELECT unnest($k))",
        wanted,
    )
    if missing:
        run, cid = missing[0].split("/", 1)
        raise UnknownCandidate(f"unknown candidate {cid!r} in run {run!r}")


def _update(
    con: duckdb.DuckDBPyConnection, table: str, key: str, value: str, changes: dict[str, Any]
) -> int:
    """Set `changes` (and `updated_at`) on one row; 1 if anything changed."""
    if not changes:
        return 0
    changes = {**changes, "updated_at": now()}
    sets = ", ".join(f"{c} = ${c}" for c in changes)
    con.execute(f"UPDATE {table} SET {sets} WHERE {key} = $key", {"key": value, **changes})
    return 1
