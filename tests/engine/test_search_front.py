"""What every strategy shares since issue 24: the anchors in generation 0 (random and NSGA-II
too) and the normalized hypervolume in each generation's summary."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.errors import SearchError
from engine.pareto import FrontBox, normalized_hypervolume
from engine.search import (
    EvolutionConfig,
    NSGA2Config,
    RandomConfig,
    make_search,
    resume_search,
)
from tests.engine.test_search import JOINT, CountingEvaluate, synthetic

STRATEGIES = ("evolution", "nsga2", "random")
BOX = FrontBox(chance=0.1, energy_low_uj=1e-4, energy_high_uj=5.0)


def _config(strategy: str, **changes):
    common = dict(population=8, generations=4, seed=11, **changes)
    if strategy == "evolution":
        return EvolutionConfig(parents=3, **common)
    return NSGA2Config(**common) if strategy == "nsga2" else RandomConfig(**common)


# ---- anchors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_anchors_generation_0_by_default(strategy):
    evaluate = CountingEvaluate()
    make_search(strategy, JOINT, _config(strategy), evaluate).step()
    ids = [a.id for a in evaluate.batches[0]]
    assert ids[:2] == [JOINT.largest().id, JOINT.cheapest().id]
    assert len(set(ids)) == len(ids) == 8


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_without_anchors_generation_0_is_all_random(strategy):
    evaluate = CountingEvaluate()
    make_search(strategy, JOINT, _config(strategy, anchors=False), evaluate).step()
    anchors = {a.id for a in JOINT.anchors()}
    assert not anchors & {a.id for a in evaluate.batches[0]}


def test_random_with_anchors_draws_what_the_anchored_evolution_draws():
    """The same seed gives the same generation 0 to the evolution and the random baseline, with
    anchors (their two ends, then the same uniform draws) and without."""
    for anchors in (True, False):
        batches = []
        for strategy in ("evolution", "random"):
            evaluate = CountingEvaluate()
            make_search(strategy, JOINT, _config(strategy, anchors=anchors), evaluate).step()
            batches.append([a.id for a in evaluate.batches[0]])
        assert batches[0] == batches[1]


def test_anchors_shape_generation_0_only():
    anchored = make_search("random", JOINT, _config("random"), CountingEvaluate())
    plain = make_search("random", JOINT, _config("random", anchors=False), CountingEvaluate())
    anchored.run()
    plain.run()
    assert len(anchored.evaluated) == len(plain.evaluated) == 32
    ends = {a.id for a in JOINT.anchors()}
    assert ends <= {r.id for r in anchored.evaluated}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_state_saved_before_anchors_applied_resumes_without_them(strategy):
    """A search created (state saved at generation 0) before its strategy had anchors keeps
    running as it ran: all random, even when the caller's settings now say anchors."""
    config = _config(strategy)
    created = make_search(strategy, JOINT, config, CountingEvaluate())
    state = json.loads(json.dumps(created.state_dict()))
    del state["config"]["anchors"]
    evaluate = CountingEvaluate()
    resumed = resume_search(JOINT, config, evaluate, state)
    resumed.run()
    plain = make_search(strategy, JOINT, replace(config, anchors=False), CountingEvaluate())
    plain.run()
    assert [r.id for r in resumed.evaluated] == [r.id for r in plain.evaluated]
    assert JOINT.largest().id not in {a.id for a in evaluate.batches[0]}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_anchors_are_a_setting_a_resume_must_match(strategy):
    search = make_search(strategy, JOINT, _config(strategy), CountingEvaluate())
    search.step()
    state = json.loads(json.dumps(search.state_dict()))
    with pytest.raises(SearchError, match="different search settings"):
        resume_search(JOINT, _config(strategy, anchors=False), CountingEvaluate(), state)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_anchors_must_be_a_bool(value):
    for config in (RandomConfig, NSGA2Config, EvolutionConfig):
        with pytest.raises(SearchError, match="^anchors must be true or false"):
            config(anchors=value)


