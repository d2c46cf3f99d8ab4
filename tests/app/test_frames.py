"""Frames for the app: loading, the exact front, thinning, box selection and the knee agree with
the store's own ranking."""

from __future__ import annotations

import numpy as np
import pytest

from app.common import frames
from engine.pareto import pareto_front
from storage.errors import UnknownRun, UnknownSearch
from storage.memory_store import MemoryStore


def test_run_scope_counts_each_arch_once_like_rank(filled) -> None:
    points = frames.load_points(filled.store, filled.run)
    ranked = filled.store.rank(filled.run)
    assert sorted(points["id"]) == sorted(r.id for r, _ in ranked)
    assert points["id"].is_unique


def test_search_scope_and_unknown_scopes(filled) -> None:
    points = frames.load_points(filled.store, filled.run, filled.random)
    assert len(points) == 40 and set(points["strategy"]) == {"random"}
    with pytest.raises(UnknownRun):
        frames.load_points(filled.store, "nope")
    with pytest.raises(UnknownSearch):
        frames.load_points(filled.store, filled.run, "nope.search")


def test_memory_store_gives_the_same_frame(filled) -> None:
    memory = MemoryStore()
    memory.create_run(filled.store.get_run(filled.run))
    for search in filled.store.list_searches(filled.run):
        memory.create_search(search)
    memory.add_candidates(filled.store.candidates(filled.run))
    a = frames.load_points(filled.store, filled.run)
    b = frames.load_points(memory, filled.run)
    assert a.equals(b)


def test_front_is_the_exact_pareto_front(filled) -> None:
    points = frames.load_points(filled.store, filled.run)
    front = frames.front(points)
    idx = pareto_front(points["accuracy"].to_numpy(), points["energy_uj"].to_numpy())
    assert front["id"].tolist() == points.iloc[idx]["id"].tolist()
    assert front["energy_uj"].is_monotonic_increasing


def test_with_fitness_orders_like_store_rank(filled) -> None:
    points = frames.load_points(filled.store, filled.run, filled.evolution)
    ours = frames.with_fitness(points, 0.3)
    theirs = filled.store.rank(filled.run, filled.evolution, 0.3)
    assert ours["id"].tolist() == [r.id for r, _ in theirs]
    assert np.allclose(ours["fitness"], [f for _, f in theirs])


def test_thin_keeps_the_front_exact_and_accounts_for_every_candidate(filled) -> None:
    points = frames.load_points(filled.store, filled.run)
    front = frames.front(points)
    drawn = frames.thin(points, front["id"], max_points=20, bins=(6, 4))
    assert len(drawn) < len(points)
    assert set(front["id"]) <= set(drawn["id"])
    assert int(drawn["count"].sum()) == len(points)
    small = frames.thin(points, (), max_points=1000)
    assert len(small) == len(points) and set(small["count"]) == {1}


def test_in_box_selects_every_candidate_inside(filled) -> None:
    points = frames.load_points(filled.store, filled.run)
    ids = frames.in_box(points, (1.0, 0.2), (0.6, 0.8))
    inside = points[points["energy_uj"].between(0.2, 1.0) & points["accuracy"].between(0.6, 0.8)]
    assert sorted(ids) == sorted(inside["id"]) and ids


def test_knee_winner_matches_store_rank_at_every_alpha(filled) -> None:
    points = frames.load_points(filled.store, filled.run)
    curve = frames.knee(points, steps=11)
    for row in curve.itertuples():
        best, _ = filled.store.rank(filled.run, alpha=row.alpha, top=1)[0]
        assert row.id == best.id
    segments = frames.knee_segments(curve)
    assert segments["alpha_from"].iloc[0] == 0.0 and segments["alpha_to"].iloc[-1] == 1.0
    assert len(segments) == int(curve["changed"].sum()) + 1
    assert set(segments["id"]) <= set(frames.front(points)["id"])


def test_layer_frame_is_in_network_order() -> None:
    layer = frames.layer_frame(
        {"head": 1.0, "blocks.10.mlp": 2.0, "blocks.2.attn": 3.0, "sps.rpe": 4.0}, "energy_uj"
    )
    assert layer["layer"].tolist() == ["sps.rpe", "blocks.2.attn", "blocks.10.mlp", "head"]


def test_block_table_has_one_row_per_block(filled) -> None:
    record = filled.records[filled.evolution][0]
    table = frames.block_table(record.arch)
    assert len(table) == record.arch["depth"]
    assert list(table.columns) == ["block", "MLP ratio", "heads", "threshold", "tau"]


# ---- second round: ties, constraints, profiles, coverage, units -------------------------------
def _store_with(records) -> MemoryStore:
    from storage.records import RunRecord, SearchRecord

    store = MemoryStore()
    store.create_run(RunRecord("r"))
    for sid in sorted({r.search for r in records}):
        store.create_search(SearchRecord(sid, "r", sid.split(".")[1]))
    store.add_candidates(records)
    return store


