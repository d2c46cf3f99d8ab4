"""The DuckDB store's schema: `MIGRATIONS[i]` upgrades a file from schema version `i` to `i + 1`
(SQL statements, or a Python step given the open connection); `DuckDBStore` applies the missing
ones when it opens a file (see `storage.duckdb_store`)."""

from __future__ import annotations

import json
from collections.abc import Callable

import duckdb
import pyarrow as pa

from storage.records import dump_json

MIGRATIONS: list[tuple[str | Callable[[duckdb.DuckDBPyConnection], None], ...]] = [
    # v1: runs, searches, candidates, generations.
    (
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (0)",
        """CREATE TABLE runs (
            name VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, dataset VARCHAR NOT NULL,
            space VARCHAR NOT NULL, settings VARCHAR NOT NULL, state VARCHAR NOT NULL,
            progress DOUBLE NOT NULL, message VARCHAR NOT NULL,
            created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL)""",
        """CREATE TABLE searches (
            id VARCHAR PRIMARY KEY, run VARCHAR NOT NULL, strategy VARCHAR NOT NULL,
            settings VARCHAR NOT NULL, state VARCHAR NOT NULL, generation INTEGER NOT NULL,
            created_at DOUBLE NOT NULL, updated_at DOUBLE NOT NULL)""",
        """CREATE TABLE candidates (
            search VARCHAR NOT NULL, id VARCHAR NOT NULL, run VARCHAR NOT NULL,
            arch VARCHAR NOT NULL, accuracy DOUBLE NOT NULL, energy_uj DOUBLE NOT NULL,
            params BIGINT NOT NULL, sops DOUBLE NOT NULL, firing_rate DOUBLE NOT NULL,
            firing_rates VARCHAR NOT NULL, generation INTEGER NOT NULL,
            strategy VARCHAR NOT NULL, created_at DOUBLE NOT NULL,
            PRIMARY KEY (search, id))""",
        """CREATE TABLE generations (
            search VARCHAR NOT NULL, generation INTEGER NOT NULL, hypervolume DOUBLE NOT NULL,
            best_id VARCHAR, best_fitness DOUBLE, evaluated INTEGER NOT NULL,
            created_at DOUBLE NOT NULL, PRIMARY KEY (search, generation))""",
    ),
    # v2: per-layer energy, worker and first-record-of-the-run flag on candidates; artefacts.
    (
        "ALTER TABLE candidates ADD COLUMN layer_energy_uj VARCHAR DEFAULT '{}'",
        "ALTER TABLE candidates ADD COLUMN worker VARCHAR DEFAULT ''",
        "ALTER TABLE candidates ADD COLUMN first_in_run BOOLEAN DEFAULT false",
        # Rows are appended, never deleted, so the smallest rowid is the first stored record.
        """UPDATE candidates SET first_in_run = true WHERE rowid IN (
            SELECT min(rowid) FROM candidates GROUP BY run, id)""",
        """CREATE TABLE artefacts (
            run VARCHAR NOT NULL, kind VARCHAR NOT NULL, path VARCHAR NOT NULL,
            candidate_id VARCHAR, created_at DOUBLE NOT NULL, PRIMARY KEY (run, path))""",
    ),
    # v3: a run's history (training epochs, log events) and the archived flag.
    (
        "ALTER TABLE runs ADD COLUMN archived BOOLEAN DEFAULT false",
        """CREATE TABLE epochs (
            run VARCHAR NOT NULL, epoch INTEGER NOT NULL, loss DOUBLE NOT NULL,
            val_accuracy_largest DOUBLE, val_accuracy_smallest DOUBLE, seconds DOUBLE NOT NULL,
            worker VARCHAR NOT NULL, created_at DOUBLE NOT NULL, PRIMARY KEY (run, epoch))""",
        """CREATE TABLE events (
            run VARCHAR NOT NULL, id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            message VARCHAR NOT NULL, worker VARCHAR NOT NULL, created_at DOUBLE NOT NULL,
            PRIMARY KEY (run, id))""",
    ),
    # Feasibility and operation counts on candidates (second round): see `_MIGRATION_OPS`.
    (
        "ALTER TABLE candidates ADD COLUMN feasible BOOLEAN DEFAULT true",
        "ALTER TABLE candidates ADD COLUMN violation VARCHAR DEFAULT ''",
        "ALTER TABLE candidates ADD COLUMN macs DOUBLE",
        "ALTER TABLE candidates ADD COLUMN neuron_updates DOUBLE",
        "ALTER TABLE candidates ADD COLUMN layer_ops VARCHAR DEFAULT '{}'",
        "ALTER TABLE candidates ADD COLUMN energy_profile VARCHAR DEFAULT '45nm-fp32'",
        # Every energy stored so far is Eq. 3 at 4.6 pJ/MAC and 0.9 pJ/SOP, so its MACs follow
        # from the stored energy and SOPs (whole numbers: rounding removes float noise).
        """UPDATE candidates SET macs = greatest(round((energy_uj * 1e6 - 0.9 * sops) / 4.6), 0)""",
        # A candidate over its search's stored energy budget or parameter limit is infeasible.
        """UPDATE candidates SET feasible = false, violation = concat_ws(',',
               CASE WHEN l.budget IS NOT NULL AND candidates.energy_uj > l.budget
                    THEN 'energy_budget' END,
               CASE WHEN l.param_limit IS NOT NULL AND candidates.params > l.param_limit
                    THEN 'param_limit' END)
           FROM (SELECT id,
                        TRY_CAST(json_extract(settings, '$.energy_budget_uj') AS DOUBLE) AS budget,
                        TRY_CAST(json_extract(settings, '$.param_limit') AS BIGINT) AS param_limit
                 FROM searches) AS l
           WHERE candidates.search = l.id
             AND ((l.budget IS NOT NULL AND candidates.energy_uj > l.budget)
                  OR (l.param_limit IS NOT NULL AND candidates.params > l.param_limit))""",
        lambda con: _backfill_layer_ops(con),
    ),
    # Shared leaderboards (second round): frozen rankings, their rows kept as JSON.
    (
        """CREATE TABLE leaderboards (
            id VARCHAR PRIMARY KEY, run VARCHAR NOT NULL, search VARCHAR, alpha DOUBLE NOT NULL,
            top INTEGER NOT NULL, candidates VARCHAR NOT NULL, energy_profile VARCHAR NOT NULL,
            title VARCHAR NOT NULL, notes VARCHAR NOT NULL, author VARCHAR NOT NULL,
            created_at DOUBLE NOT NULL)""",
    ),
    # Held-out test-split results of candidates ("Evaluate on test"), never used by a search.
    (
        """CREATE TABLE test_results (
            run VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL, search VARCHAR NOT NULL,
            accuracy DOUBLE NOT NULL, energy_uj DOUBLE NOT NULL, samples INTEGER NOT NULL,
            artefact VARCHAR NOT NULL, sops DOUBLE NOT NULL, firing_rate DOUBLE NOT NULL,
            params BIGINT NOT NULL, split VARCHAR NOT NULL, worker VARCHAR NOT NULL,
            created_at DOUBLE NOT NULL, PRIMARY KEY (run, candidate_id))""",
    ),
    # Third round: a generation's normalized hypervolume (NULL before it was kept) and silent
    # candidates (a block with firing rate 0), judged for old rows from their firing rates.
    (
        "ALTER TABLE generations ADD COLUMN hypervolume_normalized DOUBLE",
        "ALTER TABLE candidates ADD COLUMN silent BOOLEAN DEFAULT false",
        lambda con: _backfill_silent(con),
    ),
    # When a run ended (set once; archiving never changes it), backfilled for ended runs with the
    # time of their last record (or their last update if that is earlier); and progress points
    # of work in flight (`ProgressRecord`: ETA, per-step training loss, what the workers do).
    (
        "ALTER TABLE runs ADD COLUMN finished_at DOUBLE",
        """UPDATE runs SET finished_at = least(runs.updated_at, coalesce(last.t, runs.updated_at))
           FROM (SELECT r.name, max(x.t) AS t FROM runs AS r LEFT JOIN (
                     SELECT run, created_at AS t FROM events
                     UNION ALL SELECT run, created_at FROM epochs
                     UNION ALL SELECT run, created_at FROM candidates
                     UNION ALL SELECT s.run, g.created_at FROM generations AS g
                               JOIN searches AS s ON g.search = s.id
                 ) AS x ON x.run = r.name GROUP BY r.name) AS last
           WHERE runs.name = last.name AND runs.state IN ('done', 'failed', 'cancelled')""",
        """CREATE TABLE progress (
            run VARCHAR NOT NULL, stage VARCHAR NOT NULL, unit INTEGER NOT NULL,
            done INTEGER NOT NULL, total INTEGER NOT NULL, seconds DOUBLE NOT NULL, loss DOUBLE,
            search VARCHAR NOT NULL, part INTEGER NOT NULL, worker VARCHAR NOT NULL,
            created_at DOUBLE NOT NULL, PRIMARY KEY (run, stage, search, unit, part, done))""",
    ),
    # A run's tags and notes (the runs table; `Store.annotate_run`).
    (
        "ALTER TABLE runs ADD COLUMN tags VARCHAR DEFAULT '[]'",
        "ALTER TABLE runs ADD COLUMN notes VARCHAR DEFAULT ''",
    ),
    # A shared leaderboard's title and notes may be edited later (never its rows): when, if ever.
    ("ALTER TABLE leaderboards ADD COLUMN edited_at DOUBLE",),
    # A generation's predictor tau (Kendall, -1 to 1; NULL when it was not screened, and before
    # searches had a predictor).
    ("ALTER TABLE generations ADD COLUMN predictor_tau DOUBLE",),
]
SCHEMA_VERSION = len(MIGRATIONS)
# Layers whose stored energy (before operation counts were kept) was priced per MAC at 4.6 pJ:
# the first conv and the classifier head (engine.energy's FIRST_CONV and HEAD then); every other
# layer was priced per SOP at 0.9 pJ. Neuron updates were not counted and cannot be recovered.
_OLD_MAC_LAYERS = ("sps.proj_conv.0", "head")
_OLD_PJ_PER_MAC, _OLD_PJ_PER_SOP = 4.6, 0.9


