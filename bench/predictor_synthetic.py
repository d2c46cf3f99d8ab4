"""The predictor on the synthetic problem of the search tests: seconds instead of an hour.

The same paired-seed tables as bench/search_vs_random.py and bench/front.py (random, evolution,
evolution + predictor, NSGA-II, NSGA-II + predictor; 8 x 12 evaluations each), with the search
tests' synthetic evaluator (`tests/engine/test_search.py: synthetic`: accuracy grows with capacity
and T and prefers thresholds near 1, energy grows with T, width, depth and firing rate) in place
of a supernet. It checks the mechanics (does screening find what the strategy wants, and does the
exploration widen the front), not the value on real data: that is what the mnist-5k benches are
for. The box spans the synthetic energies of 2,000 random archs, halved and doubled.

    OMP_NUM_THREADS=1 python bench/predictor_synthetic.py --space mnist-small --seeds 10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paired  # noqa: E402

from engine.pareto import FrontBox  # noqa: E402
from engine.search import EvolutionConfig, NSGA2Config, RandomConfig  # noqa: E402
from engine.space import SearchSpace  # noqa: E402
from tests.engine.test_search import CountingEvaluate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="mnist-small")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--generations", type=int, default=8)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--bootstrap", type=int, default=10_000)
    args = p.parse_args()
    space = SearchSpace.resolve(args.space)
    rng = np.random.default_rng(0)
    energies = [r.energy_uj for r in CountingEvaluate()([space.sample(rng) for _ in range(2000)])]
    box = FrontBox(chance=0.1, energy_low_uj=min(energies) / 2, energy_high_uj=max(energies) * 2)
    common = dict(
        generations=args.generations,
        population=args.population,
        reference_energy_uj=box.energy_high_uj,
        front_box=box,
    )

    def evolution(s: int, **extra) -> EvolutionConfig:
        return EvolutionConfig(
            parents=args.parents, seed=s, **{"predictor": False, **common, **extra}
        )

    rows = [
        paired.Strategy("random", "random", lambda s: RandomConfig(seed=s, **common)),
        paired.Strategy("evolution", "evolution", evolution, baselines=("random",)),
        paired.Strategy(
            "evolution + predictor",
            "evolution",
            lambda s: evolution(s, predictor=True),
            baselines=("random", "evolution"),
        ),
        paired.Strategy(
            "nsga2",
            "nsga2",
            lambda s: NSGA2Config(seed=s, predictor=False, **common),
            baselines=("random",),
        ),
        paired.Strategy(
            "nsga2 + predictor",
            "nsga2",
            lambda s: NSGA2Config(seed=s, predictor=True, **common),
            baselines=("random", "nsga2"),
        ),
    ]
    print(
        f"# synthetic evaluator on {args.space}, {args.generations} x {args.population}, "
        f"seeds 0-{args.seeds - 1}; box {box}"
    )
    setting = paired.Setting(space, box, CountingEvaluate(), "45nm-fp32")
    results = paired.run_all(rows, list(range(args.seeds)), setting)
    paired.report(paired.pairs(rows), results, args.bootstrap)


if __name__ == "__main__":
    main()
