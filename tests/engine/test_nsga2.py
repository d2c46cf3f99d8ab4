"""NSGA-II: constrained sorting, survival against pymoo's RankAndCrowding, resume, determinism."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from engine.results import EvalResult
from engine.search import NSGA2Config, NSGA2Search, make_search, resume_search
from engine.search.nsga2 import constrained_fronts, rank_and_crowding
from engine.space import Arch
from tests.engine.test_search import JOINT, CountingEvaluate, synthetic

CONFIG = NSGA2Config(population=10, generations=6, seed=5)


def _budget() -> float:
    energies = sorted(
        synthetic(JOINT.sample(np.random.default_rng(i))).energy_uj for i in range(60)
    )
    return energies[len(energies) // 3]  # two thirds of random archs are over it


def test_constrained_fronts_put_feasible_fronts_first_then_violation_levels():
    acc = [0.9, 0.8, 0.7, 0.95, 0.99, 0.5]
    energy = [3.0, 1.0, 2.0, 9.0, 8.0, 0.1]
    violation = [0.0, 0.0, 0.0, 0.5, 0.2, 0.5]
    # Feasible: (0.8, 1) and (0.9, 3) are the front, (0.7, 2) is dominated by (0.8, 1).
    # Infeasible: violation 0.2 beats 0.5 whatever the objectives (Deb's constraint domination).
    assert constrained_fronts(acc, energy, violation) == [[1, 0], [2], [4], [3, 5]]
    rank, crowd, _ = rank_and_crowding(acc, energy, violation)
    assert rank == [0, 0, 1, 3, 2, 3]
    assert math.isinf(crowd[0]) and math.isinf(crowd[1]) and crowd[3] == crowd[5] == 0.0


def test_an_infeasible_candidate_never_beats_a_feasible_one():
    acc, energy, violation = [0.1, 0.99], [9.0, 0.01], [0.0, 1e-9]
    assert constrained_fronts(acc, energy, violation) == [[0], [1]]


def _pymoo_survival(pool: list[EvalResult], budget: float | None, n: int) -> tuple[set, dict]:
    """pymoo's NSGA-II survival of `pool`: the kept ids, and each id's (rank, crowding) as pymoo
    computed them (for the fronts it looked at)."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

    F = np.array([[-r.accuracy, r.energy_uj] for r in pool])
    kwargs, problem = {}, Problem(n_var=1, n_obj=2)
    if budget is not None:
        kwargs["G"] = np.array([[(r.energy_uj - budget) / budget] for r in pool])
        problem = Problem(n_var=1, n_obj=2, n_ieq_constr=1)
    pop = Population.new(F=F, **kwargs)
    pop.set("index", np.arange(len(pool)))
    kept = RankAndCrowding().do(problem, pop, n_survive=n)
    keys = {
        r.id: (ind.get("rank"), ind.get("crowding"), ind.get("CV")[0])
        for r, ind in zip(pool, pop, strict=True)
    }
    return {pool[int(i)].id for i in kept.get("index")}, keys


@pytest.mark.parametrize("budget", [None, "a third"])
def test_survival_is_pymoos_rank_and_crowding(budget):
    """The survivors are pymoo's, up to pymoo's random choice among equal crowding distances:
    where the sets differ, the ids swapped have the same rank and crowding in pymoo."""
    limit = _budget() if budget else None
    config = replace(CONFIG, energy_budget_uj=limit)
    search = NSGA2Search(JOINT, config, CountingEvaluate())
    previous: list[EvalResult] = []
    for _ in range(config.generations):
        summary = search.step()
        seen = {p.id for p in previous}
        pool = previous + [r for r in summary.evaluated if r.id not in seen]
        ours = {r.id for r in search.survivors}
        theirs, keys = _pymoo_survival(pool, limit, config.population)
        assert len(ours) == len(theirs) == min(len(pool), config.population)
        assert sorted(map(keys.get, ours - theirs)) == sorted(map(keys.get, theirs - ours))
        previous = search.survivors


def test_feasible_survivors_come_first_under_a_budget():
    config = replace(CONFIG, energy_budget_uj=_budget())
    search = NSGA2Search(JOINT, config, CountingEvaluate())
    search.run()
    feasible = [r.id not in search.infeasible_ids for r in search.survivors]
    assert any(feasible) and feasible == sorted(feasible, reverse=True)
    assert search.best is not None and search.best.energy_uj <= config.energy_budget_uj


