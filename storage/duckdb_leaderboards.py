"""Shared (frozen) leaderboards on the DuckDB store (`LeaderboardTables`)."""

from __future__ import annotations

import duckdb

from storage.base import edited_leaderboard, require_record
from storage.duckdb_file import DuckDBFile
from storage.duckdb_sql import (
    LEADERBOARD_COLUMNS,
    fetch_rows,
    insert_sql,
    select_sql,
    sql_params,
)
from storage.errors import (
    DuplicateLeaderboard,
    UnknownLeaderboard,
    one_line,
)
from storage.records import LeaderboardRecord, now


class LeaderboardTables(DuckDBFile):
    """Shared leaderboards."""

    # ---- shared leaderboards -----------------------------------------------------------------
    def create_leaderboard(self, record: LeaderboardRecord) -> LeaderboardRecord:
        require_record(record, LeaderboardRecord, "leaderboard")
        with self.connect(write=True) as con:
            self._check_scope(con, record.run, record.search)
            taken = con.execute("SELECT 1 FROM leaderboards WHERE id = $i", {"i": record.id})
            if taken.fetchone():
                raise DuplicateLeaderboard(f"leaderboard {record.id!r} already exists")
            con.execute(insert_sql("leaderboards", LEADERBOARD_COLUMNS), record.to_row())
        return record

    def get_leaderboard(self, id: str) -> LeaderboardRecord:
        with self.connect() as con:
            return self._read_leaderboard(con, id)

    @staticmethod
    def _read_leaderboard(con: duckdb.DuckDBPyConnection, id: str) -> LeaderboardRecord:
        if not isinstance(id, str):
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        sql = f"SELECT {select_sql(LEADERBOARD_COLUMNS)} FROM leaderboards WHERE id = $i"
        rows = fetch_rows(con.execute(sql, {"i": id}))
        if not rows:
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        return LeaderboardRecord.from_row(rows[0])

    def list_leaderboards(self, run: str | None = None) -> list[LeaderboardRecord]:
        where = "" if run is None else "WHERE run = $run"
        sql = (
            f"SELECT {select_sql(LEADERBOARD_COLUMNS)} FROM leaderboards {where} "
            "ORDER BY created_at DESC, id"
        )
        with self.connect() as con:
            rows = fetch_rows(con.execute(sql, sql_params(run=run)))
        return [LeaderboardRecord.from_row(r) for r in rows]

    def delete_leaderboard(self, id: str) -> None:
        if not isinstance(id, str):
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        with self.connect(write=True) as con:
            gone = con.execute("DELETE FROM leaderboards WHERE id = $i RETURNING 1", {"i": id})
            if not gone.fetchall():
                raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")

    def edit_leaderboard(
        self, id: str, *, title: str | None = None, notes: str | None = None
    ) -> LeaderboardRecord:
        with self.connect(write=True) as con:
            current = self._read_leaderboard(con, id)
            record = edited_leaderboard(current, title, notes, now())
            con.execute(
                "UPDATE leaderboards SET title = $t, notes = $n, edited_at = $e WHERE id = $i",
                {"t": record.title, "n": record.notes, "e": record.edited_at, "i": id},
            )
        return record