# ---- normalized hypervolume in the summaries ---------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_generation_reports_the_normalized_hypervolume(strategy):
    config = _config(strategy, front_box=BOX, reference_energy_uj=5.0, energy_budget_uj=0.5)
    search = make_search(strategy, JOINT, config, CountingEvaluate())
    summaries = search.run()
    history = [s.hypervolume_normalized for s in summaries]
    assert all(0 < h < 1 for h in history) and history == sorted(history)
    feasible = [r for r in search.evaluated if r.id not in search.infeasible_ids]
    assert search.infeasible_ids  # the budget cut some: they do not count
    expected = normalized_hypervolume(
        [r.accuracy for r in feasible], [r.energy_uj for r in feasible], BOX
    )
    assert history[-1] == pytest.approx(expected)
    assert summaries[-1].to_dict()["hypervolume_normalized"] == history[-1]
    assert summaries[-1].hypervolume > 0  # the raw one is kept


def test_without_a_box_the_normalized_hypervolume_is_none():
    summary = make_search("random", JOINT, _config("random"), CountingEvaluate()).step()
    assert summary.hypervolume_normalized is None
    assert summary.to_dict()["hypervolume_normalized"] is None


def test_the_normalized_hypervolume_does_not_depend_on_the_energy_unit():
    def in_nj(archs):
        return [replace(r, energy_uj=r.energy_uj * 1e3) for r in map(synthetic, archs)]

    nj_box = FrontBox(BOX.chance, BOX.energy_low_uj * 1e3, BOX.energy_high_uj * 1e3)
    uj = make_search("random", JOINT, _config("random", front_box=BOX), CountingEvaluate())
    nj = make_search("random", JOINT, _config("random", front_box=nj_box), in_nj)
    a = [s.hypervolume_normalized for s in uj.run()]
    b = [s.hypervolume_normalized for s in nj.run()]
    assert a == pytest.approx(b, rel=1e-12)


def test_the_box_round_trips_through_the_config_and_the_state():
    config = _config("evolution", front_box=BOX)
    assert config.to_dict()["front_box"] == BOX.to_dict()
    assert EvolutionConfig.from_dict(config.to_dict()) == config
    assert EvolutionConfig(front_box=BOX.to_dict()).front_box == BOX
    search = make_search("evolution", JOINT, config, CountingEvaluate())
    search.step()
    state = json.loads(json.dumps(search.state_dict()))
    # The caller forgot the box: the saved one is used.
    resumed = resume_search(JOINT, replace(config, front_box=None), CountingEvaluate(), state)
    assert resumed.config.front_box == BOX
    assert resumed.step().hypervolume_normalized is not None


def test_a_state_saved_before_the_box_resumes_with_the_callers():
    plain = _config("nsga2")
    search = make_search("nsga2", JOINT, plain, CountingEvaluate())
    search.step()
    state = json.loads(json.dumps(search.state_dict()))
    del state["config"]["front_box"]
    whole = make_search("nsga2", JOINT, plain, CountingEvaluate())
    whole.run()
    resumed = resume_search(JOINT, replace(plain, front_box=BOX), CountingEvaluate(), state)
    summaries = resumed.run()
    assert [r.id for r in resumed.evaluated] == [r.id for r in whole.evaluated]  # same search
    assert all(s.hypervolume_normalized is not None for s in summaries)
    # A box does not steer the search, so a resume may bring another one (another profile).
    other = FrontBox(0.0, 1e-3, 50.0)
    again = resume_search(JOINT, replace(plain, front_box=other), CountingEvaluate(), state)
    assert again.config.front_box == other


@pytest.mark.parametrize(
    "box", [{"chance": 0.1}, {"chance": 2.0, "energy_low_uj": 1, "energy_high_uj": 2}, 3.0]
)
def test_a_bad_box_is_refused_with_one_line(box):
    with pytest.raises(SearchError) as info:
        RandomConfig(front_box=box)
    assert "\n" not in str(info.value)
