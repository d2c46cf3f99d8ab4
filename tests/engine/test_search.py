"""Search strategies against a synthetic, deterministic evaluator (no supernet)."""

import json
import math
import time
from dataclasses import replace

import numpy as np
import pytest

from engine.errors import SearchError, SpaceError
from engine.pareto import hypervolume, reference_point
from engine.results import EvalResult
from engine.search import (
    EvolutionConfig,
    EvolutionSearch,
    RandomConfig,
    RandomSearch,
    SearchConfig,
    crossover,
    make_search,
    mutate,
    resume_search,
)
from engine.space import Arch, SearchSpace

SNN_ONLY = SearchSpace.preset("cifar-snn")
JOINT = SearchSpace.preset("cifar-small")
TRANSFORMER_ONLY = SearchSpace.from_dict(
    {
        "embed_dim": [32, 48, 64],
        "depth": [1, 2, 3],
        "mlp_ratio": [2, 3, 4],
        "num_heads": [2, 4],
        "time_steps": [4],
        "threshold": [1.0],
        "tau": [2],
    }
)
TINY = SearchSpace.from_dict(  # 3 x 2 x 2 = 12 archs
    {
        "embed_dim": [32],
        "depth": [1],
        "mlp_ratio": [2],
        "num_heads": [2],
        "time_steps": [1, 2, 3],
        "threshold": [0.6, 1.0],
        "tau": [1.25, 2],
    }
)
SPACES = {"snn": SNN_ONLY, "transformer": TRANSFORMER_ONLY, "joint": JOINT}
BLOCK_GENES = ("mlp_ratios", "num_heads", "thresholds", "taus")
SPACE_GENE = {"mlp_ratios": "mlp_ratio", "thresholds": "threshold", "taus": "tau"}


def param_count(arch: Arch) -> int:
    """Roughly a Spikformer's: attention 4 D^2 plus MLP 2 r D^2 per block."""
    d = arch.embed_dim
    return sum(int(4 * d * d + 2 * r * d * d) for r in arch.mlp_ratios)


def synthetic(arch: Arch) -> EvalResult:
    """Accuracy grows with capacity and T and prefers thresholds near 1 and tau near 2; energy
    grows with T, width, depth and firing rate, which falls with threshold and tau. A small
    noise term is seeded by the arch's hash, so the result is the same in every run."""
    noise = int(arch.id[:8], 16) / 2**32 - 0.5
    thr, tau, mlp = (
        np.array(v, dtype=float) for v in (arch.thresholds, arch.taus, arch.mlp_ratios)
    )
    capacity = arch.embed_dim / 384 * arch.depth / 4 * mlp.mean() / 4
    firing = 0.3 / thr / np.sqrt(tau)
    energy = arch.time_steps * (arch.embed_dim / 384) ** 2 * arch.depth * mlp.mean() * firing.mean()
    accuracy = (
        0.9
        - 0.3 * math.exp(-3 * capacity)
        - 0.1 * math.exp(-arch.time_steps)
        - 0.2 * float(np.mean(np.log(thr) ** 2))
        - 0.03 * float(np.mean(np.abs(np.log(tau / 2))))
        + 0.005 * noise
    )
    return EvalResult(
        arch=arch,
        accuracy=accuracy,
        energy_uj=float(energy),
        params=param_count(arch),
        sops=float(energy) / 0.9e-6,
        firing_rate=float(firing.mean()),
        firing_rates={f"block{i}": float(f) for i, f in enumerate(firing)},
    )


