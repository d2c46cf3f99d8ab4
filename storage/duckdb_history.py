"""A run's history on the DuckDB store (`HistoryTables`): artefacts, epochs, events, progress and
test-split results."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

from storage.base import check_progress_filter, require_record
from storage.duckdb_apply import (
    check_links,
    insert_rows,
)
from storage.duckdb_file import DuckDBFile
from storage.duckdb_sql import (
    ARTEFACT_COLUMNS,
    columns_of,
    fetch_rows,
    insert_sql,
    select_sql,
    sql_params,
)
from storage.errors import (
    BadArgument,
    UnknownCandidate,
)
from storage.ops import AddTestResults
from storage.records import (
    ARTEFACT_KINDS,
    ArtefactRecord,
    EpochRecord,
    EventRecord,
    ProgressRecord,
    TestResultRecord,
)


class HistoryTables(DuckDBFile):
    """Artefacts, epochs, events, progress and test results."""

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
            sql = insert_sql("artefacts", ARTEFACT_COLUMNS, conflict=True)
            return bool(con.execute(sql, record.to_row()).fetchall())

    def artefacts(self, run: str, kind: str | None = None) -> list[ArtefactRecord]:
        if kind is not None and kind not in ARTEFACT_KINDS:
            raise BadArgument(f"kind must be one of {'|'.join(ARTEFACT_KINDS)}, got {kind!r}")
        where = "run = $run" + ("" if kind is None else " AND kind = $kind")
        sql = (
            f"SELECT {select_sql(ARTEFACT_COLUMNS)} FROM artefacts WHERE {where} "
            "ORDER BY created_at, path"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            rows = fetch_rows(con.execute(sql, sql_params(run=run, kind=kind)))
        return [ArtefactRecord.from_row(r) for r in rows]

    # ---- run history -------------------------------------------------------------------------
    def _add_history(self, records: Iterable, cls: type, what: str, table: str) -> int:
        batch: dict[Any, Any] = {}
        for rec in records:
            require_record(rec, cls, what)
            batch.setdefault(rec.key, rec)
        if not batch:
            return 0
        sql = insert_sql(table, columns_of(cls), conflict=True)
        added = 0
        with self.connect(write=True) as con:
            for run in sorted({rec.run for rec in batch.values()}):
                self._check_scope(con, run, None)
            for rec in batch.values():
                added += len(con.execute(sql, rec.to_row()).fetchall())
        return added

    def _history(self, run: str, cls: type, table: str, order: str) -> list:
        sql = f"SELECT {select_sql(columns_of(cls))} FROM {table} WHERE run = $run ORDER BY {order}"
        with self.connect() as con:
            self._check_scope(con, run, None)
            return [cls.from_row(r) for r in fetch_rows(con.execute(sql, {"run": run}))]

    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        return self._add_history(records, EpochRecord, "epoch", "epochs")

    def epochs(self, run: str) -> list[EpochRecord]:
        return self._history(run, EpochRecord, "epochs", "epoch")

    def add_events(self, records: Iterable[EventRecord]) -> int:
        return self._add_history(records, EventRecord, "event", "events")

    def events(self, run: str) -> list[EventRecord]:
        return self._history(run, EventRecord, "events", "created_at, id")

    def add_progress(self, records: Iterable[ProgressRecord]) -> int:
        return self._add_history(records, ProgressRecord, "progress", "progress")

    def progress(
        self, run: str, stage: str | None = None, unit: int | None = None
    ) -> list[ProgressRecord]:
        check_progress_filter(stage, unit)
        where = "run = $run" + ("" if stage is None else " AND stage = $stage")
        where += "" if unit is None else " AND unit = $unit"
        sql = (
            f"SELECT {select_sql(columns_of(ProgressRecord))} FROM progress WHERE {where} "
            "ORDER BY created_at, stage, search, unit, part, done"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            rows = fetch_rows(con.execute(sql, sql_params(run=run, stage=stage, unit=unit)))
        return [ProgressRecord.from_row(r) for r in rows]

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
            f"SELECT {select_sql(columns_of(TestResultRecord))} FROM test_results WHERE {where} "
            "ORDER BY created_at, candidate_id"
        )
        with self.connect() as con:
            self._check_scope(con, run, None)
            rows = fetch_rows(con.execute(sql, sql_params(run=run, c=candidate_id)))
        return [TestResultRecord.from_row(r) for r in rows]

    def _insert_test_results(
        self, con: duckdb.DuckDBPyConnection, records: list[TestResultRecord]
    ) -> int:
        check_links(con, AddTestResults, records)
        rows = [r.to_row() for r in records]
        return insert_rows(con, "test_results", columns_of(TestResultRecord), rows)
