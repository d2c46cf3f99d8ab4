"""F_AEB, Pareto front, non-dominated sorting and crowding (against pymoo as an oracle),
hypervolume and Kendall's tau on hand-made point sets."""

import math

import numpy as np
import pytest

from engine.errors import AutoSpikformerError, SearchError
from engine.pareto import (
    FrontBox,
    check_alpha,
    crowding_distance,
    f_aeb,
    f_aeb_order,
    hypervolume,
    kendall_tau,
    nondominated_fronts,
    normalized_hypervolume,
    pareto_front,
    reference_point,
    silent_last,
)

# (accuracy, energy) = (0.9, 3), (0.8, 1), (0.85, 2), (0.7, 2.5); (0.85, 2) dominates (0.7, 2.5).
ACC = [0.9, 0.8, 0.85, 0.7]
ENERGY = [3.0, 1.0, 2.0, 2.5]


def test_f_aeb_hand_computed():
    # A scaled = [1, 0.5, 0], E scaled = [1, 0, 0.5]
    scores = f_aeb([0.9, 0.8, 0.7], [3.0, 1.0, 2.0], 0.5)
    np.testing.assert_allclose(scores, [0.5, 0.75, 0.25])


def test_f_aeb_alpha_one_ranks_lowest_energy_first():
    scores = f_aeb(ACC, ENERGY, 1.0)
    assert list(np.argsort(-scores)) == [1, 2, 3, 0]


def test_f_aeb_alpha_zero_ranks_most_accurate_first():
    scores = f_aeb(ACC, ENERGY, 0.0)
    assert list(np.argsort(-scores)) == [0, 2, 1, 3]


def test_f_aeb_scales_over_exactly_the_given_set():
    alone = f_aeb([0.8, 0.7], [1.0, 2.0], 0.5)
    with_third = f_aeb([0.8, 0.7, 0.9], [1.0, 2.0, 3.0], 0.5)
    np.testing.assert_allclose(alone, [1.0, 0.0])
    np.testing.assert_allclose(with_third[:2], [0.5 * 1.0 + 0.5 * 0.5, 0.5 * 0.5 + 0.0])


def test_f_aeb_constant_metric_scales_to_zero():
    np.testing.assert_allclose(f_aeb([0.5, 0.5], [2.0, 2.0], 0.3), [0.3, 0.3])
    np.testing.assert_allclose(f_aeb([0.4, 0.6], [2.0, 2.0], 0.5), [0.5, 1.0])


def test_f_aeb_empty_and_non_finite():
    assert f_aeb([], [], 0.5).shape == (0,)
    with pytest.raises(SearchError):
        f_aeb([0.5, math.nan], [1.0, 2.0], 0.5)
    with pytest.raises(SearchError):
        f_aeb([0.5], [1.0, 2.0], 0.5)


@pytest.mark.parametrize("alpha", [-0.1, 1.1, math.nan, math.inf, "abc", "0.5", True, None, [0.5]])
def test_check_alpha_rejects_bad_values(alpha):
    with pytest.raises(AutoSpikformerError) as info:
        check_alpha(alpha)
    assert isinstance(info.value, SearchError)
    assert "\n" not in str(info.value) and "alpha" in str(info.value)
    with pytest.raises(SearchError):
        f_aeb(ACC, ENERGY, alpha)


@pytest.mark.parametrize("alpha", [0, 1, 0.5, np.float64(0.25)])
def test_check_alpha_accepts_numbers_in_range(alpha):
    value = check_alpha(alpha)
    assert isinstance(value, float) and value == float(alpha)


def test_pareto_front_hand_made():
    assert pareto_front(ACC, ENERGY) == [1, 2, 0]


def test_pareto_front_equal_energy_keeps_the_more_accurate_and_duplicates():
    acc = [0.8, 0.9, 0.9, 0.7, 0.95]
    energy = [1.0, 1.0, 1.0, 0.5, 3.0]
    # (0.8, 1) is dominated by (0.9, 1); the two (0.9, 1) are duplicates and both kept.
    assert pareto_front(acc, energy) == [3, 1, 2, 4]


