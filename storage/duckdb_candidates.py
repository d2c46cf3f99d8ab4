"""Candidates, their F_AEB ranking in one query, and generations on the DuckDB store
(`CandidateTables`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from storage.base import (
    CANDIDATE_ARROW_TYPES,
    DEFAULT_ALPHA,
    Prices,
    RunSummary,
    check_alpha,
    check_columns,
    check_top,
    require_record,
)
from storage.duckdb_file import DuckDBFile
from storage.duckdb_sql import (
    CANDIDATE_COLUMNS,
    GENERATION_COLUMNS,
    fetch_rows,
    insert_sql,
    select_sql,
    sql_params,
)
from storage.errors import (
    BadArgument,
    BadRecord,
    UnknownCandidate,
    UnknownSearch,
    one_line,
)
from storage.records import (
    CandidateRecord,
    GenerationRecord,
)

# Energy of a row under the profile $profile (see `CandidateRecord.priced_energy_uj`): the stored
# energy when it was priced under that profile, else the stored counts at its prices (NULL when
# they cannot price it).
_PRICED_ENERGY = """CASE
    WHEN energy_profile = $profile THEN energy_uj
    WHEN macs IS NULL OR (neuron_updates IS NULL AND $pj_update <> 0) THEN NULL
    ELSE (macs * $pj_mac + sops * $pj_sop + coalesce(neuron_updates, 0.0) * $pj_update) * 1e-6
END"""


def _rank_sql(
    by_search: bool,
    limited: bool,
    priced: bool = False,
    feasible: bool = True,
    silent_last: bool = False,
) -> str:
    """F_AEB over the scope in one query (see `Store.rank`).

    The window min/max run over narrow numeric rows (row id, accuracy, energy): reading every id
    string would cost more than the rest together. With `top`, the cut is the top-th best fitness;
    only rows at or above it (the top plus any ties) get their ids joined back, the first `top`
    by (fitness, accuracy, energy, id) are kept, and only those get their other columns. With
    `silent_last` rows are grouped (`grp`: silent ones after the others) and each group has its
    own cut, the top-th best fitness within it.
    """
    # Run scope: an architecture evaluated by several searches counts once (first stored record).
    where = "run = $run AND " + ("search = $search" if by_search else "first_in_run")
    if feasible:
        where += " AND feasible"
    energy = _PRICED_ENERGY if priced else "energy_uj"
    order = "grp ASC, fitness DESC, accuracy DESC, energy ASC"
    cut = (
        "CASE WHEN s.grp THEN cuts.quiet ELSE cuts.loud END"
        if silent_last
        else """(SELECT min(fitness)
                 FROM (SELECT fitness FROM scored ORDER BY fitness DESC LIMIT $top))"""
    )
    # The top-th best fitness of each group, silent or not (two top-N scans, no full sort).
    cuts = """, cuts AS (
            SELECT (SELECT min(fitness) FROM (SELECT fitness FROM scored WHERE NOT grp
                                               ORDER BY fitness DESC LIMIT $top)) AS loud,
                   (SELECT min(fitness) FROM (SELECT fitness FROM scored WHERE grp
                                               ORDER BY fitness DESC LIMIT $top)) AS quiet
        )"""
    best = (
        f"""SELECT s.rid, s.grp, s.fitness, s.accuracy, s.energy
           FROM scored AS s {"CROSS JOIN cuts" if silent_last else ""}
           JOIN candidates AS c ON c.rowid = s.rid
           WHERE s.fitness >= {cut}
           ORDER BY s.grp ASC, s.fitness DESC, s.accuracy DESC, s.energy ASC, c.id ASC
           LIMIT $top"""
        if limited
        else "SELECT rid, grp, fitness, accuracy, energy FROM scored"
    )
    grp = "silent" if silent_last else "false"
    return f"""
        WITH priced AS (
            SELECT rowid AS rid, {grp} AS grp, accuracy, {energy} AS energy
            FROM candidates WHERE {where}
        ), bounds AS (
            SELECT rid, grp, accuracy, energy,
                   min(accuracy) OVER () AS a_min, max(accuracy) OVER () AS a_max,
                   min(energy) OVER () AS e_min, max(energy) OVER () AS e_max
            FROM priced WHERE energy IS NOT NULL
        ), scored AS MATERIALIZED (
            SELECT rid, grp, accuracy, energy,
                   $alpha * (1.0 - CASE WHEN e_max > e_min
                                        THEN (energy - e_min) / (e_max - e_min) ELSE 0.0 END)
                   + (1.0 - $alpha) * CASE WHEN a_max > a_min
                                           THEN (accuracy - a_min) / (a_max - a_min) ELSE 0.0 END
                   AS fitness
            FROM bounds
        ){cuts if silent_last and limited else ""}, best AS ({best})
        SELECT {select_sql(CANDIDATE_COLUMNS, "c.")}, best.fitness AS fitness
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


