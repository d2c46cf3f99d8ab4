"""Uncertainty of the figures that compare searches: a percentile bootstrap interval, and the
evaluations a search needs to reach a hypervolume (sample efficiency).

Comparative claims are paired over seeds (both strategies on the same supernet with the same
seed), so the statistic is taken over per-seed differences or ratios; the interval says how far
the claim would move with other seeds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import AutoSpikformerError

Stat = Callable[[Sequence[float]], float]


@dataclass(frozen=True)
class Interval:
    """A statistic of a sample and its bootstrap confidence interval [low, high] at `level`."""

    estimate: float
    low: float
    high: float
    level: float
    n: int

    def excludes(self, value: float) -> bool:
        """Whether `value` lies outside the interval (the claim 'differs from value' holds)."""
        return value < self.low or value > self.high

    def __str__(self) -> str:
        return f"{self.estimate:+.4g} [{self.low:+.4g}, {self.high:+.4g}]"


def bootstrap_ci(
    values: Sequence[float],
    stat: Stat = statistics.median,
    *,
    n: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """`stat(values)` with a percentile bootstrap interval: `stat` of `n` resamples (with
    replacement, seeded), cut at the (1 - level) / 2 and (1 + level) / 2 quantiles. With one
    value the interval is that value; NaNs are refused (drop undefined seeds first)."""
    x = np.asarray(values, dtype=float).reshape(-1)
    if x.size == 0:
        raise AutoSpikformerError("bootstrap_ci needs at least one value")
    if not np.isfinite(x).all():
        raise AutoSpikformerError("bootstrap_ci: values must be finite numbers")
    if not (0 < level < 1) or n < 1:
        raise AutoSpikformerError(f"bootstrap_ci: need 0 < level < 1 and n >= 1, got {level}, {n}")
    estimate = float(stat(x.tolist()))
    rng = np.random.default_rng(seed)
    samples = x[rng.integers(0, x.size, size=(n, x.size))]
    if stat is statistics.median:
        stats = np.median(samples, axis=1)
    elif stat is statistics.fmean or stat is statistics.mean:
        stats = samples.mean(axis=1)
    else:
        stats = np.array([stat(row.tolist()) for row in samples])
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return Interval(estimate, float(low), float(high), level, int(x.size))


def evaluations_to_reach(
    history: Sequence[tuple[int, float | None]], target: float, *, rel_tol: float = 1e-12
) -> int | None:
    """The first evaluation count at which a search's hypervolume reached `target`, from its
    history of (candidates evaluated so far, hypervolume) after each generation; None when it
    never did. `rel_tol` absorbs float rounding between equal fronts."""
    for evaluated, value in history:
        if value is not None and value >= target - rel_tol * max(1.0, abs(target)):
            return int(evaluated)
    return None


def speedup(baseline_evaluations: int, needed: int | None) -> float:
    """How many times fewer evaluations a search needed than the baseline: baseline / needed;
    0 when it never reached the baseline's figure (a lower bound that ranks it below any seed
    that did)."""
    if needed is None:
        return 0.0
    if needed <= 0:
        raise AutoSpikformerError(f"evaluations needed must be >= 1, got {needed}")
    return baseline_evaluations / needed


def finite(values: Sequence[float]) -> list[float]:
    """The finite values, in order (e.g. Kendall taus that were defined)."""
    return [float(v) for v in values if v is not None and math.isfinite(v)]
