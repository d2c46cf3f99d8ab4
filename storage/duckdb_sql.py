"""SQL helpers shared by the DuckDB store's tables: column lists of the records, SELECT and INSERT
statements, rows as dicts, parameters."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import duckdb

from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    GenerationRecord,
    LeaderboardRecord,
    RunRecord,
    SearchRecord,
)


def columns_of(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


RUN_COLUMNS = columns_of(RunRecord)
SEARCH_COLUMNS = columns_of(SearchRecord)
CANDIDATE_COLUMNS = columns_of(CandidateRecord)
GENERATION_COLUMNS = columns_of(GenerationRecord)
ARTEFACT_COLUMNS = columns_of(ArtefactRecord)
LEADERBOARD_COLUMNS = columns_of(LeaderboardRecord)


def select_sql(columns: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{c}" for c in columns)


def insert_sql(table: str, columns: tuple[str, ...], conflict: bool = False) -> str:
    marks = ", ".join(f"${c}" for c in columns)
    tail = " ON CONFLICT DO NOTHING RETURNING 1" if conflict else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"


def fetch_rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, keeping the error that got us here rather than a failed rollback's."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def sql_params(**values: Any) -> dict[str, Any]:
    """Query parameters without the optional ones left as None (they are not in the SQL)."""
    return {k: v for k, v in values.items() if v is not None}
