"""The documented maxima (engine.limits): the presets lie within them, a space or a search beyond
them is refused in one line before it is read in full, and a search never loops for archs the
space does not hold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import limits
from engine.errors import SearchError, SpaceError
from engine.results import EvalResult
from engine.search import (
    EvolutionConfig,
    EvolutionSearch,
    NSGA2Config,
    NSGA2Search,
    RandomConfig,
    RandomSearch,
)
from engine.space import Arch, SearchSpace

SMALL = {  # 2 x 2 = 4 archs
    "embed_dim": [32],
    "depth": [1],
    "mlp_ratio": [2],
    "num_heads": [2],
    "time_steps": [1, 2],
    "threshold": [1.0],
    "tau": [1.5, 2],
}


@pytest.mark.parametrize("name", SearchSpace.presets())
def test_every_preset_lies_within_the_limits(name: str) -> None:
    space = SearchSpace.preset(name)
    for gene, choices in space.to_dict().items():
        assert len(choices) <= limits.MAX_CHOICES
        assert all(limits.GENES[gene].holds(c) for c in choices), (gene, choices)
    big = space.largest()
    assert Arch.from_dict(big.to_dict()) == big


def test_the_paper_defaults_lie_within_the_limits() -> None:
    limits.check_search(strategy="evolution", generations=20, population=50, parents=20, alpha=0.5)
    limits.check_training(epochs=300, batch_size=128, lr=5e-4, seed=0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"population": 10**9}, "population must be a whole number from 1 to 5000, got 1000000000"),
        ({"generations": 0}, "generations must be a whole number from 1 to 5000, got 0"),
        ({"generations": 5000, "population": 5000}, "generations x population must be at most"),
        ({"parents": 60}, "parents (60) must not exceed the population (50)"),
        ({"alpha": math.nan}, "alpha must be a number from 0 to 1, got nan"),
        ({"energy_budget_uj": math.inf}, "energy_budget_uj must be a finite number > 0, got inf"),
        ({"energy_budget_uj": 0.0}, "energy_budget_uj must be a finite number > 0, got 0"),
        ({"seed": 2**64}, "seed must be a whole number from 0 to 4294967295"),
        ({"recalib_batches": 1001}, "recalib_batches must be a whole number from 1 to 1000"),
        ({"param_limit": True}, "param_limit must be a whole number"),
    ],
)
def test_a_search_beyond_the_limits_is_refused_in_one_line(changes, message) -> None:
    settings = dict(strategy="evolution", generations=20, population=50, parents=20, alpha=0.5)
    with pytest.raises(limits.LimitError) as err:
        limits.check_search(**{**settings, **changes})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_parents_count_only_for_the_evolution() -> None:
    limits.check_search(strategy="random", generations=2, population=4, parents=20, alpha=0.5)
    limits.check_search(strategy="nsga2", generations=2, population=4, parents=20, alpha=0.5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": -5}, "epochs must be a whole number from 1 to 5000, got -5"),
        ({"epochs": 5001}, "epochs must be a whole number from 1 to 5000, got 5001"),
        ({"batch_size": 10**6}, "batch_size must be a whole number from 1 to 4096"),
        ({"lr": math.nan}, "lr must be a number > 0 and <= 1, got nan"),
        ({"lr": -math.inf}, "lr must be a number > 0 and <= 1, got -inf"),
    ],
)
def test_training_beyond_the_limits_is_refused(changes, message) -> None:
    with pytest.raises(limits.LimitError, match=message.replace("(", r"\(")):
        limits.check_training(**{"epochs": 1, **changes})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("embed_dim", 8_000_000, "arch.embed_dim must be a whole number from 8 to 1024"),
        ("depth", 10**6, "arch.depth must be a whole number from 1 to 24"),
        ("time_steps", 10**5, "arch.time_steps must be a whole number from 1 to 64"),
        ("depth", math.inf, "arch: bad value"),
    ],
)
def test_an_arch_file_beyond_the_limits_is_refused(field, value, message) -> None:
    d = SearchSpace.from_dict(SMALL).largest().to_dict()
    with pytest.raises(SpaceError, match=message):
        Arch.from_dict({**d, field: value})


class Untouchable(list):
    """A list of choices that fails the test if any of them is read."""

    def __iter__(self):
        raise AssertionError("a choice was read")

    def __getitem__(self, i):
        raise AssertionError("a choice was read")


def test_twenty_thousand_choices_are_refused_before_one_is_read() -> None:
    """The count comes first: a huge list costs the parser nothing beyond its length."""
    huge = Untouchable([0.5] * 20_000)
    with pytest.raises(SpaceError, match="threshold has 20,000 choices; at most 64"):
        SearchSpace.from_dict({**SMALL, "threshold": huge})


def test_the_smallest_duplicate_is_named() -> None:
    with pytest.raises(SpaceError, match="threshold lists 1.5 twice"):
        SearchSpace.from_dict({**SMALL, "threshold": [3, 2, 1.5, 2, 1.5]})


def synthetic(arch: Arch) -> EvalResult:
    return EvalResult(
        arch=arch,
        accuracy=0.5 + 0.1 * arch.time_steps - 0.01 * arch.taus[0],
        energy_uj=float(arch.time_steps),
        params=1000,
        sops=1.0,
        firing_rate=0.1,
        firing_rates={"block0": 0.1},
    )


class CountingDraw:
    def __init__(self, space: SearchSpace) -> None:
        self.space, self.rng, self.calls = space, np.random.default_rng(0), 0

    def __call__(self) -> Arch:
        self.calls += 1
        return self.space.sample(self.rng)


@pytest.mark.parametrize(
    ("search_type", "config"),
    [
        (RandomSearch, RandomConfig(population=5000, generations=3)),
        (EvolutionSearch, EvolutionConfig(population=5000, parents=2, generations=3)),
        (NSGA2Search, NSGA2Config(population=5000, generations=3)),
    ],
)
def test_a_population_beyond_the_space_proposes_what_exists(search_type, config) -> None:
    """5,000 distinct archs asked of a space of 4: each generation proposes what is left, and
    the fill draws at most `max_retries` per arch the space holds, plus `max_retries` (the old
    fill drew 5,000 x 100 = 500,000 times per generation)."""
    space = SearchSpace.from_dict(SMALL)
    assert space.size == 4
    search = search_type(space, config, lambda archs: [synthetic(a) for a in archs])
    draw = CountingDraw(space)
    first = search._fill(draw)
    assert len(first) == 4 and len({a.id for a in first}) == 4
    assert draw.calls <= (space.size + 1) * config.max_retries
    summaries = search.run()
    assert sum(len(s.evaluated) for s in summaries) == 4
    assert len(search.evaluated) == 4


def test_a_full_space_costs_no_draw() -> None:
    space = SearchSpace.from_dict(SMALL)
    search = RandomSearch(
        space,
        RandomConfig(population=4, generations=2),
        lambda archs: [synthetic(a) for a in archs],
    )
    search.step()
    draw = CountingDraw(space)
    assert search._fill(draw) == [] and draw.calls == 0


def test_a_search_config_beyond_the_limits_never_builds() -> None:
    with pytest.raises(SearchError, match="population must be a whole number from 1 to 5000"):
        RandomConfig(population=10**9, generations=1)


def test_the_tables_name_every_limit() -> None:
    settings = {row[0] for row in limits.settings_table()}
    assert settings == set(limits.SETTINGS)
    genes = [row[0] for row in limits.space_table()]
    assert genes == [*limits.GENES, "choices per gene", "space file"]
