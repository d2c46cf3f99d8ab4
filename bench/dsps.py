"""DSPS alone: search only the SNN genes (T, per-block threshold and tau) of a fixed arch.

The architecture is fixed at digits-tiny's largest (2 blocks x 64, MLP 4, 4 heads); weights
come from the joint digits-tiny supernet. The paper (section 5.2) saw up to 25% lower energy at
equal accuracy among SNN settings sharing one set of weights. Printed: the spread of energy
among candidates whose accuracy is within 0.5 points of the best, and the same for T=4 only.

    python bench/dsps.py [--checkpoint C] --generations 10 --population 20
"""

from __future__ import annotations

import argparse

from common import CachedEvaluator, supernet_checkpoint

from engine.pareto import kendall_tau
from engine.search import EvolutionConfig, make_search
from engine.space import SearchSpace


def spread(results, points: float) -> tuple[int, float, float]:
    best = max(r.accuracy for r in results)
    near = [r.energy_uj for r in results if r.accuracy >= best - points / 100]
    return len(near), min(near), max(near)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--population", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    joint = SearchSpace.preset("digits-tiny")
    big = joint.largest()
    snn = SearchSpace.from_dict(
        {
            **joint.to_dict(),
            "embed_dim": [big.embed_dim],
            "depth": [big.depth],
            "mlp_ratio": [big.mlp_ratios[0]],
            "num_heads": [big.num_heads[0]],
        },
        name="digits-snn",
    )
    assert snn.mode == "snn"
    evaluate = CachedEvaluator(supernet_checkpoint(args.checkpoint, args.epochs))
    config = EvolutionConfig(
        generations=args.generations,
        population=args.population,
        parents=max(2, args.population // 3),
        seed=args.seed,
        predictor=False,  # as recorded: the plain evolution over the SNN genes
    )
    search = make_search("evolution", snn, config, evaluate)
    search.run()
    results = search.evaluated
    print(
        f"# DSPS on digits: arch fixed at {big.depth}-{big.embed_dim}, {len(results)} SNN "
        f"settings ({args.generations} x {args.population}), {snn.size} in the space"
    )
    n, lo, hi = spread(results, 0.5)
    best = max(r.accuracy for r in results)
    print(
        f"best val accuracy {best:.4f}; {n} candidates within 0.5 points of it; energy "
        f"{lo:.4f}..{hi:.4f} uJ -> the cheapest saves {(1 - lo / hi) * 100:.1f}% of the dearest"
    )
    for t in sorted({r.arch.time_steps for r in results}):
        sub = [r for r in results if r.arch.time_steps == t]
        n, lo, hi = spread(sub, 0.5)
        print(
            f"  T={t}: {len(sub)} candidates, best acc {max(r.accuracy for r in sub):.4f}, "
            f"{n} within 0.5 points, energy {lo:.4f}..{hi:.4f} uJ ({(1 - lo / hi) * 100:.1f}%)"
        )
    tau = kendall_tau([r.accuracy for r in results], [r.energy_uj for r in results])
    print(f"Kendall tau(accuracy, energy) = {tau:+.3f} (paper, SS on CIFAR-100: 0.4)")
    print("\n| T | thresholds | taus | mean firing rate | acc | energy uJ |")
    print("|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (-r.accuracy, r.energy_uj))[:8]:
        a = r.arch
        print(
            f"| {a.time_steps} | {list(a.thresholds)} | {list(a.taus)} | {r.firing_rate:.4f} |"
            f" {r.accuracy:.4f} | {r.energy_uj:.4f} |"
        )


if __name__ == "__main__":
    main()
