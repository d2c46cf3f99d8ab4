"""Upgrading a DuckDB store written before candidates kept feasibility and operation counts:
which old rows get what (see storage/duckdb_store.py's migrations)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from storage.duckdb_schema import MIGRATIONS, SCHEMA_VERSION
from storage.duckdb_store import DuckDBStore
from storage.records import GenerationRecord

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


# ---- third round: silent candidates and the normalized hypervolume -----------------------------
SILENT_STEP = next(
    i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN silent" in str(s) for s in step)
)


def store_before_silent(path: Path) -> None:
    """A store file just before `SILENT_STEP`: candidates with and without a silent block, a
    generation, a leaderboard of the run and one whose run is gone."""
    con = duckdb.connect(str(path))
    for step in MIGRATIONS[:SILENT_STEP]:
        for statement in step:
            statement(con) if callable(statement) else con.execute(statement)
    con.execute("UPDATE schema_version SET version = ?", [SILENT_STEP])
    con.execute(
        "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
        "created_at, updated_at) VALUES ('r1', '', 'digits', '{}', '{}', 'done', 1, '', 1, 1)"
    )
    con.execute(
        "INSERT INTO searches VALUES ('r1.random.1', 'r1', 'random', '{}', 'done', 1, 1, 1)"
    )
    rates = {
        "quiet": {
            "sps.lif": 0.2,
            "blocks.0.attn.lif": 0.1,
            "blocks.1.attn.lif": 0.0,
            "blocks.1.mlp.lif": 0,
        },  # fmt: skip
        "busy": {
            "sps.lif": 0.2,
            "blocks.0.attn.lif": 0.05,
            "blocks.1.mlp.lif": 0.0,
            "blocks.1.attn.lif": 0.3,
        },  # fmt: skip
        "unknown": {},
    }
    for cid, layer_rates in rates.items():
        con.execute(
            "INSERT INTO candidates (search, id, run, arch, accuracy, energy_uj, params, sops, "
            "firing_rate, firing_rates, generation, strategy, created_at, first_in_run) VALUES "
            "('r1.random.1', ?, 'r1', '{\"depth\": 2}', 0.5, 1.0, 10, 1.0, 0.1, ?, 0, 'random', 1, "
            "true)",
            [cid, json.dumps(layer_rates, separators=(",", ":"))],
        )
    con.execute("INSERT INTO generations VALUES ('r1.random.1', 0, 0.4, 'busy', 0.5, 3, 1)")
    for board, run in (("b1", "r1"), ("b2", "gone")):
        rows = json.dumps([{"id": "quiet"}, {"id": "busy"}])
        con.execute(
            "INSERT INTO leaderboards VALUES (?, ?, NULL, 0.5, 2, ?, '45nm-fp32', '', '', '', 1)",
            [board, run, rows],
        )
    con.close()


@pytest.fixture
def upgraded_silent(tmp_path: Path) -> DuckDBStore:
    path = tmp_path / "store.duckdb"
    store_before_silent(path)
    return DuckDBStore(path)


def test_old_candidates_are_judged_silent_from_their_firing_rates(upgraded_silent) -> None:
    flags = {c.id: c.silent for c in upgraded_silent.candidates("r1")}
    assert flags == {"quiet": True, "busy": False, "unknown": False}
    ranked = upgraded_silent.rank("r1", alpha=0.5, silent_last=True)
    assert ranked[-1][0].id == "quiet"


def test_old_generations_have_no_normalized_hypervolume(upgraded_silent) -> None:
    (generation,) = upgraded_silent.generations("r1.random.1")
    assert (generation.hypervolume, generation.hypervolume_normalized) == (0.4, None)


def test_old_leaderboard_rows_get_their_candidates_flag(upgraded_silent) -> None:
    rows = upgraded_silent.get_leaderboard("b1").to_contract()["candidates"]
    assert [(r["id"], r["silent"]) for r in rows] == [("quiet", True), ("busy", False)]
    gone = upgraded_silent.get_leaderboard("b2").to_contract()["candidates"]
    assert [r["silent"] for r in gone] == [None, None]  # its run was gone: not known


@pytest.mark.parametrize(
    "rates",
    [
        {},
        {"blocks.0.a": 0.0},
        {"blocks.0.a": 0.0, "blocks.0.b": 0.1},
        {"blocks.1.a": 0, "blocks.10.a": 0.5},
        {"blocks.0.a": 0.0, "blocks.1.a": 0.0, "sps.a": 0.0},
        {"blocks.2.a": 0.0},
    ],
)
def test_the_upgrade_judges_silence_as_the_engine_does(rates: dict) -> None:
    from engine.results import silent_blocks as engine_silent_blocks
    from storage.duckdb_schema import silent_blocks

    assert silent_blocks(rates, 2) == engine_silent_blocks(rates, 2)


# The migration that adds `runs.finished_at` (and the progress table).
FINISH_STEP = next(
    i for i, step in enumerate(MIGRATIONS) if any("finished_at DOUBLE" in str(s) for s in step)
)


def test_ended_runs_get_the_time_of_their_last_record_not_of_their_archiving(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    for step in MIGRATIONS[:FINISH_STEP]:
        for statement in step:
            if isinstance(statement, str):
                con.execute(statement)
            else:
                statement(con)
    con.execute("UPDATE schema_version SET version = ?", [FINISH_STEP])
    runs = [  # name, state, created, updated (archived at 509: the archive time), archived
        ("archived", "done", 100.0, 509.0, True),
        ("plain", "failed", 100.0, 200.0, False),
        ("bare", "cancelled", 100.0, 150.0, False),
        ("live", "searching", 100.0, 300.0, False),
    ]
    for name, state, created, updated, archived in runs:
        con.execute(
            "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
            "created_at, updated_at, archived) VALUES (?, '', 'digits', '{}', '{}', ?, 1, '', "
            "?, ?, ?)",
            [name, state, created, updated, archived],
        )
    con.execute("INSERT INTO searches VALUES ('archived.s', 'archived', 'evolution', '{}', "
                "'done', 2, 110, 509)")  # fmt: skip
    con.execute(
        "INSERT INTO generations (search, generation, hypervolume, best_id, best_fitness, "
        "evaluated, created_at) VALUES ('archived.s', 1, 1.0, NULL, NULL, 4, 380)"
    )
    con.execute(
        "INSERT INTO events VALUES ('archived', 'stage:search-finished', 'info', 'x', '', 385)"
    )
    con.execute("INSERT INTO epochs VALUES ('plain', 1, 1.0, NULL, NULL, 5.0, '', 190)")
    con.execute("INSERT INTO events VALUES ('plain', 'late', 'worker_lost', 'x', '', 260)")
    con.close()
    store = DuckDBStore(path)
    ended = {r.name: r.finished_at for r in store.list_runs()}
    # Its last record, not the archive time; never after the run's last update; the last update
    # for a run with no records; nothing for an active run.
    assert ended == {"archived": 385.0, "plain": 200.0, "bare": 150.0, "live": None}
    assert store.progress("archived") == []


def test_runs_stored_before_tags_get_none_and_empty_notes(tmp_path: Path) -> None:
    step = next(
        i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN tags" in str(s) for s in step)
    )
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    for migration in MIGRATIONS[:step]:
        for statement in migration:
            statement(con) if callable(statement) else con.execute(statement)
    con.execute("UPDATE schema_version SET version = ?", [step])
    con.execute(
        "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
        "created_at, updated_at) VALUES ('r1', '', 'digits', '{}', '{}', 'done', 1, '', 1, 2)"
    )
    con.close()
    store = DuckDBStore(path)
    record = store.get_run("r1")
    assert (record.tags, record.notes, record.updated_at) == ([], "", 2.0)
    assert store.annotate_run("r1", tags=["old"]).tags == ["old"]
    assert DuckDBStore(path).get_run("r1").tags == ["old"]


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


def test_generations_recorded_before_the_predictor_read_no_tau(tmp_path: Path) -> None:
    """A file at the schema just before `predictor_tau` existed: its generations open with
    none, and new ones keep theirs."""
    step = next(
        i for i, s in enumerate(MIGRATIONS) if any("ADD COLUMN predictor_tau" in str(x) for x in s)
    )
    assert step == len(MIGRATIONS) - 1  # appended: older files upgrade through every earlier one
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    for migration in MIGRATIONS[:step]:
        for statement in migration:
            statement(con) if callable(statement) else con.execute(statement)
    con.execute("UPDATE schema_version SET version = ?", [step])
    con.execute(
        "INSERT INTO runs (name, owner, dataset, space, settings, state, progress, message, "
        "created_at, updated_at) VALUES ('r1', '', 'digits', '{}', '{}', 'done', 1, '', 1, 1)"
    )
    con.execute("INSERT INTO searches VALUES ('r1.evolution.1', 'r1', 'evolution', '{}', 'done', "
                "1, 1, 1)")  # fmt: skip
    con.execute(
        "INSERT INTO generations (search, generation, hypervolume, best_id, best_fitness, "
        "evaluated, created_at, hypervolume_normalized) "
        "VALUES ('r1.evolution.1', 0, 0.4, NULL, NULL, 4, 2, 0.3)"
    )
    con.close()
    store = DuckDBStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    (old,) = store.generations("r1.evolution.1")
    assert (old.hypervolume_normalized, old.predictor_tau) == (0.3, None)
    store.add_generation(GenerationRecord("r1.evolution.1", 1, predictor_tau=0.5))
    assert [g.predictor_tau for g in DuckDBStore(path).generations("r1.evolution.1")] == [None, 0.5]
