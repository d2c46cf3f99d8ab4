"""A predictor that screens children before they are evaluated (OFA's and BigNAS's accuracy
predictor, NAS-Bench's surrogate), for the evolution and NSGA-II (`OperatorConfig.predictor`).

Two ensembles of randomized trees (scikit-learn's `ExtraTreesRegressor`) are fitted on every
candidate evaluated so far in the run (the earlier searches of the run included, which warm-starts
the first screened generation): one predicts the validation accuracy, the other log10 of the
energy (energies span two orders of magnitude; the firing rates that drive them depend on the
threshold and tau genes in ways a tree captures and a linear model does not). The spread of the
trees' predictions is the uncertainty.

Each generation after the first, a strategy breeds `screen_factor` x P children with its own
operators, and `select` keeps P of them: the best `1 - explore_share` by the strategy's predicted
score (F_AEB for the evolution, constrained rank and crowding for NSGA-II) and, for exploration,
the rest by the normalized hypervolume they would add to the front at their optimistic accuracy
(prediction plus the trees' spread), an upper-confidence rule that favours both uncertain children
and parts of the front the strategy's own score neglects. Only those P are evaluated; the
predictions made for them are kept, so each generation reports the predictor's Kendall tau on what
it then evaluated (`GenerationSummary.predictor_tau`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.pareto import FrontBox, kendall_tau
from engine.results import EvalResult
from engine.space import Arch

# Fewer evaluated candidates than this: no model; the generation is bred without screening.
MIN_TRAINING = 8
TREES = 64


def features(arch: Arch, max_depth: int) -> list[float]:
    """The genome as numbers: the global genes, per-block summaries (mean, min, max) and each
    block's genes (zeros past the arch's depth), and the MLP and attention widths they imply."""
    d = arch.depth
    hidden = [arch.mlp_hidden(b) for b in range(d)]
    row = [
        float(arch.embed_dim),
        float(d),
        float(arch.time_steps),
        float(sum(hidden)),
        float(arch.embed_dim * d),
        float(arch.time_steps * (arch.embed_dim * d * 4 + sum(hidden) * 2) * arch.embed_dim),
    ]
    for genes in (arch.mlp_ratios, arch.num_heads, arch.thresholds, arch.taus):
        values = [float(v) for v in genes]
        row += [float(np.mean(values)), min(values), max(values)]
        row += values[:max_depth] + [0.0] * (max_depth - min(d, max_depth))
    return row


@dataclass(frozen=True)
class Prediction:
    """Per arch: predicted accuracy, its spread over the trees, and predicted energy (uJ)."""

    accuracy: np.ndarray
    accuracy_std: np.ndarray
    energy_uj: np.ndarray


class Predictor:
    """Accuracy and log-energy ensembles fitted on evaluated candidates (see the module doc).

    Args:
        results: the evaluated candidates to learn from (non-finite ones are skipped).
        max_depth: the space's largest depth (sizes the per-block features).
        seed: seeds the trees, so a search with a seed is reproducible.
    """

    def __init__(self, results: Sequence[EvalResult], max_depth: int, seed: int) -> None:
        from sklearn.ensemble import ExtraTreesRegressor  # here: it costs a second to import

        usable = [
            r
            for r in results
            if math.isfinite(r.accuracy) and math.isfinite(r.energy_uj) and r.energy_uj > 0
        ]
        self.max_depth = max_depth
        x = self._matrix([r.arch for r in usable])
        self._accuracy = ExtraTreesRegressor(n_estimators=TREES, random_state=seed, n_jobs=1)
        self._energy = ExtraTreesRegressor(n_estimators=TREES, random_state=seed + 1, n_jobs=1)
        self._accuracy.fit(x, [r.accuracy for r in usable])
        self._energy.fit(x, [math.log10(r.energy_uj) for r in usable])

    def _matrix(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.asarray([features(a, self.max_depth) for a in archs], dtype=float)

    def predict(self, archs: Sequence[Arch]) -> Prediction:
        x = self._matrix(archs)
        per_tree = np.stack([t.predict(x) for t in self._accuracy.estimators_])
        return Prediction(
            accuracy=per_tree.mean(axis=0),
            accuracy_std=per_tree.std(axis=0),
            energy_uj=10.0 ** self._energy.predict(x),
        )


Score = Callable[[Prediction], list[int]]


@dataclass(frozen=True)
class Front:
    """What exploration measures gains against: the feasible candidates evaluated so far, and
    the box of the normalized hypervolume (`engine.pareto.FrontBox`; None: one spanning the
    known and predicted energies, chance 0)."""

    accuracies: list[float]
    energies_uj: list[float]
    box: FrontBox | None = None


def _box(front: Front, prediction: Prediction) -> FrontBox:
    if front.box is not None:
        return front.box
    energies = [e for e in front.energies_uj if e > 0] + prediction.energy_uj.tolist()
    return FrontBox(chance=0.0, energy_low_uj=min(energies) / 2, energy_high_uj=max(energies) * 2)


def hypervolume_gains(
    front_x: np.ndarray, front_y: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """The area each point (x[k], y[k]) of the unit box would add to the region the front's points
    dominate (the union of [0, x_i] x [0, y_i]): the integral over t in [0, x] of
    max(0, y - H(t)), where H(t) is the best accuracy of the front at an energy saving >= t.
    Exactly 0 for a dominated point; equal to `normalized_hypervolume` of the front with the
    point minus that without it (to rounding), for all points at once in O(points x front)."""
    keep = (front_x > 0) & (front_y > 0)
    fx, fy = front_x[keep], front_y[keep]
    edges = np.unique(fx)  # ascending breakpoints of the staircase H
    # H on (edges[j-1], edges[j]]: the best y among front points with x >= edges[j].
    order = np.argsort(fx)
    best_from = np.maximum.accumulate(fy[order][::-1])[::-1]  # best y over x >= fx[order[i]]
    height = best_from[np.searchsorted(fx[order], edges, side="left")]
    lower = np.concatenate(([0.0], edges))
    upper = np.concatenate((edges, [np.inf]))
    heights = np.concatenate((height, [0.0]))
    width = np.clip(np.minimum(x[:, None], upper[None, :]) - lower[None, :], 0.0, None)
    return (width * np.clip(y[:, None] - heights[None, :], 0.0, None)).sum(axis=1)


def front_gain_order(
    prediction: Prediction, candidates: list[int], picks: int, front: Front
) -> list[int]:
    """`picks` of `candidates` chosen greedily by the normalized hypervolume each adds to the
    front at its optimistic point (predicted accuracy plus its spread over the trees, predicted
    energy), each pick joining the front before the next; children that add nothing go last,
    most uncertain first (then lowest index)."""
    box = _box(front, prediction)
    optimistic = np.minimum(prediction.accuracy + prediction.accuracy_std, 1.0)
    if front.accuracies:
        fx, fy = box.unit(front.accuracies, front.energies_uj)
    else:
        fx, fy = np.zeros(0), np.zeros(0)
    cx, cy = box.unit(optimistic, prediction.energy_uj)
    left, chosen = list(candidates), []
    while left and len(chosen) < picks:
        idx = np.asarray(left, dtype=int)
        # Rounded, so gains equal but for rounding tie and fall to the spread, then the index.
        gains = np.round(hypervolume_gains(fx, fy, cx[idx], cy[idx]), 12).tolist()
        best = max(
            range(len(left)), key=lambda i: (gains[i], prediction.accuracy_std[left[i]], -left[i])
        )
        if gains[best] <= 0:
            left.sort(key=lambda k: (-prediction.accuracy_std[k], k))
            chosen += left[: picks - len(chosen)]
            break
        k = left.pop(best)
        chosen.append(k)
        fx, fy = np.append(fx, cx[k]), np.append(fy, cy[k])
    return chosen


def select(
    prediction: Prediction, keep: int, explore_share: float, order: Score, front: Front
) -> list[int]:
    """Indices of the `keep` children to evaluate: the best `keep - explore` by `order` (indices
    best first), then, for exploration, `explore = round(explore_share * keep)` of the rest by
    `front_gain_order` (the front's coverage, optimistically: what a strategy that aims at one
    alpha would not try, and what a user who moves alpha in the explorer needs). Ascending
    index order, so the evaluation order follows the breeding order."""
    n = prediction.accuracy.size
    if keep >= n:
        return list(range(n))
    explore = min(round(explore_share * keep), keep)
    chosen = [int(k) for k in order(prediction)[: keep - explore]]
    taken = set(chosen)
    rest = [k for k in range(n) if k not in taken]
    known = Front(
        front.accuracies + prediction.accuracy[chosen].tolist(),
        front.energies_uj + prediction.energy_uj[chosen].tolist(),
        front.box,
    )
    return sorted(chosen + front_gain_order(prediction, rest, explore, known))


def tau(predicted: dict[str, float], results: Sequence[EvalResult]) -> float | None:
    """Kendall's tau between the predicted and the measured accuracy of the evaluated candidates
    that were predicted; None when undefined (fewer than two, or a constant side)."""
    pairs = [(predicted[r.id], r.accuracy) for r in results if r.id in predicted]
    if len(pairs) < 2:
        return None
    value = kendall_tau([p for p, _ in pairs], [a for _, a in pairs])
    return None if math.isnan(value) else value
