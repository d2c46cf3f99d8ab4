"""The `Store` contract (storage/base.py), run against every backend."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from storage.base import Store
from storage.duckdb_store import DuckDBStore
from storage.errors import (
    BadArgument,
    BadRecord,
    DuplicateRun,
    DuplicateSearch,
    StoreError,
    UnknownCandidate,
    UnknownRun,
    UnknownSearch,
)
from storage.memory_store import MemoryStore
from storage.records import (
    ArtefactRecord,
    CandidateRecord,
    GenerationRecord,
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
    "top", [0, -3, 1.5, "2", True], ids=["zero", "neg", "float", "str", "bool"]
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
    }
    assert out["fitness"] == fitness and math.isfinite(out["fitness"])


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
            cand(
                f"id{rng.integers(0, 150)}",
                float(rng.integers(0, 20)) / 20,
                float(rng.integers(1, 30)),
                search_=f"s{rng.integers(0, 3)}",
            )
            for _ in range(40)
        ]
        for _ in range(5)
    ]
    for batch in batches:
        assert stores[0].add_candidates(batch) == stores[1].add_candidates(batch)
    for alpha in (0.0, 0.3, 0.5, 1.0):
        for scope in (None, "s0", "s2"):
            for top in (None, 1, 7):
                mem, ddb = (s.rank("r1", scope, alpha=alpha, top=top) for s in stores)
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
