"""The predictor that screens children (engine.search.predictor), on the synthetic evaluator."""

import json
from dataclasses import replace

import numpy as np
import pytest

from engine.errors import SearchError
from engine.pareto import FrontBox, kendall_tau, normalized_hypervolume
from engine.search import EvolutionConfig, NSGA2Config, make_search, resume_search
from engine.search.predictor import (
    MIN_TRAINING,
    Front,
    Prediction,
    Predictor,
    features,
    front_gain_order,
    hypervolume_gains,
    select,
)
from tests.engine.test_search import JOINT, CountingEvaluate, synthetic

SCREENED = EvolutionConfig(population=12, parents=4, generations=5, seed=3, predictor=True)


def test_features_have_one_length_whatever_the_depth():
    rng = np.random.default_rng(0)
    archs = [JOINT.sample(rng) for _ in range(30)]
    assert len({a.depth for a in archs}) > 1
    lengths = {len(features(a, max(JOINT.depth))) for a in archs}
    assert len(lengths) == 1


def test_each_gain_is_the_hypervolume_the_point_adds():
    """The vectorized gain against its definition: normalized hypervolume with the point minus
    without it, over fronts with ties, duplicates, points on the box's edges and outside it."""
    rng = np.random.default_rng(0)
    box = FrontBox(chance=0.1, energy_low_uj=0.01, energy_high_uj=100.0)
    grid_acc, grid_energy = np.linspace(0.0, 1.0, 21), 10 ** np.linspace(-3, 3, 25)
    for trial in range(300):
        m, n = int(rng.integers(0, 25)), int(rng.integers(1, 40))
        coarse = trial % 2 == 0  # on a grid: ties and duplicates
        acc = rng.choice(grid_acc, m + n) if coarse else rng.uniform(0, 1, m + n)
        energy = rng.choice(grid_energy, m + n) if coarse else 10 ** rng.uniform(-3, 3, m + n)
        fa, fe = acc[:m].tolist(), energy[:m].tolist()
        fx, fy = box.unit(fa, fe) if m else (np.zeros(0), np.zeros(0))
        x, y = box.unit(acc[m:], energy[m:])
        base = normalized_hypervolume(fa, fe, box) if m else 0.0
        want = [
            normalized_hypervolume([*fa, a], [*fe, e], box) - base
            for a, e in zip(acc[m:], energy[m:], strict=True)
        ]
        got = hypervolume_gains(fx, fy, x, y)
        assert np.allclose(got, want, rtol=0, atol=1e-12)
        assert all(g == 0.0 for g, w in zip(got, want, strict=True) if w == 0.0)


def test_the_predictor_ranks_unseen_archs_of_the_synthetic_problem():
    rng = np.random.default_rng(1)
    seen = [synthetic(JOINT.sample(rng)) for _ in range(150)]
    unseen = [synthetic(JOINT.sample(rng)) for _ in range(100)]
    model = Predictor(seen, max(JOINT.depth), seed=0)
    p = model.predict([r.arch for r in unseen])
    assert kendall_tau(p.accuracy, [r.accuracy for r in unseen]) > 0.6
    assert kendall_tau(p.energy_uj, [r.energy_uj for r in unseen]) > 0.8
    assert (p.accuracy_std >= 0).all() and p.accuracy_std.max() > 0
    assert (p.energy_uj > 0).all()


def test_select_keeps_the_best_then_what_widens_the_front():
    # Children 0-5: accuracy, spread and energy. The known front: one candidate (0.5, 1 uJ).
    p = Prediction(
        accuracy=np.array([0.1, 0.9, 0.8, 0.2, 0.7, 0.3]),
        accuracy_std=np.array([0.0, 0.0, 0.0, 0.5, 0.0, 0.2]),
        energy_uj=np.array([1.0, 10.0, 9.0, 0.01, 8.0, 5.0]),
    )
    box = FrontBox(chance=0.0, energy_low_uj=0.001, energy_high_uj=100.0)
    front = Front([0.5], [1.0], box)
    by_accuracy = lambda q: list(np.argsort(-q.accuracy))  # noqa: E731
    # 4 kept, half (2) for exploration: the 2 most accurate; then child 3, cheap and uncertain,
    # adds most to the front; once it is in, nothing adds more, so the most uncertain: 5.
    assert select(p, 4, 0.5, by_accuracy, front) == [1, 2, 3, 5]
    assert select(p, 4, 0.0, by_accuracy, front) == [1, 2, 4, 5]
    assert select(p, 9, 0.25, by_accuracy, front) == [0, 1, 2, 3, 4, 5]
    # Nothing left adds to the front: the most uncertain of the rest.
    assert front_gain_order(p, [0, 5], 2, Front([1.0], [0.001], box)) == [5, 0]
    # Without a box, one spanning the energies known and predicted (chance 0).
    assert front_gain_order(p, list(range(6)), 1, Front([0.5], [1.0])) == [3]


