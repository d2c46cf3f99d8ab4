"""The `Store` contract (storage/base.py), run against every backend."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from storage.base import RunSummary, Store
from storage.duckdb_store import DuckDBStore
from storage.errors import (
    BadArgument,
    BadRecord,
    DuplicateLeaderboard,
    DuplicateRun,
    DuplicateSearch,
    StoreError,
    UnknownCandidate,
    UnknownLeaderboard,
    UnknownRun,
    UnknownSearch,
)
from storage.memory_store import MemoryStore
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    GenerationRecord,
    LeaderboardRecord,
    RunRecord,
    SearchRecord,
)

BACKENDS = ("memory", "duckdb")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend: Store = (
        MemoryStore() if request.param == "memory" else DuckDBStore(tmp_path / "store.duckdb")
    )
    yield backend
    backend.close()


def run(name: str = "r1", t: float = 100.0, **kw) -> RunRecord:
    return RunRecord(
        name, owner="ana", dataset="digits", space={"depth": [2, 3]}, created_at=t, **kw
    )


def search(id_: str = "s1", run_: str = "r1", t: float = 200.0) -> SearchRecord:
    return SearchRecord(id_, run_, "evolution", settings={"population": 8}, created_at=t)


def cand(
    id_: str, acc: float, energy: float, *, search_: str = "s1", run_: str = "r1", gen: int = 0
) -> CandidateRecord:
    return CandidateRecord(
        run_,
        search_,
        id_,
        {"embed_dim": 192, "depth": 2, "mlp_ratios": [4, 3.5], "tag": id_},
        accuracy=acc,
        energy_uj=energy,
        params=1000,
        sops=2.5e6,
        firing_rate=0.12,
        firing_rates={"block0.lif": 0.1, "block1.lif": 0.14},
        layer_energy_uj={"block0": energy / 2, "block1": energy / 2},
        generation=gen,
        strategy="evolution",
        worker="w1",
        created_at=300.0,
    )


@pytest.fixture
def seeded(store: Store) -> Store:
    """Run r1 with search s1: four candidates spanning accuracy 0.5..0.9 and energy 10..40 uJ."""
    store.create_run(run())
    store.create_search(search())
    store.add_candidates(
        [cand("a", 0.5, 10.0), cand("b", 0.7, 20.0), cand("c", 0.9, 40.0), cand("d", 0.6, 30.0)]
    )
    return store


# ---- runs -------------------------------------------------------------------------------------
def test_create_run_round_trips(store: Store) -> None:
    record = run(settings={"epochs": 3, "lr": 1e-3}, message="hello")
    assert store.create_run(record) == record
    assert store.get_run("r1") == record


def test_create_run_twice_raises_duplicate_and_keeps_the_first(store: Store) -> None:
    store.create_run(run())
    with pytest.raises(DuplicateRun, match="r1"):
        store.create_run(RunRecord("r1", dataset="other"))
    assert store.get_run("r1").dataset == "digits"


def test_get_run_unknown_raises(store: Store) -> None:
    with pytest.raises(UnknownRun, match="nope"):
        store.get_run("nope")


def test_list_runs_oldest_first(store: Store) -> None:
    store.create_run(run("late", t=30.0))
    store.create_run(run("early", t=10.0))
    store.create_run(run("b-mid", t=20.0))
    assert [r.name for r in store.list_runs()] == ["early", "b-mid", "late"]


def test_list_runs_empty(store: Store) -> None:
    assert store.list_runs() == []


def test_update_run_sets_only_given_fields(store: Store) -> None:
    store.create_run(run())
    new = store.update_run("r1", state="training", progress=0.25, message="epoch 1")
    assert (new.state, new.progress, new.message) == ("training", 0.25, "epoch 1")
    assert new.settings == {} and new.dataset == "digits"
    assert new.updated_at > new.created_at
    assert store.get_run("r1") == new


def test_update_run_replaces_settings(store: Store) -> None:
    store.create_run(run(settings={"a": 1}))
    assert store.update_run("r1", settings={"b": [1, 2]}).settings == {"b": [1, 2]}
    assert store.get_run("r1").settings == {"b": [1, 2]}


def test_update_run_without_fields_returns_it_unchanged(store: Store) -> None:
    store.create_run(run())
    assert store.update_run("r1") == store.get_run("r1") == run()


@pytest.mark.parametrize(
    "change",
    [{"state": "flying"}, {"progress": 1.5}, {"progress": float("nan")}, {"settings": [1]}],
    ids=["state", "progress>1", "progress-nan", "settings-list"],
)
def test_update_run_bad_value_raises_and_changes_nothing(store: Store, change: dict) -> None:
    store.create_run(run())
    with pytest.raises(BadRecord):
        store.update_run("r1", **change)
    assert store.get_run("r1") == run()


def test_update_run_unknown_raises(store: Store) -> None:
    with pytest.raises(UnknownRun):
        store.update_run("ghost", state="done")


def test_annotate_run_sets_tags_and_notes_and_keeps_updated_at(store: Store) -> None:
    store.create_run(run(tags=["baseline"]))
    new = store.annotate_run("r1", tags=[" int8 ", "cifar", "int8"], notes="first try")
    assert (new.tags, new.notes) == (["int8", "cifar"], "first try")  # stripped, no repeats
    assert new.updated_at == run().updated_at  # what people write is not the run's progress
    assert store.get_run("r1") == new
    assert store.annotate_run("r1", notes="").tags == ["int8", "cifar"]  # None leaves tags
    assert store.annotate_run("r1", tags=()).tags == []
    assert store.annotate_run("r1") == store.get_run("r1") == replace(new, tags=[], notes="")


def test_annotate_run_unknown_raises(store: Store) -> None:
    with pytest.raises(UnknownRun, match="ghost"):
        store.annotate_run("ghost", tags=["a"])


@pytest.mark.parametrize(
    "change",
    [
        {"tags": ["x" * 41]},
        {"tags": ["ok", 3]},
        {"tags": "ok"},
        {"tags": [""]},
        {"tags": ["a,b"]},
        {"tags": ["line\nbreak"]},
        {"tags": [f"t{i}" for i in range(21)]},
        {"notes": "n" * 5001},
        {"notes": 7},
    ],
    ids=["long-tag", "non-str-tag", "str", "empty", "comma", "newline", "21-tags", "long", "num"],
)
def test_annotate_run_bad_input_raises_one_line_and_changes_nothing(
    store: Store, change: dict
) -> None:
    store.create_run(run(tags=["kept"], notes="kept"))
    with pytest.raises(BadRecord) as err:
        store.annotate_run("r1", **{"tags": ["fine"], "notes": "fine", **change})
    assert "\n" not in str(err.value) and len(str(err.value)) < 200
    assert store.get_run("r1") == run(tags=["kept"], notes="kept")


def test_create_run_rejects_a_non_record(store: Store) -> None:
    with pytest.raises(BadRecord):
        store.create_run({"name": "r1"})  # type: ignore[arg-type]
    assert store.list_runs() == []


# ---- searches ---------------------------------------------------------------------------------
def test_create_search_round_trips_and_lists_oldest_first(store: Store) -> None:
    store.create_run(run())
    store.create_search(search("s2", t=300.0))
    store.create_search(search("s1", t=200.0))
    assert store.get_search("s2") == search("s2", t=300.0)
    assert [s.id for s in store.list_searches("r1")] == ["s1", "s2"]


def test_list_searches_only_of_that_run(store: Store) -> None:
    store.create_run(run("r1"))
    store.create_run(run("r2"))
    store.create_search(search("s1", "r1"))
    store.create_search(search("s2", "r2"))
    assert [s.id for s in store.list_searches("r2")] == ["s2"]


def test_create_search_of_unknown_run_raises_and_stores_nothing(store: Store) -> None:
    with pytest.raises(UnknownRun):
        store.create_search(search("s1", "ghost"))
    with pytest.raises(UnknownSearch):
        store.get_search("s1")


def test_create_search_twice_raises_duplicate(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    with pytest.raises(DuplicateSearch):
        store.create_search(SearchRecord("s1", "r1", "random"))
    assert store.get_search("s1").strategy == "evolution"


def test_get_search_unknown_raises(store: Store) -> None:
    with pytest.raises(UnknownSearch):
        store.get_search("nope")


def test_list_searches_of_unknown_run_raises(store: Store) -> None:
    with pytest.raises(UnknownRun):
        store.list_searches("ghost")


def test_update_search_sets_state_and_generation(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    new = store.update_search("s1", state="searching", generation=3)
    assert (new.state, new.generation) == ("searching", 3)
    assert store.get_search("s1") == new


def test_update_search_bad_value_changes_nothing(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    with pytest.raises(BadRecord):
        store.update_search("s1", state="training")  # a run state, not a search state
    with pytest.raises(BadRecord):
        store.update_search("s1", generation=-1)
    assert store.get_search("s1") == search()


def test_update_search_unknown_raises(store: Store) -> None:
    with pytest.raises(UnknownSearch):
        store.update_search("nope", state="done")


# ---- candidates -------------------------------------------------------------------------------
def test_add_candidates_returns_new_count_and_round_trips(seeded: Store) -> None:
    got = {c.id: c for c in seeded.candidates("r1")}
    assert got["b"] == cand("b", 0.7, 20.0)
    assert len(got) == 4


def test_add_candidates_is_idempotent(seeded: Store) -> None:
    again = [cand("a", 0.5, 10.0), cand("b", 0.7, 20.0)]
    assert seeded.add_candidates(again) == 0
    assert seeded.count_candidates("r1") == 4


def test_add_candidates_first_write_wins(seeded: Store) -> None:
    assert seeded.add_candidates([cand("a", 0.99, 99.0)]) == 0
    assert seeded.get_candidate("r1", "a").accuracy == 0.5


def test_add_candidates_counts_only_new_keys(seeded: Store) -> None:
    batch = [cand("a", 0.5, 10.0), cand("e", 0.8, 5.0), cand("e", 0.8, 5.0), cand("f", 0.1, 1.0)]
    assert seeded.add_candidates(batch) == 2
    ids = [c.id for c in seeded.candidates("r1")]
    assert sorted(ids) == ["a", "b", "c", "d", "e", "f"]


def test_add_candidates_empty_batch(seeded: Store) -> None:
    assert seeded.add_candidates([]) == 0


def test_same_id_in_two_searches_is_two_records(seeded: Store) -> None:
    seeded.create_search(search("s2", t=250.0))
    assert seeded.add_candidates([cand("a", 0.5, 10.0, search_="s2")]) == 1
    assert seeded.count_candidates("r1") == 5
    assert seeded.count_candidates("r1", "s2") == 1


def test_add_candidates_unknown_search_stores_none_of_the_batch(seeded: Store) -> None:
    with pytest.raises(UnknownSearch, match="ghost"):
        seeded.add_candidates([cand("x", 0.5, 1.0), cand("y", 0.5, 1.0, search_="ghost")])
    assert seeded.count_candidates("r1") == 4


def test_add_candidates_run_mismatch_stores_none_of_the_batch(seeded: Store) -> None:
    seeded.create_run(run("r2"))
    with pytest.raises(BadRecord, match="r2"):
        seeded.add_candidates([cand("x", 0.5, 1.0), cand("y", 0.5, 1.0, run_="r2")])
    assert seeded.count_candidates("r1") == 4
    assert seeded.count_candidates("r2") == 0


def test_add_candidates_non_record_stores_none_of_the_batch(seeded: Store) -> None:
    with pytest.raises(BadRecord):
        seeded.add_candidates([cand("x", 0.5, 1.0), {"id": "y"}])  # type: ignore[list-item]
    assert seeded.count_candidates("r1") == 4


def test_candidates_of_one_search(seeded: Store) -> None:
    seeded.create_search(search("s2", t=250.0))
    seeded.add_candidates([cand("z", 0.5, 1.0, search_="s2")])
    assert [c.id for c in seeded.candidates("r1", "s2")] == ["z"]
    assert len(seeded.candidates("r1")) == 5


def test_candidates_fixed_order(seeded: Store) -> None:
    seeded.add_candidates([cand("e", 0.5, 1.0, gen=1), cand("0", 0.5, 1.0, gen=1)])
    assert [c.id for c in seeded.candidates("r1")] == ["a", "b", "c", "d", "0", "e"]


def test_candidates_unknown_run_raises(store: Store) -> None:
    with pytest.raises(UnknownRun):
        store.candidates("ghost")


def test_candidates_search_of_another_run_raises(seeded: Store) -> None:
    seeded.create_run(run("r2"))
    with pytest.raises(UnknownSearch):
        seeded.candidates("r2", "s1")
    with pytest.raises(UnknownSearch):
        seeded.count_candidates("r1", "ghost")


def test_count_candidates(seeded: Store) -> None:
    assert seeded.count_candidates("r1") == 4
    assert seeded.count_candidates("r1", "s1") == 4


def test_get_candidate_by_search_and_by_run(seeded: Store) -> None:
    assert seeded.get_candidate("r1", "c", "s1") == cand("c", 0.9, 40.0)
    assert seeded.get_candidate("r1", "c") == cand("c", 0.9, 40.0)


def test_get_candidate_in_run_scope_is_the_first_stored(seeded: Store) -> None:
    seeded.create_search(search("s2", t=250.0))
    seeded.add_candidates([cand("a", 0.55, 11.0, search_="s2")])
    assert seeded.get_candidate("r1", "a").search == "s1"
    assert seeded.get_candidate("r1", "a", "s2").accuracy == 0.55


def test_get_candidate_unknown_raises(seeded: Store) -> None:
    with pytest.raises(UnknownCandidate, match="zz"):
        seeded.get_candidate("r1", "zz")
    seeded.create_search(search("s2", t=250.0))
    with pytest.raises(UnknownCandidate):
        seeded.get_candidate("r1", "a", "s2")


def test_get_candidate_unknown_run_or_search_raises(seeded: Store) -> None:
    with pytest.raises(UnknownRun):
        seeded.get_candidate("ghost", "a")
    with pytest.raises(UnknownSearch):
        seeded.get_candidate("r1", "a", "ghost")


def test_stored_records_are_not_aliased(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    record = cand("a", 0.5, 1.0)
    store.add_candidates([record])
    record.arch["tag"] = "changed"
    store.get_candidate("r1", "a").arch["tag"] = "changed too"
    assert store.get_candidate("r1", "a").arch["tag"] == "a"


# ---- rank (F_AEB) -----------------------------------------------------------------------------
def test_rank_alpha_0_is_most_accurate_first(seeded: Store) -> None:
    assert [c.id for c, _ in seeded.rank("r1", alpha=0.0)] == ["c", "b", "d", "a"]


def test_rank_alpha_1_is_lowest_energy_first(seeded: Store) -> None:
    assert [c.id for c, _ in seeded.rank("r1", alpha=1.0)] == ["a", "b", "d", "c"]


def test_rank_values_follow_eq6(seeded: Store) -> None:
    # accuracy 0.5..0.9, energy 10..40: b has A_scaled 0.5 and E_scaled 1/3.
    got = dict((c.id, f) for c, f in seeded.rank("r1", alpha=0.3))
    assert got["b"] == pytest.approx(0.3 * (1 - 1 / 3) + 0.7 * 0.5)
    assert got["a"] == pytest.approx(0.3 * 1 + 0.7 * 0)
    assert got["c"] == pytest.approx(0.3 * 0 + 0.7 * 1)


def test_rank_default_alpha_is_half(seeded: Store) -> None:
    assert seeded.rank("r1") == seeded.rank("r1", alpha=0.5)


def test_rank_top_limits_after_scaling_over_all(seeded: Store) -> None:
    full = seeded.rank("r1", alpha=0.5)
    assert seeded.rank("r1", alpha=0.5, top=2) == full[:2]
    assert seeded.rank("r1", alpha=0.5, top=99) == full


def test_rank_equal_values_scale_to_zero(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates([cand("a", 0.5, 7.0), cand("b", 0.9, 7.0)])
    got = dict((c.id, f) for c, f in store.rank("r1", alpha=0.4))
    assert got == {"b": pytest.approx(0.4 * 1 + 0.6 * 1), "a": pytest.approx(0.4 * 1 + 0.6 * 0)}


def test_rank_single_candidate_scores_alpha(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates([cand("a", 0.5, 7.0)])
    assert store.rank("r1", alpha=0.25) == [(cand("a", 0.5, 7.0), 0.25)]


def test_rank_ties_broken_by_id(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates([cand(i, 0.5, 5.0) for i in ("m", "b", "z", "a")] + [cand("q", 0.1, 9.0)])
    assert [c.id for c, _ in store.rank("r1", alpha=0.5)] == ["a", "b", "m", "z", "q"]
    assert [c.id for c, _ in store.rank("r1", alpha=0.5, top=2)] == ["a", "b"]


def test_rank_scales_over_the_search_or_the_run(seeded: Store) -> None:
    # s2 holds a narrower range: in its own scope "y" is the most accurate, so A_scaled = 1.
    seeded.create_search(search("s2", t=250.0))
    seeded.add_candidates([cand("x", 0.6, 15.0, search_="s2"), cand("y", 0.8, 25.0, search_="s2")])
    in_search = dict((c.id, f) for c, f in seeded.rank("r1", "s2", alpha=0.0))
    in_run = dict((c.id, f) for c, f in seeded.rank("r1", alpha=0.0))
    assert in_search == {"y": pytest.approx(1.0), "x": pytest.approx(0.0)}
    assert in_run["y"] == pytest.approx((0.8 - 0.5) / (0.9 - 0.5))
    assert in_run["x"] == pytest.approx((0.6 - 0.5) / (0.9 - 0.5))
    assert set(in_run) == {"a", "b", "c", "d", "x", "y"}


def test_rank_run_scope_counts_an_id_once(seeded: Store) -> None:
    seeded.create_search(search("s2", t=250.0))
    seeded.add_candidates([cand("a", 0.95, 1.0, search_="s2"), cand("e", 0.7, 25.0, search_="s2")])
    ranked = seeded.rank("r1", alpha=0.0)
    assert sorted(c.id for c, _ in ranked) == ["a", "b", "c", "d", "e"]
    record_a = next(c for c, _ in ranked if c.id == "a")
    assert (record_a.search, record_a.accuracy) == ("s1", 0.5)
    assert [c.id for c, _ in seeded.rank("r1", "s2", alpha=0.0)] == ["a", "e"]


def test_rank_empty_run(store: Store) -> None:
    store.create_run(run())
    assert store.rank("r1") == []


def test_rank_returns_records_and_float_fitness(seeded: Store) -> None:
    for record, fitness in seeded.rank("r1"):
        assert isinstance(record, CandidateRecord)
        assert isinstance(fitness, float) and 0.0 <= fitness <= 1.0


def test_rank_unknown_run_or_search_raises(seeded: Store) -> None:
    with pytest.raises(UnknownRun):
        seeded.rank("ghost")
    with pytest.raises(UnknownSearch):
        seeded.rank("r1", "ghost")


@pytest.mark.parametrize(
    "alpha",
    [-0.1, 1.0001, float("nan"), float("inf"), "0.5", None, True, [0.5]],
    ids=["negative", "above-1", "nan", "inf", "string", "none", "bool", "list"],
)
def test_rank_bad_alpha_raises_one_line(seeded: Store, alpha: object) -> None:
    with pytest.raises(BadArgument, match="alpha") as err:
        seeded.rank("r1", alpha=alpha)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert isinstance(err.value, StoreError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "top",
    [0, -3, 1.5, "2", True, 100_001, 10**20],
    ids=["zero", "neg", "float", "str", "bool", "over-max", "over-bigint"],
)
def test_rank_bad_top_raises(seeded: Store, top: object) -> None:
    with pytest.raises(BadArgument, match="top"):
        seeded.rank("r1", top=top)  # type: ignore[arg-type]


def test_rank_accepts_integer_alpha(seeded: Store) -> None:
    assert seeded.rank("r1", alpha=1) == seeded.rank("r1", alpha=1.0)


def test_to_contract_has_exactly_the_candidate_keys(seeded: Store) -> None:
    record, fitness = seeded.rank("r1", top=1)[0]
    out = record.to_contract(fitness)
    assert set(out) == {
        "id",
        "arch",
        "accuracy",
        "energy_uj",
        "params",
        "firing_rate",
        "fitness",
        "generation",
        "feasible",
        "ops",
        "silent",
    }
    assert out["fitness"] == fitness and math.isfinite(out["fitness"])
    assert out["silent"] is False
    assert out["feasible"] is True
    assert set(out["ops"]) == {"macs", "sops", "neuron_updates"}


# ---- generations ------------------------------------------------------------------------------
def test_generations_round_trip_in_order(seeded: Store) -> None:
    g1 = GenerationRecord("s1", 1, hypervolume=0.4, best_id="b", best_fitness=0.7, evaluated=8)
    g0 = GenerationRecord("s1", 0, hypervolume=0.2, best_id=None, best_fitness=None, evaluated=4)
    assert seeded.add_generation(g1) is True
    assert seeded.add_generation(g0) is True
    assert seeded.generations("s1") == [g0, g1]


def test_add_generation_is_idempotent(seeded: Store) -> None:
    first = GenerationRecord("s1", 0, hypervolume=0.2, evaluated=4)
    seeded.add_generation(first)
    assert seeded.add_generation(GenerationRecord("s1", 0, hypervolume=0.9)) is False
    assert seeded.generations("s1") == [first]


def test_generations_keep_their_normalized_hypervolume(seeded: Store) -> None:
    g0 = GenerationRecord("s1", 0, hypervolume=0.2, evaluated=4, hypervolume_normalized=0.31)
    old = GenerationRecord("s1", 1, hypervolume=0.3, evaluated=8)  # recorded before it was kept
    seeded.add_generation(g0)
    seeded.add_generation(old)
    assert [g.hypervolume_normalized for g in seeded.generations("s1")] == [0.31, None]


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, "0.3", True])
def test_a_normalized_hypervolume_outside_0_1_is_refused(value: object) -> None:
    with pytest.raises(BadRecord, match="hypervolume_normalized"):
        GenerationRecord("s1", 0, hypervolume_normalized=value)  # type: ignore[arg-type]


def test_generations_keep_their_predictor_tau(seeded: Store) -> None:
    """Kendall's tau of the search's predictor on the generation (None: not screened); also
    through an op list, as the workers record it."""
    from storage.ops import AddGeneration

    seeded.add_generation(GenerationRecord("s1", 0, hypervolume=0.2, evaluated=4))
    seeded.add_generation(GenerationRecord("s1", 1, hypervolume=0.3, predictor_tau=-0.25))
    seeded.apply([AddGeneration(GenerationRecord("s1", 2, predictor_tau=1.0))])
    assert [g.predictor_tau for g in seeded.generations("s1")] == [None, -0.25, 1.0]


@pytest.mark.parametrize("value", [-1.5, 1.01, math.nan, math.inf, "0.3", True])
def test_a_predictor_tau_outside_minus_1_1_is_refused(value: object) -> None:
    with pytest.raises(BadRecord, match="predictor_tau"):
        GenerationRecord("s1", 0, predictor_tau=value)  # type: ignore[arg-type]


def test_generations_unknown_search_raises(seeded: Store) -> None:
    with pytest.raises(UnknownSearch):
        seeded.add_generation(GenerationRecord("ghost", 0))
    with pytest.raises(UnknownSearch):
        seeded.generations("ghost")


# ---- artefacts --------------------------------------------------------------------------------
def test_artefacts_round_trip_and_filter_by_kind(seeded: Store) -> None:
    sup = ArtefactRecord("r1", "supernet", "runs/r1/checkpoints/last.pt", created_at=1.0)
    sub = ArtefactRecord("r1", "subnet", "runs/r1/exports/c.safetensors", "c", created_at=2.0)
    assert seeded.add_artefact(sub) and seeded.add_artefact(sup)
    assert seeded.artefacts("r1") == [sup, sub]
    assert seeded.artefacts("r1", kind="subnet") == [sub]


def test_add_artefact_is_idempotent(seeded: Store) -> None:
    sup = ArtefactRecord("r1", "supernet", "runs/r1/checkpoints/last.pt", created_at=1.0)
    seeded.add_artefact(sup)
    assert seeded.add_artefact(sup) is False
    assert len(seeded.artefacts("r1")) == 1


def test_add_artefact_unknown_run_or_candidate_stores_nothing(seeded: Store) -> None:
    with pytest.raises(UnknownRun):
        seeded.add_artefact(ArtefactRecord("ghost", "supernet", "runs/ghost/a.pt"))
    with pytest.raises(UnknownCandidate):
        seeded.add_artefact(ArtefactRecord("r1", "subnet", "runs/r1/exports/x.st", "zz"))
    assert seeded.artefacts("r1") == []


def test_artefacts_bad_kind_or_unknown_run_raises(seeded: Store) -> None:
    with pytest.raises(BadArgument):
        seeded.artefacts("r1", kind="model")
    with pytest.raises(UnknownRun):
        seeded.artefacts("ghost")


# ---- the DuckDB file keeps it all ---------------------------------------------------------------
def test_duckdb_store_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    first = DuckDBStore(path)
    first.create_run(run())
    first.create_search(search())
    first.add_candidates([cand("a", 0.5, 1.0)])
    first.close()
    again = DuckDBStore(path)
    assert again.get_run("r1") == run()
    assert again.candidates("r1") == [cand("a", 0.5, 1.0)]


def test_rank_top_cut_inside_a_tie(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    tied = [cand(i, 0.5, 5.0) for i in ("k", "c", "x")]
    store.add_candidates([cand("z", 0.9, 1.0), *tied, cand("q", 0.1, 9.0)])
    assert [c.id for c, _ in store.rank("r1", alpha=0.5, top=2)] == ["z", "c"]
    assert [c.id for c, _ in store.rank("r1", alpha=0.5, top=3)] == ["z", "c", "k"]


# ---- both backends agree on random data ---------------------------------------------------------
def test_backends_rank_random_data_identically(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    stores: list[Store] = [MemoryStore(), DuckDBStore(tmp_path / "store.duckdb")]
    for s in stores:
        s.create_run(run())
        for k in range(3):
            s.create_search(search(f"s{k}", t=200.0 + k))
    # Coarse accuracies and energies make ties; a shared id pool repeats ids across searches.
    batches = [
        [
            replace(
                cand(
                    f"id{rng.integers(0, 150)}",
                    float(rng.integers(0, 20)) / 20,
                    float(rng.integers(1, 30)),
                    search_=f"s{rng.integers(0, 3)}",
                ),
                silent=bool(rng.random() < 0.2),
            )
            for _ in range(40)
        ]
        for _ in range(5)
    ]
    for batch in batches:
        assert stores[0].add_candidates(batch) == stores[1].add_candidates(batch)
    for alpha in (0.0, 0.3, 0.5, 1.0):
        for scope in (None, "s0", "s2"):
            for top in (None, 1, 7, 60):
                for last in (False, True):
                    mem, ddb = (
                        s.rank("r1", scope, alpha=alpha, top=top, silent_last=last) for s in stores
                    )
                    assert [c for c, _ in mem] == [c for c, _ in ddb]
                    assert [f for _, f in mem] == pytest.approx([f for _, f in ddb], abs=1e-12)


def test_candidates_one_per_id_is_the_ranked_set(seeded: Store) -> None:
    # s0 sorts before s1 but is stored later: the run keeps s1's record of "a".
    seeded.create_search(search("s0", t=250.0))
    seeded.add_candidates([cand("a", 0.95, 1.0, search_="s0"), cand("e", 0.7, 25.0, search_="s0")])
    records = seeded.candidates("r1", one_per_id=True)
    assert sorted((c.id, c.search) for c in records) == [
        ("a", "s1"),
        ("b", "s1"),
        ("c", "s1"),
        ("d", "s1"),
        ("e", "s0"),
    ]
    assert sorted(c.key for c in records) == sorted(c.key for c, _ in seeded.rank("r1"))
    assert len(seeded.candidates("r1", "s0", one_per_id=True)) == 2


# ---- F_AEB ties are broken by the other objective (second round) --------------------------------
def test_rank_ties_at_alpha_0_go_to_the_lowest_energy(store: Store) -> None:
    """Three candidates tie at 29.44% (issue 12): by id the 0.8136 uJ one would win, off the
    Pareto front; the 0.1705 uJ one dominates it and must win at alpha 0."""
    store.create_run(run())
    store.create_search(search())
    tied = [cand("a", 0.2944, 0.8136), cand("b", 0.2944, 0.5651), cand("c", 0.2944, 0.1705)]
    store.add_candidates([*tied, cand("d", 0.10, 0.05), cand("e", 0.20, 0.30)])
    assert [c.id for c, _ in store.rank("r1", alpha=0.0)][:3] == ["c", "b", "a"]
    assert store.rank("r1", alpha=0.0, top=1)[0][0].id == "c"


def test_rank_ties_at_alpha_1_go_to_the_highest_accuracy(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates(
        [cand("a", 0.30, 1.0), cand("b", 0.90, 1.0), cand("c", 0.60, 1.0), cand("z", 0.95, 9.0)]
    )
    assert [c.id for c, _ in store.rank("r1", alpha=1.0)] == ["b", "c", "a", "z"]
    assert [c.id for c, _ in store.rank("r1", alpha=1.0, top=2)] == ["b", "c"]


# ---- constraints: only feasible candidates are ranked (second round) ----------------------------
def budget_split(store: Store) -> None:
    """Issue 10's example: budget 100 uJ over (0.95, 105), (0.30, 500), (0.70, 100), (0.50, 10)."""
    store.create_run(run())
    store.create_search(search())
    over = {"feasible": False, "violation": "energy_budget"}
    store.add_candidates(
        [
            replace(cand("hi", 0.95, 105.0), **over),
            replace(cand("big", 0.30, 500.0), **over),
            cand("edge", 0.70, 100.0),
            cand("low", 0.50, 10.0),
        ]
    )


