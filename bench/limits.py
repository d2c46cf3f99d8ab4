"""What the documented maxima (engine.limits) cost the recorder, against what the old code did.

Printed side by side, each as a ratio to its reference:
- parsing a space whose gene lists 20,000 choices: the old parser (a `list.count` per choice,
  quadratic; reimplemented here as the reference) against today's, which refuses the count
  before reading a choice;
- filling one generation of a population far larger than the space (5,000 asked of a space of
  4 archs): draws made by the old fill (every slot given `max_retries` draws: 500,000) against
  today's (no more slots than archs left, and the first slot left empty ends it);
- the work of one `advance` at the maxima: one generation of `MAX_POPULATION` proposed and
  stepped (synthetic results, cifar-small), and the search state of `MAX_CANDIDATES` candidates
  (realistic per-layer counts) written and read back, as `advance` does on every call.

    OMP_NUM_THREADS=1 python bench/limits.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import limits  # noqa: E402
from engine.errors import SpaceError  # noqa: E402
from engine.results import EvalResult  # noqa: E402
from engine.search import RandomConfig, RandomSearch  # noqa: E402
from engine.space import Arch, SearchSpace  # noqa: E402

SMALL = {
    "embed_dim": [32],
    "depth": [1],
    "mlp_ratio": [2],
    "num_heads": [2],
    "time_steps": [1, 2],
    "threshold": [1.0],
    "tau": [1.5, 2],
}


def old_duplicates(raw: list[float]) -> list[float]:
    """The old parser's duplicate check (engine/space.py before the limits)."""
    parsed = [float(x) for x in raw]
    return sorted({x for x in parsed if parsed.count(x) > 1})


def timed(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def parse_rows() -> list[tuple[str, str, str, str]]:
    choices = [1 + i / 1e5 for i in range(20_000)]
    old = timed(lambda: old_duplicates(choices))

    def new() -> None:
        try:
            SearchSpace.from_dict({**SMALL, "threshold": choices})
        except SpaceError:
            return
        raise AssertionError("20,000 choices were accepted")

    now = timed(new, repeats=5)
    return [("parse 20,000 choices", f"{old:.2f} s", f"{now * 1e6:.0f} us", f"{now / old:.1e}")]


class Draws:
    def __init__(self, space: SearchSpace) -> None:
        self.space, self.rng, self.n = space, np.random.default_rng(0), 0

    def __call__(self) -> Arch:
        self.n += 1
        return self.space.sample(self.rng)


def fill_rows() -> list[tuple[str, str, str, str]]:
    space = SearchSpace.from_dict(SMALL)
    config = RandomConfig(population=limits.MAX_POPULATION, generations=1)
    search = RandomSearch(space, config, lambda archs: [])
    draws = Draws(space)
    start = time.perf_counter()
    got = search._fill(draws)
    seconds = time.perf_counter() - start
    old = config.population * config.max_retries  # every slot of the old fill ran dry
    return [
        (
            f"fill {config.population:,} from a space of {space.size}",
            f"{old:,} draws",
            f"{draws.n:,} draws ({len(got)} archs, {seconds * 1e3:.0f} ms)",
            f"{draws.n / old:.1e}",
        )
    ]


def result(arch: Arch) -> EvalResult:
    """A result the size of a real one: counts and a firing rate for every spiking layer."""
    layers = [f"sps.lif{i}" for i in range(5)] + [
        f"blocks.{b}.{n}_lif" for b in range(arch.depth) for n in "q k v attn proj fc1 fc2".split()
    ]
    ops = {name: {"macs": 1.0e6, "sops": 2.34e5, "neuron_updates": 1.2e4} for name in layers}
    rates = {name: 0.123456 for name in layers}
    energy = {name: 1.2345e-3 for name in layers}
    return EvalResult(arch, 0.8, 12.3, 1_000_000, 1e7, 0.12, rates, energy, 1e8, 1e6, ops)


def advance_rows() -> list[tuple[str, str, str, str]]:
    space = SearchSpace.preset("cifar-small")
    step = RandomSearch(
        space,
        RandomConfig(population=limits.MAX_POPULATION, generations=1),
        lambda archs: [result(a) for a in archs],
    )
    step_s = timed(step.step)
    per = limits.MAX_CANDIDATES // 2
    full = RandomSearch(
        space,
        RandomConfig(population=per, generations=2),
        lambda archs: [result(a) for a in archs],
    )
    full.run()
    state = full.state_dict()
    start = time.perf_counter()
    text = json.dumps(state)
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    back = json.loads(text)
    [EvalResult.from_dict(d) for d in back["evaluated"]]
    read_s = time.perf_counter() - start
    return [
        (f"one generation of {limits.MAX_POPULATION:,} (cifar-small)", "-", f"{step_s:.2f} s", ""),
        (
            f"search state of {limits.MAX_CANDIDATES:,} candidates ({len(text) / 1e6:.0f} MB)",
            "-",
            f"write {write_s:.2f} s, read {read_s:.2f} s",
            "",
        ),
    ]


def main() -> None:
    rows = parse_rows() + fill_rows() + advance_rows()
    print("| work | before the limits | now | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
