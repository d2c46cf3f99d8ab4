"""Ranking candidates by accuracy and energy: F_AEB, the Pareto front, non-dominated sorting and
crowding distance (NSGA-II), hypervolume, Kendall's tau.

All functions take plain sequences of numbers (one entry per candidate) so the search, the store
and the app can share them. Accuracy is maximized, energy minimized.

Hypervolume reference point. `hypervolume` takes the reference point explicitly. A search fixes
its reference when it starts (`SearchConfig.reference_energy_uj`; the pipeline passes the space's
energy bound, `engine.search.reference`), so its recorded history is comparable across
generations and with other searches of the same space and dataset. `reference_point` (1.1 x the
largest energy across the compared sets, accuracy 0) remains for comparing sets that have no
common stored reference; it moves with the sets, so values under it compare only within one call.

Normalized hypervolume (`normalized_hypervolume`, the front metric shown everywhere). The raw
hypervolume above is in uJ x accuracy under a reference that bounds every arch of the space; that
bound is 4.7-8x any measured energy, so the raw value is almost (reference - energy of the most
accurate candidate) x its accuracy: it measures one point. The normalized one maps each candidate
into the unit box of a `FrontBox`: x = (log10 E_hi - log10 E) / (log10 E_hi - log10 E_lo),
y = (accuracy - chance) / (1 - chance), both clipped to [0, 1], and takes the area the front
dominates with reference (0, 0). E_hi and E_lo are analytic bounds of the energy of any arch of
the space under the profile (`engine.search.reference.front_box`), so the value is unitless, in
[0, 1], comparable between searches of one space and dataset, and the same whichever profile
prices both the points and the box. Log energy because measured energies span orders of
magnitude: on a linear axis the whole front sits in the first few percent of the box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from numbers import Real

import numpy as np

from engine.errors import SearchError

REFERENCE_ENERGY_FACTOR = 1.1
REFERENCE_ACCURACY = 0.0

ArrayLike = Sequence[float] | np.ndarray


def check_alpha(alpha: object) -> float:
    """Return `alpha` as a float in [0, 1], or raise a one-line `SearchError`.

    Booleans, strings and other non-numbers are refused, as are NaN and infinities.
    """
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, Real):
        raise SearchError(f"alpha must be a number in [0, 1], got {alpha!r}")
    value = float(alpha)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise SearchError(f"alpha must be a number in [0, 1], got {value}")
    return value


def _vectors(accuracies: ArrayLike, energies: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    acc = np.asarray(accuracies, dtype=float).reshape(-1)
    energy = np.asarray(energies, dtype=float).reshape(-1)
    if acc.shape != energy.shape:
        raise SearchError(f"got {acc.size} accuracies but {energy.size} energies")
    if not (np.isfinite(acc).all() and np.isfinite(energy).all()):
        raise SearchError("accuracies and energies must be finite numbers")
    return acc, energy


def _minmax(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over exactly `x`; all zeros when max == min."""
    if x.size == 0:
        return x.copy()
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros_like(x)
    return (x - lo) / (hi - lo)


def f_aeb(accuracies: ArrayLike, energies: ArrayLike, alpha: float) -> np.ndarray:
    """Accuracy and energy balanced fitness (paper Eq. 6), higher is better.

    F_AEB = alpha * (1 - E_scaled) + (1 - alpha) * A_scaled, where both metrics are min-max scaled
    over the candidates being ranked (exactly the given set; a constant metric scales to 0).
    alpha = 0 is accuracy alone (AutoFormer's fitness), alpha = 1 is energy alone. The paper
    writes `alpha * E`; energy enters as `1 - E_scaled` so that lower energy scores higher.
    """
    alpha = check_alpha(alpha)
    acc, energy = _vectors(accuracies, energies)
    return alpha * (1.0 - _minmax(energy)) + (1.0 - alpha) * _minmax(acc)