def test_rank_keeps_only_feasible_candidates_scaled_over_them(store: Store) -> None:
    budget_split(store)
    ranked = store.rank("r1", alpha=0.5)
    assert [c.id for c, _ in ranked] == ["edge", "low"]  # F_AEB ties at 0.5: accuracy decides
    assert [f for _, f in ranked] == pytest.approx([0.5, 0.5])  # min-max over the two only
    assert store.rank("r1", "s1", alpha=0.5, top=1)[0][0].energy_uj == 100.0
    every = store.rank("r1", alpha=0.5, include_infeasible=True)
    assert sorted(c.id for c, _ in every) == ["big", "edge", "hi", "low"]
    assert {c.id: c.feasible for c, _ in every} == {
        "hi": False,
        "big": False,
        "edge": True,
        "low": True,
    }


# ---- silent candidates (third round) ------------------------------------------------------------
def silent_split(store: Store) -> None:
    """Best F_AEB at alpha 0.5 goes to the silent "s-top"; "s-low" is silent and last anyway."""
    store.create_run(run())
    store.create_search(search())
    store.add_candidates(
        [
            replace(cand("s-top", 0.9, 5.0), silent=True),
            cand("b", 0.8, 20.0),
            cand("c", 0.6, 10.0),
            replace(cand("s-low", 0.1, 50.0), silent=True),
        ]
    )


