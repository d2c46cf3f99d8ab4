"""Mutation and crossover of architectures (paper 4.2, Fig. 3).

Both operators draw only from the space's choices, so their children are always valid archs of
the space; a gene with a single choice (fixed, e.g. the transformer genes of the SNN-only space)
never changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.space import Arch, SearchSpace

# Per-block genes: Arch field -> SearchSpace field.
BLOCK_GENES: dict[str, str] = {
    "mlp_ratios": "mlp_ratio",
    "num_heads": "num_heads",
    "thresholds": "threshold",
    "taus": "tau",
}


def _pick(choices: tuple[Any, ...], rng: np.random.Generator) -> Any:
    return choices[int(rng.integers(len(choices)))]


def _change(value: Any, choices: tuple[Any, ...], rng: np.random.Generator) -> Any:
    """A choice other than `value`, uniformly; `value` itself when the gene is fixed."""
    others = [c for c in choices if c != value]
    return _pick(tuple(others), rng) if others else value


def _fresh_block(space: SearchSpace, rng: np.random.Generator) -> dict[str, Any]:
    return {gene: _pick(getattr(space, choices), rng) for gene, choices in BLOCK_GENES.items()}


def mutate(arch: Arch, space: SearchSpace, rng: np.random.Generator, prob: float) -> Arch:
    """Change each gene with probability `prob` to another choice of the space.

    The genes are embed_dim, depth, time_steps and, for every block, its MLP ratio, head count,
    threshold and tau. A new depth truncates the blocks or appends freshly sampled ones.
    `prob=0` returns `arch` unchanged; `prob=1` changes every gene that has another choice.
    """
    space.validate(arch)

    def maybe(value: Any, choices: tuple[Any, ...]) -> Any:
        return _change(value, choices, rng) if rng.random() < prob else value

    embed_dim = maybe(arch.embed_dim, space.embed_dim)
    depth = maybe(arch.depth, space.depth)
    time_steps = maybe(arch.time_steps, space.time_steps)
    blocks = [{gene: getattr(arch, gene)[b] for gene in BLOCK_GENES} for b in range(arch.depth)]
    for block in blocks[:depth]:
        for gene, choices in BLOCK_GENES.items():
            block[gene] = maybe(block[gene], getattr(space, choices))
    blocks = blocks[:depth] + [_fresh_block(space, rng) for _ in range(depth - len(blocks))]
    return _assemble(space, embed_dim, depth, time_steps, blocks)


def crossover(a: Arch, b: Arch, space: SearchSpace, rng: np.random.Generator) -> Arch:
    """A child taking each gene from one parent, chosen uniformly per gene.

    Per-block genes are aligned by block index. The child's depth is one parent's; blocks that
    only that parent has are copied from it.
    """
    space.validate(a)
    space.validate(b)

    def either(x: Any, y: Any) -> Any:
        return x if rng.random() < 0.5 else y

    embed_dim = either(a.embed_dim, b.embed_dim)
    depth_parent = either(a, b)
    time_steps = either(a.time_steps, b.time_steps)
    other = b if depth_parent is a else a
    blocks = []
    for i in range(depth_parent.depth):
        if i < other.depth:
            block = {g: either(getattr(a, g)[i], getattr(b, g)[i]) for g in BLOCK_GENES}
        else:
            block = {g: getattr(depth_parent, g)[i] for g in BLOCK_GENES}
        blocks.append(block)
    return _assemble(space, embed_dim, depth_parent.depth, time_steps, blocks)


def _assemble(
    space: SearchSpace, embed_dim: int, depth: int, time_steps: int, blocks: list[dict[str, Any]]
) -> Arch:
    arch = Arch(
        embed_dim=embed_dim,
        depth=depth,
        time_steps=time_steps,
        **{gene: tuple(block[gene] for block in blocks) for gene in BLOCK_GENES},
    )
    return space.validate(arch)