def f_aeb_order(accuracies: ArrayLike, energies: ArrayLike, alpha: float) -> list[int]:
    """Indices best F_AEB first. Ties in F_AEB go to the higher accuracy, then the lower energy,
    then the lower index (evaluation order), so the winner at every alpha is on the Pareto front:
    at alpha 0 among equally accurate candidates the cheapest wins, at alpha 1 among equally
    cheap ones the most accurate."""
    acc, energy = _vectors(accuracies, energies)
    fitness = f_aeb(acc, energy, alpha)
    return np.lexsort((np.arange(acc.size), energy, -acc, -fitness)).tolist()


def silent_last(order: Sequence[int], silent: Sequence[bool]) -> list[int]:
    """`order` (indices, e.g. from `f_aeb_order`) with the silent candidates (`silent[i]`: a block
    never fires, `engine.results.silent_blocks`) moved after all the others, each group keeping
    its order: how tables rank by default, so a silent subnet is never ranked first unasked."""
    if len(silent) < (max(order) + 1 if len(order) else 0):
        raise SearchError(f"silent_last: {len(silent)} flags for indices up to {max(order)}")
    return [i for i in order if not silent[i]] + [i for i in order if silent[i]]


def pareto_front(accuracies: ArrayLike, energies: ArrayLike) -> list[int]:
    """Indices of the non-dominated candidates, sorted by energy (lowest first).

    A candidate is dominated when another has accuracy >= and energy <= with one strict.
    Exact duplicates of a front point are all kept. O(n log n): one sort and one sweep.
    """
    acc, energy = _vectors(accuracies, energies)
    # Energy ascending, then accuracy descending, then index: the first of each energy is its best.
    order = np.lexsort((np.arange(acc.size), -acc, energy))
    front: list[int] = []
    best_acc = -math.inf
    for i in order.tolist():
        if acc[i] > best_acc:
            front.append(i)
            best_acc = float(acc[i])
        elif front and acc[i] == best_acc and energy[i] == energy[front[-1]]:
            front.append(i)  # an exact duplicate of the last front point
    return front


def nondominated_fronts(accuracies: ArrayLike, energies: ArrayLike) -> list[list[int]]:
    """Non-dominated sorting (NSGA-II): the Pareto front, then the front of what is left, and so
    on; each front's indices sorted by energy as `pareto_front` sorts them. Exact duplicates share
    a front. O(F n log n) for F fronts; the search sorts at most a few hundred candidates."""
    acc, energy = _vectors(accuracies, energies)
    left = np.arange(acc.size)
    fronts: list[list[int]] = []
    while left.size:
        front = left[pareto_front(acc[left], energy[left])]
        fronts.append(front.tolist())
        left = np.setdiff1d(left, front, assume_unique=True)
    return fronts


def crowding_distance(accuracies: ArrayLike, energies: ArrayLike) -> np.ndarray:
    """NSGA-II's crowding distance of every point of one front (Deb et al. 2002).

    Per objective the points are sorted (stable), the two ends get infinity, and every other
    point the gap between its two neighbours over the objective's range; an objective with range
    0 adds 0 to every point. The result is the mean over the two objectives. This is exactly
    pymoo's `calc_crowding_distance`, ties included (tests/engine/test_pareto.py checks it
    against pymoo); fronts of one or two points are all infinity.
    """
    acc, energy = _vectors(accuracies, energies)
    n = acc.size
    if n <= 2:
        return np.full(n, math.inf)
    objectives = np.stack([-acc, energy], axis=1)  # both minimized
    distance = np.zeros(n)
    for column in objectives.T:
        order = np.argsort(column, kind="mergesort")
        values = column[order]
        span = values[-1] - values[0]
        if span == 0:
            continue  # a constant objective adds nothing, not even at the ends (as in pymoo)
        gaps = np.empty(n)
        gaps[0] = gaps[-1] = math.inf
        gaps[1:-1] = (values[2:] - values[:-2]) / span
        distance[order] += gaps
    return distance / 2


@dataclass(frozen=True)
class ReferencePoint:
    """Hypervolume reference: `energy_uj` is an upper bound, `accuracy` a lower bound."""

    energy_uj: float
    accuracy: float = REFERENCE_ACCURACY