def _backfill_layer_ops(con: duckdb.DuckDBPyConnection) -> None:
    """Per-layer MACs and SOPs of rows stored with a per-layer energy (schema v2 on)."""
    rows = con.execute(
        "SELECT rowid, layer_energy_uj FROM candidates WHERE layer_energy_uj <> '{}'"
    ).fetchall()
    if not rows:
        return
    ids, ops = [], []
    for rid, text in rows:
        layers = json.loads(text)
        macs = {k: v * 1e6 / _OLD_PJ_PER_MAC for k, v in layers.items() if k in _OLD_MAC_LAYERS}
        sops = {k: v * 1e6 / _OLD_PJ_PER_SOP for k, v in layers.items() if k not in macs}
        ids.append(rid)
        ops.append(dump_json({"macs": macs, "sops": sops}))
    table = pa.table({"rid": pa.array(ids, pa.int64()), "layer_ops": pa.array(ops, pa.string())})
    con.register("backfilled_ops", table)
    try:
        con.execute(
            "UPDATE candidates SET layer_ops = b.layer_ops FROM backfilled_ops AS b "
            "WHERE candidates.rowid = b.rid"
        )
    finally:
        con.unregister("backfilled_ops")


def silent_blocks(firing_rates: dict[str, float], depth: int) -> list[int]:
    """`engine.results.silent_blocks`, restated for the upgrade (storage imports nothing of the
    engine; tests/storage/test_store_migration.py checks the two agree): the blocks (from 1)
    whose recorded layers, keyed `blocks.<i>.<layer>`, all have firing rate 0."""
    silent = []
    for block in range(depth):
        prefix = f"blocks.{block}."
        rates = [v for k, v in firing_rates.items() if k.startswith(prefix)]
        if rates and all(v == 0 for v in rates):
            silent.append(block + 1)
    return silent


