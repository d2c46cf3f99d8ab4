"""bench/paired.py, the paired-seed comparison of bench/search_vs_random.py and bench/front.py,
on the synthetic evaluator of the search tests (no supernet)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import paired  # noqa: E402

from engine.pareto import FrontBox  # noqa: E402
from engine.search import EvolutionConfig, RandomConfig  # noqa: E402
from engine.stats import evaluations_to_reach  # noqa: E402
from tests.engine.test_search import JOINT, CountingEvaluate  # noqa: E402

BOX = FrontBox(chance=0.1, energy_low_uj=1e-4, energy_high_uj=5.0)
COMMON = dict(generations=4, population=8, reference_energy_uj=5.0, front_box=BOX)


def _rows() -> list[paired.Strategy]:
    return [
        paired.Strategy("random", "random", lambda s: RandomConfig(seed=s, **COMMON)),
        paired.Strategy(
            "evolution",
            "evolution",
            lambda s: EvolutionConfig(parents=3, seed=s, predictor=False, **COMMON),
            baselines=("random",),
        ),
        paired.Strategy(
            "evolution + predictor",
            "evolution",
            lambda s: EvolutionConfig(parents=3, seed=s, predictor=True, **COMMON),
            baselines=("random", "evolution"),
        ),
    ]


def _untimed(figures: dict) -> dict:
    """The figures without the seconds outside evaluations, which differ run to run."""
    return {**figures, "predictor": {**figures["predictor"], "overhead_s": None}}


def test_paired_rows_share_generation_0_and_report_intervals(tmp_path: Path, capsys) -> None:
    setting = paired.Setting(JOINT, BOX, CountingEvaluate(), "45nm-fp32")
    rows = _rows()
    results = paired.run_all(rows, [0, 1, 2, 3], setting)
    for rnd, evo in zip(results["random"], results["evolution"], strict=True):
        assert rnd.seed == evo.seed and rnd.history[0] == evo.history[0]  # same generation 0
        assert rnd.evaluated == evo.evaluated == 32
        assert 0 < rnd.hv_normalized < 1 and rnd.hv_normalized == rnd.history[-1][1]
    comparisons = paired.pairs(rows)
    assert comparisons == [
        ("evolution", "random"),
        ("evolution + predictor", "random"),
        ("evolution + predictor", "evolution"),
    ]
    figures = paired.print_paired(comparisons, results, n_boot=500)
    ci = figures["evolution - random"]["normalized"]
    diffs = [
        e.hv_normalized - r.hv_normalized
        for e, r in zip(results["evolution"], results["random"], strict=True)
    ]
    assert ci["low"] <= ci["estimate"] <= ci["high"] and ci["n"] == 4
    assert min(diffs) <= ci["low"] and ci["high"] <= max(diffs)
    speed = paired.print_speedup(comparisons, results, n_boot=500)["evolution vs random"]
    expected = [
        evaluations_to_reach(e.history, r.hv_normalized)
        for e, r in zip(results["evolution"], results["random"], strict=True)
    ]
    assert speed["needed"] == expected
    paired.print_generations(results)
    predictor = paired.print_predictor(results)
    out = capsys.readouterr().out
    assert "| evolution - random | 4 |" in out and "| evolution vs random | 32 |" in out
    # The screened row reports its tau per generation (none in generation 0); the others none.
    taus = [o.predictor_taus for o in results["evolution + predictor"]]
    assert all(t[0] is None and all(x is not None for x in t[1:]) for t in taus)
    assert all(t == [None] * 4 for o in results["evolution"] for t in [o.predictor_taus])
    assert "evolution + predictor: predictor tau" in out and "| 3 |" in out
    assert set(predictor["overhead_s"]) == {"random", "evolution", "evolution + predictor"}
    wall = paired.print_wall_time(
        speed_all := paired.print_speedup(comparisons, results, 200), results, 2.0
    )
    assert set(wall) == set(speed_all) and all(w > 0 for w in wall.values())
    path = tmp_path / "figures.json"
    paired.write_json(str(path), {"paired": figures}, comparisons, results)
    saved = json.loads(path.read_text())
    assert (
        len(saved["outcomes"]["evolution"]) == 4
        and "feasible" not in saved["outcomes"]["random"][0]
    )


def _outcome(seed: int, history: list[tuple[int, float]]) -> paired.Outcome:
    return paired.Outcome("x", seed, history[-1][1], 0.0, history[-1][0], 0.9, 1.0, 0.0, history)


def test_the_gain_ratio_divides_out_the_shared_generation_0(capsys) -> None:
    """Each row's HVn gain after generation 0 over its baseline's, per seed: 2.0 where the row
    gained twice as much; undefined where the baseline gained nothing or generation 0 differs."""
    base = [_outcome(0, [(4, 0.5), (8, 0.6)]), _outcome(1, [(4, 0.5), (8, 0.5)])]
    mine = [_outcome(0, [(4, 0.5), (8, 0.7)]), _outcome(1, [(4, 0.5), (8, 0.55)])]
    assert paired.gain_ratio(mine[0], base[0]) == pytest.approx(2.0)
    assert paired.gain_ratio(mine[1], base[1]) is None  # the baseline gained nothing
    assert paired.gain_ratio(_outcome(0, [(4, 0.4), (8, 0.7)]), base[0]) is None
    figures = paired.print_gain_ratio([("mine", "base")], {"mine": mine, "base": base}, 200)
    assert figures["mine / base"]["per_seed"] == [pytest.approx(2.0), None]
    assert "| mine / base | 2.00, - | 2.00 [2.00, 2.00] |" in capsys.readouterr().out


def test_rows_with_other_seeds_are_refused() -> None:
    setting = paired.Setting(JOINT, BOX, CountingEvaluate(), "45nm-fp32")
    rows = _rows()
    results = {
        "random": [paired.run(rows[0], 0, setting)],
        "evolution": [paired.run(rows[1], 1, setting)],
    }
    with pytest.raises(AssertionError, match="share their seeds"):
        paired.print_paired(paired.pairs(rows), results, n_boot=10)


def test_split_seeds_merge_into_the_same_tables(tmp_path: Path, capsys) -> None:
    """Seeds run in two processes (`--seed-list`) and merged print what one process prints."""
    setting = paired.Setting(JOINT, BOX, CountingEvaluate(), "45nm-fp32")
    rows = _rows()
    comparisons = paired.pairs(rows)
    whole = paired.run_all(rows, [0, 1, 2], setting)
    halves = []
    for k, seeds in enumerate(([2, 0], [1])):
        part = paired.run_all(rows, seeds, setting)
        halves.append(str(tmp_path / f"half{k}.json"))
        paired.write_json(halves[-1], {}, comparisons, part)
    got_pairs, merged, _ = paired.merge(halves)
    assert got_pairs == comparisons
    for name in whole:
        assert [o.seed for o in merged[name]] == [0, 1, 2]
        assert [o.history for o in merged[name]] == [o.history for o in whole[name]]
    capsys.readouterr()
    assert _untimed(paired.report(comparisons, merged, 300)) == _untimed(
        paired.report(comparisons, whole, 300)
    )
    for name in whole:
        assert [o.predictor_taus for o in merged[name]] == [o.predictor_taus for o in whole[name]]
    with pytest.raises(SystemExit, match="run twice"):
        paired.merge([halves[0], halves[0]])


def test_one_image_less_lowers_the_most_accurate_by_the_smallest_accuracy_gap() -> None:
    box = FrontBox(chance=0.1, energy_low_uj=0.1, energy_high_uj=10.0)
    acc, energy = [0.950, 0.965, 0.964, 0.965], [0.5, 3.0, 1.0, 4.0]
    # One image is the smallest gap, 0.001 (0.965 - 0.964); both best candidates are lowered.
    lowered = paired.one_image_less(acc, energy, box)
    assert lowered == pytest.approx(
        paired.normalized_hypervolume([0.950, 0.964, 0.964, 0.964], energy, box)
    )
    assert lowered < paired.normalized_hypervolume(acc, energy, box)
    # Nothing to lower against: one distinct accuracy.
    same = paired.one_image_less([0.9, 0.9], [1.0, 2.0], box)
    assert same == paired.normalized_hypervolume([0.9, 0.9], [1.0, 2.0], box)


def test_the_speed_up_within_one_image_is_reached_no_later(capsys) -> None:
    setting = paired.Setting(JOINT, BOX, CountingEvaluate(), "45nm-fp32")
    rows = _rows()[:2]
    results = paired.run_all(rows, [0, 1, 2], setting)
    assert all(
        o.hv_one_image_less is not None and o.hv_one_image_less <= o.hv_normalized
        for rs in results.values()
        for o in rs
    )
    figures = paired.report(paired.pairs(rows), results, n_boot=200)
    exact = figures["speedup"]["evolution vs random"]["needed"]
    within = figures["speedup_one_image"]["evolution vs random"]["needed"]
    assert all(e is None or (w is not None and w <= e) for e, w in zip(exact, within, strict=True))
    out = capsys.readouterr().out
    assert "| comparison, within one validation image |" in out
    assert out.count("| evolution vs random | 32 |") == 2  # exact, then within one image


def test_the_null_row_is_random_with_other_draws_and_the_same_anchors() -> None:
    """`search_vs_random.py --null`: random again with seed + 1000, paired with random by seed,
    so its figures are what the measures read when nothing but the draws differs."""
    import argparse

    import search_vs_random

    args = argparse.Namespace(
        no_anchors=False, no_predictor=True, explore_shares=[], null=True, old_operators=False,
        skip=["evolution"], parents=3,
    )  # fmt: skip
    rows = {r.name: r for r in search_vs_random.strategies(args, COMMON)}
    assert set(rows) == {"random", "random, other draws"}
    null = rows["random, other draws"]
    assert null.baselines == ("random",) and null.config(2).seed == 1002
    setting = paired.Setting(JOINT, BOX, CountingEvaluate(), "45nm-fp32")
    first, second = (
        paired.run(rows[name], 2, setting) for name in ("random", "random, other draws")
    )
    assert first.seed == second.seed == 2  # paired by seed
    anchors = {a.id for a in JOINT.anchors()}
    seen = [{r.id for r in o.feasible} for o in (first, second)]
    assert anchors <= seen[0] and anchors <= seen[1]  # the same anchors
    assert seen[0] != seen[1]  # other draws