def reference_point(*energy_sets: ArrayLike) -> ReferencePoint:
    """The search's convention: 1.1 x the largest energy across the compared sets, accuracy 0."""
    values = [float(e) for s in energy_sets for e in np.asarray(s, dtype=float).reshape(-1)]
    if not values:
        return ReferencePoint(energy_uj=0.0)
    if not all(math.isfinite(v) for v in values):
        raise SearchError("energies must be finite numbers")
    return ReferencePoint(energy_uj=REFERENCE_ENERGY_FACTOR * max(values))


def hypervolume(
    accuracies: ArrayLike, energies: ArrayLike, ref_energy: float, ref_accuracy: float
) -> float:
    """Area of the (energy, accuracy) plane dominated by the front and bounded by the reference.

    The region is the union of [E_i, ref_energy] x [ref_accuracy, A_i] over the candidates; a
    candidate with energy >= ref_energy or accuracy <= ref_accuracy contributes nothing.
    """
    acc, energy = _vectors(accuracies, energies)
    inside = (energy < ref_energy) & (acc > ref_accuracy)
    acc, energy = acc[inside], energy[inside]
    front = pareto_front(acc, energy)
    area = 0.0
    for k, i in enumerate(front):
        next_energy = energy[front[k + 1]] if k + 1 < len(front) else ref_energy
        area += float(next_energy - energy[i]) * float(acc[i] - ref_accuracy)
    return area


@dataclass(frozen=True)
class FrontBox:
    """The box of the normalized hypervolume: accuracy from `chance` (1 / classes) to 1, energy
    from `energy_high_uj` (no credit) down to `energy_low_uj` (full credit), on a log axis.
    Compute it once per (space, dataset, profile): `engine.search.reference.front_box`."""

    chance: float
    energy_low_uj: float
    energy_high_uj: float

    def __post_init__(self) -> None:
        values = (self.chance, self.energy_low_uj, self.energy_high_uj)
        if not all(isinstance(v, Real) and math.isfinite(v) for v in values):
            raise SearchError(f"front box needs finite numbers, got {values}")
        if not 0.0 <= self.chance < 1.0:
            raise SearchError(f"front box: chance accuracy must be in [0, 1), got {self.chance}")
        if not 0.0 < self.energy_low_uj < self.energy_high_uj:
            raise SearchError(
                "front box: need 0 < energy_low_uj < energy_high_uj, got "
                f"{self.energy_low_uj} and {self.energy_high_uj}"
            )

    def unit(self, accuracies: ArrayLike, energies: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Each candidate's (x, y) in the unit box: x the log-energy saving, y the accuracy above
        chance, both clipped to [0, 1]. Energies must be positive, in the box's unit."""
        acc, energy = _vectors(accuracies, energies)
        if (energy <= 0).any():
            raise SearchError("energies must be positive for the normalized hypervolume")
        lo, hi = math.log10(self.energy_low_uj), math.log10(self.energy_high_uj)
        x = np.clip((hi - np.log10(energy)) / (hi - lo), 0.0, 1.0)
        y = np.clip((acc - self.chance) / (1.0 - self.chance), 0.0, 1.0)
        return x, y

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def normalized_hypervolume(accuracies: ArrayLike, energies: ArrayLike, box: FrontBox) -> float:
    """The area of the unit box that the candidates dominate, in [0, 1] (module docstring):
    accuracy above chance x log10 energy saving, both scaled by the box. Energies in uJ, or any
    unit as long as the box's bounds are in the same one."""
    x, y = box.unit(accuracies, energies)
    # The unit box as the (energy, accuracy) plane of `hypervolume`: energy 1 - x, reference (1, 0).
    return hypervolume(y, 1.0 - x, 1.0, 0.0)


def kendall_tau(x: ArrayLike, y: ArrayLike) -> float:
    """Kendall's tau-b between two rankings; pairs with a NaN are dropped.

    Returns NaN when it is undefined (fewer than two pairs left, or a constant sequence).
    """
    a = np.asarray(x, dtype=float).reshape(-1)
    b = np.asarray(y, dtype=float).reshape(-1)
    if a.shape != b.shape:
        raise SearchError(f"kendall_tau: sequences differ in length ({a.size} vs {b.size})")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    from scipy import stats  # here, not at the top: it adds a second to every CLI start

    return float(stats.kendalltau(a, b).statistic)