def test_pareto_front_small_inputs():
    assert pareto_front([], []) == []
    assert pareto_front([0.5], [1.0]) == [0]


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    acc = rng.integers(0, 30, 400) / 30  # ties on purpose
    energy = rng.integers(0, 30, 400) / 3
    brute = [
        i
        for i in range(acc.size)
        if not any(
            acc[j] >= acc[i]
            and energy[j] <= energy[i]
            and (acc[j], energy[j]) != (acc[i], energy[i])
            for j in range(acc.size)
        )
    ]
    front = pareto_front(acc, energy)
    assert sorted(front) == brute
    assert list(energy[front]) == sorted(energy[front])


def test_hypervolume_hand_made():
    # Front (0.8, 1), (0.85, 2), (0.9, 3) against (E=4, A=0): 1*0.8 + 1*0.85 + 1*0.9
    assert hypervolume(ACC, ENERGY, 4.0, 0.0) == pytest.approx(2.55)


def test_hypervolume_points_not_better_than_reference_contribute_nothing():
    # Only (0.85, 2) beats (E=2.5, A=0.8) in both: (2.5 - 2) * (0.85 - 0.8)
    assert hypervolume(ACC, ENERGY, 2.5, 0.8) == pytest.approx(0.025)
    assert hypervolume(ACC, ENERGY, 1.0, 0.0) == 0.0
    assert hypervolume([], [], 4.0, 0.0) == 0.0


def test_hypervolume_ignores_dominated_points():
    front_only = hypervolume([0.9, 0.8, 0.85], [3.0, 1.0, 2.0], 4.0, 0.0)
    assert hypervolume(ACC, ENERGY, 4.0, 0.0) == pytest.approx(front_only)


def test_reference_point_convention():
    ref = reference_point([1.0, 2.0], [3.0])
    assert ref.energy_uj == pytest.approx(3.3)
    assert ref.accuracy == 0.0


