"""Evolution (F_AEB) vs random search at the same budget, over several seeds, on digits.

For each seed both strategies get G x P evaluations with weights inherited from the same
supernet. Printed per seed: hypervolume of each strategy's Pareto front (energy ref = 1.1 x
the largest energy seen by either, accuracy ref = 0) and Kendall's tau between accuracy and
energy over each candidate set (the paper reports 0.63 for evolution and 0.08 for random).

    python bench/search_vs_random.py --seeds 5 --generations 10 --population 20 [--checkpoint C]
"""

from __future__ import annotations

import argparse
import time

from common import CachedEvaluator, supernet_checkpoint

from engine.pareto import hypervolume, kendall_tau, pareto_front, reference_point
from engine.search import EvolutionConfig, RandomConfig, make_search
from engine.space import SearchSpace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="digits-tiny supernet (else train one)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--population", type=int, default=20)
    p.add_argument("--parents", type=int, default=8)
    p.add_argument("--alpha", type=float, default=0.5)
    args = p.parse_args()
    ckpt = supernet_checkpoint(args.checkpoint, args.epochs)
    evaluate = CachedEvaluator(ckpt)
    space = SearchSpace.preset("digits-tiny")
    common = dict(generations=args.generations, population=args.population, alpha=args.alpha)
    print(
        f"# evolution vs random on digits-tiny, budget {args.generations} x {args.population}"
        f" each, alpha {args.alpha}, parents {args.parents}, supernet {ckpt}"
    )
    print("| seed | HV evolution | HV random | evolution wins | tau evolution | tau random |")
    print("|---|---|---|---|---|---|")
    wins, t0 = 0, time.time()
    for seed in range(args.seeds):
        sets = {}
        for strategy, config in (
            ("evolution", EvolutionConfig(parents=args.parents, seed=seed, **common)),
            ("random", RandomConfig(seed=seed, **common)),
        ):
            search = make_search(strategy, space, config, evaluate)
            search.run()
            sets[strategy] = search.evaluated
        ref = reference_point(*[[r.energy_uj for r in rs] for rs in sets.values()])
        hv, tau = {}, {}
        for name, rs in sets.items():
            acc, energy = [r.accuracy for r in rs], [r.energy_uj for r in rs]
            hv[name] = hypervolume(acc, energy, ref.energy_uj, ref.accuracy)
            tau[name] = kendall_tau(acc, energy)
            assert pareto_front(acc, energy)
        win = hv["evolution"] > hv["random"]
        wins += win
        print(
            f"| {seed} | {hv['evolution']:.4f} | {hv['random']:.4f} | {'yes' if win else 'no'}"
            f" | {tau['evolution']:+.3f} | {tau['random']:+.3f} |"
        )
    elapsed = time.time() - t0
    print(
        f"\nevolution's front beats random's on {wins}/{args.seeds} seeds; "
        f"{evaluate.calls} distinct candidates evaluated in {elapsed:.0f} s "
        f"({evaluate.calls / elapsed:.2f} candidates/s)"
    )


if __name__ == "__main__":
    main()