class CountingEvaluate:
    """The injected evaluator: records every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[Arch]] = []

    def __call__(self, archs: list[Arch]) -> list[EvalResult]:
        self.batches.append(list(archs))
        return [synthetic(a) for a in reversed(archs)]  # any order is allowed

    @property
    def archs(self) -> list[Arch]:
        return [a for batch in self.batches for a in batch]


SMALL = EvolutionConfig(population=12, parents=4, generations=5, seed=3)


# ---- config ----------------------------------------------------------------------------------
def test_evolution_defaults_are_the_papers():
    c = EvolutionConfig()
    assert (c.population, c.parents, c.generations) == (50, 20, 20)
    assert (c.crossover_prob, c.mutation_prob, c.alpha) == (0.3, 0.4, 0.5)
    assert c.param_limit is None and c.energy_budget_uj is None


@pytest.mark.parametrize(
    "changes",
    [
        {"population": 0},
        {"population": True},
        {"parents": 60},
        {"crossover_prob": 1.5},
        {"mutation_prob": math.nan},
        {"alpha": "abc"},
        {"alpha": 1.1},
        {"energy_budget_uj": -1.0},
        {"param_limit": 0},
        {"max_retries": 0},
        {"seed": -1},
    ],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(SearchError):
        EvolutionConfig(**changes)


def test_config_is_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        EvolutionConfig(50)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        EvolutionConfig().alpha = 0.1  # type: ignore[misc]


# ---- operators -------------------------------------------------------------------------------
def _fixed_genes_hold(arch: Arch, space: SearchSpace) -> bool:
    ok = True
    for name in ("embed_dim", "depth", "time_steps"):
        if len(getattr(space, name)) == 1:
            ok &= getattr(arch, name) == getattr(space, name)[0]
    for name in BLOCK_GENES:
        choices = getattr(space, SPACE_GENE.get(name, name))
        if len(choices) == 1:
            ok &= all(v == choices[0] for v in getattr(arch, name))
    return ok


@pytest.mark.parametrize("kind", list(SPACES))
def test_operators_give_valid_archs_and_keep_fixed_genes(kind):
    space = SPACES[kind]
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = space.sample(rng), space.sample(rng)
        for child in (mutate(a, space, rng, 0.5), crossover(a, b, space, rng)):
            assert space.validate(child) is child
            assert _fixed_genes_hold(child, space)


def test_snn_only_mutation_changes_only_snn_genes():
    rng = np.random.default_rng(1)
    arch = SNN_ONLY.sample(rng)
    child = mutate(arch, SNN_ONLY, rng, 1.0)
    assert (child.embed_dim, child.depth, child.mlp_ratios, child.num_heads) == (
        arch.embed_dim,
        arch.depth,
        arch.mlp_ratios,
        arch.num_heads,
    )
    assert child.time_steps != arch.time_steps
    assert all(x != y for x, y in zip(child.thresholds, arch.thresholds, strict=True))
    assert all(x != y for x, y in zip(child.taus, arch.taus, strict=True))


@pytest.mark.parametrize("kind", list(SPACES))
def test_mutation_prob_zero_is_identity(kind):
    space = SPACES[kind]
    rng = np.random.default_rng(2)
    for _ in range(50):
        arch = space.sample(rng)
        assert mutate(arch, space, rng, 0.0) == arch


def test_mutation_prob_one_changes_every_free_gene():
    rng = np.random.default_rng(3)
    for _ in range(50):
        arch = JOINT.sample(rng)
        child = mutate(arch, JOINT, rng, 1.0)
        assert child.embed_dim != arch.embed_dim
        assert child.depth != arch.depth
        assert child.time_steps != arch.time_steps
        for name in BLOCK_GENES:
            old, new = getattr(arch, name), getattr(child, name)
            assert len(new) == child.depth
            assert all(x != y for x, y in zip(old, new, strict=False))


def test_mutation_rejects_an_arch_outside_the_space():
    arch = JOINT.smallest()  # embed_dim 192, depth 2: not in the 4-384 SNN-only space
    with pytest.raises(SpaceError):
        mutate(arch, SNN_ONLY, np.random.default_rng(0), 0.5)
    with pytest.raises(SpaceError):
        crossover(arch, SNN_ONLY.largest(), SNN_ONLY, np.random.default_rng(0))


def test_crossover_takes_every_gene_from_a_parent():
    rng = np.random.default_rng(4)
    space = TRANSFORMER_ONLY
    a = Arch(32, 1, (2.0,), (2,), 4, (1.0,), (2.0,))
    b = Arch(64, 3, (4.0, 3.0, 3.0), (4, 2, 4), 4, (1.0,) * 3, (2.0,) * 3)
    depths = set()
    for _ in range(100):
        child = crossover(a, b, space, rng)
        depths.add(child.depth)
        assert child.embed_dim in (32, 64)
        parent = a if child.depth == 1 else b
        assert child.mlp_ratios[0] in (2.0, 4.0) and child.num_heads[0] in (2, 4)
        # blocks only the deeper parent has are copied from it
        assert child.mlp_ratios[1:] == parent.mlp_ratios[1:]
        assert child.num_heads[1:] == parent.num_heads[1:]
    assert depths == {1, 3}


def test_crossover_of_an_arch_with_itself_is_that_arch():
    rng = np.random.default_rng(5)
    arch = JOINT.sample(rng)
    assert crossover(arch, arch, JOINT, rng) == arch


# ---- evolution: batching, dedup, constraints ---------------------------------------------------
@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_one_evaluate_call_per_generation_and_no_arch_twice(strategy):
    evaluate = CountingEvaluate()
    search = make_search(strategy, JOINT, SMALL, evaluate)
    summaries = search.run()
    assert search.done and len(summaries) == SMALL.generations
    assert len(evaluate.batches) == SMALL.generations
    assert len(evaluate.batches[0]) == SMALL.population
    assert all(len(batch) <= SMALL.population for batch in evaluate.batches)
    ids = [a.id for a in evaluate.archs]
    assert len(ids) == len(set(ids)) == len(search.evaluated)
    for g, (summary, batch) in enumerate(zip(summaries, evaluate.batches, strict=True)):
        assert summary.generation == g
        assert [r.id for r in summary.evaluated] == [a.id for a in batch]
        assert all(search.generation_of(r.id) == g for r in summary.evaluated)
    with pytest.raises(SearchError, match="done"):
        search.step()


def test_an_exhausted_space_is_not_evaluated_again():
    evaluate = CountingEvaluate()
    search = RandomSearch(TINY, RandomConfig(population=5, generations=4), evaluate)
    sizes = [len(s.evaluated) for s in search.run()]
    assert sizes == [5, 5, 2, 0]
    assert len(evaluate.batches) == 3  # nothing new, no call
    assert len({a.id for a in evaluate.archs}) == TINY.size == 12


def test_evolution_parents_are_top_k_by_fitness_among_all_evaluated():
    search = EvolutionSearch(JOINT, SMALL, CountingEvaluate())
    for _ in range(3):
        search.step()
        fitness = search.fitness()
        assert len(fitness) == len(search.evaluated)
        top = sorted(fitness, key=lambda i: -fitness[i])[: SMALL.parents]
        assert [p.id for p in search.parents] == top
        assert search.best is not None and search.best.id == top[0]


def test_evaluate_must_return_one_result_per_arch():
    def drops_one(archs: list[Arch]) -> list[EvalResult]:
        return [synthetic(a) for a in archs[1:]]

    with pytest.raises(SearchError, match="do not match"):
        EvolutionSearch(JOINT, SMALL, drops_one).step()


def test_param_limit_is_checked_before_evaluation():
    limit = param_count(JOINT.largest()) // 4
    evaluate = CountingEvaluate()
    config = replace(SMALL, param_limit=limit)
    search = EvolutionSearch(JOINT, config, evaluate, param_count=param_count)
    search.run()
    assert evaluate.archs and all(param_count(a) <= limit for a in evaluate.archs)


def test_impossible_param_limit_fails_fast_with_one_line():
    evaluate = CountingEvaluate()
    config = replace(SMALL, param_limit=1000)
    start = time.perf_counter()
    with pytest.raises(SearchError) as info:
        make_search("evolution", JOINT, config, evaluate, param_count=param_count)
    assert time.perf_counter() - start < 1.0
    smallest = param_count(JOINT.smallest())
    assert str(info.value) == (
        f"no architecture in the space meets param_limit=1000; the smallest has {smallest}"
    )
    assert evaluate.batches == []


def test_param_limit_needs_param_count():
    with pytest.raises(SearchError, match="param_count"):
        EvolutionSearch(JOINT, replace(SMALL, param_limit=10**9), CountingEvaluate())


def test_energy_budget_keeps_over_budget_candidates_out_of_the_parents():
    energies = sorted(
        synthetic(JOINT.sample(np.random.default_rng(i))).energy_uj for i in range(50)
    )
    budget = energies[len(energies) // 2]
    config = replace(SMALL, energy_budget_uj=budget)
    search = EvolutionSearch(JOINT, config, CountingEvaluate())

    def check(summary):
        parents = {p.id for p in search.parents}
        assert parents and not parents & search.infeasible_ids
        assert summary.best is not None and summary.best.energy_uj <= budget

    search.run(on_generation=check)
    over = {r.id for r in search.evaluated if r.energy_uj > budget}
    assert over and search.infeasible_ids == over  # recorded as evaluated, but infeasible
    assert set(search.fitness()).isdisjoint(over)


def test_no_feasible_candidate_yet_keeps_sampling_at_random():
    config = replace(SMALL, energy_budget_uj=1e-9)
    search = EvolutionSearch(JOINT, config, CountingEvaluate())
    summaries = search.run()
    assert all(s.best is None and s.best_fitness is None for s in summaries)
    assert all(len(s.evaluated) == SMALL.population for s in summaries)
    assert all(s.hypervolume == 0.0 for s in summaries)


@pytest.mark.parametrize("alpha, key", [(1.0, "energy"), (0.0, "accuracy")])
def test_alpha_extremes_pick_lowest_energy_or_most_accurate(alpha, key):
    search = EvolutionSearch(JOINT, replace(SMALL, alpha=alpha), CountingEvaluate())
    search.run()
    results = search.evaluated
    if key == "energy":
        assert search.best.energy_uj == min(r.energy_uj for r in results)
    else:
        assert search.best.accuracy == max(r.accuracy for r in results)


# ---- state ----------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["evolution", "random"])
@pytest.mark.parametrize("stop_after", [1, 3])
def test_resume_gives_the_same_search(strategy, stop_after):
    config = replace(SMALL, energy_budget_uj=0.3)
    whole = make_search(strategy, JOINT, config, CountingEvaluate())
    whole.run()

    first = make_search(strategy, JOINT, config, CountingEvaluate())
    for _ in range(stop_after):
        first.step()
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    evaluate = CountingEvaluate()
    resumed = resume_search(JOINT, config, evaluate, state)
    assert type(resumed) is type(whole) and resumed.generation == stop_after
    resumed.run()

    assert len(evaluate.batches) == SMALL.generations - stop_after
    assert [r.to_dict() for r in resumed.evaluated] == [r.to_dict() for r in whole.evaluated]
    assert resumed.best == whole.best
    assert resumed.infeasible_ids == whole.infeasible_ids
    assert resumed.state_dict() == whole.state_dict()


def test_state_dict_records_the_search():
    search = EvolutionSearch(JOINT, SMALL, CountingEvaluate())
    search.step()
    state = search.state_dict()
    assert state["strategy"] == "evolution" and state["generation"] == 1
    assert len(state["evaluated"]) == len(state["population"]) == SMALL.population
    assert state["parents"] == [p.id for p in search.parents]
    assert state["rng"]["bit_generator"] == "PCG64"


def test_resume_refuses_other_settings_or_strategy():
    search = EvolutionSearch(JOINT, SMALL, CountingEvaluate())
    search.step()
    state = json.loads(json.dumps(search.state_dict()))
    with pytest.raises(SearchError, match="different search settings"):
        EvolutionSearch.from_state(JOINT, replace(SMALL, seed=4), CountingEvaluate(), state)
    with pytest.raises(SearchError, match="different search space"):
        EvolutionSearch.from_state(TRANSFORMER_ONLY, SMALL, CountingEvaluate(), state)
    with pytest.raises(SearchError, match="evolution"):
        RandomSearch.from_state(JOINT, SMALL, CountingEvaluate(), state)
    with pytest.raises(SearchError, match="malformed"):
        EvolutionSearch.from_state(JOINT, SMALL, CountingEvaluate(), {"version": 1})
    longer = EvolutionSearch.from_state(
        JOINT, replace(SMALL, generations=8), CountingEvaluate(), state
    )
    assert longer.generation == 1 and not longer.done


# ---- factory ---------------------------------------------------------------------------------
def test_make_search_picks_the_strategy():
    assert isinstance(make_search("evolution", JOINT, SMALL, CountingEvaluate()), EvolutionSearch)
    assert isinstance(make_search("random", JOINT, SMALL, CountingEvaluate()), RandomSearch)
    with pytest.raises(SearchError, match="unknown search strategy"):
        make_search("grid", JOINT, SMALL, CountingEvaluate())
    with pytest.raises(SearchError, match="EvolutionConfig"):
        make_search("evolution", JOINT, SearchConfig(), CountingEvaluate())


def test_evolution_gets_the_same_first_generation_as_random():
    evolution = make_search("evolution", JOINT, SMALL, CountingEvaluate())
    random = make_search("random", JOINT, SMALL, CountingEvaluate())
    first_e, first_r = evolution.step(), random.step()
    assert [r.id for r in first_e.evaluated] == [r.id for r in first_r.evaluated]


# ---- search quality --------------------------------------------------------------------------
def test_evolution_beats_random_in_hypervolume():
    config = EvolutionConfig(seed=0)  # the paper's 50 x 20 budget
    evolution = make_search("evolution", JOINT, config, CountingEvaluate())
    random = make_search("random", JOINT, config, CountingEvaluate())
    summaries = evolution.run()
    random.run()
    e, r = evolution.evaluated, random.evaluated
    assert len(e) == len(r) == config.population * config.generations
    ref = reference_point([x.energy_uj for x in e], [x.energy_uj for x in r])
    hv_e = hypervolume([x.accuracy for x in e], [x.energy_uj for x in e], ref.energy_uj, 0.0)
    hv_r = hypervolume([x.accuracy for x in r], [x.energy_uj for x in r], ref.energy_uj, 0.0)
    assert hv_e > hv_r
    assert summaries[-1].best_fitness is not None
    assert evolution.best.accuracy >= 0.0