@pytest.mark.parametrize("strategy", ["evolution", "nsga2"])
def test_a_screened_search_evaluates_p_per_generation_and_records_tau(strategy):
    config = SCREENED if strategy == "evolution" else NSGA2Config(**_operator_fields(SCREENED))
    evaluate = CountingEvaluate()
    summaries = make_search(strategy, JOINT, config, evaluate).run()
    assert [len(b) for b in evaluate.batches] == [config.population] * config.generations
    assert len({a.id for a in evaluate.archs}) == len(evaluate.archs)
    assert summaries[0].predictor_tau is None  # generation 0 is not screened
    taus = [s.predictor_tau for s in summaries[1:]]
    assert all(t is not None and -1 <= t <= 1 for t in taus)
    assert np.median(taus) > 0.3  # it predicts what it then evaluates, not at random
    assert summaries[-1].to_dict()["predictor_tau"] == taus[-1]


def _operator_fields(config: EvolutionConfig) -> dict:
    d = config.to_dict()
    d.pop("parents")
    return d


def test_without_the_predictor_nothing_changes_and_no_tau_is_recorded():
    off = replace(SCREENED, predictor=False)
    plain = EvolutionConfig(population=12, parents=4, generations=5, seed=3, predictor=False)
    a, b = CountingEvaluate(), CountingEvaluate()
    summaries = make_search("evolution", JOINT, off, a).run()
    make_search("evolution", JOINT, plain, b).run()
    assert [x.id for x in a.archs] == [x.id for x in b.archs]
    assert all(s.predictor_tau is None for s in summaries)


def test_screening_finds_fitter_children_than_breeding_alone():
    """Per generation after the first, the mean F_AEB-relevant quality of what is evaluated:
    over 5 seeds, the screened evolution's children are more accurate at no more energy."""
    better = 0
    for seed in range(5):
        runs = {}
        for on in (False, True):
            config = replace(SCREENED, predictor=on, seed=seed, alpha=0.0)
            search = make_search("evolution", JOINT, config, CountingEvaluate())
            summaries = search.run()
            runs[on] = np.mean([r.accuracy for s in summaries[1:] for r in s.evaluated])
        better += runs[True] > runs[False]
    assert better >= 4


def test_a_screened_search_is_reproducible_and_resumes_to_the_same_search():
    prior = [synthetic(JOINT.sample(np.random.default_rng(9))) for _ in range(20)]
    whole = make_search("evolution", JOINT, SCREENED, CountingEvaluate(), prior=prior)
    whole.run()
    again = make_search("evolution", JOINT, SCREENED, CountingEvaluate(), prior=prior)
    again.run()
    assert again.state_dict() == whole.state_dict()

    first = make_search("evolution", JOINT, SCREENED, CountingEvaluate(), prior=prior)
    first.step()
    first.step()
    state = json.loads(json.dumps(first.state_dict()))
    resumed = resume_search(JOINT, SCREENED, CountingEvaluate(), state, prior=prior)
    resumed.run()
    assert resumed.state_dict() == whole.state_dict()


def test_earlier_searches_warm_start_the_first_screened_generation():
    small = replace(SCREENED, population=4, parents=2, generations=2)
    assert small.population < MIN_TRAINING  # generation 0 alone is too few to fit on
    cold = make_search("evolution", JOINT, small, CountingEvaluate()).run()
    assert cold[1].predictor_tau is None
    rng = np.random.default_rng(5)
    prior = [synthetic(JOINT.sample(rng)) for _ in range(30)]
    warm = make_search("evolution", JOINT, small, CountingEvaluate(), prior=prior).run()
    assert warm[1].predictor_tau is not None
    # Candidates priced under another energy profile are not learnt from.
    other = [replace(r, energy_profile="45nm-int8") for r in prior]
    mixed = make_search("evolution", JOINT, small, CountingEvaluate(), prior=other).run()
    assert mixed[1].predictor_tau is None


def test_a_state_saved_before_the_predictor_resumes_without_it():
    plain = EvolutionConfig(population=12, parents=4, generations=4, seed=3)
    search = make_search("evolution", JOINT, plain, CountingEvaluate())
    search.step()
    state = json.loads(json.dumps(search.state_dict()))
    for key in ("predictor", "screen_factor", "explore_share"):
        del state["config"][key]
    resumed = resume_search(JOINT, replace(SCREENED, generations=4), CountingEvaluate(), state)
    summaries = resumed.run()
    assert all(s.predictor_tau is None for s in summaries)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"screen_factor": 0}, "screen_factor must be a whole number >= 1"),
        ({"screen_factor": 101}, "screen_factor must be at most 100"),
        ({"screen_factor": 2.5}, "screen_factor must be a whole number"),
        ({"explore_share": 1.5}, "explore_share must be a probability"),
        ({"explore_share": float("nan")}, "explore_share must be a probability"),
        ({"predictor": "yes"}, "predictor must be true or false"),
    ],
)
def test_bad_predictor_settings_are_one_line(changes, message):
    with pytest.raises(SearchError, match=message):
        replace(SCREENED, **changes)