def test_kendall_known_sequences():
    assert kendall_tau([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # one discordant pair out of six: (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(2 / 3)
    assert isinstance(kendall_tau([1, 2], [1, 2]), float)


def test_kendall_is_nan_safe():
    assert kendall_tau([1, 2, math.nan, 3], [1, 2, 0, 3]) == pytest.approx(1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(kendall_tau([1], [1]))
    assert math.isnan(kendall_tau([], []))
    with pytest.raises(SearchError):
        kendall_tau([1, 2], [1, 2, 3])


# ---- F_AEB ties (issue 12: every winner on the front) -----------------------------------------
# Three candidates tie in accuracy (the 29.44% at 0.8136, 0.5651, 0.1705 uJ), listed in the
# order an id sort would crown the dearest first.
TIED_ACC = [0.2944, 0.2944, 0.2944, 0.2]
TIED_ENERGY = [0.8136, 0.5651, 0.1705, 0.1]


def test_f_aeb_ties_at_alpha_zero_go_to_the_cheapest():
    order = f_aeb_order(TIED_ACC, TIED_ENERGY, 0.0)
    assert order[:3] == [2, 1, 0]
    assert order[0] in pareto_front(TIED_ACC, TIED_ENERGY)


def test_f_aeb_ties_at_alpha_one_go_to_the_most_accurate():
    acc, energy = [0.5, 0.7, 0.9, 0.95], [1.0, 1.0, 1.0, 2.0]
    order = f_aeb_order(acc, energy, 1.0)
    assert order[:3] == [2, 1, 0]
    assert order[0] in pareto_front(acc, energy)


def test_f_aeb_exact_duplicates_keep_index_order():
    assert f_aeb_order([0.9, 0.9, 0.9], [1.0, 1.0, 1.0], 0.5) == [0, 1, 2]


@pytest.mark.parametrize("alpha", np.linspace(0, 1, 11).tolist())
def test_the_f_aeb_winner_is_on_the_front_at_every_alpha(alpha):
    rng = np.random.default_rng(int(alpha * 10))
    for _ in range(50):  # few distinct values: many ties
        acc = rng.integers(0, 4, 12) / 4
        energy = rng.integers(1, 5, 12).astype(float)
        assert f_aeb_order(acc, energy, alpha)[0] in pareto_front(acc, energy)


# ---- non-dominated sorting and crowding distance, against pymoo -------------------------------
def _pymoo_fronts(acc, energy):
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    fronts = NonDominatedSorting().do(np.stack([-np.asarray(acc), np.asarray(energy)], axis=1))
    return [sorted(f.tolist()) for f in fronts]


def test_nondominated_fronts_hand_made():
    # (0.85, 2) dominates (0.7, 2.5); the other three are the front.
    assert nondominated_fronts(ACC, ENERGY) == [[1, 2, 0], [3]]
    assert nondominated_fronts([], []) == []


def test_nondominated_fronts_match_pymoo():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        acc = rng.integers(0, 8, n) / 8  # coarse values: ties and exact duplicates
        energy = rng.integers(0, 10, n) / 3
        ours = [sorted(f) for f in nondominated_fronts(acc, energy)]
        assert ours == _pymoo_fronts(acc, energy)


def test_crowding_distance_hand_made():
    # A front of 4 points; ends infinite; (0.8, 1) and (0.85, 2): neighbours' gaps over ranges.
    acc, energy = [0.7, 0.8, 0.85, 0.9], [0.5, 1.0, 2.0, 3.0]
    d = crowding_distance(acc, energy)
    assert math.isinf(d[0]) and math.isinf(d[3])
    assert d[1] == pytest.approx(((0.85 - 0.7) / 0.2 + (2.0 - 0.5) / 2.5) / 2)
    assert d[2] == pytest.approx(((0.9 - 0.8) / 0.2 + (3.0 - 1.0) / 2.5) / 2)
    assert np.isinf(crowding_distance([0.5, 0.6], [1.0, 2.0])).all()


def test_crowding_distance_matches_pymoo():
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(3, 30))
        acc = rng.integers(0, 6, n) / 6
        energy = rng.integers(0, 8, n) / 2
        for front in nondominated_fronts(acc, energy):
            if len(front) < 3:
                continue
            objectives = np.stack([-acc[front], energy[front]], axis=1)
            np.testing.assert_allclose(
                crowding_distance(acc[front], energy[front]),
                calc_crowding_distance(objectives),
                rtol=1e-12,
            )


# ---- normalized hypervolume -------------------------------------------------------------------
BOX = FrontBox(chance=0.1, energy_low_uj=0.01, energy_high_uj=100.0)  # 4 decades


def _oracle(acc, energy, box: FrontBox) -> float:
    """Brute force, written apart from the code: map each point into the unit box by its
    definition, then sum vertical strips between consecutive x values, each as high as the most
    accurate point at least that far right (the union of the [0, x_i] x [0, y_i])."""
    pts = []
    for a, e in zip(acc, energy, strict=True):
        x = (math.log10(box.energy_high_uj) - math.log10(e)) / (
            math.log10(box.energy_high_uj) - math.log10(box.energy_low_uj)
        )
        y = (a - box.chance) / (1 - box.chance)
        pts.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    edges = sorted({0.0, *(x for x, _ in pts)})
    area = 0.0
    for left, right in zip(edges, edges[1:], strict=False):
        height = max((y for x, y in pts if x >= right), default=0.0)
        area += (right - left) * height
    return area


def test_normalized_hypervolume_hand_made():
    # E = 1 uJ is half way down 4 decades (x 0.5); accuracy 0.55 is half way above chance 0.1.
    assert normalized_hypervolume([0.55], [1.0], BOX) == pytest.approx(0.25)
    # A second point, x 0.75 (0.1 uJ) and y 0.25 (accuracy 0.325), adds 0.25 x 0.25.
    value = normalized_hypervolume([0.55, 0.325], [1.0, 0.1], BOX)
    assert value == pytest.approx(0.25 + 0.25 * 0.25)


def test_normalized_hypervolume_corners_and_clipping():
    # A perfect subnet at the floor fills the box; anything beyond the box is clipped to it.
    assert normalized_hypervolume([1.0], [0.01], BOX) == pytest.approx(1.0)
    assert normalized_hypervolume([1.0], [1e-6], BOX) == pytest.approx(1.0)
    # At chance, or at the energy bound or above: nothing.
    assert normalized_hypervolume([0.1, 0.05, 0.9, 0.9], [0.5, 0.5, 100.0, 500.0], BOX) == 0.0
    assert normalized_hypervolume([], [], BOX) == 0.0


def test_normalized_hypervolume_matches_brute_force():
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 30))
        acc = rng.integers(0, 25, n) / 20  # ties, values under chance and above 1 clip
        energy = 10 ** (rng.integers(-30, 30, n) / 10)  # 1e-3 .. 1e3 uJ: beyond the box too
        chance = float(rng.choice([0.0, 0.1, 0.5]))
        box = FrontBox(chance, 10 ** float(rng.uniform(-3, 0)), 10 ** float(rng.uniform(0.5, 3)))
        expected = _oracle(acc, energy, box)
        assert normalized_hypervolume(acc, energy, box) == pytest.approx(expected, abs=1e-12)
        assert 0.0 <= expected <= 1.0, trial


