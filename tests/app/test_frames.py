"""Frames for the app: loading, the exact front, thinning, box selection and the knee agree with
the store's own ranking."""

from __future__ import annotations

import numpy as np
import pytest

from app import frames
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
