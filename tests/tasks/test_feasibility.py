"""Constraints hold in what a search reports (issue 10): `record_generation` marks each candidate
feasible or not with the constraint it breaks, and `search_result`'s best and Pareto front are
feasible, scaled over the feasible candidates only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.results import EvalResult
from engine.search.base import GenerationSummary
from engine.space import SearchSpace
from storage.memory_store import MemoryStore
from storage.records import RunRecord, SearchRecord
from tasks import pipeline

RUN, SEARCH = "r", "r.evolution.1"


def results() -> list[EvalResult]:
    """Issue 10's example, (accuracy, uJ): (0.95, 105), (0.30, 500), (0.70, 100), (0.50, 10)."""
    archs = []
    rng = np.random.default_rng(0)
    space = SearchSpace.preset("digits-tiny")
    while len(archs) < 4:
        arch = space.sample(rng)
        if arch.id not in {a.id for a in archs}:
            archs.append(arch)
    pairs = [(0.95, 105.0), (0.30, 500.0), (0.70, 100.0), (0.50, 10.0)]
    return [
        EvalResult(
            arch=a, accuracy=acc, energy_uj=e, params=1000 * (k + 1), sops=1.0, firing_rate=0.1
        )
        for k, (a, (acc, e)) in enumerate(zip(archs, pairs, strict=True))
    ]


def recorded(spec: pipeline.SearchSpec, infeasible: list[str]) -> MemoryStore:
    store = MemoryStore()
    store.create_run(RunRecord(RUN))
    store.create_search(SearchRecord(SEARCH, RUN, "evolution"))
    evaluated = results()
    summary = GenerationSummary(
        generation=0,
        evaluated=evaluated,
        infeasible=infeasible,
        best=None,
        best_fitness=None,
        hypervolume=0.0,
        reference_energy_uj=0.0,
        pareto=[],
        total_evaluated=len(evaluated),
    )
    pipeline.record_generation(store, RUN, SEARCH, "evolution", summary, spec=spec)
    return store


def test_a_budget_of_100_uj_splits_the_example_and_the_best_is_the_100_uj_one() -> None:
    evaluated = results()
    over = [r.id for r in evaluated if r.energy_uj > 100]
    store = recorded(pipeline.SearchSpec(energy_budget_uj=100.0), over)
    marks = {c.id: (c.feasible, c.violation) for c in store.candidates(RUN)}
    assert marks == {
        r.id: ((False, "energy_budget") if r.id in over else (True, "")) for r in evaluated
    }
    out = pipeline.search_result(store, RUN, SEARCH, alpha=0.5)
    assert out["evaluated"] == 4
    assert out["best"]["energy_uj"] == 100.0 and out["best"]["feasible"] is True
    assert out["best"]["fitness"] == 0.5  # min-max over the two feasible ones only
    assert set(out["pareto"]) == {r.id for r in evaluated if r.energy_uj <= 100}


def test_the_broken_constraints_are_named() -> None:
    evaluated = results()
    spec = pipeline.SearchSpec(energy_budget_uj=100.0, param_limit=2500)
    store = recorded(spec, [r.id for r in evaluated])
    got = {c.id: c.violation for c in store.candidates(RUN)}
    assert got[evaluated[0].id] == "energy_budget"  # 105 uJ, 1000 params
    assert got[evaluated[1].id] == "energy_budget"  # 500 uJ, 2000 params
    assert got[evaluated[2].id] == "param_limit"  # 100 uJ, 3000 params
    assert got[evaluated[3].id] == "param_limit"  # 10 uJ, 4000 params
    both = replace(evaluated[1], params=9000)
    assert pipeline.violation_of(both, True, spec) == "energy_budget,param_limit"
    assert pipeline.violation_of(both, True, None) == "energy_budget"
    within = replace(evaluated[3], params=100)
    assert pipeline.violation_of(within, True, spec) == "invalid"
    assert pipeline.violation_of(within, False, spec) == ""


def test_nothing_feasible_reports_no_best() -> None:
    evaluated = results()
    store = recorded(pipeline.SearchSpec(energy_budget_uj=1.0), [r.id for r in evaluated])
    out = pipeline.search_result(store, RUN, SEARCH, alpha=0.5)
    assert (out["evaluated"], out["best"], out["pareto"]) == (4, None, [])


def test_an_unknown_profile_is_refused_before_anything_runs() -> None:
    import pytest

    from engine.profiles import EnergyProfileError

    with pytest.raises(EnergyProfileError, match="unknown energy profile 'tpu'"):
        pipeline.SearchSpec(energy_profile="tpu").config()


def test_the_search_sees_energy_under_its_profile() -> None:
    from engine.profiles import PROFILES

    counted = replace(
        results()[0], macs=1e5, neuron_updates=2e4, sops=3e5, layer_ops={"sops": {"fc": 3e5}}
    )
    priced = pipeline.priced_evaluate(lambda archs: [counted], "loihi-2018")([counted.arch])
    assert priced[0].energy_uj == PROFILES["loihi-2018"].energy_uj(1e5, 3e5, 2e4)
    assert priced[0].energy_profile == "loihi-2018"
