"""Genes changed per child: the previous operators against the paper's (engine.search.operators).

For each space, N parents are drawn uniformly (for `cifar-small@4`, only depth-4 parents: 19
genes). Mutation: one child per parent. Crossover: N children of two parents drawn from the same
pool, the old way (two distinct random parents) and the new way (`pick_pair`: redrawn until the
depths match, AutoFormer's rule); a crossover child is compared with its nearer parent. Printed
side by side: mean, median, share of children equal to their parent (wasted draws: the search
redraws them) and the histogram of genes changed (`operators.genes_changed`: embed dim, depth,
T and every per-block gene; a block only one arch has counts 4). The column "median, depth = 1"
counts a depth change once instead (the blocks a shallower child drops are not counted).

The old operators (every gene redrawn with probability 0.4 and forced to change; crossover of
any two distinct parents) live only here, as the reference.

    python bench/operators.py [--n 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.search.operators import (  # noqa: E402
    BLOCK_GENES,
    _assemble,
    crossover,
    genes_changed,
    mutate,
    pick_pair,
)
from engine.space import Arch, SearchSpace  # noqa: E402

OLD_MUTATION_PROB = 0.4  # the previous EvolutionConfig default


def old_mutate(arch: Arch, space: SearchSpace, rng: np.random.Generator, prob: float) -> Arch:
    """The previous operator: each gene with probability `prob`, forced to another choice."""

    def pick(choices):
        return choices[int(rng.integers(len(choices)))]

    def maybe(value: Any, choices: tuple) -> Any:
        if rng.random() >= prob:
            return value
        others = tuple(c for c in choices if c != value)
        return pick(others) if others else value

    embed_dim = maybe(arch.embed_dim, space.embed_dim)
    depth = maybe(arch.depth, space.depth)
    time_steps = maybe(arch.time_steps, space.time_steps)
    blocks = [{g: getattr(arch, g)[b] for g in BLOCK_GENES} for b in range(arch.depth)]
    for block in blocks[:depth]:
        for gene, choices in BLOCK_GENES.items():
            block[gene] = maybe(block[gene], getattr(space, choices))
    fresh = [
        {g: pick(getattr(space, c)) for g, c in BLOCK_GENES.items()}
        for _ in range(depth - len(blocks))
    ]
    return _assemble(space, embed_dim, depth, time_steps, blocks[:depth] + fresh)


def parents_of(space: SearchSpace, depth: int | None, n: int, rng) -> list[Arch]:
    out: list[Arch] = []
    while len(out) < n:
        arch = space.sample(rng)
        if depth is None or arch.depth == depth:
            out.append(arch)
    return out


def stats(changes: list[tuple[int, int]]) -> dict[str, Any]:
    a = np.asarray([c for c, _ in changes])
    return {
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "median1": float(np.median([c for _, c in changes])),
        "same": float((a == 0).mean()),
        "hist": Counter(a.tolist()),
    }


def measure(space: SearchSpace, depth: int | None, n: int, seed: int) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    parents = parents_of(space, depth, n, rng)
    out: dict[str, list[tuple[int, int]]] = {
        k: [] for k in ("mut old", "mut new", "x old", "x new")
    }

    def changed(child: Arch, *parents: Arch) -> tuple[int, int]:
        return (
            min(genes_changed(p, child) for p in parents),
            min(genes_changed(p, child, unshared_blocks=False) for p in parents),
        )

    for p in parents:
        out["mut old"].append(changed(old_mutate(p, space, rng, OLD_MUTATION_PROB), p))
        out["mut new"].append(changed(mutate(p, space, rng), p))
    pool = parents[:50]  # a population of parents, like the search's top K
    for _ in range(n):
        i, j = (int(k) for k in rng.choice(len(pool), size=2, replace=False))
        out["x old"].append(changed(crossover(pool[i], pool[j], space, rng), pool[i], pool[j]))
        i, j = pick_pair(lambda: int(rng.integers(len(pool))), pool)
        out["x new"].append(changed(crossover(pool[i], pool[j], space, rng), pool[i], pool[j]))
    return {k: stats(v) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="children per operator and space")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    settings = [
        ("cifar-small@4", SearchSpace.preset("cifar-small"), 4),
        ("cifar-small", SearchSpace.preset("cifar-small"), None),
        ("cifar-large", SearchSpace.preset("cifar-large"), None),
        ("cifar-snn", SearchSpace.preset("cifar-snn"), None),
        ("digits-tiny", SearchSpace.preset("digits-tiny"), None),
    ]
    print(f"# genes changed per child, {args.n} children per row, seed {args.seed}")
    print(
        "| space | operator | mean (old / new) | median (old / new) "
        "| median, depth = 1 (old / new) | child = parent (old / new) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    hists = []
    for name, space, depth in settings:
        res = measure(space, depth, args.n, args.seed)
        for op, label in (("mut", "mutation"), ("x", "crossover (nearer parent)")):
            old, new = res[f"{op} old"], res[f"{op} new"]
            print(
                f"| {name} | {label} | {old['mean']:.2f} / {new['mean']:.2f} "
                f"| {old['median']:g} / {new['median']:g} "
                f"| {old['median1']:g} / {new['median1']:g} "
                f"| {old['same']:.1%} / {new['same']:.1%} |"
            )
            hists.append((name, label, old["hist"], new["hist"]))
    print("\n# histograms: genes changed -> share of children (old | new)")
    for name, label, old, new in hists:
        top = max(max(old), max(new))
        cells = [
            f"{k}: {old.get(k, 0) / args.n:.0%}|{new.get(k, 0) / args.n:.0%}"
            for k in range(top + 1)
        ]
        print(f"- {name}, {label}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
