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
    # A shared leaderboard's title and notes may be edited later (never its rows): when, if ever.
    ("ALTER TABLE leaderboards ADD COLUMN edited_at DOUBLE",),
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