_ARROW_TYPES = {**CANDIDATE_ARROW_TYPES, "first_in_run": pa.bool_()}


# A KeyError here means CandidateRecord gained a field this table does not know.
_STORED = (*CANDIDATE_COLUMNS, "first_in_run")


_ARROW = pa.schema([(c, _ARROW_TYPES[c]) for c in _STORED])


class CandidateTables(DuckDBFile):
    """Candidates, their ranking and generations."""

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
            f"SELECT {select_sql(CANDIDATE_COLUMNS)} FROM candidates WHERE {where} "
            "ORDER BY search, generation, id"
        )
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = fetch_rows(con.execute(sql, sql_params(run=run, search=search)))
        return [CandidateRecord.from_row(r) for r in rows]

    def count_candidates(self, run: str, search: str | None = None) -> int:
        where = "run = $run" + ("" if search is None else " AND search = $search")
        with self.connect() as con:
            self._check_scope(con, run, search)
            row = con.execute(
                f"SELECT count(*) FROM candidates WHERE {where}", sql_params(run=run, search=search)
            ).fetchone()
        return int(row[0]) if row else 0

    def get_candidate(self, run: str, id: str, search: str | None = None) -> CandidateRecord:
        where = "run = $run AND id = $id" + ("" if search is None else " AND search = $search")
        sql = (
            f"SELECT {select_sql(CANDIDATE_COLUMNS)} FROM candidates WHERE {where} "
            "ORDER BY first_in_run DESC, search LIMIT 1"
        )
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = fetch_rows(con.execute(sql, sql_params(run=run, search=search, id=str(id))))
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
        params = {**sql_params(run=run, search=search), **_profile_params(profile)}
        with self.connect() as con:
            self._check_scope(con, run, search)
            con.execute("SELECT 1").fetchall()  # a relation needs no unfinished result open
            table = con.sql(sql, params=params).to_arrow_table()
        return table.cast(pa.schema([(c, CANDIDATE_ARROW_TYPES[c]) for c in columns]))

    def run_summaries(self, profile: Prices | None = None) -> dict[str, RunSummary]:
        energy = _PRICED_ENERGY if profile is not None else "energy_uj"
        sql = (
            f"SELECT run, count(*), max(accuracy), min({energy}) FROM candidates "
            f"WHERE first_in_run AND feasible AND ({energy}) IS NOT NULL GROUP BY run"
        )
        with self.connect() as con:
            names = [row[0] for row in con.execute("SELECT name FROM runs").fetchall()]
            params = _profile_params(profile)
            rows = (con.execute(sql, params) if params else con.execute(sql)).fetchall()
        found = {r: RunSummary(int(n), float(a), float(e)) for r, n, a, e in rows}
        return {name: found.get(name, RunSummary(0, None, None)) for name in names}

    def rank(
        self,
        run: str,
        search: str | None = None,
        alpha: float = DEFAULT_ALPHA,
        top: int | None = None,
        *,
        profile: Prices | None = None,
        include_infeasible: bool = False,
        silent_last: bool = False,
    ) -> list[tuple[CandidateRecord, float]]:
        alpha = check_alpha(alpha)
        top = check_top(top)
        sql = _rank_sql(
            by_search=search is not None,
            limited=top is not None,
            priced=profile is not None,
            feasible=not include_infeasible,
            silent_last=bool(silent_last),
        )
        params = sql_params(run=run, search=search, alpha=alpha, top=top)
        params.update(_profile_params(profile))
        with self.connect() as con:
            self._check_scope(con, run, search)
            rows = fetch_rows(con.execute(sql, params))
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
            sql = insert_sql("generations", GENERATION_COLUMNS, conflict=True)
            return bool(con.execute(sql, record.to_row()).fetchall())

    def generations(self, search: str) -> list[GenerationRecord]:
        if not isinstance(search, str):
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}")
        sql = (
            f"SELECT {select_sql(GENERATION_COLUMNS)} FROM generations WHERE search = $s "
            "ORDER BY generation"
        )
        with self.connect() as con:
            self._get_search(con, search)
            return [
                GenerationRecord.from_row(r) for r in fetch_rows(con.execute(sql, {"s": search}))
            ]

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