def test_silent_flag_round_trips_and_reaches_the_contract(store: Store) -> None:
    silent_split(store)
    record = store.get_candidate("r1", "s-top")
    assert record.silent is True and record.to_contract(0.5)["silent"] is True
    assert store.get_candidate("r1", "b").silent is False


def test_rank_puts_silent_candidates_last_only_when_asked(store: Store) -> None:
    silent_split(store)
    plain = store.rank("r1", alpha=0.5)
    assert [c.id for c, _ in plain] == ["s-top", "b", "c", "s-low"]
    last = store.rank("r1", alpha=0.5, silent_last=True)
    assert [c.id for c, _ in last] == ["b", "c", "s-top", "s-low"]
    # Same fitness (min-max over all four), only the order moves.
    assert dict((c.id, f) for c, f in last) == dict((c.id, f) for c, f in plain)
    assert [c.id for c, _ in store.rank("r1", alpha=0.5, top=1, silent_last=True)] == ["b"]
    top3 = store.rank("r1", "s1", alpha=0.5, top=3, silent_last=True)
    assert [c.id for c, _ in top3] == ["b", "c", "s-top"]


def test_share_freezes_the_silent_last_order_with_the_flags(store: Store) -> None:
    silent_split(store)
    board = store.share("r1", alpha=0.5, top=3, silent_last=True, id="b1")
    assert [(r["id"], r["silent"]) for r in board.candidates] == [
        ("b", False),
        ("c", False),
        ("s-top", True),
    ]
    assert store.get_leaderboard("b1").to_contract()["candidates"][2]["silent"] is True