def _cand(id_: str, acc: float, energy: float, search: str = "r.evolution.1", **kw):
    from storage.records import CandidateRecord

    return CandidateRecord("r", search, id_, {"depth": 1, "tag": id_}, acc, energy, **kw)


def test_ties_go_to_the_other_objective_in_the_sweep_and_the_table() -> None:
    """Issue 12: three candidates tie at 29.44%; at alpha 0 the 0.1705 uJ one must win (by id the
    0.8136 uJ one would), and every winner of the sweep lies on the Pareto front."""
    records = [
        _cand("a", 0.2944, 0.8136),
        _cand("b", 0.2944, 0.5651),
        _cand("c", 0.2944, 0.1705),
        _cand("d", 0.10, 0.05),
        _cand("e", 0.25, 0.05),  # ties "d" in energy: at alpha 1 the more accurate one wins
    ]
    store = _store_with(records)
    points = frames.load_points(store, "r")
    curve = frames.knee(points)
    assert curve.iloc[0]["id"] == "c" and curve.iloc[-1]["id"] == "e"
    assert set(curve["id"]) <= set(frames.front(points)["id"])
    for alpha in (0.0, 1.0):
        table = frames.with_fitness(points, alpha)
        assert table["id"].tolist() == [r.id for r, _ in store.rank("r", alpha=alpha)]
    assert frames.with_fitness(points, 0.0)["id"].tolist()[:3] == ["c", "b", "a"]


def test_frames_hold_feasible_candidates_unless_asked() -> None:
    over = {"feasible": False, "violation": "energy_budget"}
    store = _store_with(
        [
            _cand("hi", 0.95, 105.0, **over),
            _cand("big", 0.30, 500.0, **over),
            _cand("edge", 0.70, 100.0),
            _cand("low", 0.50, 10.0),
        ]
    )
    points = frames.load_points(store, "r")
    assert points["id"].tolist() == ["edge", "low"] and points["feasible"].all()
    assert frames.front(points)["id"].tolist() == ["low", "edge"]
    assert frames.knee(points)["id"].isin(["edge", "low"]).all()
    every = frames.load_points(store, "r", include_infeasible=True)
    assert every.set_index("id")["violation"].to_dict() == {
        "big": "energy_budget",
        "edge": "",
        "hi": "energy_budget",
        "low": "",
    }


def test_points_are_priced_under_the_profile(filled) -> None:
    from engine.profiles import PROFILES

    for name, profile in PROFILES.items():
        points = frames.load_points(filled.store, filled.run, profile=profile)
        ranked = filled.store.rank(filled.run, alpha=1.0, profile=profile)
        by_id = {r.id: r.energy_uj for r, _ in ranked}
        assert points.set_index("id")["energy_uj"].to_dict() == pytest.approx(by_id), name
    fp32 = frames.load_points(filled.store, filled.run, profile=PROFILES["45nm-fp32"])
    assert (
        fp32["energy_uj"].tolist()
        == frames.load_points(filled.store, filled.run)["energy_uj"].tolist()
    )


def test_alpha_coverage_of_a_scalarised_search() -> None:
    """An evolution search that only sampled the accurate, costly end covers the alphas where
    its winner is on the run's front: low alphas; at high alphas the random search's cheap
    candidates dominate its winner."""
    evo = [_cand("e1", 0.90, 10.0), _cand("e2", 0.65, 8.0), _cand("e3", 0.60, 9.0)]
    rnd = [
        _cand("r1", 0.50, 1.0, search="r.random.1"),
        _cand("r2", 0.70, 3.0, search="r.random.1"),
    ]
    store = _store_with(evo + rnd)
    run_points = frames.load_points(store, "r")
    mine = frames.load_points(store, "r", "r.evolution.1")
    ranges = frames.alpha_coverage(mine, run_points)
    assert len(ranges) == 1 and ranges[0][0] == 0.0 and ranges[0][1] < 1.0
    # Its winner at alpha 1 is e2 (8 uJ), which r2 (0.70, 3 uJ) dominates.
    curve = frames.knee(mine)
    assert curve.iloc[0]["id"] == "e1" and curve.iloc[-1]["id"] == "e2"
    assert curve[curve["alpha"] > ranges[0][1]]["id"].eq("e2").all()
    assert frames.format_ranges(ranges).startswith("0-")
    alone = frames.alpha_coverage(mine, mine)
    assert alone == [(0.0, 1.0)]
    assert frames.alpha_coverage(mine.iloc[0:0], run_points) == []


def test_energy_units_are_readable() -> None:
    assert frames.format_energy(0.1705) == "170.5 nJ"
    assert frames.format_energy(1.25) == "1.25 µJ"
    assert frames.format_energy(3400.0) == "3.4 mJ"
    assert frames.format_energy(0.0) == "0 µJ"
    assert frames.format_energy(float("nan")) == "-"
    assert frames.energy_unit(0.5) == ("nJ", 1e3)