def test_one_evaluate_call_per_generation_and_no_arch_twice():
    evaluate = CountingEvaluate()
    search = make_search("nsga2", JOINT, CONFIG, evaluate)
    search.run()
    assert len(evaluate.batches) == CONFIG.generations
    ids = [a.id for a in evaluate.archs]
    assert len(ids) == len(set(ids)) == len(search.evaluated)
    assert len(search.survivors) == CONFIG.population


@pytest.mark.parametrize("stop_after", [1, 3])
def test_resume_gives_the_same_search(stop_after):
    config = replace(CONFIG, energy_budget_uj=_budget())
    whole = NSGA2Search(JOINT, config, CountingEvaluate())
    whole.run()
    first = NSGA2Search(JOINT, config, CountingEvaluate())
    for _ in range(stop_after):
        first.step()
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    assert state["strategy"] == "nsga2" and len(state["survivors"]) == config.population
    resumed = resume_search(JOINT, config, CountingEvaluate(), state)
    assert isinstance(resumed, NSGA2Search) and resumed.generation == stop_after
    resumed.run()
    assert [r.to_dict() for r in resumed.evaluated] == [r.to_dict() for r in whole.evaluated]
    assert [r.id for r in resumed.survivors] == [r.id for r in whole.survivors]
    assert resumed.state_dict() == whole.state_dict()


def test_a_state_naming_unknown_survivors_is_refused():
    search = NSGA2Search(JOINT, CONFIG, CountingEvaluate())
    search.step()
    state = {**search.state_dict(), "survivors": ["0" * 16]}
    from engine.errors import SearchError

    with pytest.raises(SearchError, match="malformed search state"):
        resume_search(JOINT, CONFIG, CountingEvaluate(), state)


def _ids(config: NSGA2Config) -> list[str]:
    search = NSGA2Search(JOINT, config, CountingEvaluate())
    search.run()
    return [r.id for r in search.evaluated]


def test_the_seed_fixes_every_candidate_and_alpha_only_ranks():
    ids = _ids(CONFIG)
    assert ids == _ids(CONFIG)
    assert ids != _ids(replace(CONFIG, seed=6))
    assert ids == _ids(replace(CONFIG, alpha=0.0)) == _ids(replace(CONFIG, alpha=1.0))


def test_children_come_from_the_operators():
    """After generation 0 every child is a mutation or crossover of survivors: each shares its
    depth with some survivor of the generation before and differs from it in few genes."""
    from engine.search.operators import genes_changed

    search = NSGA2Search(JOINT, replace(CONFIG, crossover_prob=0.0), CountingEvaluate())
    search.step()
    parents = [r.arch for r in search.survivors]
    summary = search.step()
    for child in (r.arch for r in summary.evaluated):
        nearest = min(genes_changed(p, child, unshared_blocks=False) for p in parents)
        assert 1 <= nearest <= 10


def test_non_finite_results_are_infinitely_infeasible():
    def broken(archs: list[Arch]) -> list[EvalResult]:
        out = [synthetic(a) for a in archs]
        return [replace(out[0], accuracy=math.nan), *out[1:]]

    search = NSGA2Search(JOINT, CONFIG, broken)
    search.step()
    nan_id = search.evaluated[0].id
    assert nan_id in search.infeasible_ids
    assert search.survivors[-1].id == nan_id  # last: worst violation


def test_nsga2_covers_more_of_the_front_than_f_aeb_evolution():
    """At the paper's 20 x 50 budget on the synthetic landscape, NSGA-II's front dominates more
    than the F_AEB evolution's at alpha 0.5 (whose candidates crowd around one trade-off), under
    one fixed reference."""
    from engine.pareto import hypervolume
    from engine.search import EvolutionConfig

    def hv(search) -> float:
        search.run()
        r = search.evaluated
        return hypervolume([x.accuracy for x in r], [x.energy_uj for x in r], 10.0, 0.0)

    common = dict(seed=0, reference_energy_uj=10.0, predictor=False)
    nsga = hv(NSGA2Search(JOINT, NSGA2Config(**common), CountingEvaluate()))
    evolution = hv(make_search("evolution", JOINT, EvolutionConfig(**common), CountingEvaluate()))
    assert nsga > evolution