def _backfill_silent(con: duckdb.DuckDBPyConnection) -> None:
    """Mark the stored candidates with a silent block, and give the rows of shared leaderboards
    their candidate's flag (rows whose run is gone stay without one)."""
    # Only rows with some rate of exactly 0 can have a silent block.
    rows = con.execute(
        "SELECT rowid, firing_rates, arch FROM candidates "
        "WHERE regexp_matches(firing_rates, ':-?0(\\.0*)?([eE][-+]?[0-9]+)?[,}]')"
    ).fetchall()
    ids = []
    for rid, rates, arch in rows:
        depth = json.loads(arch).get("depth")
        if isinstance(depth, int) and silent_blocks(json.loads(rates), depth):
            ids.append(rid)
    if ids:
        con.execute(
            "UPDATE candidates SET silent = true WHERE rowid IN (SELECT unnest($ids))", {"ids": ids}
        )
    boards = con.execute("SELECT id, run, candidates FROM leaderboards").fetchall()
    for board, run, text in boards:
        frozen = json.loads(text)
        found = dict(
            con.execute(
                "SELECT id, silent FROM candidates WHERE run = $run AND first_in_run "
                "AND id IN (SELECT unnest($ids))",
                {"run": run, "ids": [r.get("id") for r in frozen] or [""]},
            ).fetchall()
        )
        for row in frozen:
            if row.get("id") in found and "silent" not in row:
                row["silent"] = bool(found[row["id"]])
        con.execute(
            "UPDATE leaderboards SET candidates = $c WHERE id = $id",
            {"c": dump_json(frozen), "id": board},
        )
