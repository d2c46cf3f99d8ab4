"""Upgrading a DuckDB store written before candidates kept feasibility and operation counts:
which old rows get what (see storage/duckdb_store.py's migrations)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from storage.duckdb_schema import MIGRATIONS, SCHEMA_VERSION
from storage.duckdb_store import DuckDBStore

# The first migration that adds feasibility and operation counts; older files lack them.
OPS_STEP = next(
    i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN feasible" in str(s) for s in step)
)
OLD_COLUMNS = (
    "search, id, run, arch, accuracy, energy_uj, params, sops, firing_rate, firing_rates, "
    "generation, strategy, created_at, layer_energy_uj, worker, first_in_run"
)


def old_store(path: Path) -> None:
    """A store file at the schema just before `OPS_STEP`, with a budgeted and a free search."""
    con = duckdb.connect(str(path))
    for step in MIGRATIONS[:OPS_STEP]:
        for statement in step:
            con.execute(statement)
    con.execute("UPDATE schema_version SET version = ?", [OPS_STEP])
    con.execute(
        "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
        "created_at, updated_at) VALUES ('r1', '', 'digits', '{}', '{}', 'done', 1, '', 1, 1)"
    )
    for sid, settings in (
        ("r1.evolution.1", {"energy_budget_uj": 100.0, "param_limit": 5000}),
        ("r1.random.1", {"energy_budget_uj": None}),
    ):
        con.execute(
            "INSERT INTO searches VALUES (?, 'r1', 'evolution', ?, 'done', 1, 1, 1)",
            [sid, json.dumps(settings)],
        )
    rows = [
        # id, search, accuracy, (MACs, SOPs) at Eq. 3's 4.6 / 0.9 pJ, params, per-layer energy
        ("a", "r1.evolution.1", 0.95, (10e6, 66.5e6), 1000, True),  # 105.85 uJ: over budget
        ("b", "r1.evolution.1", 0.70, (10e6, 20e6), 9000, True),  # 64 uJ, over the param limit
        ("c", "r1.evolution.1", 0.50, (1e6, 5e6), 1000, False),  # 9.1 uJ, no per-layer energy
        ("a", "r1.random.1", 0.95, (10e6, 66.5e6), 1000, True),  # no budget there
    ]
    for cid, sid, acc, (macs, sops), params, layered in rows:
        energy = (4.6 * macs + 0.9 * sops) / 1e6
        layers = (
            {"sps.proj_conv.0": 4.6 * macs * 0.9 / 1e6, "head": 4.6 * macs * 0.1 / 1e6}
            | {"blocks.0.mlp.fc1_linear": 0.9 * sops / 1e6}
            if layered
            else {}
        )
        con.execute(
            f"INSERT INTO candidates ({OLD_COLUMNS}) VALUES "
            "(?, ?, 'r1', '{\"depth\": 1}', ?, ?, ?, ?, 0.1, '{}', 0, 'evolution', 1, ?, '', ?)",
            [sid, cid, acc, energy, params, sops, json.dumps(layers), sid == "r1.evolution.1"],
        )
    con.close()


@pytest.fixture
def upgraded(tmp_path: Path) -> DuckDBStore:
    path = tmp_path / "store.duckdb"
    old_store(path)
    store = DuckDBStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    return store


def test_old_rows_are_marked_from_their_search_settings(upgraded: DuckDBStore) -> None:
    marks = {(c.search, c.id): (c.feasible, c.violation) for c in upgraded.candidates("r1")}
    assert marks == {
        ("r1.evolution.1", "a"): (False, "energy_budget"),
        ("r1.evolution.1", "b"): (False, "param_limit"),
        ("r1.evolution.1", "c"): (True, ""),
        ("r1.random.1", "a"): (True, ""),
    }
    assert [c.id for c, _ in upgraded.rank("r1", "r1.evolution.1")] == ["c"]


def test_old_rows_get_their_macs_and_per_layer_counts_back(upgraded: DuckDBStore) -> None:
    a = upgraded.get_candidate("r1", "a", "r1.evolution.1")
    assert a.macs == 10e6 and a.sops == 66.5e6
    assert a.neuron_updates is None  # never counted: cannot be recovered
    assert a.energy_profile == "45nm-fp32"
    assert a.layer_ops["macs"] == pytest.approx({"sps.proj_conv.0": 9e6, "head": 1e6})
    assert a.layer_ops["sops"] == pytest.approx({"blocks.0.mlp.fc1_linear": 66.5e6})
    assert "neuron_updates" not in a.layer_ops
    c = upgraded.get_candidate("r1", "c")
    assert (c.macs, c.layer_ops) == (1e6, {})


def test_old_rows_keep_their_figures_and_reprice_where_they_can(upgraded: DuckDBStore) -> None:
    from engine.profiles import PROFILES

    stored = {c.id: c.energy_uj for c in upgraded.candidates("r1", "r1.random.1")}
    fp32 = upgraded.rank("r1", "r1.random.1", profile=PROFILES["45nm-fp32"])
    assert {c.id: c.energy_uj for c, _ in fp32} == stored  # unchanged figures
    int8 = upgraded.rank("r1", "r1.random.1", profile=PROFILES["45nm-int8"])
    assert int8[0][0].energy_uj == pytest.approx((10e6 * 0.23 + 66.5e6 * 0.03) * 1e-6)
    # Loihi prices neuron updates, which old rows never counted: they cannot be ranked there.
    assert upgraded.rank("r1", "r1.random.1", profile=PROFILES["loihi-2018"]) == []


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    old_store(path)
    first = DuckDBStore(path).candidates("r1")
    assert DuckDBStore(path).candidates("r1") == first


def test_leaderboards_shared_before_edits_read_as_never_edited(tmp_path: Path) -> None:
    """A file at the schema just before `edited_at` existed: its leaderboards open unedited and
    can be edited afterwards."""
    step = next(
        i for i, s in enumerate(MIGRATIONS) if any("ADD COLUMN edited_at" in str(x) for x in s)
    )
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    for migration in MIGRATIONS[:step]:
        for statement in migration:
            if callable(statement):
                statement(con)
            else:
                con.execute(statement)
    con.execute("UPDATE schema_version SET version = ?", [step])
    con.execute(
        "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
        "created_at, updated_at) VALUES ('r1', '', 'digits', '{}', '{}', 'done', 1, '', 1, 1)"
    )
    con.execute(
        "INSERT INTO leaderboards VALUES ('b1', 'r1', NULL, 0.5, 1, '[{\"id\": \"a\"}]', "
        "'45nm-fp32', 'old', '', '', 5)"
    )
    con.close()
    store = DuckDBStore(path)
    board = store.get_leaderboard("b1")
    assert (board.title, board.edited_at, board.candidates) == ("old", None, [{"id": "a"}])
    edited = store.edit_leaderboard("b1", title="new")
    assert store.get_leaderboard("b1") == edited and edited.edited_at is not None
