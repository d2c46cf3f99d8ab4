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
from engine.search.operators import genes_changed, pick_pair
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
    assert (c.crossover_prob, c.alpha) == (0.3, 0.5)
    assert (c.mutation_prob, c.structure_prob) == (0.2, 0.4)  # AutoFormer's m_prob, s_prob
    assert c.param_limit is None and c.energy_budget_uj is None
    assert c.anchors  # our one departure: generation 0 starts with the space's two ends


@pytest.mark.parametrize(
    "changes",
    [
        {"population": 0},
        {"population": True},
        {"parents": 60},
        {"crossover_prob": 1.5},
        {"mutation_prob": math.nan},
        {"structure_prob": -0.1},
        {"reference_energy_uj": 0.0},
        {"reference_energy_uj": math.inf},
        {"alpha": "abc"},
        {"alpha": 1.1},
        {"energy_budget_uj": -1.0},
        {"param_limit": 0},
        {"max_retries": 0},
        {"seed": -1},
        {"seed": 2**64},
        {"population": 10**9},
        {"generations": 5001},
        {"anchors": "yes"},
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
        for child in (mutate(a, space, rng, 0.5, 0.5), crossover(a, b, space, rng)):
            assert space.validate(child) is child
            assert _fixed_genes_hold(child, space)


def _snn_changes(parent: Arch, child: Arch) -> int:
    """SNN parameters changed, over the blocks both have."""
    n = int(parent.time_steps != child.time_steps)
    for gene in ("thresholds", "taus"):
        n += sum(x != y for x, y in zip(getattr(parent, gene), getattr(child, gene), strict=False))
    return n


@pytest.mark.parametrize("kind", ["snn", "joint"])
def test_mutation_changes_exactly_one_snn_parameter(kind):
    """Paper 4.2: "the mutation operator randomly modifies one parameter of a parameter set"."""
    space = SPACES[kind]
    rng = np.random.default_rng(1)
    for _ in range(300):
        arch = space.sample(rng)
        child = mutate(arch, space, rng, 0.0, 0.0)  # no architecture move: only the SNN one
        assert genes_changed(arch, child) == _snn_changes(arch, child) == 1
        assert (child.embed_dim, child.depth, child.mlp_ratios, child.num_heads) == (
            arch.embed_dim,
            arch.depth,
            arch.mlp_ratios,
            arch.num_heads,
        )


def test_snn_only_mutation_is_one_gene_and_reaches_every_snn_gene():
    rng = np.random.default_rng(2)
    arch = SNN_ONLY.sample(rng)
    moved = set()
    for _ in range(400):
        child = mutate(arch, SNN_ONLY, rng)  # default probabilities: arch genes are fixed here
        assert genes_changed(arch, child) == 1
        if child.time_steps != arch.time_steps:
            moved.add("T")
        for gene in ("thresholds", "taus"):
            old, new = getattr(arch, gene), getattr(child, gene)
            moved |= {f"{gene}{b}" for b in range(arch.depth) if old[b] != new[b]}
    assert len(moved) == 1 + 2 * arch.depth


def test_transformer_only_mutation_with_zero_probabilities_is_identity():
    rng = np.random.default_rng(3)
    for _ in range(50):
        arch = TRANSFORMER_ONLY.sample(rng)
        assert mutate(arch, TRANSFORMER_ONLY, rng, 0.0, 0.0) == arch


def test_architecture_genes_follow_autoformers_probabilities():
    """AutoFormer: depth and embed redrawn with s_prob, each block's MLP ratio and heads with
    m_prob; a redraw is uniform over all choices, so it keeps the old value 1/len(choices) of
    the time. Checked on the frequencies of 4,000 seeded mutations of depth-4 parents."""
    rng = np.random.default_rng(4)
    m, s, n = 0.2, 0.4, 4000
    counts = dict(depth=0, embed=0, mlp=0, heads=0, blocks=0)
    for _ in range(n):
        arch = JOINT.sample(rng)
        while arch.depth != 4:
            arch = JOINT.sample(rng)
        child = mutate(arch, JOINT, rng, m, s)
        counts["depth"] += child.depth != arch.depth
        counts["embed"] += child.embed_dim != arch.embed_dim
        shared = min(arch.depth, child.depth)
        counts["blocks"] += shared
        counts["mlp"] += sum(child.mlp_ratios[b] != arch.mlp_ratios[b] for b in range(shared))
        counts["heads"] += sum(child.num_heads[b] != arch.num_heads[b] for b in range(shared))
    assert counts["depth"] / n == pytest.approx(s * 2 / 3, abs=0.025)
    assert counts["embed"] / n == pytest.approx(s * 3 / 4, abs=0.025)
    assert counts["mlp"] / counts["blocks"] == pytest.approx(m * 2 / 3, abs=0.02)
    assert counts["heads"] / counts["blocks"] == pytest.approx(m * 1 / 2, abs=0.02)


def test_depth4_mutation_moves_few_genes():
    """Issue 10: at most 2 genes on median on a depth-4 space, counting a depth change once
    (dropped blocks not counted). The stricter count (every gene of a dropped block) has median 3
    at AutoFormer's s_prob: see BENCHMARKS.md, bench/operators.py."""
    rng = np.random.default_rng(5)
    changes, strict = [], []
    for _ in range(2000):
        arch = JOINT.sample(rng)
        if arch.depth != 4:
            continue
        child = mutate(arch, JOINT, rng)
        changes.append(genes_changed(arch, child, unshared_blocks=False))
        strict.append(genes_changed(arch, child))
    assert np.median(changes) <= 2
    assert np.median(strict) <= 3
    assert min(changes) >= 1


def test_mutation_rejects_an_arch_outside_the_space():
    arch = JOINT.smallest()  # embed_dim 192, depth 2: not in the 4-384 SNN-only space
    with pytest.raises(SpaceError):
        mutate(arch, SNN_ONLY, np.random.default_rng(0))
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


def test_pick_pair_prefers_distinct_parents_of_equal_depth():
    rng = np.random.default_rng(6)
    parents = [JOINT.sample(rng) for _ in range(10)]
    depths = [p.depth for p in parents]
    assert len(set(depths)) > 1 and any(depths.count(d) > 1 for d in depths)
    for _ in range(200):
        i, j = pick_pair(lambda: int(rng.integers(len(parents))), parents)
        assert i != j and parents[i].depth == parents[j].depth
    a = Arch(32, 1, (2.0,), (2,), 4, (1.0,), (2.0,))
    b = Arch(64, 2, (4.0, 3.0), (4, 2), 4, (1.0,) * 2, (2.0,) * 2)
    assert sorted(pick_pair(lambda: int(rng.integers(2)), [a, b])) == [0, 1]  # none match
    with pytest.raises(ValueError):
        pick_pair(lambda: 0, [a])


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


def test_evolution_without_anchors_gets_the_same_first_generation_as_random():
    config = replace(SMALL, anchors=False)
    evolution = make_search("evolution", JOINT, config, CountingEvaluate())
    random = make_search("random", JOINT, config, CountingEvaluate())
    first_e, first_r = evolution.step(), random.step()
    assert [r.id for r in first_e.evaluated] == [r.id for r in first_r.evaluated]


def test_anchored_generation_0_starts_with_the_two_ends_then_draws_at_random():
    evaluate = CountingEvaluate()
    first = make_search("evolution", JOINT, SMALL, evaluate).step()
    ids = [a.id for a in evaluate.batches[0]]
    assert ids[:2] == [JOINT.largest().id, JOINT.cheapest().id]
    assert len(set(ids)) == len(ids) == SMALL.population == len(first.evaluated)
    random = CountingEvaluate()
    make_search("random", JOINT, SMALL, random).step()
    randoms = [a.id for a in random.batches[0]]
    assert ids[2:] == [i for i in randoms if i not in ids[:2]][: SMALL.population - 2]


def test_an_anchor_over_the_param_limit_is_left_out():
    limit = param_count(JOINT.largest()) - 1
    evaluate = CountingEvaluate()
    config = replace(SMALL, param_limit=limit)
    EvolutionSearch(JOINT, config, evaluate, param_count=param_count).step()
    ids = [a.id for a in evaluate.batches[0]]
    assert ids[0] == JOINT.cheapest().id and JOINT.largest().id not in ids
    assert all(param_count(a) <= limit for a in evaluate.batches[0])


def test_anchors_in_a_population_of_one_and_in_a_one_arch_space():
    one = replace(SMALL, population=1, parents=1)
    evaluate = CountingEvaluate()
    EvolutionSearch(JOINT, one, evaluate).step()
    assert [a.id for a in evaluate.batches[0]] == [JOINT.largest().id]
    single = SearchSpace.from_dict(
        {**TINY.to_dict(), "time_steps": [2], "threshold": [1.0], "tau": [2]}
    )
    assert single.anchors() == (single.largest(),)


def test_a_state_saved_before_anchors_resumes():
    config = replace(SMALL, anchors=False)
    first = EvolutionSearch(JOINT, config, CountingEvaluate())
    first.step()
    state = json.loads(json.dumps(first.state_dict()))
    del state["config"]["anchors"]
    whole = EvolutionSearch(JOINT, config, CountingEvaluate())
    whole.run()
    resumed = resume_search(JOINT, SMALL, CountingEvaluate(), state)  # today's default: anchors
    resumed.run()
    assert [r.id for r in resumed.evaluated] == [r.id for r in whole.evaluated]


# ---- search quality --------------------------------------------------------------------------
def test_evolution_beats_random_in_hypervolume():
    # The paper's 50 x 20 budget, the operators alone (the predictor: test_predictor.py).
    config = EvolutionConfig(seed=0, predictor=False)
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


# ---- F_AEB ties: the winner is on the front ---------------------------------------------------
class TiedEvaluate:
    """All 12 archs of TINY in one batch. At alpha 0: the T=3 archs tie at the top accuracy and
    the later evaluated is cheaper. At alpha 1: the T=1 archs tie at the lowest energy and the
    later evaluated is more accurate. Evaluation order alone would crown the wrong one."""

    def __call__(self, archs: list[Arch]) -> list[EvalResult]:
        out = []
        for k, arch in enumerate(archs):
            acc = {1: 0.5, 2: 0.6, 3: 0.9}[arch.time_steps]
            energy = 10.0 - 0.1 * k
            if arch.time_steps == 1:
                acc, energy = 0.1 + 0.01 * k, 0.5
            out.append(replace(synthetic(arch), accuracy=acc, energy_uj=energy))
        return out


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_f_aeb_ties_go_to_the_other_objective(alpha):
    config = RandomConfig(population=12, generations=1, alpha=alpha)
    search = RandomSearch(TINY, config, TiedEvaluate())
    search.run()
    results = search.evaluated
    assert len(results) == TINY.size
    front = {results[i].id for i in pareto_front_of(results)}
    assert search.best.id in front
    if alpha == 0.0:
        tied = [r for r in results if r.accuracy == 0.9]
        assert len(tied) > 1 and search.best == min(tied, key=lambda r: r.energy_uj)
        assert search.best != tied[0]
    else:
        tied = [r for r in results if r.energy_uj == 0.5]
        assert len(tied) > 1 and search.best == max(tied, key=lambda r: r.accuracy)
        assert search.best != tied[0]


def pareto_front_of(results: list[EvalResult]) -> list[int]:
    from engine.pareto import pareto_front

    return pareto_front([r.accuracy for r in results], [r.energy_uj for r in results])


# ---- hypervolume under a fixed reference ------------------------------------------------------
@pytest.mark.parametrize("strategy", ["evolution", "nsga2", "random"])
def test_hypervolume_history_uses_one_reference_and_never_decreases(strategy):
    config = replace(SMALL, generations=8, reference_energy_uj=5.0)
    summaries = make_search(strategy, JOINT, config, CountingEvaluate()).run()
    assert {s.reference_energy_uj for s in summaries} == {5.0}
    history = [s.hypervolume for s in summaries]
    assert history[0] > 0 and all(b >= a for a, b in zip(history, history[1:], strict=False))


def test_without_a_configured_reference_the_first_generation_fixes_it():
    search = EvolutionSearch(JOINT, SMALL, CountingEvaluate())
    summaries = search.run()
    first = [r.energy_uj for r in summaries[0].evaluated]
    assert search.reference_energy_uj == pytest.approx(1.1 * max(first))
    assert {s.reference_energy_uj for s in summaries} == {search.reference_energy_uj}
    history = [s.hypervolume for s in summaries]
    assert history == sorted(history)


def test_a_budget_with_no_feasible_start_fixes_the_reference_at_the_first_feasible():
    energies = sorted(
        synthetic(JOINT.sample(np.random.default_rng(i))).energy_uj for i in range(40)
    )
    config = replace(SMALL, energy_budget_uj=energies[2], population=4, generations=6)
    search = EvolutionSearch(JOINT, config, CountingEvaluate())
    summaries = search.run()
    first = next(s for s in summaries if len(s.infeasible) < len(s.evaluated))
    feasible = [r.energy_uj for r in first.evaluated if r.id not in first.infeasible]
    assert search.reference_energy_uj == pytest.approx(1.1 * max(feasible))
    assert all(s.hypervolume == 0.0 for s in summaries[: first.generation])


def _as_version_1(state: dict) -> dict:
    """A state as the search saved it before the paper's operators and the fixed reference."""
    old = json.loads(json.dumps(state))
    old["version"] = 1
    del old["reference_energy_uj"]
    for key in ("reference_energy_uj", "structure_prob"):
        old["config"].pop(key, None)
    if "mutation_prob" in old["config"]:
        old["config"]["mutation_prob"] = 0.4
    return old


@pytest.mark.parametrize("reference", [None, 7.5])
def test_a_version_1_state_resumes_with_todays_operators_and_a_reference(reference):
    config = replace(SMALL, reference_energy_uj=reference)
    first = EvolutionSearch(JOINT, config, CountingEvaluate())
    first.step()
    state = _as_version_1(first.state_dict())
    resumed = resume_search(JOINT, config, CountingEvaluate(), state)
    gen0 = [r.energy_uj for r in first.evaluated]
    expected = reference if reference is not None else 1.1 * max(gen0)
    assert resumed.reference_energy_uj == pytest.approx(expected)
    summaries = resumed.run()
    assert all(s.reference_energy_uj == pytest.approx(expected) for s in summaries)
    assert resumed.state_dict()["version"] == 2


def test_an_unknown_state_version_fails_with_one_line():
    search = EvolutionSearch(JOINT, SMALL, CountingEvaluate())
    search.step()
    state = {**search.state_dict(), "version": 3}
    with pytest.raises(SearchError, match="^search state version 3 is not supported$"):
        resume_search(JOINT, SMALL, CountingEvaluate(), state)
