"""Bootstrap intervals and sample efficiency (engine.stats)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from engine.errors import AutoSpikformerError
from engine.stats import bootstrap_ci, evaluations_to_reach, finite, speedup


def test_bootstrap_median_interval_holds_the_estimate_and_is_seeded():
    values = [0.1, -0.2, 0.3, 0.05, 0.2, 0.15, -0.05, 0.25, 0.0, 0.12]
    ci = bootstrap_ci(values, n=5000, seed=1)
    assert ci.estimate == statistics.median(values) and ci.n == 10 and ci.level == 0.95
    assert min(values) <= ci.low <= ci.estimate <= ci.high <= max(values)
    assert bootstrap_ci(values, n=5000, seed=1) == ci
    assert str(ci).startswith("+0.11 [")


def test_the_generic_path_agrees_with_the_fast_median_and_mean():
    rng = np.random.default_rng(0)
    values = rng.normal(size=15).tolist()
    for stat in (statistics.median, statistics.fmean):
        fast = bootstrap_ci(values, stat, n=3000, seed=4)
        slow = bootstrap_ci(values, lambda v, s=stat: s(v), n=3000, seed=4)
        assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), rel=1e-9)


def test_the_interval_covers_the_true_median_about_as_often_as_it_says():
    rng = np.random.default_rng(2)
    covered = sum(
        not bootstrap_ci(rng.normal(0.3, 1.0, 20).tolist(), n=1000, seed=k).excludes(0.3)
        for k in range(200)
    )
    assert 170 <= covered <= 200  # 95% nominal; the percentile bootstrap runs a little under


def test_more_seeds_narrow_the_interval_and_a_clear_effect_excludes_zero():
    rng = np.random.default_rng(3)
    few = bootstrap_ci(rng.normal(1.0, 1.0, 5).tolist(), seed=0)
    many = bootstrap_ci(rng.normal(1.0, 1.0, 80).tolist(), seed=0)
    assert many.high - many.low < few.high - few.low
    assert many.excludes(0.0) and not many.excludes(1.0)


def test_one_value_gives_a_point_interval():
    ci = bootstrap_ci([0.4])
    assert (ci.estimate, ci.low, ci.high) == (0.4, 0.4, 0.4)


@pytest.mark.parametrize(
    "values, kwargs",
    [([], {}), ([1.0, math.nan], {}), ([1.0], {"level": 1.0}), ([1.0], {"n": 0})],
)
def test_bad_inputs_are_refused_in_one_line(values, kwargs):
    with pytest.raises(AutoSpikformerError) as info:
        bootstrap_ci(values, **kwargs)
    assert "\n" not in str(info.value)


def test_evaluations_to_reach_and_speedup():
    history = [(12, 0.30), (24, 0.35), (36, 0.41), (48, 0.41)]
    assert evaluations_to_reach(history, 0.41) == 36
    assert evaluations_to_reach(history, 0.41 + 1e-15) == 36  # rounding between equal fronts
    assert evaluations_to_reach(history, 0.2) == 12
    assert evaluations_to_reach(history, 0.5) is None
    assert evaluations_to_reach([(4, None), (8, 0.1)], 0.05) == 8
    assert speedup(96, 48) == 2.0 and speedup(96, 96) == 1.0 and speedup(96, None) == 0.0
    with pytest.raises(AutoSpikformerError):
        speedup(96, 0)
    assert finite([0.5, math.nan, None, -1.0]) == [0.5, -1.0]