def test_a_frozen_row_without_a_silent_flag_reads_as_unknown() -> None:
    row = {"id": "a", "accuracy": 0.5}
    board = LeaderboardRecord(id="b1", run="r1", alpha=0.5, top=1, candidates=[row])
    assert board.to_contract()["candidates"] == [{"id": "a", "accuracy": 0.5, "silent": None}]


def test_a_silent_flag_must_be_a_bool() -> None:
    with pytest.raises(BadRecord, match="silent"):
        replace(cand("x", 0.5, 1.0), silent="yes")


def test_infeasible_records_round_trip_with_their_violation(store: Store) -> None:
    budget_split(store)
    record = store.get_candidate("r1", "hi")
    assert (record.feasible, record.violation) == (False, "energy_budget")
    assert record.to_contract(0.1)["feasible"] is False


def test_a_record_must_say_which_constraint_it_breaks() -> None:
    with pytest.raises(BadRecord, match="violation"):
        replace(cand("x", 0.5, 1.0), feasible=False)
    with pytest.raises(BadRecord, match="violation"):
        replace(cand("x", 0.5, 1.0), violation="energy_budget")
    with pytest.raises(BadRecord, match="constraints"):
        replace(cand("x", 0.5, 1.0), feasible=False, violation="too_slow")
    both = replace(cand("x", 0.5, 1.0), feasible=False, violation="param_limit,energy_budget")
    assert both.violation == "energy_budget,param_limit"