def test_normalized_hypervolume_is_invariant_to_the_energy_unit():
    rng = np.random.default_rng(3)
    acc, energy = rng.uniform(0, 1, 40), 10 ** rng.uniform(-2, 2, 40)
    in_nj = FrontBox(BOX.chance, BOX.energy_low_uj * 1e3, BOX.energy_high_uj * 1e3)
    uj = normalized_hypervolume(acc, energy, BOX)
    assert 0 < uj < 1
    assert normalized_hypervolume(acc, energy * 1e3, in_nj) == pytest.approx(uj, rel=1e-12)


def test_normalized_hypervolume_rewards_the_low_energy_end():
    """The raw hypervolume under a loose reference barely sees a cheaper front point; the
    normalized one counts each decade of saving the same."""
    top = ([0.9], [10.0])
    both = ([0.9, 0.8], [10.0, 0.1])
    raw = [hypervolume(a, e, 1000.0, 0.0) for a, e in (top, both)]
    norm = [normalized_hypervolume(a, e, BOX) for a, e in (top, both)]
    assert raw[1] / raw[0] < 1.01
    assert norm[1] / norm[0] > 1.5


@pytest.mark.parametrize(
    "chance, low, high",
    [(1.0, 0.1, 1.0), (-0.1, 0.1, 1.0), (0.1, 0.0, 1.0), (0.1, 2.0, 1.0), (0.1, math.nan, 1.0)],
)
def test_front_box_rejects_bad_bounds(chance, low, high):
    with pytest.raises(SearchError) as info:
        FrontBox(chance, low, high)
    assert "\n" not in str(info.value) and "front box" in str(info.value)


def test_normalized_hypervolume_rejects_non_positive_energies():
    with pytest.raises(SearchError, match="positive"):
        normalized_hypervolume([0.5, 0.6], [1.0, 0.0], BOX)
    with pytest.raises(SearchError):
        normalized_hypervolume([0.5], [1.0, 2.0], BOX)


def test_silent_candidates_rank_after_the_others():
    order = f_aeb_order(ACC, ENERGY, 0.0)  # [0, 2, 1, 3]
    assert silent_last(order, [True, False, False, False]) == [2, 1, 3, 0]
    assert silent_last(order, [False] * 4) == order
    assert silent_last([], []) == []
    with pytest.raises(SearchError, match="flags"):
        silent_last(order, [True])
