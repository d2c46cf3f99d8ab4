"""Runs and searches on the DuckDB store (`RunTables`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from storage.base import (
    given,
    list_of,
    require_record,
    with_finish,
)
from storage.duckdb_file import DuckDBFile
from storage.duckdb_sql import (
    RUN_COLUMNS,
    SEARCH_COLUMNS,
    fetch_rows,
    insert_sql,
    select_sql,
)
from storage.errors import (
    DuplicateRun,
    DuplicateSearch,
    RunActive,
    UnknownRun,
    UnknownSearch,
    one_line,
)
from storage.records import (
    RunRecord,
    SearchRecord,
    now,
)


class RunTables(DuckDBFile):
    """Runs and searches."""

    # ---- runs --------------------------------------------------------------------------------
    def create_run(self, record: RunRecord) -> RunRecord:
        require_record(record, RunRecord, "run")
        with self.connect(write=True) as con:
            if con.execute("SELECT 1 FROM runs WHERE name = $n", {"n": record.name}).fetchone():
                raise DuplicateRun(f"run {record.name!r} already exists")
            con.execute(insert_sql("runs", RUN_COLUMNS), record.to_row())
        return record

    def get_run(self, name: str) -> RunRecord:
        if not isinstance(name, str):
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        with self.connect() as con:
            return self._get_run(con, name)

    def list_runs(self) -> list[RunRecord]:
        sql = f"SELECT {select_sql(RUN_COLUMNS)} FROM runs ORDER BY created_at, name"
        with self.connect() as con:
            return [RunRecord.from_row(r) for r in fetch_rows(con.execute(sql))]

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
            current, t = self._get_run(con, name), now()
            changes = with_finish(current, changes, t)
            new = replace(current, **changes, updated_at=t)
            row = new.to_row()
            cols = (*changes, "updated_at")
            sets = ", ".join(f"{c} = ${c}" for c in cols)
            con.execute(
                f"UPDATE runs SET {sets} WHERE name = $name",
                {"name": name, **{c: row[c] for c in cols}},
            )
        return new

    def annotate_run(
        self, name: str, *, tags: Sequence[str] | None = None, notes: str | None = None
    ) -> RunRecord:
        changes = given(tags=None if tags is None else list_of(tags), notes=notes)
        if not changes:
            return self.get_run(name)
        if not isinstance(name, str):
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        with self.connect(write=True) as con:
            new = replace(self._get_run(con, name), **changes)  # checks the values
            row = new.to_row()
            sets = ", ".join(f"{c} = ${c}" for c in changes)
            con.execute(
                f"UPDATE runs SET {sets} WHERE name = $name",
                {"name": name, **{c: row[c] for c in changes}},
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
                "progress",
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
            con.execute(insert_sql("searches", SEARCH_COLUMNS), record.to_row())
        return record

    def get_search(self, search: str) -> SearchRecord:
        if not isinstance(search, str):
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
        with self.connect() as con:
            return self._get_search(con, search)

    def list_searches(self, run: str) -> list[SearchRecord]:
        columns = select_sql(SEARCH_COLUMNS)
        sql = f"SELECT {columns} FROM searches WHERE run = $r ORDER BY created_at, id"
        with self.connect() as con:
            self._check_scope(con, run, None)
            return [SearchRecord.from_row(r) for r in fetch_rows(con.execute(sql, {"r": run}))]

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