# ---- energy profiles: re-ranking from stored operation counts (second round) --------------------
@dataclass(frozen=True)
class Profile:
    name: str
    pj_per_mac: float
    pj_per_sop: float
    pj_per_neuron_update: float


FP32 = Profile("45nm-fp32", 4.6, 0.9, 0.0)
LOIHI = Profile("loihi-2018", 4.6, 23.6, 81.0)
INT8 = Profile("45nm-int8", 0.23, 0.03, 0.0)


def counted(
    id_: str, acc: float, macs: float, sops: float, updates: float | None
) -> CandidateRecord:
    """A candidate with operation counts, its energy priced at 45 nm fp32 as a search stores it."""
    layer_ops = {"macs": {"head": macs}, "sops": {"fc": sops}}
    if updates is not None:
        layer_ops["neuron_updates"] = {"lif": updates}
    return replace(
        cand(id_, acc, (macs * 4.6 + sops * 0.9 + (updates or 0.0) * 0.0) * 1e-6),
        sops=sops,
        macs=macs,
        neuron_updates=updates,
        layer_ops=layer_ops,
        layer_energy_uj={"head": macs * 4.6e-6, "fc": sops * 0.9e-6},
    )


def test_rank_under_a_profile_prices_the_stored_counts_exactly(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    # "mac" pays MACs and neuron updates, "sop" pays SOPs: their order flips on Loihi.
    store.add_candidates([counted("mac", 0.8, 2e5, 1e3, 1e5), counted("sop", 0.7, 1e4, 4e5, 1e4)])
    for profile in (FP32, LOIHI, INT8):
        ranked = store.rank("r1", alpha=1.0, profile=profile)
        for record, _ in ranked:
            expected = (
                record.macs * profile.pj_per_mac
                + record.sops * profile.pj_per_sop
                + record.neuron_updates * profile.pj_per_neuron_update
            ) * 1e-6
            assert record.energy_uj == expected
            assert record.energy_profile == profile.name
    cheapest = {p.name: store.rank("r1", alpha=1.0, profile=p)[0][0].id for p in (FP32, INT8)}
    assert cheapest == {"45nm-fp32": "sop", "45nm-int8": "sop"}
    assert store.rank("r1", alpha=1.0, profile=LOIHI)[0][0].id == "mac"
    assert store.rank("r1", alpha=1.0) == store.rank("r1", alpha=1.0, profile=FP32)


def test_rank_under_a_profile_prices_per_layer_energy(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates([counted("a", 0.8, 2e5, 1e3, 1e5)])
    record = store.rank("r1", profile=LOIHI)[0][0]
    assert record.layer_energy_uj == pytest.approx(
        {"head": 2e5 * 4.6e-6, "fc": 1e3 * 23.6e-6, "lif": 1e5 * 81e-6}
    )
    assert "lif" not in store.rank("r1", profile=INT8)[0][0].layer_energy_uj


def test_rank_under_a_profile_leaves_out_what_it_cannot_price(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    # "old": recorded before neuron updates were counted; "bare": no counts at all.
    store.add_candidates(
        [counted("new", 0.8, 2e5, 1e3, 1e5), counted("old", 0.7, 1e4, 4e5, None)]
        + [cand("bare", 0.9, 3.0)]
    )
    assert sorted(c.id for c, _ in store.rank("r1", profile=FP32)) == ["bare", "new", "old"]
    assert sorted(c.id for c, _ in store.rank("r1", profile=INT8)) == ["new", "old"]
    assert sorted(c.id for c, _ in store.rank("r1", profile=LOIHI)) == ["new"]


# ---- shared leaderboards (second round) ---------------------------------------------------------
def test_share_freezes_the_ranking(seeded: Store) -> None:
    board = seeded.share("r1", alpha=0.3, top=2, title="  weekly\n best ", author="ana")
    expected = [r.to_contract(f) for r, f in seeded.rank("r1", alpha=0.3, top=2)]
    assert board.candidates == expected and board.title == "weekly best"
    assert seeded.get_leaderboard(board.id) == board
    # New, better candidates arrive: the live ranking changes, the leaderboard does not.
    seeded.add_candidates([cand("z", 0.99, 1.0)])
    assert seeded.rank("r1", alpha=0.3, top=1)[0][0].id == "z"
    assert seeded.get_leaderboard(board.id).candidates == expected
    assert board.to_contract()["candidates"] == expected


def test_share_keeps_scope_profile_and_feasible_rows(store: Store) -> None:
    budget_split(store)
    board = store.share("r1", "s1", alpha=0.5, top=5, profile=FP32)
    assert [c["id"] for c in board.candidates] == ["edge", "low"]
    assert (board.search, board.energy_profile, board.top) == ("s1", "45nm-fp32", 5)


def test_leaderboards_list_newest_first_and_delete(seeded: Store) -> None:
    first = seeded.create_leaderboard(
        LeaderboardRecord("b1", "r1", 0.5, 1, [], created_at=10.0, title="old")
    )
    second = seeded.create_leaderboard(
        LeaderboardRecord("b2", "r1", 0.5, 1, [], created_at=20.0, title="new")
    )
    assert seeded.list_leaderboards() == [second, first]
    assert seeded.list_leaderboards("r1") == [second, first]
    seeded.delete_leaderboard("b2")
    assert seeded.list_leaderboards() == [first]
    with pytest.raises(UnknownLeaderboard, match="b2"):
        seeded.get_leaderboard("b2")
    with pytest.raises(UnknownLeaderboard, match="b2"):
        seeded.delete_leaderboard("b2")


@pytest.mark.parametrize(
    "bad",
    [
        {"run_": "ghost"},
        {"search_": "ghost"},
        {"alpha": 1.5},
        {"alpha": float("nan")},
        {"top": 0},
        {"top": None},
    ],
    ids=["unknown-run", "unknown-search", "alpha-above-1", "alpha-nan", "top-0", "top-none"],
)
def test_share_bad_input_raises_one_line_and_stores_nothing(seeded: Store, bad: dict) -> None:
    kw = {"alpha": 0.5, "top": 3, **bad}
    with pytest.raises(StoreError) as err:
        seeded.share(kw.pop("run_", "r1"), kw.pop("search_", None), **kw)
    assert "\n" not in str(err.value)
    assert seeded.list_leaderboards() == []


def test_create_leaderboard_twice_raises_duplicate(seeded: Store) -> None:
    board = LeaderboardRecord("b1", "r1", 0.5, 1, [])
    seeded.create_leaderboard(board)
    with pytest.raises(DuplicateLeaderboard):
        seeded.create_leaderboard(replace(board, title="other"))
    assert seeded.get_leaderboard("b1").title == ""


def test_edit_leaderboard_changes_title_and_notes_never_rows(seeded: Store) -> None:
    board = seeded.share("r1", alpha=0.3, top=2, title="half-typed ti", notes="", author="ana")
    assert board.edited_at is None
    before = time.time()
    edited = seeded.edit_leaderboard(board.id, title="  weekly\n best ", notes="two lines\nok")
    assert (edited.title, edited.notes) == ("weekly best", "two lines\nok")
    assert edited.edited_at is not None and edited.edited_at >= before - 1
    assert seeded.get_leaderboard(board.id) == edited
    assert edited.candidates == board.candidates
    assert (edited.created_at, edited.author, edited.alpha) == (
        board.created_at,
        board.author,
        board.alpha,
    )
    notes_only = seeded.edit_leaderboard(board.id, notes="")
    assert (notes_only.title, notes_only.notes) == ("weekly best", "")
    assert notes_only.to_contract()["edited_at"] == notes_only.edited_at


@pytest.mark.parametrize(
    ("id_", "changes", "error"),
    [
        ("ghost", {"title": "t"}, UnknownLeaderboard),
        (42, {"title": "t"}, UnknownLeaderboard),
        (None, {"notes": "n"}, UnknownLeaderboard),
        ("b1", {}, StoreError),
        ("b1", {"title": 7}, StoreError),
        ("b1", {"notes": ["a"]}, StoreError),
        ("b1", {"title": "x" * 201}, StoreError),
        ("b1", {"notes": "x" * 5001}, StoreError),
        ("b1", {"title": "ok", "notes": "x" * 5001}, StoreError),
    ],
    ids=[
        "unknown-id",
        "int-id",
        "none-id",
        "nothing",
        "title-int",
        "notes-list",
        "title-too-long",
        "notes-too-long",
        "good-title-bad-notes",
    ],
)
def test_edit_leaderboard_bad_input_raises_one_line_and_changes_nothing(
    seeded: Store, id_, changes: dict, error: type
) -> None:
    board = seeded.create_leaderboard(
        LeaderboardRecord("b1", "r1", 0.5, 1, [], title="kept", notes="kept too")
    )
    with pytest.raises(error) as err:
        seeded.edit_leaderboard(id_, **changes)
    assert "\n" not in str(err.value)
    assert seeded.get_leaderboard("b1") == board


def test_leaderboards_outlive_their_run(seeded: Store) -> None:
    board = seeded.share("r1", alpha=0.5, top=2)
    seeded.update_run("r1", state="done")
    seeded.delete_run("r1")
    assert seeded.get_leaderboard(board.id) == board


def test_backends_rank_profiles_and_feasibility_identically(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    stores: list[Store] = [MemoryStore(), DuckDBStore(tmp_path / "store.duckdb")]
    for s in stores:
        s.create_run(run())
        s.create_search(search())
    records = []
    for k in range(120):
        updates = None if k % 7 == 0 else float(rng.integers(0, 5) * 1000)
        record = counted(
            f"id{k}",
            float(rng.integers(0, 10)) / 10,
            float(rng.integers(1, 4) * 1000),
            float(rng.integers(0, 4) * 5000),
            updates,
        )
        if k % 5 == 0:
            record = replace(record, feasible=False, violation="energy_budget")
        records.append(record)
    for s in stores:
        s.add_candidates(records)
    for profile in (None, FP32, LOIHI, INT8):
        for include in (False, True):
            for alpha, top in ((0.0, None), (0.4, 9), (1.0, 3)):
                mem, ddb = (
                    s.rank("r1", alpha=alpha, top=top, profile=profile, include_infeasible=include)
                    for s in stores
                )
                assert [c for c, _ in mem] == [c for c, _ in ddb]
                assert [f for _, f in mem] == pytest.approx([f for _, f in ddb], abs=1e-12)


# ---- columnar reads for the app (second round) --------------------------------------------------
def test_candidate_table_is_the_ranked_set(store: Store) -> None:
    budget_split(store)
    store.create_search(search("s2", t=250.0))
    store.add_candidates(
        [cand("edge", 0.1, 1.0, search_="s2"), cand("new", 0.6, 20.0, search_="s2")]
    )
    table = store.candidate_table("r1", columns=("id", "search", "accuracy", "energy_uj"))
    assert table.column_names == ["id", "search", "accuracy", "energy_uj"]
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == ["edge", "low", "new"]  # sorted, first record per id
    assert rows[0]["search"] == "s1"
    assert sorted(c.id for c, _ in store.rank("r1")) == [r["id"] for r in rows]
    every = store.candidate_table("r1", "s1", columns=("id", "feasible"), include_infeasible=True)
    assert every.to_pylist() == [
        {"id": "big", "feasible": False},
        {"id": "edge", "feasible": True},
        {"id": "hi", "feasible": False},
        {"id": "low", "feasible": True},
    ]


def test_candidate_table_prices_energy_under_a_profile(store: Store) -> None:
    store.create_run(run())
    store.create_search(search())
    store.add_candidates([counted("new", 0.8, 2e5, 1e3, 1e5), counted("old", 0.7, 1e4, 4e5, None)])
    loihi = store.candidate_table("r1", columns=("id", "energy_uj", "arch"), profile=LOIHI)
    assert loihi.column("id").to_pylist() == ["new"]
    assert loihi.column("energy_uj").to_pylist() == [(2e5 * 4.6 + 1e3 * 23.6 + 1e5 * 81.0) * 1e-6]
    assert json.loads(loihi.column("arch")[0].as_py())["tag"] == "new"
    stored = store.candidate_table("r1", columns=("energy_uj",)).column(0).to_pylist()
    assert stored == [c.energy_uj for c in store.candidates("r1")]


def test_candidate_table_bad_column_or_scope_raises(seeded: Store) -> None:
    with pytest.raises(BadArgument, match="column"):
        seeded.candidate_table("r1", columns=("id", "password"))
    with pytest.raises(UnknownRun):
        seeded.candidate_table("ghost", columns=("id",))
    with pytest.raises(UnknownSearch):
        seeded.candidate_table("r1", "ghost", columns=("id",))


def test_run_summaries_are_the_candidate_tables_counted(store: Store) -> None:
    """One line per run for the runs table: what `candidate_table` holds, counted, its best
    accuracy and lowest energy, under the stored energies or a profile; 0 and None for a run
    without candidates."""
    budget_split(store)
    store.create_search(search("s2", t=250.0))
    store.add_candidates(
        [cand("edge", 0.1, 1.0, search_="s2"), cand("new", 0.6, 20.0, search_="s2")]
    )
    store.create_run(run("r2", t=150.0))
    store.create_search(search("s3", "r2"))
    in_r2 = {"run": "r2", "search": "s3"}
    store.add_candidates(
        [
            replace(counted("a", 0.8, 2e5, 1e3, 1e5), **in_r2),
            replace(counted("b", 0.9, 1e4, 4e5, None), **in_r2),
        ]
    )
    store.create_run(run("empty", t=160.0))
    for profile in (None, LOIHI):
        summaries = store.run_summaries(profile)
        assert sorted(summaries) == ["empty", "r1", "r2"]
        for name in ("r1", "r2"):
            table = store.candidate_table(name, columns=("accuracy", "energy_uj"), profile=profile)
            accuracy, energy = (table.column(c).to_pylist() for c in ("accuracy", "energy_uj"))
            line = summaries[name]
            assert line.candidates == len(accuracy)
            if not accuracy:
                assert line == RunSummary(0, None, None)
                continue
            assert line.best_accuracy == max(accuracy)
            assert line.min_energy_uj == pytest.approx(min(energy), rel=1e-12)
        assert summaries["empty"] == RunSummary(0, None, None)
    # r1: the feasible first records (edge, low, and s2's new); no op counts to price
    # under Loihi. r2: "b" has no neuron updates, which Loihi prices.
    assert [store.run_summaries()[r].candidates for r in ("r1", "r2")] == [3, 2]
    assert [store.run_summaries(LOIHI)[r].candidates for r in ("r1", "r2")] == [0, 1]
    assert store.run_summaries()["r1"] == RunSummary(3, 0.7, 10.0)  # s2's "edge" is a rerun
